"""A first embedding: two documents and a question, with TextEmbedder.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import math

from dashscope_embeddings import TextEmbedder

documents = [
    "Deep learning is a subfield of machine learning",
    "Paris is the capital and largest city of France",
]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


with TextEmbedder(model="text-embedding-v4", dimension=1024) as embedder:
    stored = embedder.embed(documents, text_type="document")  # what you store
    question = embedder.embed("What is deep learning?", text_type="query")  # what users search with

print(f"{len(stored)} vectors of {stored.dimension} dimensions, {stored.usage.total_tokens} tokens")
print(f"first values: {[round(x, 4) for x in stored.embeddings[0][:4]]}")
for text, vector in zip(documents, stored.embeddings, strict=True):
    print(f"{cosine(question.embeddings[0], vector):.3f}  {text}")
