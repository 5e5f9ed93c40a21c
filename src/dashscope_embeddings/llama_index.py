"""LlamaIndex adapter: `DashScopeEmbedding`, a `llama_index.core` `BaseEmbedding` over `TextEmbedder`.

Thin by design: queries map to `text_type="query"` (plus the optional `query_instruct`), texts to
`text_type="document"`, and validation, retries, ordering, regions and keys are the embedder's. The one piece of
orchestration here is the batch path, which LlamaIndex runs sequentially (sync) or all at once (async); see
`DashScopeEmbedding.get_text_embedding_batch`.
"""

from __future__ import annotations

import contextvars
import warnings
from collections.abc import AsyncGenerator, Generator
from typing import Any

import llama_index.core.instrumentation as instrument
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.callbacks.schema import CBEventType, EventPayload
from llama_index.core.instrumentation.events.embedding import EmbeddingEndEvent, EmbeddingStartEvent
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    model_validator,
)
from typing_extensions import Self

from .batching import arun_ordered, run_ordered
from .errors import DashScopeError, InputError
from .text import DEFAULT_MAX_CONCURRENCY, EMBEDDER_SETTINGS, TextEmbedder
from .transport import DEFAULT_TIMEOUT

__all__ = ["DashScopeEmbedding"]

dispatcher = instrument.get_dispatcher(__name__)  # type: ignore[attr-defined]

# Never serialised or pickled: the key and the live HTTP clients.
_NOT_PICKLED = ("api_key", "http_client", "http_async_client")


class DashScopeEmbedding(BaseEmbedding):
    """Alibaba Cloud Model Studio (DashScope) text embeddings for LlamaIndex.

    ```python
    from llama_index.core import Settings, VectorStoreIndex
    from dashscope_embeddings.llama_index import DashScopeEmbedding

    Settings.embed_model = DashScopeEmbedding(model_name="text-embedding-v4", dimension=1024)  # key: DASHSCOPE_API_KEY
    index = VectorStoreIndex.from_documents(documents)      # texts: text_type="document"
    nodes = index.as_retriever().retrieve("a question")     # query: text_type="query" (+ query_instruct)
    ```

    Fields: `model_name` (default `"text-embedding-v4"`), `dimension` (alias `dimensions`), `query_instruct`
    (English task description sent with queries only; text-embedding-v4), `truncate`, and the connection settings
    every embedder takes: `api_key` (env `DASHSCOPE_API_KEY`; never serialised), `region`, `workspace`, `base_url`
    (env `DASHSCOPE_HTTP_BASE_URL`), `timeout`, `max_retries`, `max_concurrency`, `allow_insecure_http`,
    `http_client` / `http_async_client`.

    **embed_batch_size** defaults to the model's per-request cap (10 texts for text-embedding-v4/-v3, 25 for -v2/-v1)
    and is capped there: a larger value is lowered to the cap with a `UserWarning` rather than refused. The value is
    only a request-size hint (LlamaIndex's own default of 10 and llama-index-embeddings-dashscope's 25 are both in
    circulation), the cap is a documented fact of the service, and lowering it changes nothing but the request
    count, so code written for the old package keeps working instead of failing with DashScope's
    "batch size is invalid" 400s.

    **Batches run concurrently.** LlamaIndex's `get_text_embedding_batch` sends one batch at a time, and its
    `aget_text_embedding_batch` starts every batch at once with no bound (or `num_workers`). Both are overridden to
    split the texts into chunks of `embed_batch_size` (one request each) and run the chunks through the embedder's
    ordered runner with at most `max_concurrency` requests in flight (lowered further by `num_workers` if set):
    threads over one pooled `httpx.Client` for sync, tasks under a semaphore for async. Everything LlamaIndex does
    per batch is kept, per chunk: an `EmbeddingStartEvent` and a callback-manager `EMBEDDING` start event when the
    chunk is submitted, `rate_limiter.acquire()` right before its request (so a rate limiter paces real requests),
    `embeddings_cache` lookups, and an `EmbeddingEndEvent` plus the callback end event as each chunk's vectors
    arrive, in input order; `show_progress` shows a bar counting texts. Worker threads run in a copy of the caller's
    context, so instrumentation spans nest under the batch call.

    `model_name` and the connection settings are read when the instance is built (build a new one to change them);
    `dimension`, `query_instruct`, `truncate` and `embed_batch_size` are read on every call.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    model_name: str = Field(default="text-embedding-v4", description="DashScope text embedding model.")
    dimension: int | None = Field(
        default=None,
        validation_alias=AliasChoices("dimension", "dimensions"),
        description="Output dimension; None uses the model's default (1024 for text-embedding-v4).",
    )
    api_key: SecretStr | None = Field(
        default=None, exclude=True, repr=False, description="API key; None reads env DASHSCOPE_API_KEY."
    )
    region: str | None = Field(
        default=None, description="Region name or id; default env DASHSCOPE_API_REGION, then Singapore."
    )
    workspace: str | None = Field(default=None, description="Workspace id (workspace host + X-DashScope-WorkSpace).")
    base_url: str | None = Field(
        default=None, description="API root ending in /api/v1; default env DASHSCOPE_HTTP_BASE_URL, then the region's."
    )
    timeout: float = Field(default=DEFAULT_TIMEOUT, description="Seconds to wait for each request.")
    max_retries: int = Field(default=2, description="Retries after the first attempt, for transient failures only.")
    max_concurrency: int = Field(default=DEFAULT_MAX_CONCURRENCY, description="Most requests in flight per call.")
    query_instruct: str | None = Field(
        default=None, description="English task description sent with queries only (text-embedding-v4)."
    )
    truncate: bool = Field(default=False, description="Cut over-long texts at the model's token limit.")
    allow_insecure_http: bool = Field(default=False, description="Allow plain http to a non-loopback base_url.")
    http_client: Any = Field(default=None, exclude=True, repr=False, description="Optional httpx.Client.")
    http_async_client: Any = Field(default=None, exclude=True, repr=False, description="Optional httpx.AsyncClient.")

    _embedder: TextEmbedder | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _explain_removed_text_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and "text_type" in data:
            raise ValueError(
                "text_type is not a setting here: queries are always sent as 'query' and texts as 'document' "
                "(llama-index-embeddings-dashscope's text_type never reached the API). Remove it."
            )
        return data

    @model_validator(mode="after")
    def _build_embedder(self) -> Self:
        """Build the embedder now, so a bad setting fails at construction; no network is touched."""
        embedder = self._new_embedder()
        if self.query_instruct is not None and not embedder.spec.instruct:
            raise InputError(f"{self.model_name} does not take instruct (query_instruct); text-embedding-v4 does.")
        self._embedder = embedder
        cap = embedder.spec.max_batch
        if "embed_batch_size" not in self.model_fields_set:
            self.embed_batch_size = cap
        elif self.embed_batch_size > cap:
            warnings.warn(
                f"embed_batch_size={self.embed_batch_size} is above {self.model_name}'s limit of {cap} texts per "
                f"request; using {cap}.",
                UserWarning,
                stacklevel=2,
            )
            self.embed_batch_size = cap
        return self

    def _new_embedder(self) -> TextEmbedder:
        return TextEmbedder(self.model_name, **{name: getattr(self, name) for name in EMBEDDER_SETTINGS})

    @property
    def embedder(self) -> TextEmbedder:
        """The `TextEmbedder` doing the work (for sparse vectors, usage, or `close()`)."""
        if self._embedder is None:  # only after unpickling without a key in the environment
            self._embedder = self._new_embedder()
        return self._embedder

    @classmethod
    def class_name(cls) -> str:
        return "DashScopeEmbedding"

    def to_payload(self) -> dict[str, Any]:
        """What instrumentation events and callbacks see: no key, no clients."""
        return {**super().to_payload(), "dimension": self.dimension}

    # -- single calls --------------------------------------------------------------------------------------------

    def _query(self) -> dict[str, Any]:
        return {"text_type": "query", "instruct": self.query_instruct, **self._per_call()}

    def _per_call(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "truncate": self.truncate}

    def _get_query_embedding(self, query: str) -> Embedding:
        return self.embedder.embed([query], **self._query()).embeddings[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self.embedder.aembed([query], **self._query())).embeddings[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self.embedder.embed([text], text_type="document", **self._per_call()).embeddings[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self.embedder.aembed([text], text_type="document", **self._per_call())).embeddings[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        if not texts:
            return []
        return self.embedder.embed(texts, text_type="document", **self._per_call()).embeddings

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        if not texts:
            return []
        return (await self.embedder.aembed(texts, text_type="document", **self._per_call())).embeddings

    # -- batches: concurrent across chunks, with LlamaIndex's per-batch events ------------------------------------

    def get_text_embedding_batch(self, texts: list[str], show_progress: bool = False, **kwargs: Any) -> list[Embedding]:
        """Embed texts as documents, `embed_batch_size` per request, up to `max_concurrency` requests at once.

        Emits LlamaIndex's per-batch events for every chunk (see the class docstring); vectors in input order.
        """
        batch = _Batch(self, texts, show_progress)
        jobs = [(contextvars.copy_context(), chunk) for chunk in batch.chunks]
        results = run_ordered(jobs, lambda job: job[0].run(self._embed_chunk, job[1]), concurrency=self._workers())
        return batch.collect(results)

    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[Embedding]:
        """Async `get_text_embedding_batch`: the same chunks and events, as tasks under one bound."""
        batch = _Batch(self, texts, show_progress)
        return await batch.acollect(arun_ordered(batch.chunks, self._aembed_chunk, concurrency=self._workers()))

    def _workers(self) -> int:
        if self.num_workers is not None and self.num_workers > 0:
            return min(self.num_workers, self.max_concurrency)
        return self.max_concurrency

    def _embed_chunk(self, chunk: list[str]) -> list[Embedding]:
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        if self.embeddings_cache is not None:
            return self._get_text_embeddings_cached(chunk)
        return self._get_text_embeddings(chunk)

    async def _aembed_chunk(self, chunk: list[str]) -> list[Embedding]:
        if self.rate_limiter is not None:
            await self.rate_limiter.async_acquire()
        if self.embeddings_cache is not None:
            return await self._aget_text_embeddings_cached(chunk)
        return await self._aget_text_embeddings(chunk)

    # -- pickling: never the key ---------------------------------------------------------------------------------

    def __getstate__(self) -> dict[Any, Any]:
        scrubbed = self.model_copy(update=dict.fromkeys(_NOT_PICKLED))
        scrubbed._embedder = None
        state: dict[Any, Any] = super(DashScopeEmbedding, scrubbed).__getstate__()
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        """Rebuild from the pickled settings; the key comes from `DASHSCOPE_API_KEY` in this process."""
        fields = {k: v for k, v in state["__dict__"].items() if k not in _NOT_PICKLED}
        try:
            self.__init__(**fields)  # type: ignore[misc]
        except (ValidationError, DashScopeError):
            # No key here (yet): restore the settings; the embedder is built, and the error raised, on first use.
            fields.update(dict.fromkeys(_NOT_PICKLED))
            BaseModel.__setstate__(self, {**state, "__dict__": fields})


class _Batch:
    """One batch call's chunks and its LlamaIndex events: starts on submission, ends as vectors arrive in order."""

    def __init__(self, owner: DashScopeEmbedding, texts: list[str], show_progress: bool) -> None:
        self.owner = owner
        size = min(owner.embed_batch_size, owner.embedder.spec.max_batch)
        self.chunks = [texts[start : start + size] for start in range(0, len(texts), size)]
        model_dict = owner.to_payload()
        self.event_ids: list[str] = []
        for _ in self.chunks:
            dispatcher.event(EmbeddingStartEvent(model_dict=model_dict))
            self.event_ids.append(
                owner.callback_manager.on_event_start(
                    CBEventType.EMBEDDING, payload={EventPayload.SERIALIZED: model_dict}
                )
            )
        self.finished = 0
        self.progress = _progress_bar(len(texts)) if show_progress and texts else None

    def done(self, embeddings: list[Embedding]) -> None:
        """Emit the end events of the next chunk in order."""
        chunk, event_id = self.chunks[self.finished], self.event_ids[self.finished]
        self.finished += 1
        self.owner.callback_manager.on_event_end(
            CBEventType.EMBEDDING,
            payload={EventPayload.CHUNKS: chunk, EventPayload.EMBEDDINGS: embeddings},
            event_id=event_id,
        )
        dispatcher.event(EmbeddingEndEvent(chunks=chunk, embeddings=embeddings))
        if self.progress is not None:
            self.progress.update(len(chunk))

    def fail(self, error: BaseException) -> None:
        """End the callback events of the chunks that will not finish, as LlamaIndex's `event()` context does."""
        for event_id in self.event_ids[self.finished :]:
            self.owner.callback_manager.on_event_end(
                CBEventType.EMBEDDING, payload={EventPayload.EXCEPTION: error}, event_id=event_id
            )
        self.finished = len(self.chunks)

    def close_progress(self) -> None:
        if self.progress is not None:
            self.progress.close()

    def collect(self, results: Generator[list[Embedding], None, None]) -> list[Embedding]:
        vectors: list[Embedding] = []
        try:
            for embeddings in results:
                self.done(embeddings)
                vectors.extend(embeddings)
        except BaseException as error:
            self.fail(error)
            raise
        finally:
            results.close()  # stop queued requests now, not at garbage collection
            self.close_progress()
        return vectors

    async def acollect(self, results: AsyncGenerator[list[Embedding], None]) -> list[Embedding]:
        vectors: list[Embedding] = []
        try:
            async for embeddings in results:
                self.done(embeddings)
                vectors.extend(embeddings)
        except BaseException as error:
            self.fail(error)
            raise
        finally:
            await results.aclose()  # cancel in-flight requests now
            self.close_progress()
        return vectors


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int) -> Any:
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped]
    except ImportError:  # LlamaIndex's own behaviour: no tqdm, no bar
        return _NoProgress()
    return tqdm(total=total, desc="Generating embeddings")
