"""LlamaIndex adapters: `DashScopeEmbedding` (a `BaseEmbedding` over `TextEmbedder`),
`DashScopeMultiModalEmbedding` (a `MultiModalEmbedding` over `MultimodalEmbedder`) and `DashScopeSparseEmbedding`
(a `BaseSparseEmbedding` over `TextEmbedder`'s sparse output, with the functions LlamaIndex's Qdrant store takes).

Thin by design: queries map to `text_type="query"` (plus the optional `query_instruct`), texts to
`text_type="document"`, images to image items, and validation, retries, ordering, regions and keys are the
embedder's. The one piece of orchestration here is the batch path, which LlamaIndex runs sequentially (sync) or all
at once (async); see `DashScopeEmbedding.get_text_embedding_batch`.
"""

from __future__ import annotations

import contextvars
import warnings
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import llama_index.core.instrumentation as instrument
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.base.embeddings.base_sparse import BaseSparseEmbedding, SparseEmbedding
from llama_index.core.callbacks.schema import CBEventType, EventPayload
from llama_index.core.embeddings.multi_modal_base import MultiModalEmbedding
from llama_index.core.instrumentation.events.embedding import (
    EmbeddingEndEvent,
    EmbeddingStartEvent,
    SparseEmbeddingEndEvent,
    SparseEmbeddingStartEvent,
)
from llama_index.core.schema import ImageType
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

from .adapter_state import deep_copy, masked_key
from .batching import arun_ordered, run_ordered
from .embedder import CONNECTION_SETTINGS
from .errors import DashScopeError, InputError
from .llama_index_cache import CacheByRole
from .media import image_to_wire
from .multimodal import MultimodalEmbedder
from .text import DEFAULT_MAX_CONCURRENCY, EMBEDDER_SETTINGS, TextEmbedder
from .transport import DEFAULT_TIMEOUT
from .types import TextType

__all__ = ["DashScopeEmbedding", "DashScopeMultiModalEmbedding", "DashScopeSparseEmbedding"]

dispatcher = instrument.get_dispatcher(__name__)  # type: ignore[attr-defined]

_E = TypeVar("_E", bound=BaseEmbedding)

# Never serialised or pickled: the key and the live HTTP clients.
_NOT_PICKLED = ("api_key", "http_client", "http_async_client")
# `dashscope_api_key` is LangChain's name: refused here, but its value must not be quoted in the error.


class _Connection(BaseModel):
    """The connection settings every adapter takes (named as `embedder.CONNECTION_SETTINGS`), declared once.

    Listed first among an adapter's bases, so these fields sit beside LlamaIndex's own; the key is excluded from
    every serialisation LlamaIndex does (`to_dict`, `to_json`, payloads)."""

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
    allow_insecure_http: bool = Field(default=False, description="Allow plain http to a non-loopback base_url.")
    http_client: Any = Field(default=None, exclude=True, repr=False, description="Optional httpx.Client.")
    http_async_client: Any = Field(default=None, exclude=True, repr=False, description="Optional httpx.AsyncClient.")

    if not TYPE_CHECKING:  # type checkers keep the signature pydantic derives from the fields

        def __init__(self, **data: Any) -> None:
            masked_key(data)
            super().__init__(**data)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        copied: Self = deep_copy(self, memo)
        return copied

    def __getstate__(self) -> dict[Any, Any]:
        return _pickled_state(self)

    def __setstate__(self, state: dict[Any, Any]) -> None:
        """Rebuild from the pickled settings; the key comes from `DASHSCOPE_API_KEY` in this process."""
        _unpickle(self, state)


class DashScopeEmbedding(_Connection, CacheByRole):
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
    query_instruct: str | None = Field(
        default=None, description="English task description sent with queries only (text-embedding-v4)."
    )
    truncate: bool = Field(default=False, description="Cut over-long texts at the model's token limit.")

    _embedder: TextEmbedder | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _accept_old_text_type(cls, data: Any) -> Any:
        """llama-index-embeddings-dashscope took `text_type` (it never reached the API): accepted and ignored, with
        a warning, so migrating code runs; each call's role decides what is sent."""
        if isinstance(data, dict) and "text_type" in data:
            data = dict(data)
            value = data.pop("text_type")
            if value not in ("query", "document"):
                raise ValueError(f"text_type must be 'query' or 'document', got {value!r}; it is ignored anyway")
            warnings.warn(
                f"text_type={value!r} is ignored: queries are always sent as 'query' and texts as 'document'. "
                f"Remove it.",
                UserWarning,
                stacklevel=2,
            )
        return data

    @model_validator(mode="after")
    def _build_embedder(self) -> Self:
        """Build the embedder now, so a bad setting fails at construction; no network is touched."""
        embedder = self._new_embedder()
        if self.query_instruct is not None and not embedder.spec.instruct:
            raise InputError(f"{self.model_name} does not take instruct (query_instruct); text-embedding-v4 does.")
        self._embedder = embedder
        _cap_batch_size(self, embedder.spec.max_batch, "texts")
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
        Every text is checked before the first request, so a bad one is reported by its index in `texts`.
        """
        self._check_all(texts)
        size = min(self.embed_batch_size, self.embedder.spec.max_batch)
        with self._cached_as("document"):
            return _run_batch(self, texts, size, show_progress, _embed_text_chunk, self.max_concurrency)

    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[Embedding]:
        """Async `get_text_embedding_batch`: the same checks, chunks and events, as tasks under one bound."""
        self._check_all(texts)
        size = min(self.embed_batch_size, self.embedder.spec.max_batch)
        with self._cached_as("document"):
            return await _arun_batch(self, texts, size, show_progress, _aembed_text_chunk, self.max_concurrency)

    def _check_all(self, texts: list[str]) -> None:
        # The chunks are separate calls: without this, a bad text in a later chunk would be found after the
        # earlier chunks were sent, and named by its place in its chunk.
        self.embedder._checked(texts, 0, self.truncate)

    # -- pickling: never the key ---------------------------------------------------------------------------------


class DashScopeMultiModalEmbedding(_Connection, CacheByRole, MultiModalEmbedding):
    """Alibaba Cloud Model Studio (DashScope) multimodal embeddings for LlamaIndex: text and images in one space.

    ```python
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.indices import MultiModalVectorStoreIndex
    from dashscope_embeddings.llama_index import DashScopeMultiModalEmbedding

    embed = DashScopeMultiModalEmbedding(model_name="tongyi-embedding-vision-plus")  # key: DASHSCOPE_API_KEY
    index = MultiModalVectorStoreIndex.from_documents(
        SimpleDirectoryReader("photos").load_data(), image_embed_model=embed, embed_model=embed
    )
    retriever = index.as_retriever(image_similarity_top_k=3)
    retriever.text_to_image_retrieve("a red bicycle")       # query: get_query_embedding
    retriever.image_to_image_retrieve("photos/bike.png")    # image: get_image_embedding
    ```

    Images (`ImageType`: a `str` that is a local path, an http(s) URL or a data URI, or a `BytesIO` holding the
    image file) are always sent as images, never as text; texts and queries as text, queries with `query_instruct`
    on models that take it (qwen3-vl-embedding). This replaces llama-index-embeddings-dashscope's multimodal path,
    which fails on every current model (it reads `output["embedding"]`; the service answers `embeddings`), cannot
    send a `BytesIO`, and blocks the event loop in its async methods.

    Fields: `model_name` (default `"tongyi-embedding-vision-plus"`), `dimension` (alias `dimensions`),
    `query_instruct`, and the connection settings every embedder takes: `api_key` (env `DASHSCOPE_API_KEY`; never
    serialised), `region`, `workspace`, `base_url` (env `DASHSCOPE_HTTP_BASE_URL`), `timeout`, `max_retries`,
    `max_concurrency`, `allow_insecure_http`, `http_client` / `http_async_client`.

    **embed_batch_size** defaults to the model's contents-per-request cap (20 for the vision models) and is capped
    there, with a `UserWarning`, as in `DashScopeEmbedding`. Image batches are chunked further to the model's
    images-per-request cap (8 for tongyi-embedding-vision-plus/-flash), so each chunk is one request (except on
    qwen2.5-vl-embedding, which fuses whatever one request carries: there every item is a request of its own).

    **Batches run concurrently**, texts and images alike: `get_text_embedding_batch`, `get_image_embedding_batch`
    and their async twins send one request per chunk, at most `max_concurrency` at once (lowered by `num_workers`),
    vectors in input order, with LlamaIndex's per-chunk events (see `DashScopeEmbedding`; image batches emit only
    the callback-manager events, as LlamaIndex's own image batch does). `rate_limiter` paces image requests too.

    `model_name` and the connection settings are read when the instance is built; `dimension`, `query_instruct`
    and `embed_batch_size` on every call.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    model_name: str = Field(default="tongyi-embedding-vision-plus", description="DashScope multimodal model.")
    dimension: int | None = Field(
        default=None,
        validation_alias=AliasChoices("dimension", "dimensions"),
        description="Output dimension; None uses the model's default (1152 for tongyi-embedding-vision-plus).",
    )
    query_instruct: str | None = Field(
        default=None, description="English task description sent with queries only (qwen3-vl-embedding)."
    )

    _embedder: MultimodalEmbedder | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build_embedder(self) -> Self:
        """Build the embedder now, so a bad setting fails at construction; no network is touched."""
        embedder = self._new_embedder()
        if self.query_instruct is not None and not embedder.spec.instruct:
            raise InputError(f"{self.model_name} does not take instruct (query_instruct); qwen3-vl-embedding does.")
        self._embedder = embedder
        _cap_batch_size(self, embedder.spec.max_batch, "contents")
        return self

    def _new_embedder(self) -> MultimodalEmbedder:
        return MultimodalEmbedder(self.model_name, **{name: getattr(self, name) for name in CONNECTION_SETTINGS})

    @property
    def embedder(self) -> MultimodalEmbedder:
        """The `MultimodalEmbedder` doing the work (for videos, fused items, per-call options, usage, `close()`)."""
        if self._embedder is None:  # only after unpickling without a key in the environment
            self._embedder = self._new_embedder()
        return self._embedder

    @classmethod
    def class_name(cls) -> str:
        return "DashScopeMultiModalEmbedding"

    def to_payload(self) -> dict[str, Any]:
        """What instrumentation events and callbacks see: no key, no clients."""
        return {**super().to_payload(), "dimension": self.dimension}

    def _embed(self, items: list[Any], instruct: str | None = None) -> list[Embedding]:
        if not items:
            return []
        return self.embedder.embed(items, dimension=self.dimension, instruct=instruct).embeddings

    async def _aembed(self, items: list[Any], instruct: str | None = None) -> list[Embedding]:
        if not items:
            return []
        return (await self.embedder.aembed(items, dimension=self.dimension, instruct=instruct)).embeddings

    # -- single calls and chunks: a str is text here, an ImageType goes in {"image": ...} -------------------------

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._embed([query], self.query_instruct)[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self._aembed([query], self.query_instruct))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embed([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aembed([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embed(list(texts))

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await self._aembed(list(texts))

    def _get_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return self._embed([{"image": img_file_path}])[0]

    async def _aget_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return (await self._aembed([{"image": img_file_path}]))[0]

    def _get_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        return self._embed([{"image": image} for image in img_file_paths])

    async def _aget_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        return await self._aembed([{"image": image} for image in img_file_paths])

    # -- batches: concurrent across chunks, with LlamaIndex's per-batch events ------------------------------------

    def _text_chunk(self) -> int:
        return min(self.embed_batch_size, self.embedder.spec.max_batch)

    def _image_chunk(self) -> int:
        return min(self._text_chunk(), self.embedder.media.max_images)

    def get_text_embedding_batch(self, texts: list[str], show_progress: bool = False, **kwargs: Any) -> list[Embedding]:
        """Embed texts, `embed_batch_size` per request, up to `max_concurrency` requests at once, in input order."""
        with self._cached_as("document"):
            return _run_batch(self, texts, self._text_chunk(), show_progress, _embed_text_chunk, self.max_concurrency)

    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[Embedding]:
        """Async `get_text_embedding_batch`: the same chunks and events, as tasks under one bound."""
        with self._cached_as("document"):
            return await _arun_batch(
                self, texts, self._text_chunk(), show_progress, _aembed_text_chunk, self.max_concurrency
            )

    def get_image_embedding_batch(
        self, img_file_paths: list[ImageType], show_progress: bool = False
    ) -> list[Embedding]:
        """Embed images, one request per chunk (within the model's image cap), concurrently, in input order.

        Every image is read and checked before the first request (see `_images_on_the_wire`).
        """
        wire = self._images_on_the_wire(img_file_paths)
        return _run_batch(
            self,
            img_file_paths,
            self._image_chunk(),
            show_progress,
            _embed_image_chunk,
            self.max_concurrency,
            images=True,
            inputs=wire,
        )

    async def aget_image_embedding_batch(
        self, img_file_paths: list[ImageType], show_progress: bool = False
    ) -> list[Embedding]:
        """Async `get_image_embedding_batch`: the same chunks and events, as tasks under one bound."""
        wire = self._images_on_the_wire(img_file_paths)
        return await _arun_batch(
            self,
            img_file_paths,
            self._image_chunk(),
            show_progress,
            _aembed_image_chunk,
            self.max_concurrency,
            images=True,
            inputs=wire,
        )

    def _images_on_the_wire(self, images: Sequence[ImageType]) -> list[str]:
        """Each image as the URL or data URI the service receives, all checked before any chunk is sent.

        Chunks are embedded separately, so left to the embedder a bad image in a later chunk would be found only
        after earlier chunks were sent (and billed), and its error would count from the start of its chunk. Here
        the error names `img_file_paths[i]` with the index in the whole batch and nothing has been sent.
        """
        media, model = self.embedder.media, self.model_name
        return [
            image_to_wire(image, limits=media, where=f"img_file_paths[{index}]", model=model, index=index)
            for index, image in enumerate(images)
        ]

    # -- pickling: never the key ---------------------------------------------------------------------------------


class DashScopeSparseEmbedding(_Connection, BaseSparseEmbedding):
    """DashScope sparse (lexical) vectors for LlamaIndex, and the functions its Qdrant hybrid store takes.

    text-embedding-v4 and -v3 return a sparse vector (`output_type="sparse"`): keyword weights that find exact
    terms dense vectors may miss (reference docs §3.4: "exact keyword match … product SKU search"). Queries are sent
    with `text_type="query"`, texts with `"document"`; each vector is a `SparseEmbedding` (`{index: weight}`, Python
    floats, indices unique: an index the service repeats is merged by summing, see `SparseVector.from_entries`).

    ```python
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient
    from dashscope_embeddings.llama_index import DashScopeEmbedding, DashScopeSparseEmbedding

    sparse = DashScopeSparseEmbedding()                                  # key: DASHSCOPE_API_KEY
    store = QdrantVectorStore(
        "products", client=QdrantClient(":memory:"), enable_hybrid=True,
        sparse_doc_fn=sparse.qdrant_doc_fn, sparse_query_fn=sparse.qdrant_query_fn,
    )
    index = VectorStoreIndex(nodes, storage_context=StorageContext.from_defaults(vector_store=store),
                             embed_model=DashScopeEmbedding())
    index.as_retriever(vector_store_query_mode="hybrid", similarity_top_k=3).retrieve("XJ-9000")
    ```

    Fields: `model_name` (default `"text-embedding-v4"`; -v3 also has sparse vectors), `truncate`, and the
    connection settings every embedder takes (`api_key` — env `DASHSCOPE_API_KEY`, never serialised or pickled —
    `region`, `workspace`, `base_url`, `timeout`, `max_retries`, `max_concurrency`, `allow_insecure_http`,
    `http_client` / `http_async_client`). No `dimension`: a sparse vector has none.

    **Batches** work as in `DashScopeEmbedding`: `embed_batch_size` defaults to the model's cap (10 texts) and is
    lowered to it with a warning; `get_text_embedding_batch` and its async twin send one request per chunk, at most
    `max_concurrency` at once (lowered by `num_workers`), vectors in input order, with LlamaIndex's
    `SparseEmbeddingStartEvent` per chunk when it is submitted and `SparseEmbeddingEndEvent` as its vectors arrive.
    Every async method is native (`httpx.AsyncClient`).

    `model_name` and the connection settings are read when the instance is built; `truncate` and
    `embed_batch_size` on every call.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    model_name: str = Field(default="text-embedding-v4", description="DashScope text model with sparse vectors.")
    truncate: bool = Field(default=False, description="Cut over-long texts at the model's token limit.")

    _embedder: TextEmbedder | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build_embedder(self) -> Self:
        """Build the embedder now, so a bad setting (or a model without sparse vectors) fails at construction."""
        self._embedder = self._new_embedder()
        _cap_batch_size(self, self._embedder.spec.max_batch, "texts")
        return self

    def _new_embedder(self) -> TextEmbedder:
        settings = {name: getattr(self, name) for name in EMBEDDER_SETTINGS if name != "dimension"}
        embedder = TextEmbedder(self.model_name, **settings)
        if not embedder.spec.sparse:
            raise InputError(f"{self.model_name} has no sparse vectors; text-embedding-v4 and -v3 do.")
        return embedder

    @property
    def embedder(self) -> TextEmbedder:
        """The `TextEmbedder` doing the work (for usage, dense vectors, or `close()`)."""
        if self._embedder is None:  # only after unpickling without a key in the environment
            self._embedder = self._new_embedder()
        return self._embedder

    @classmethod
    def class_name(cls) -> str:
        return "DashScopeSparseEmbedding"

    def _sparse(self, texts: list[str], text_type: TextType) -> list[SparseEmbedding]:
        if not texts:
            return []
        result = self.embedder.embed(texts, text_type=text_type, output_type="sparse", truncate=self.truncate)
        return [vector.to_dict() for vector in result.sparse]

    async def _asparse(self, texts: list[str], text_type: TextType) -> list[SparseEmbedding]:
        if not texts:
            return []
        result = await self.embedder.aembed(texts, text_type=text_type, output_type="sparse", truncate=self.truncate)
        return [vector.to_dict() for vector in result.sparse]

    # -- single calls and chunks ---------------------------------------------------------------------------------

    def _get_query_embedding(self, query: str) -> SparseEmbedding:
        return self._sparse([query], "query")[0]

    async def _aget_query_embedding(self, query: str) -> SparseEmbedding:
        return (await self._asparse([query], "query"))[0]

    def _get_text_embedding(self, text: str) -> SparseEmbedding:
        return self._sparse([text], "document")[0]

    async def _aget_text_embedding(self, text: str) -> SparseEmbedding:
        return (await self._asparse([text], "document"))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[SparseEmbedding]:
        return self._sparse(list(texts), "document")

    async def _aget_text_embeddings(self, texts: list[str]) -> list[SparseEmbedding]:
        return await self._asparse(list(texts), "document")

    # -- batches: concurrent across chunks, with LlamaIndex's sparse events ---------------------------------------

    def _chunks_and_events(self, texts: list[str]) -> list[list[str]]:
        chunks = _chunks(texts, min(self.embed_batch_size, self.embedder.spec.max_batch))
        model_dict = self.to_payload()
        for _ in chunks:
            dispatcher.event(SparseEmbeddingStartEvent(model_dict=model_dict))
        return chunks

    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[SparseEmbedding]:
        """Sparse vectors of texts (as documents), `embed_batch_size` per request, concurrently, in input order."""
        chunks = self._chunks_and_events(texts)
        jobs = [(contextvars.copy_context(), chunk) for chunk in chunks]
        results = run_ordered(
            jobs,
            lambda job: job[0].run(self._get_text_embeddings, job[1]),
            concurrency=_concurrency(self, self.max_concurrency),
        )
        vectors: list[SparseEmbedding] = []
        progress = _progress_bar(len(texts), "Generating embeddings") if show_progress and texts else None
        try:
            for chunk, embeddings in zip(chunks, results, strict=True):
                dispatcher.event(SparseEmbeddingEndEvent(chunks=chunk, embeddings=embeddings))
                vectors.extend(embeddings)
                if progress is not None:
                    progress.update(len(chunk))
        finally:
            results.close()  # stop queued requests now, not at garbage collection
            if progress is not None:
                progress.close()
        return vectors

    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[SparseEmbedding]:
        """Async `get_text_embedding_batch`: the same chunks and events, as tasks under one bound."""
        chunks = self._chunks_and_events(texts)
        results = arun_ordered(chunks, self._aget_text_embeddings, concurrency=_concurrency(self, self.max_concurrency))
        vectors: list[SparseEmbedding] = []
        progress = _progress_bar(len(texts), "Generating embeddings") if show_progress and texts else None
        try:
            index = 0
            async for embeddings in results:
                dispatcher.event(SparseEmbeddingEndEvent(chunks=chunks[index], embeddings=embeddings))
                vectors.extend(embeddings)
                if progress is not None:
                    progress.update(len(chunks[index]))
                index += 1
        finally:
            await results.aclose()  # cancel in-flight requests now
            if progress is not None:
                progress.close()
        return vectors

    # -- LlamaIndex's QdrantVectorStore(enable_hybrid=True, sparse_doc_fn=..., sparse_query_fn=...) ---------------

    def qdrant_doc_fn(self, texts: list[str]) -> tuple[list[list[int]], list[list[float]]]:
        """`sparse_doc_fn`: `(indices, values)` lists for the texts of a batch of nodes, embedded as documents.

        LlamaIndex's Qdrant store calls it once per upload batch (64 nodes by default, `batch_size`), from its sync
        and async add alike; the batch goes out as requests of `embed_batch_size`, concurrently.
        """
        return _indices_and_values(self.get_text_embedding_batch(texts))

    def qdrant_query_fn(self, texts: list[str]) -> tuple[list[list[int]], list[list[float]]]:
        """`sparse_query_fn`: `(indices, values)` lists for query strings, embedded as queries.

        The store calls it synchronously with `[query_str]`, in its async query path too (its type,
        `SparseEncoderCallable`, is a plain function): one short request.
        """
        return _indices_and_values([self.get_query_embedding(text) for text in texts])

    # -- pickling: never the key ---------------------------------------------------------------------------------


def _indices_and_values(vectors: list[SparseEmbedding]) -> tuple[list[list[int]], list[list[float]]]:
    """LlamaIndex's `BatchSparseEncoding`: parallel lists of indices and of values, one pair per text."""
    return [list(vector) for vector in vectors], [list(vector.values()) for vector in vectors]


# -- shared by both adapters: batches run concurrently with LlamaIndex's per-batch events; pickles without the key


def _pickled_state(model: BaseModel) -> dict[Any, Any]:
    scrubbed = model.model_copy(update=dict.fromkeys(_NOT_PICKLED))
    setattr(scrubbed, "_embedder", None)  # noqa: B010  # a private attribute every adapter declares
    state: dict[Any, Any]
    if isinstance(scrubbed, BaseEmbedding):
        state = BaseEmbedding.__getstate__(scrubbed)
    else:  # BaseSparseEmbedding is a plain pydantic model, without BaseComponent's __getstate__
        state = BaseModel.__getstate__(scrubbed)
    return state


def _unpickle(model: BaseModel, state: dict[Any, Any]) -> None:
    fields = {k: v for k, v in state["__dict__"].items() if k not in _NOT_PICKLED}
    try:
        model.__init__(**fields)  # type: ignore[misc]
    except (ValidationError, DashScopeError):
        # No key here (yet): restore the settings; the embedder is built, and the error raised, on first use.
        fields.update(dict.fromkeys(_NOT_PICKLED))
        BaseModel.__setstate__(model, {**state, "__dict__": fields})


def _cap_batch_size(owner: BaseEmbedding | BaseSparseEmbedding, cap: int, noun: str) -> None:
    """Default `embed_batch_size` to the model's per-request cap; lower a larger value to it, with a warning."""
    if "embed_batch_size" not in owner.model_fields_set:
        owner.embed_batch_size = cap
    elif owner.embed_batch_size > cap:
        warnings.warn(
            f"embed_batch_size={owner.embed_batch_size} is above {owner.model_name}'s limit of {cap} {noun} per "
            f"request; using {cap}.",
            UserWarning,
            stacklevel=4,
        )
        owner.embed_batch_size = cap


def _concurrency(owner: BaseEmbedding | BaseSparseEmbedding, max_concurrency: int) -> int:
    """`max_concurrency`, lowered by LlamaIndex's `num_workers` when that is set."""
    if owner.num_workers is not None and owner.num_workers > 0:
        return min(owner.num_workers, max_concurrency)
    return max_concurrency


def _run_batch(
    owner: _E,
    items: Sequence[Any],
    size: int,
    show_progress: bool,
    embed_chunk: Callable[[_E, list[Any]], list[Embedding]],
    max_concurrency: int,
    *,
    images: bool = False,
    inputs: Sequence[Any] | None = None,
) -> list[Embedding]:
    """Chunks of `size` through `embed_chunk` in worker threads (each in a copy of the caller's context).

    `items` are what the events report; `inputs` (default: `items`), aligned with them, are what is embedded.
    """
    batch = _Batch(owner, items, size, show_progress, images=images)
    jobs = [(contextvars.copy_context(), chunk) for chunk in _chunks(items if inputs is None else inputs, size)]
    results = run_ordered(
        jobs, lambda job: job[0].run(embed_chunk, owner, job[1]), concurrency=_concurrency(owner, max_concurrency)
    )
    return batch.collect(results)


async def _arun_batch(
    owner: _E,
    items: Sequence[Any],
    size: int,
    show_progress: bool,
    aembed_chunk: Callable[[_E, list[Any]], Awaitable[list[Embedding]]],
    max_concurrency: int,
    *,
    images: bool = False,
    inputs: Sequence[Any] | None = None,
) -> list[Embedding]:
    """Async `_run_batch`: the chunks as tasks under one bound."""
    batch = _Batch(owner, items, size, show_progress, images=images)
    chunks = _chunks(items if inputs is None else inputs, size)
    return await batch.acollect(
        arun_ordered(chunks, partial(aembed_chunk, owner), concurrency=_concurrency(owner, max_concurrency))
    )


def _chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def _embed_text_chunk(owner: BaseEmbedding, chunk: list[str]) -> list[Embedding]:
    if owner.rate_limiter is not None:
        owner.rate_limiter.acquire()
    if owner.embeddings_cache is not None:
        return owner._get_text_embeddings_cached(chunk)
    return owner._get_text_embeddings(chunk)


async def _aembed_text_chunk(owner: BaseEmbedding, chunk: list[str]) -> list[Embedding]:
    if owner.rate_limiter is not None:
        await owner.rate_limiter.async_acquire()
    if owner.embeddings_cache is not None:
        return await owner._aget_text_embeddings_cached(chunk)
    return await owner._aget_text_embeddings(chunk)


def _embed_image_chunk(owner: MultiModalEmbedding, chunk: list[ImageType]) -> list[Embedding]:
    if owner.rate_limiter is not None:
        owner.rate_limiter.acquire()
    return owner._get_image_embeddings(chunk)


async def _aembed_image_chunk(owner: MultiModalEmbedding, chunk: list[ImageType]) -> list[Embedding]:
    if owner.rate_limiter is not None:
        await owner.rate_limiter.async_acquire()
    return await owner._aget_image_embeddings(chunk)


class _Batch:
    """One batch call's chunks and its LlamaIndex events: starts on submission, ends as vectors arrive in order.

    Image batches get only the callback-manager events, as in LlamaIndex's own `get_image_embedding_batch`: its
    instrumentation events carry texts (`EmbeddingEndEvent.chunks: list[str]`), and an image may be a `BytesIO`.
    """

    def __init__(
        self, owner: BaseEmbedding, items: Sequence[Any], size: int, show_progress: bool, *, images: bool = False
    ) -> None:
        self.owner = owner
        self.dispatch = not images
        self.chunks = _chunks(items, size)
        model_dict = owner.to_payload()
        self.event_ids: list[str] = []
        for _ in self.chunks:
            if self.dispatch:
                dispatcher.event(EmbeddingStartEvent(model_dict=model_dict))
            self.event_ids.append(
                owner.callback_manager.on_event_start(
                    CBEventType.EMBEDDING, payload={EventPayload.SERIALIZED: model_dict}
                )
            )
        self.finished = 0
        desc = "Generating image embeddings" if images else "Generating embeddings"
        self.progress = _progress_bar(len(items), desc) if show_progress and items else None

    def done(self, embeddings: list[Embedding]) -> None:
        """Emit the end events of the next chunk in order."""
        chunk, event_id = self.chunks[self.finished], self.event_ids[self.finished]
        self.finished += 1
        self.owner.callback_manager.on_event_end(
            CBEventType.EMBEDDING,
            payload={EventPayload.CHUNKS: chunk, EventPayload.EMBEDDINGS: embeddings},
            event_id=event_id,
        )
        if self.dispatch:
            dispatcher.event(_end_event(chunk, embeddings))
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


def _end_event(chunk: list[Any], embeddings: list[Embedding]) -> EmbeddingEndEvent:
    """LlamaIndex's `EmbeddingEndEvent` without pydantic re-checking the vectors: validating 10 × 1024 floats took
    about 150 µs per chunk, 2 % of a latency-bound batch, and these are lists of floats the protocol layer checked.

    The event's own defaults (timestamp, id, span) are filled from its fields' factories, as pydantic would;
    `model_construct` alone inspects each factory's signature on every call, which costs as much as validating.
    A factory that needs arguments (a future LlamaIndex) falls back to the validating constructor.
    """
    try:
        defaults = {
            name: field.default_factory()  # type: ignore[call-arg]
            for name, field in EmbeddingEndEvent.model_fields.items()
            if field.default_factory is not None
        }
    except TypeError:
        return EmbeddingEndEvent(chunks=chunk, embeddings=embeddings)
    return EmbeddingEndEvent.model_construct(chunks=chunk, embeddings=embeddings, **defaults)


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, desc: str) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:  # LlamaIndex's own behaviour: no tqdm, no bar
        return _NoProgress()
    return tqdm(total=total, desc=desc)
