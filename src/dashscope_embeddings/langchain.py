"""LangChain adapters: `DashScopeEmbeddings` over `TextEmbedder`, `DashScopeMultimodalEmbeddings` over
`MultimodalEmbedder`; both are `langchain_core.embeddings.Embeddings`.

Also the store-independent half of the sparse and hybrid adapters in `dashscope_embeddings.qdrant` and
`dashscope_embeddings.milvus`: `SparseEmbeddingsBase` (settings and embedder of a sparse-only embedding),
`HybridEmbeddingsBase` (settings and the shared `HybridEmbedder` of a dense + sparse pair) and its dense view
`HybridDenseView`. Each store module adds only its sparse interface, so both stores offer one shape; this module
imports neither store's package (they are optional extras).

Thin by design: LangChain's calls map onto the embedder (`embed_documents` → `text_type="document"`,
`embed_query` → `text_type="query"` plus the optional `query_instruct`; `embed_image(uris)` → image items), and
everything else (validation, batching at the model's caps, concurrency, retries, ordering by index, region and key
resolution) is the embedder's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings
from langchain_core.utils import secret_from_env
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
from .embedder import CONNECTION_SETTINGS
from .errors import DashScopeError, InputError
from .hybrid import DEFAULT_MEMO_SIZE, HybridEmbedder
from .multimodal import MultimodalEmbedder
from .text import DEFAULT_MAX_CONCURRENCY, EMBEDDER_SETTINGS, TextEmbedder
from .transport import DEFAULT_TIMEOUT
from .types import SparseVector, TextType

__all__ = ["DashScopeEmbeddings", "DashScopeMultimodalEmbeddings"]

# Never pickled: the key (a pickle is a file anyone may read) and the live HTTP clients (they hold locks and sockets).
_NOT_PICKLED = ("api_key", "http_client", "http_async_client")


# -- shared by both adapters: settings that describe the embedder in use, and pickles without the key -----------


def _assign(model: BaseModel, name: str, value: Any) -> None:
    """`setattr` that restores the old value when validation (which rebuilds the embedder) rejects the new one.

    pydantic keeps an assigned value even when the model validator then raises, so without this the fields would
    describe a configuration that is not the one in use.
    """
    if name not in type(model).model_fields:
        BaseModel.__setattr__(model, name, value)
        return
    old = model.__dict__[name]
    try:
        BaseModel.__setattr__(model, name, value)
    except (ValidationError, DashScopeError):
        model.__dict__[name] = old
        raise


def _pickled_state(model: BaseModel) -> dict[Any, Any]:
    state = BaseModel.__getstate__(model)
    return {
        **state,
        "__dict__": {k: v for k, v in state["__dict__"].items() if k not in _NOT_PICKLED},
        "__pydantic_fields_set__": set(state["__pydantic_fields_set__"]) - set(_NOT_PICKLED),
        "__pydantic_private__": {"_embedder": None},
    }


def _unpickle(model: BaseModel, state: dict[Any, Any]) -> None:
    """Rebuild from the pickled settings; the key comes from `DASHSCOPE_API_KEY` in this process."""
    fields = state["__dict__"]
    try:
        model.__init__(**fields)  # type: ignore[misc]
    except (ValidationError, DashScopeError):
        # No key here (yet): restore the settings; the embedder is built, and the error raised, on first use.
        BaseModel.__setstate__(
            model,
            {
                **state,
                "__dict__": {**fields, **dict.fromkeys(_NOT_PICKLED)},
                "__pydantic_private__": {"_embedder": None},
            },
        )


class _Connection(BaseModel):
    """The connection settings every adapter takes (named as `embedder.CONNECTION_SETTINGS`), declared once."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        protected_namespaces=(),
        arbitrary_types_allowed=True,
        validate_assignment=True,
    )

    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("DASHSCOPE_API_KEY", default=None),
        validation_alias=AliasChoices("api_key", "dashscope_api_key"),
    )
    """API key; env `DASHSCOPE_API_KEY`. Keys are per region."""
    region: str | None = None
    """Region name or id; None uses env `DASHSCOPE_API_REGION`, then Singapore."""
    workspace: str | None = None
    """Workspace id (workspace host + `X-DashScope-WorkSpace` header); env `DASHSCOPE_WORKSPACE_ID`."""
    base_url: str | None = None
    """API root ending in `/api/v1`; None uses env `DASHSCOPE_HTTP_BASE_URL`, then the region's host."""
    timeout: float = DEFAULT_TIMEOUT
    """Seconds to wait for each request."""
    max_retries: int = 2
    """Retries after the first attempt (transient failures only; 429s have their own, larger budget)."""
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    """Requests in flight per call."""
    allow_insecure_http: bool = False
    """Allow a plain-http base_url to a non-loopback host (the key would travel in clear text)."""
    http_client: Any = Field(default=None, exclude=True, repr=False)
    """Optional `httpx.Client` for sync calls."""
    http_async_client: Any = Field(default=None, exclude=True, repr=False)
    """Optional `httpx.AsyncClient` for async calls."""

    if not TYPE_CHECKING:  # type checkers keep the signature pydantic derives from the fields

        def __init__(self, **data: Any) -> None:
            masked_key(data)
            super().__init__(**data)

    def __setattr__(self, name: str, value: Any) -> None:
        _assign(self, name, value)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        copied: Self = deep_copy(self, memo)
        return copied

    def __getstate__(self) -> dict[Any, Any]:
        return _pickled_state(self)

    def __setstate__(self, state: dict[Any, Any]) -> None:
        """Rebuild from the pickled settings; the key comes from `DASHSCOPE_API_KEY` in this process."""
        _unpickle(self, state)


class DashScopeEmbeddings(_Connection, Embeddings):
    """Alibaba Cloud Model Studio (DashScope) text embeddings for LangChain.

    Documents are sent with `text_type="document"` and queries with `text_type="query"` (DashScope embeds the two
    asymmetrically for retrieval), at most the model's batch cap per request (10 texts for text-embedding-v4/-v3,
    25 for -v2/-v1), with requests running concurrently and every vector put back in input order.

    Setup:
        Install the extra and export a key for your region (keys are per region):

        ```bash
        pip install "dashscope-embeddings[langchain]"
        export DASHSCOPE_API_KEY="sk-..."
        ```

    Key init args — embedding params:
        model: str
            Model name; default `"text-embedding-v4"`.
        dimension: int | None
            Output dimension (also accepted as `dimensions`). text-embedding-v4 offers 2048, 1536, 1024 (default),
            768, 512, 256, 128 and 64; -v3 offers 1024, 768 and 512; -v2/-v1 are fixed at 1536.
        query_instruct: str | None
            An English task description sent with queries only, e.g. `"Given a web search query, retrieve relevant
            passages that answer the query"` (text-embedding-v4; typically +1–5% retrieval quality).
        truncate: bool
            Cut texts longer than the model's token limit instead of raising `InputError`.

    Key init args — client params:
        api_key: SecretStr | None
            Also accepted as `dashscope_api_key` (langchain-community's name). Default: env `DASHSCOPE_API_KEY`.
        region: str | None
            `"singapore"` (default), `"beijing"`, `"hongkong"`, `"us"`, or an id such as `"cn-beijing"`. Default:
            env `DASHSCOPE_API_REGION`.
        workspace: str | None
            Workspace id: uses the workspace host and the `X-DashScope-WorkSpace` header.
        base_url: str | None
            API root ending in `/api/v1`. Default: env `DASHSCOPE_HTTP_BASE_URL`.
        timeout: float
            Seconds per request (default 60).
        max_retries: int
            Retries after the first attempt for connection errors, timeouts, 408/409/429/5xx (default 2).
        max_concurrency: int
            Requests in flight per call (default 16).
        http_client / http_async_client: httpx.Client / httpx.AsyncClient | None
            Your own clients (proxies, custom transports, tests). Not serialised, never closed by this class.

    Instantiate:
        ```python
        from dashscope_embeddings.langchain import DashScopeEmbeddings

        embeddings = DashScopeEmbeddings(
            model="text-embedding-v4",
            dimension=1024,
            # api_key="sk-...",      # or env DASHSCOPE_API_KEY
            # region="beijing",      # or env DASHSCOPE_API_REGION; default "singapore"
            # query_instruct="Given a web search query, retrieve relevant passages that answer the query",
        )
        ```

    Embed single text:
        ```python
        vector = embeddings.embed_query("What is the capital of France?")
        len(vector)  # 1024
        ```

    Embed multiple texts:
        ```python
        vectors = embeddings.embed_documents(["Paris is the capital of France.", "Berlin is in Germany."])
        len(vectors), len(vectors[0])  # (2, 1024)
        ```

    Async:
        ```python
        vector = await embeddings.aembed_query("What is the capital of France?")
        vectors = await embeddings.aembed_documents(["Paris is the capital of France."])
        ```
        Native `httpx.AsyncClient` requests, not LangChain's thread-pool fallback.

    Settings are read when the instance is built; assigning a field afterwards validates it and rebuilds the
    underlying `TextEmbedder` (`embeddings.embedder`), which is also where sparse vectors and usage are available.
    """

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        protected_namespaces=(),
        arbitrary_types_allowed=True,
        validate_assignment=True,
    )

    model: str = "text-embedding-v4"
    """DashScope model name."""
    dimension: int | None = Field(default=None, validation_alias=AliasChoices("dimension", "dimensions"))
    """Output dimension; None uses the model's default (1024 for text-embedding-v4)."""
    query_instruct: str | None = None
    """English task description sent with queries (never with documents); text-embedding-v4 only."""
    truncate: bool = False
    """Cut over-long texts at the model's token limit instead of raising InputError."""

    _embedder: TextEmbedder | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build_embedder(self) -> Self:
        """Build the embedder now, so a bad setting fails at construction; no network is touched."""
        embedder = self._new_embedder()
        if self.query_instruct is not None and not embedder.spec.instruct:
            raise InputError(f"{self.model} does not take instruct (query_instruct); text-embedding-v4 does.")
        self._embedder = embedder  # only once every check passed: a rejected assignment keeps the old embedder
        return self

    def _new_embedder(self) -> TextEmbedder:
        return TextEmbedder(self.model, **{name: getattr(self, name) for name in EMBEDDER_SETTINGS})

    @property
    def embedder(self) -> TextEmbedder:
        """The `TextEmbedder` doing the work (for sparse vectors, usage, or `close()`)."""
        if self._embedder is None:  # only after unpickling without a key in the environment
            self._embedder = self._new_embedder()
        return self._embedder

    # -- LangChain's interface -----------------------------------------------------------------------------------

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts to store (`text_type="document"`), in input order; `[]` for no texts, without a request."""
        if not texts:
            return []
        return self.embedder.embed(texts, text_type="document").embeddings

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (`text_type="query"`, with `query_instruct` if set)."""
        return self.embedder.embed([text], text_type="query", instruct=self.query_instruct).embeddings[0]

    def cache_namespace(self, text_type: TextType) -> str:
        """The namespace to cache this instance's `text_type` vectors under (see docs/caching.md), e.g.
        `dashscope/text-embedding-v4/1024/query`: model, dimension, text type and a hash of `query_instruct`."""
        instruct = self.query_instruct if text_type == "query" else None
        return self.embedder.cache_namespace(text_type, instruct=instruct)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async `embed_documents` on the running event loop."""
        if not texts:
            return []
        return (await self.embedder.aembed(texts, text_type="document")).embeddings

    async def aembed_query(self, text: str) -> list[float]:
        """Async `embed_query` on the running event loop."""
        return (await self.embedder.aembed([text], text_type="query", instruct=self.query_instruct)).embeddings[0]

    # -- pickling: never the key ---------------------------------------------------------------------------------


class DashScopeMultimodalEmbeddings(_Connection, Embeddings):
    """Alibaba Cloud Model Studio (DashScope) multimodal embeddings for LangChain: text, images, videos, fused items.

    Text, images and videos land in one vector space, so a text query finds images (and an image finds images or
    texts). `embed_image(uris)` is the method LangChain vector stores look for (`Chroma.add_images`,
    `similarity_search_by_image`). Requests are packed within the model's caps (tongyi-embedding-vision-plus: 20
    contents and 8 images per request), run concurrently, and every vector comes back in input order.

    Setup:
        ```bash
        pip install "dashscope-embeddings[langchain]"
        export DASHSCOPE_API_KEY="sk-..."
        ```

    Key init args — embedding params:
        model: str
            Model name; default `"tongyi-embedding-vision-plus"` (Singapore and Beijing). See the multimodal guide
            for the others (`tongyi-embedding-vision-flash`, `qwen3-vl-embedding`, the -2026-03-06 snapshots, …).
        dimension: int | None
            Output dimension (also accepted as `dimensions`); vision-plus offers 1152 (default), 1024, 512, 256,
            128 and 64.
        query_instruct: str | None
            English task description sent with `embed_query` only, on models that take `instruct`
            (qwen3-vl-embedding), e.g. `"Find images that match the description"`.

    Key init args — client params:
        The same as `DashScopeEmbeddings`: `api_key` (alias `dashscope_api_key`; env `DASHSCOPE_API_KEY`), `region`,
        `workspace`, `base_url` (env `DASHSCOPE_HTTP_BASE_URL`), `timeout`, `max_retries`, `max_concurrency`,
        `allow_insecure_http`, `http_client` / `http_async_client`.

    Instantiate:
        ```python
        from dashscope_embeddings.langchain import DashScopeMultimodalEmbeddings

        embeddings = DashScopeMultimodalEmbeddings(model="tongyi-embedding-vision-plus", dimension=512)
        ```

    Embed images and text:
        ```python
        image_vectors = embeddings.embed_image(uris=["photos/cat.png", "https://example.com/dog.jpg"])
        query_vector = embeddings.embed_query("a cat asleep on a sofa")
        ```

    With Chroma:
        ```python
        from langchain_chroma import Chroma

        store = Chroma(collection_name="photos", embedding_function=embeddings)
        store.add_images(uris=["photos/cat.png", "photos/dog.png"])
        store.similarity_search_by_image(uri="photos/cat.png", k=1)   # the cat first
        store.similarity_search("a sleeping cat", k=1)                 # text → image
        ```

    Async:
        ```python
        vectors = await embeddings.aembed_image(["photos/cat.png"])
        vector = await embeddings.aembed_query("a cat")
        ```
        Native `httpx.AsyncClient` requests, not LangChain's thread-pool fallback.

    Every `str` passed to `embed_documents` / `embed_query` is text, never a file name; images go through
    `embed_image`. No method applies `query_instruct` except `embed_query`: LangChain's image search calls
    `embed_image` for stored images and query images alike, so images cannot be told apart by role. For per-call
    options (`dimension`, `instruct`, `res_level`, `fps`, …) or usage, use the embedder itself (`embeddings.embedder`).
    """

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        protected_namespaces=(),
        arbitrary_types_allowed=True,
        validate_assignment=True,
    )

    model: str = "tongyi-embedding-vision-plus"
    """DashScope multimodal model name."""
    dimension: int | None = Field(default=None, validation_alias=AliasChoices("dimension", "dimensions"))
    """Output dimension; None uses the model's default (1152 for tongyi-embedding-vision-plus)."""
    query_instruct: str | None = None
    """English task description sent with `embed_query` only; models that take instruct (qwen3-vl-embedding)."""

    _embedder: MultimodalEmbedder | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build_embedder(self) -> Self:
        """Build the embedder now, so a bad setting fails at construction; no network is touched."""
        embedder = self._new_embedder()
        if self.query_instruct is not None and not embedder.spec.instruct:
            raise InputError(f"{self.model} does not take instruct (query_instruct); qwen3-vl-embedding does.")
        self._embedder = embedder  # only once every check passed: a rejected assignment keeps the old embedder
        return self

    def _new_embedder(self) -> MultimodalEmbedder:
        return MultimodalEmbedder(self.model, **{name: getattr(self, name) for name in CONNECTION_SETTINGS})

    @property
    def embedder(self) -> MultimodalEmbedder:
        """The `MultimodalEmbedder` doing the work (for per-call options, usage, or `close()`)."""
        if self._embedder is None:  # only after unpickling without a key in the environment
            self._embedder = self._new_embedder()
        return self._embedder

    def _embed(self, items: list[Any], instruct: str | None = None) -> list[list[float]]:
        if not items:
            return []
        return self.embedder.embed(items, instruct=instruct).embeddings

    async def _aembed(self, items: list[Any], instruct: str | None = None) -> list[list[float]]:
        if not items:
            return []
        return (await self.embedder.aembed(items, instruct=instruct)).embeddings

    # -- LangChain's interface: text -----------------------------------------------------------------------------

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts to store, in input order; `[]` for no texts, without a request. Strings are text, not paths."""
        return self._embed(list(texts))

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (with `query_instruct` if set); searches images and texts alike."""
        return self._embed([text], self.query_instruct)[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async `embed_documents` on the running event loop."""
        return await self._aembed(list(texts))

    async def aembed_query(self, text: str) -> list[float]:
        """Async `embed_query` on the running event loop."""
        return (await self._aembed([text], self.query_instruct))[0]

    # -- images, videos, fused items -----------------------------------------------------------------------------

    def embed_image(self, uris: Sequence[str | os.PathLike[str]]) -> list[list[float]]:
        """Embed images, one vector each, in input order; `[]` for none, without a request.

        Each uri is a local file path (read, checked and sent inline as a data URI), an http(s) URL (fetched by
        the service) or a `data:image/...;base64,` URI. This is the signature LangChain's vector stores call
        (`embed_image(uris=[...])`).
        """
        return self._embed([{"image": uri} for uri in uris])

    async def aembed_image(self, uris: Sequence[str | os.PathLike[str]]) -> list[list[float]]:
        """Async `embed_image` on the running event loop."""
        return await self._aembed([{"image": uri} for uri in uris])

    def embed_video(self, urls: Sequence[str]) -> list[list[float]]:
        """Embed videos by http(s) URL (the service fetches them; DashScope takes no local or inline video)."""
        return self._embed([{"video": url} for url in urls])

    async def aembed_video(self, urls: Sequence[str]) -> list[list[float]]:
        """Async `embed_video` on the running event loop."""
        return await self._aembed([{"video": url} for url in urls])

    def embed_fused(self, items: Sequence[Mapping[str, Any]]) -> list[list[float]]:
        """Embed items that each combine modalities into one vector, e.g. a product photo with its caption.

        Each item is a dict with any of `"text"` (a string), `"image"` (a path, URL, data URI, bytes, file object
        or PIL image) and `"video"` (an http(s) URL): `{"text": "red sneakers", "image": "shoe.png"}`. Only models
        that fuse accept several keys (qwen3-vl-embedding, qwen2.5-vl-embedding, the -2026-03-06 snapshots); the
        others refuse them with `InputError` before sending. A single-key dict is a plain item on every model.
        """
        return self._embed(list(items))

    async def aembed_fused(self, items: Sequence[Mapping[str, Any]]) -> list[list[float]]:
        """Async `embed_fused` on the running event loop."""
        return await self._aembed(list(items))

    # -- pickling: never the key ---------------------------------------------------------------------------------


# -- shared by the sparse and hybrid adapters of each vector store (qdrant.py, milvus.py) ------------------------

_SPARSE_SETTINGS = tuple(name for name in EMBEDDER_SETTINGS if name != "dimension")
"""`TextEmbedder` settings a sparse-only adapter exposes as fields: all but `dimension`, which sizes only the dense
vector."""

_STORE_CONFIG = ConfigDict(
    extra="forbid",
    populate_by_name=True,
    protected_namespaces=(),
    arbitrary_types_allowed=True,
    validate_assignment=True,
)


def _require_sparse(embedder: TextEmbedder) -> TextEmbedder:
    """`embedder`, if its model returns sparse vectors; checked when an adapter is built, not on its first call."""
    if not embedder.spec.sparse:
        raise InputError(f"{embedder.model} has no sparse vectors; text-embedding-v4 and -v3 do.")
    return embedder


class SparseEmbeddingsBase(_Connection):
    """Settings and `TextEmbedder` of a sparse-only adapter (`output_type="sparse"`); subclasses add a store's
    interface and its vector form.

    Documents go out with `text_type="document"` and queries with `"query"`, at most the model's batch cap per
    request (10 texts on text-embedding-v4/-v3), concurrently, in input order. The fields are those of
    `DashScopeEmbeddings` but `dimension` (a sparse vector has none) and `query_instruct`.
    """

    model_config = _STORE_CONFIG

    model: str = "text-embedding-v4"
    """DashScope model with sparse vectors: text-embedding-v4 or -v3."""
    truncate: bool = False
    """Cut over-long texts at the model's token limit instead of raising InputError."""

    _embedder: TextEmbedder | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build_embedder(self) -> Self:
        """Build the embedder now, so a bad setting (or a model without sparse vectors) fails at construction."""
        self._embedder = self._new_embedder()
        return self

    def _new_embedder(self) -> TextEmbedder:
        return _require_sparse(TextEmbedder(self.model, **{name: getattr(self, name) for name in _SPARSE_SETTINGS}))

    @property
    def embedder(self) -> TextEmbedder:
        """The `TextEmbedder` doing the work (for usage, tokens, or `close()`)."""
        if self._embedder is None:  # only after unpickling without a key in the environment
            self._embedder = self._new_embedder()
        return self._embedder

    def _sparse_vectors(self, texts: list[str], text_type: TextType) -> list[SparseVector]:
        """One request per batch; `[]` for no texts, without a request."""
        if not texts:
            return []
        return self.embedder.embed(texts, text_type=text_type, output_type="sparse").sparse

    async def _asparse_vectors(self, texts: list[str], text_type: TextType) -> list[SparseVector]:
        if not texts:
            return []
        return (await self.embedder.aembed(texts, text_type=text_type, output_type="sparse")).sparse


class HybridEmbeddingsBase(_Connection):
    """Settings and one `HybridEmbedder` shared by a dense view and a store's sparse view: one request per batch.

    Vector stores take a dense and a sparse embedding as two objects and call them one after the other with the
    same texts. DashScope returns both kinds from one request at the price of one (`output_type="dense&sparse"`;
    reference docs §3.4: "the generation cost is the same"). Whichever view is asked first fetches both kinds and
    leaves them in a bounded memo (keyed by text, text_type, model and dimension); the other view reads them there.

    `.dense` is a `HybridDenseView`, a LangChain `Embeddings`, for every store. Each store module subclasses this
    class and adds `.sparse` in the form its store takes (`dashscope_embeddings.qdrant.DashScopeHybridEmbeddings`,
    `dashscope_embeddings.milvus.DashScopeMilvusHybridEmbeddings`). The views hold no state of their own: they read
    through this object, so assigning a setting (which rebuilds the embedder, with an empty memo) reaches both.

    `query_instruct` shapes the dense query vector only, and the memo does not key on it: with it set, the dense
    view sends its own request for each query (no `output_type`, with `instruct`), and the sparse view's query
    request still carries `output_type="dense&sparse"`. Documents are shared either way.
    """

    model_config = _STORE_CONFIG

    model: str = "text-embedding-v4"
    """DashScope text model with sparse output (text-embedding-v4 or -v3)."""
    dimension: int | None = Field(default=None, validation_alias=AliasChoices("dimension", "dimensions"))
    """Dense output dimension; None uses the model's default (1024 for text-embedding-v4)."""
    memo_size: int = Field(default=DEFAULT_MEMO_SIZE, ge=1)
    """Texts whose two vectors are remembered, least recently used dropped first."""
    query_instruct: str | None = None
    """English task description sent with dense queries (never with documents); text-embedding-v4 only."""
    truncate: bool = False
    """Cut over-long texts at the model's token limit instead of raising InputError."""

    _embedder: HybridEmbedder | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build_embedder(self) -> Self:
        """Build the embedder now, so a bad setting (or a model without sparse vectors) fails at construction."""
        hybrid = self._new_embedder()
        if self.query_instruct is not None and not hybrid.embedder.spec.instruct:
            raise InputError(f"{self.model} does not take instruct (query_instruct); text-embedding-v4 does.")
        self._embedder = hybrid  # only once every check passed: a rejected assignment keeps the old embedder
        return self

    def _new_embedder(self) -> HybridEmbedder:
        embedder = TextEmbedder(self.model, **{name: getattr(self, name) for name in EMBEDDER_SETTINGS})
        return HybridEmbedder(_require_sparse(embedder), memo_size=self.memo_size)

    @property
    def hybrid(self) -> HybridEmbedder:
        """The `HybridEmbedder` both views share (its memo, `clear()`, and the `TextEmbedder` underneath)."""
        if self._embedder is None:  # only after unpickling without a key in the environment
            self._embedder = self._new_embedder()
        return self._embedder

    @property
    def embedder(self) -> TextEmbedder:
        """The `TextEmbedder` doing the work (for usage, tokens, or `close()`)."""
        return self.hybrid.embedder

    @property
    def dense(self) -> HybridDenseView:
        """The dense view: a LangChain `Embeddings` for the store's dense field."""
        return HybridDenseView(self)


class HybridDenseView(Embeddings):
    """The dense half of a `HybridEmbeddingsBase`; the sparse half is answered from the same requests."""

    def __init__(self, owner: HybridEmbeddingsBase) -> None:
        self.owner = owner

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.owner!r})"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Dense vectors of texts to store (`text_type="document"`), in input order; `[]` for none, no request."""
        return [list(dense) for dense, _ in self.owner.hybrid.embed(texts, text_type="document")]

    def embed_query(self, text: str) -> list[float]:
        """Dense vector of a search query (`text_type="query"`, with the owner's `query_instruct` if set)."""
        owner = self.owner
        if owner.query_instruct is not None:  # not in the memo's key: a request of its own
            return owner.embedder.embed([text], text_type="query", instruct=owner.query_instruct).embeddings[0]
        return list(owner.hybrid.embed([text], text_type="query")[0][0])

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async `embed_documents` on the running event loop."""
        return [list(dense) for dense, _ in await self.owner.hybrid.aembed(texts, text_type="document")]

    async def aembed_query(self, text: str) -> list[float]:
        """Async `embed_query` on the running event loop."""
        owner = self.owner
        if owner.query_instruct is not None:
            result = await owner.embedder.aembed([text], text_type="query", instruct=owner.query_instruct)
            return result.embeddings[0]
        return list((await owner.hybrid.aembed([text], text_type="query"))[0][0])
