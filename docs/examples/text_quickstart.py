"""Embed documents and a query with TextEmbedder, then rank the documents by cosine similarity.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import asyncio
import math

from dashscope_embeddings import TextEmbedder

documents = [
    "Artificial intelligence is a branch of computer science",
    "Machine learning is an important method for achieving artificial intelligence",
    "Deep learning is a subfield of machine learning",
]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


with TextEmbedder(model="text-embedding-v4", dimension=1024) as embedder:
    stored = embedder.embed(documents, text_type="document")
    query = embedder.embed(
        "What is machine learning?",
        text_type="query",
        instruct="Given a question, retrieve passages that answer it",
    )
    print(f"{len(stored)} vectors of {stored.dimension} dimensions, {stored.usage.total_tokens} tokens")
    ranked = sorted(zip(documents, stored.embeddings, strict=True), key=lambda p: -cosine(query.embeddings[0], p[1]))
    for text, vector in ranked:
        print(f"{cosine(query.embeddings[0], vector):.3f}  {text}")

    # Dense and sparse vectors in one request, for hybrid search (text-embedding-v4 and -v3).
    both = embedder.embed(["Order XJ-9000 shipped"], output_type="dense&sparse")
    print(both.sparse[0].tokens, len(both.embeddings[0]))


async def main() -> None:
    async with TextEmbedder(model="text-embedding-v4", dimension=256) as embedder:
        result = await embedder.aembed([f"document {i}" for i in range(25)])  # 3 requests of <= 10, run concurrently
        print(len(result), result.dimension, len(result.request_ids))


asyncio.run(main())
