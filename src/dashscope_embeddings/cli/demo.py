"""`dashscope-embeddings demo`: the reference docs' semantic search, through LangChain and LlamaIndex."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence

DEMO_DOCUMENTS = [
    "Artificial intelligence is a branch of computer science",
    "Machine learning is an important method for achieving artificial intelligence",
    "Deep learning is a subfield of machine learning",
]
DEMO_QUERY = "What is AI?"


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def _print_ranking(title: str, query: list[float], documents: list[list[float]]) -> None:
    print(f"\n{title}")
    ranked = sorted(zip(DEMO_DOCUMENTS, documents, strict=True), key=lambda p: _cosine(query, p[1]), reverse=True)
    for rank, (text, vector) in enumerate(ranked, 1):
        print(f"  {rank}. similarity {_cosine(query, vector):.3f}  {text}")


@contextlib.contextmanager
def _backend() -> Iterator[str]:
    """The real API when DASHSCOPE_API_KEY is set, else the bundled emulator on loopback (via the SDK's env vars)."""
    if os.environ.get("DASHSCOPE_API_KEY"):
        region = os.environ.get("DASHSCOPE_API_REGION", "singapore")
        yield f"the real DashScope API ({os.environ.get('DASHSCOPE_HTTP_BASE_URL') or region})"
        return
    from ..emulator import ServedEmulator

    with ServedEmulator() as served:
        saved = {name: os.environ.get(name) for name in ("DASHSCOPE_API_KEY", "DASHSCOPE_HTTP_BASE_URL")}
        os.environ["DASHSCOPE_API_KEY"] = "emulator-key"
        os.environ["DASHSCOPE_HTTP_BASE_URL"] = served.base_url
        try:
            yield (
                f"the bundled emulator at {served.base_url} (deterministic, lexical vectors; set DASHSCOPE_API_KEY "
                f"to use the real API)"
            )
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def demo(model: str = "text-embedding-v4", dimension: int = 1024) -> int:
    """The reference docs' semantic-search example, through LangChain and through LlamaIndex."""
    from ..langchain import DashScopeEmbeddings
    from ..llama_index import DashScopeEmbedding

    with _backend() as where:
        print(f"Backend: {where}")
        print(f"Model: {model}, {dimension} dimensions. Query: {DEMO_QUERY!r}")

        lc = DashScopeEmbeddings(model=model, dimension=dimension)
        _print_ranking(
            "LangChain DashScopeEmbeddings (embed_query → text_type=query, embed_documents → document):",
            lc.embed_query(DEMO_QUERY),
            lc.embed_documents(DEMO_DOCUMENTS),
        )

        li = DashScopeEmbedding(model_name=model, dimension=dimension)
        _print_ranking(
            "LlamaIndex DashScopeEmbedding (get_query_embedding → query, get_text_embedding_batch → document):",
            li.get_query_embedding(DEMO_QUERY),
            li.get_text_embedding_batch(DEMO_DOCUMENTS),
        )
    return 0
