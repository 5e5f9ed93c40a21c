"""The integrations users would otherwise pick, each pointed at the emulator with its own documented setting and
configured as its documentation says it works best against DashScope.

- `dashscope` SDK: `dashscope.base_http_api_url` (a module global), `TextEmbedding.call` over batches of 10, one
  after another (the SDK has no batching, no concurrency and no async text embedding). A non-200 answer is returned,
  not raised: its texts count as failed.
- `langchain_community.embeddings.DashScopeEmbeddings`: the same SDK global; it batches 10 per request for v4 by
  itself and has no `dimension` (v4's default is the 1024 asked for). Async is langchain-core's executor fallback.
- `llama_index.embeddings.dashscope.DashScopeEmbedding`: the SDK global, `embed_batch_size=10` (its default of 25 is
  refused by v4). Failed requests come back as None vectors, counted as failed.
- `langchain_openai.OpenAIEmbeddings` on compatible mode: `base_url`, `check_embedding_ctx_length=False`,
  `chunk_size=10`, `dimensions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .tooling import AsyncEmbed, Outcome, SyncEmbed, Target, Tool, count_vectors

__all__ = ["PEERS"]

BATCH = 10


def _point_sdk_at(target: Target) -> None:
    import dashscope

    dashscope.base_http_api_url = target.native_url


def _sdk(target: Target) -> SyncEmbed:
    _point_sdk_at(target)
    from dashscope import TextEmbedding

    def run(texts: Iterable[str]) -> Outcome:
        items = list(texts)
        vectors: list[Sequence[float] | None] = []
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            response: Any = TextEmbedding.call(
                model=target.model,
                input=batch,
                api_key=target.api_key,
                dimension=target.dimension,
                text_type="document",
            )
            answered: list[Sequence[float] | None] = [None] * len(batch)
            if response.status_code == 200:
                for item in response.output["embeddings"]:
                    answered[item["text_index"]] = item["embedding"]
            vectors.extend(answered)
        return count_vectors(vectors, target.dimension)

    return run


def _community_model(target: Target) -> Any:
    _point_sdk_at(target)
    from langchain_community.embeddings import DashScopeEmbeddings

    return DashScopeEmbeddings(model=target.model, dashscope_api_key=target.api_key)


def _community(target: Target) -> SyncEmbed:
    model = _community_model(target)
    return lambda texts: count_vectors(model.embed_documents(list(texts)), target.dimension)


def _acommunity(target: Target) -> AsyncEmbed:
    model = _community_model(target)

    async def run(texts: Iterable[str]) -> Outcome:
        return count_vectors(await model.aembed_documents(list(texts)), target.dimension)

    return run


def _llama_model(target: Target) -> Any:
    _point_sdk_at(target)
    from llama_index.embeddings.dashscope.base import DashScopeEmbedding

    return DashScopeEmbedding(model_name=target.model, api_key=target.api_key, embed_batch_size=BATCH)


def _llama(target: Target) -> SyncEmbed:
    model = _llama_model(target)
    return lambda texts: count_vectors(model.get_text_embedding_batch(list(texts)), target.dimension)


def _allama(target: Target) -> AsyncEmbed:
    model = _llama_model(target)

    async def run(texts: Iterable[str]) -> Outcome:
        return count_vectors(await model.aget_text_embedding_batch(list(texts)), target.dimension)

    return run


def _openai_model(target: Target) -> Any:
    from langchain_openai import OpenAIEmbeddings

    return OpenAIEmbeddings(  # type: ignore[call-arg]  # base_url and api_key are its documented aliases
        model=target.model,
        base_url=target.compatible_url,
        api_key=target.api_key,
        check_embedding_ctx_length=False,
        chunk_size=BATCH,
        dimensions=target.dimension,
    )


def _openai(target: Target) -> SyncEmbed:
    model = _openai_model(target)
    return lambda texts: count_vectors(model.embed_documents(list(texts)), target.dimension)


def _aopenai(target: Target) -> AsyncEmbed:
    model = _openai_model(target)

    async def run(texts: Iterable[str]) -> Outcome:
        return count_vectors(await model.aembed_documents(list(texts)), target.dimension)

    return run


SDK = Tool("dashscope TextEmbedding.call", "dashscope", "sync", _sdk)
COMMUNITY = Tool("langchain-community embed_documents", "langchain-community", "sync", _community)
ACOMMUNITY = Tool("langchain-community aembed_documents", "langchain-community", "async", _acommunity)
LLAMA = Tool("llama-index-dashscope get_text_embedding_batch", "llama-index-embeddings-dashscope", "sync", _llama)
ALLAMA = Tool("llama-index-dashscope aget_text_embedding_batch", "llama-index-embeddings-dashscope", "async", _allama)
OPENAI = Tool("langchain-openai embed_documents", "langchain-openai", "sync", _openai)
AOPENAI = Tool("langchain-openai aembed_documents", "langchain-openai", "async", _aopenai)

PEERS = {tool.name: tool for tool in (SDK, COMMUNITY, ACOMMUNITY, LLAMA, ALLAMA, OPENAI, AOPENAI)}
