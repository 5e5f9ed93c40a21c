"""This package's tools, each at its defaults, and the raw-client floor they are held to.

Every tool is built with only what a user must give (model, dimension, key, base URL); concurrency, batching and
retries stay at their defaults, except the sequential loop, which is the same embedder at `max_concurrency=1`. The
package is imported inside the factories only, so a peer's worker never loads it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from .raw_client import embed_raw
from .tooling import AsyncEmbed, Outcome, SyncEmbed, Target, Tool, Unavailable, count_vectors

__all__ = [
    "AEMBED",
    "AEMBED_STREAM",
    "ALANGCHAIN",
    "ALLAMA_INDEX",
    "EMBED",
    "EMBED_STREAM",
    "LANGCHAIN",
    "LLAMA_INDEX",
    "LOAD",
    "RAW",
    "SEQUENTIAL",
    "TOOLS",
    "default_concurrency",
]

DISTRIBUTION = "dashscope-embeddings"


def _embedder(target: Target, **settings: Any) -> Any:
    from dashscope_embeddings import TextEmbedder

    return TextEmbedder(
        target.model, dimension=target.dimension, api_key=target.api_key, base_url=target.native_url, **settings
    )


def default_concurrency() -> int:
    from dashscope_embeddings.text import DEFAULT_MAX_CONCURRENCY

    return DEFAULT_MAX_CONCURRENCY


def _raw_client(*, parse: bool) -> Callable[[Target], SyncEmbed]:
    def build(target: Target) -> SyncEmbed:
        concurrency = default_concurrency()

        def run(texts: Iterable[str]) -> Outcome:
            items = list(texts)
            result = embed_raw(
                target.native_url,
                items,
                model=target.model,
                dimension=target.dimension,
                concurrency=concurrency,
                parse=parse,
            )
            if result.errors:
                raise RuntimeError(result.errors[0])
            if not parse:  # load generation: answered is all that counts
                answered = 10 * result.statuses.get(200, 0)
                return Outcome(vectors=min(answered, len(items)), failed=max(len(items) - answered, 0))
            return count_vectors(result.vectors, target.dimension)

        return run

    return build


def _embed(target: Target) -> SyncEmbed:
    embedder = _embedder(target)
    return lambda texts: count_vectors(embedder.embed(list(texts)).embeddings, target.dimension)


def _sequential(target: Target) -> SyncEmbed:
    embedder = _embedder(target, max_concurrency=1)
    return lambda texts: count_vectors(embedder.embed(list(texts)).embeddings, target.dimension)


def _aembed(target: Target) -> AsyncEmbed:
    embedder = _embedder(target)

    async def run(texts: Iterable[str]) -> Outcome:
        return count_vectors((await embedder.aembed(list(texts))).embeddings, target.dimension)

    return run


def _embed_stream(target: Target) -> SyncEmbed:
    embedder = _embedder(target)
    if not hasattr(embedder, "embed_stream"):
        raise Unavailable("TextEmbedder.embed_stream does not exist in this version")

    def run(texts: Iterable[str]) -> Outcome:
        outcome = Outcome(0)
        results: Iterator[Any] = embedder.embed_stream(texts)
        for result in results:
            outcome += count_vectors(result.embeddings, target.dimension)
        return outcome

    return run


def _aembed_stream(target: Target) -> AsyncEmbed:
    embedder = _embedder(target)
    if not hasattr(embedder, "aembed_stream"):
        raise Unavailable("TextEmbedder.aembed_stream does not exist in this version")

    async def run(texts: Iterable[str]) -> Outcome:
        outcome = Outcome(0)
        results: AsyncIterator[Any] = embedder.aembed_stream(texts)
        async for result in results:
            outcome += count_vectors(result.embeddings, target.dimension)
        return outcome

    return run


def _langchain(target: Target) -> SyncEmbed:
    from dashscope_embeddings.langchain import DashScopeEmbeddings

    embeddings = DashScopeEmbeddings(
        model=target.model, dimension=target.dimension, api_key=target.api_key, base_url=target.native_url
    )
    return lambda texts: count_vectors(embeddings.embed_documents(list(texts)), target.dimension)


def _alangchain(target: Target) -> AsyncEmbed:
    from dashscope_embeddings.langchain import DashScopeEmbeddings

    embeddings = DashScopeEmbeddings(
        model=target.model, dimension=target.dimension, api_key=target.api_key, base_url=target.native_url
    )

    async def run(texts: Iterable[str]) -> Outcome:
        return count_vectors(await embeddings.aembed_documents(list(texts)), target.dimension)

    return run


def _llama_index_model(target: Target) -> Any:
    from dashscope_embeddings.llama_index import DashScopeEmbedding

    return DashScopeEmbedding(
        model_name=target.model, dimension=target.dimension, api_key=target.api_key, base_url=target.native_url
    )


def _llama_index(target: Target) -> SyncEmbed:
    model = _llama_index_model(target)
    return lambda texts: count_vectors(model.get_text_embedding_batch(list(texts)), target.dimension)


def _allama_index(target: Target) -> AsyncEmbed:
    model = _llama_index_model(target)

    async def run(texts: Iterable[str]) -> Outcome:
        return count_vectors(await model.aget_text_embedding_batch(list(texts)), target.dimension)

    return run


RAW = Tool("raw http.client", "python", "sync", _raw_client(parse=True))
LOAD = Tool("raw load (no parsing)", "python", "sync", _raw_client(parse=False))
EMBED = Tool("TextEmbedder.embed", DISTRIBUTION, "sync", _embed)
AEMBED = Tool("TextEmbedder.aembed", DISTRIBUTION, "async", _aembed)
SEQUENTIAL = Tool("TextEmbedder.embed (C=1)", DISTRIBUTION, "sync", _sequential)
EMBED_STREAM = Tool("TextEmbedder.embed_stream", DISTRIBUTION, "sync", _embed_stream, streaming=True)
AEMBED_STREAM = Tool("TextEmbedder.aembed_stream", DISTRIBUTION, "async", _aembed_stream, streaming=True)
LANGCHAIN = Tool("ours LangChain embed_documents", DISTRIBUTION, "sync", _langchain)
ALANGCHAIN = Tool("ours LangChain aembed_documents", DISTRIBUTION, "async", _alangchain)
LLAMA_INDEX = Tool("ours LlamaIndex get_text_embedding_batch", DISTRIBUTION, "sync", _llama_index)
ALLAMA_INDEX = Tool("ours LlamaIndex aget_text_embedding_batch", DISTRIBUTION, "async", _allama_index)

TOOLS = {
    tool.name: tool
    for tool in (
        RAW,
        LOAD,
        EMBED,
        AEMBED,
        SEQUENTIAL,
        EMBED_STREAM,
        AEMBED_STREAM,
        LANGCHAIN,
        ALANGCHAIN,
        LLAMA_INDEX,
        ALLAMA_INDEX,
    )
}
