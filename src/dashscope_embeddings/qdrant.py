"""langchain-qdrant adapters: DashScope's sparse vectors, alone or together with the dense ones from one request.

text-embedding-v4 and -v3 return a sparse (lexical, keyword-weight) vector besides the dense one (`output_type`
`"sparse"` or `"dense&sparse"`). The reference docs' comparison (§3.4): dense understands meaning and synonyms but
"no guarantee of exact keyword match"; sparse gives "exact keyword match" (log retrieval, product SKU search) but
no semantics; `dense&sparse` combines both for "production-grade hybrid search engines", and "the generation cost
is the same, and the API Call overhead is identical to that of single-vector mode".

- `DashScopeSparseEmbeddings` is a `langchain_qdrant.SparseEmbeddings` (`RetrievalMode.SPARSE`, or HYBRID next to
  any dense `Embeddings`).
- `DashScopeHybridEmbeddings` serves both kinds from one `HybridEmbedder`: `.dense` is a LangChain `Embeddings`,
  `.sparse` a `langchain_qdrant.SparseEmbeddings`. `QdrantVectorStore` in `RetrievalMode.HYBRID` asks the two one
  after the other with the same texts (`add_texts` batch by batch, `similarity_search` per query); the first ask
  fetches `dense&sparse`, the second is served from the memo: one request per batch instead of two.

Thin by design, as the other adapters: documents → `text_type="document"`, queries → `"query"`, our `SparseVector`
→ `langchain_qdrant.SparseVector(indices, values)`; checks, batching, concurrency, retries and ordering are the
embedder's.
"""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.utils import secret_from_env
from langchain_qdrant import SparseEmbeddings
from langchain_qdrant import SparseVector as QdrantSparseVector
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from .errors import InputError
from .hybrid import DEFAULT_MEMO_SIZE, HybridEmbedder
from .langchain import _assign, _pickled_state, _unpickle
from .text import DEFAULT_MAX_CONCURRENCY, EMBEDDER_SETTINGS, TextEmbedder
from .transport import DEFAULT_TIMEOUT
from .types import SparseVector, TextType

__all__ = [
    "DashScopeHybridEmbeddings",
    "DashScopeSparseEmbeddings",
    "HybridDenseView",
    "HybridSparseView",
    "to_qdrant",
]

SPARSE_SETTINGS = tuple(name for name in EMBEDDER_SETTINGS if name != "dimension")
"""`TextEmbedder` settings a sparse-only adapter exposes: all but `dimension`, which shapes the dense vector only."""


def to_qdrant(vector: SparseVector) -> QdrantSparseVector:
    """Our `SparseVector` as langchain-qdrant's. Indices are already unique and sorted (Qdrant requires unique
    indices): `SparseVector.from_entries` merged any index the service repeated by summing its values."""
    return QdrantSparseVector(indices=list(vector.indices), values=list(vector.values))


def _require_sparse(embedder: TextEmbedder) -> TextEmbedder:
    if not embedder.spec.sparse:
        raise InputError(f"{embedder.model} has no sparse vectors; text-embedding-v4 and -v3 do.")
    return embedder


_CONFIG = ConfigDict(
    extra="forbid",
    populate_by_name=True,
    protected_namespaces=(),
    arbitrary_types_allowed=True,
    validate_assignment=True,
)


class DashScopeSparseEmbeddings(BaseModel, SparseEmbeddings):
    """DashScope sparse (lexical) vectors for langchain-qdrant.

    Documents are sent with `text_type="document"` and queries with `text_type="query"`, `output_type="sparse"`,
    at most the model's batch cap per request (10 texts on text-embedding-v4/-v3), concurrently, in input order.
    Sparse vectors match exact keywords (a SKU, an error code, a name) that dense vectors may miss (reference docs
    §3.4: "exact keyword match … product SKU search").

    ```python
    from langchain_qdrant import QdrantVectorStore, RetrievalMode
    from dashscope_embeddings.qdrant import DashScopeSparseEmbeddings

    store = QdrantVectorStore.from_texts(
        texts, embedding=None, sparse_embedding=DashScopeSparseEmbeddings(),   # key: DASHSCOPE_API_KEY
        retrieval_mode=RetrievalMode.SPARSE, location=":memory:", collection_name="products",
    )
    store.similarity_search("XJ-9000", k=1)
    ```

    Fields: `model` (default `"text-embedding-v4"`; -v3 also has sparse vectors), `truncate`, and the connection
    settings every embedder takes: `api_key` (alias `dashscope_api_key`; env `DASHSCOPE_API_KEY`; never
    serialised or pickled), `region`, `workspace`, `base_url` (env `DASHSCOPE_HTTP_BASE_URL`), `timeout`,
    `max_retries`, `max_concurrency`, `allow_insecure_http`, `http_client` / `http_async_client`. No `dimension`:
    a sparse vector has none. Async methods are native (`httpx.AsyncClient`), not LangChain's thread-pool default.

    For hybrid search use `DashScopeHybridEmbeddings`: pairing this class with a separate dense `Embeddings` makes
    two requests per batch where one would do.
    """

    model_config = _CONFIG

    model: str = "text-embedding-v4"
    """DashScope text model with sparse output (text-embedding-v4 or -v3)."""
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
    truncate: bool = False
    """Cut over-long texts at the model's token limit instead of raising InputError."""
    allow_insecure_http: bool = False
    """Allow a plain-http base_url to a non-loopback host (the key would travel in clear text)."""
    http_client: Any = Field(default=None, exclude=True, repr=False)
    """Optional `httpx.Client` for sync calls."""
    http_async_client: Any = Field(default=None, exclude=True, repr=False)
    """Optional `httpx.AsyncClient` for async calls."""

    _embedder: TextEmbedder | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build_embedder(self) -> Self:
        """Build the embedder now, so a bad setting (or a model without sparse vectors) fails at construction."""
        self._embedder = self._new_embedder()
        return self

    def _new_embedder(self) -> TextEmbedder:
        embedder = TextEmbedder(self.model, **{name: getattr(self, name) for name in SPARSE_SETTINGS})
        return _require_sparse(embedder)

    def __setattr__(self, name: str, value: Any) -> None:
        _assign(self, name, value)

    @property
    def embedder(self) -> TextEmbedder:
        """The `TextEmbedder` doing the work (for usage, tokens, or `close()`)."""
        if self._embedder is None:  # only after unpickling without a key in the environment
            self._embedder = self._new_embedder()
        return self._embedder

    def _sparse(self, texts: list[str], text_type: TextType) -> list[QdrantSparseVector]:
        if not texts:
            return []
        return [to_qdrant(v) for v in self.embedder.embed(texts, text_type=text_type, output_type="sparse").sparse]

    async def _asparse(self, texts: list[str], text_type: TextType) -> list[QdrantSparseVector]:
        if not texts:
            return []
        result = await self.embedder.aembed(texts, text_type=text_type, output_type="sparse")
        return [to_qdrant(v) for v in result.sparse]

    # -- langchain-qdrant's interface ----------------------------------------------------------------------------

    def embed_documents(self, texts: list[str]) -> list[QdrantSparseVector]:
        """Sparse vectors of texts to store (`text_type="document"`), in input order; `[]` without a request."""
        return self._sparse(texts, "document")

    def embed_query(self, text: str) -> QdrantSparseVector:
        """Sparse vector of a search query (`text_type="query"`)."""
        return self._sparse([text], "query")[0]

    async def aembed_documents(self, texts: list[str]) -> list[QdrantSparseVector]:
        """Async `embed_documents` on the running event loop."""
        return await self._asparse(texts, "document")

    async def aembed_query(self, text: str) -> QdrantSparseVector:
        """Async `embed_query` on the running event loop."""
        return (await self._asparse([text], "query"))[0]

    # -- pickling: never the key ---------------------------------------------------------------------------------

    def __getstate__(self) -> dict[Any, Any]:
        return _pickled_state(self)

    def __setstate__(self, state: dict[Any, Any]) -> None:
        """Rebuild from the pickled settings; the key comes from `DASHSCOPE_API_KEY` in this process."""
        _unpickle(self, state)


class DashScopeHybridEmbeddings(BaseModel):
    """Dense and sparse DashScope vectors for Qdrant hybrid search, one request per batch for both.

    `QdrantVectorStore` takes two objects, `embedding` and `sparse_embedding`, and calls them one after the other
    with the same texts. DashScope returns both kinds in one call at the price of one (`output_type="dense&sparse"`;
    reference docs §3.4: "the generation cost is the same, and the API Call overhead is identical to that of
    single-vector mode"). This object holds one `HybridEmbedder`: whichever view is asked first fetches both kinds
    for the texts and keeps them in a bounded memo (keyed by text, text_type, model and dimension), and the other
    view is answered from it.

    ```python
    from langchain_qdrant import QdrantVectorStore, RetrievalMode
    from dashscope_embeddings.qdrant import DashScopeHybridEmbeddings

    hybrid = DashScopeHybridEmbeddings(model="text-embedding-v4", dimension=1024)  # key: DASHSCOPE_API_KEY
    store = QdrantVectorStore.from_texts(
        texts, embedding=hybrid.dense, sparse_embedding=hybrid.sparse,
        retrieval_mode=RetrievalMode.HYBRID, location=":memory:", collection_name="products",
    )
    store.similarity_search("XJ-9000", k=3)   # one request for the query's dense and sparse vectors
    ```

    Fields: `model` (default `"text-embedding-v4"`), `dimension` (alias `dimensions`; of the dense vectors),
    `memo_size` (texts remembered, default 4,096: a vector store asks for the second kind right after the first,
    batch by batch, so a few thousand covers it), `truncate`, and the connection settings (`api_key` — alias
    `dashscope_api_key`, env `DASHSCOPE_API_KEY`, never serialised or pickled — `region`, `workspace`, `base_url`,
    `timeout`, `max_retries`, `max_concurrency`, `allow_insecure_http`, `http_client` / `http_async_client`).

    Documents are embedded with `text_type="document"` and queries with `"query"`; the memo keeps the two apart.
    Both views' async methods are native. Asking the two views concurrently for texts neither has seen yet (e.g.
    in one `asyncio.gather`) sends two requests, as nothing is in the memo yet; vector stores ask in turn.
    Assigning a setting rebuilds the embedder and starts an empty memo; the views follow, as they read through
    this object.
    """

    model_config = _CONFIG

    model: str = "text-embedding-v4"
    """DashScope text model with sparse output (text-embedding-v4 or -v3)."""
    dimension: int | None = Field(default=None, validation_alias=AliasChoices("dimension", "dimensions"))
    """Dense output dimension; None uses the model's default (1024 for text-embedding-v4)."""
    memo_size: int = Field(default=DEFAULT_MEMO_SIZE, ge=1)
    """Texts whose two vectors are remembered, least recently used dropped first."""
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
    truncate: bool = False
    """Cut over-long texts at the model's token limit instead of raising InputError."""
    allow_insecure_http: bool = False
    """Allow a plain-http base_url to a non-loopback host (the key would travel in clear text)."""
    http_client: Any = Field(default=None, exclude=True, repr=False)
    """Optional `httpx.Client` for sync calls."""
    http_async_client: Any = Field(default=None, exclude=True, repr=False)
    """Optional `httpx.AsyncClient` for async calls."""

    _embedder: HybridEmbedder | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build_embedder(self) -> Self:
        """Build the embedder now, so a bad setting (or a model without sparse vectors) fails at construction."""
        self._embedder = self._new_embedder()
        return self

    def _new_embedder(self) -> HybridEmbedder:
        embedder = TextEmbedder(self.model, **{name: getattr(self, name) for name in EMBEDDER_SETTINGS})
        return HybridEmbedder(embedder, memo_size=self.memo_size)  # refuses models without sparse vectors

    def __setattr__(self, name: str, value: Any) -> None:
        _assign(self, name, value)

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
        """The dense view: a LangChain `Embeddings` for `QdrantVectorStore(embedding=...)`."""
        return HybridDenseView(self)

    @property
    def sparse(self) -> HybridSparseView:
        """The sparse view: a `langchain_qdrant.SparseEmbeddings` for `QdrantVectorStore(sparse_embedding=...)`."""
        return HybridSparseView(self)

    def __getstate__(self) -> dict[Any, Any]:
        return _pickled_state(self)

    def __setstate__(self, state: dict[Any, Any]) -> None:
        """Rebuild from the pickled settings (with an empty memo); the key comes from `DASHSCOPE_API_KEY`."""
        _unpickle(self, state)


class HybridDenseView(Embeddings):
    """The dense half of a `DashScopeHybridEmbeddings`; the sparse half is answered from the same requests."""

    def __init__(self, owner: DashScopeHybridEmbeddings) -> None:
        self.owner = owner

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.owner!r})"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Dense vectors of texts to store (`text_type="document"`), in input order."""
        return [list(dense) for dense, _ in self.owner.hybrid.embed(texts, text_type="document")]

    def embed_query(self, text: str) -> list[float]:
        """Dense vector of a search query (`text_type="query"`)."""
        return list(self.owner.hybrid.embed([text], text_type="query")[0][0])

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async `embed_documents` on the running event loop."""
        return [list(dense) for dense, _ in await self.owner.hybrid.aembed(texts, text_type="document")]

    async def aembed_query(self, text: str) -> list[float]:
        """Async `embed_query` on the running event loop."""
        return list((await self.owner.hybrid.aembed([text], text_type="query"))[0][0])


class HybridSparseView(SparseEmbeddings):
    """The sparse half of a `DashScopeHybridEmbeddings`; the dense half is answered from the same requests."""

    def __init__(self, owner: DashScopeHybridEmbeddings) -> None:
        self.owner = owner

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.owner!r})"

    def embed_documents(self, texts: list[str]) -> list[QdrantSparseVector]:
        """Sparse vectors of texts to store (`text_type="document"`), in input order."""
        return [to_qdrant(sparse) for _, sparse in self.owner.hybrid.embed(texts, text_type="document")]

    def embed_query(self, text: str) -> QdrantSparseVector:
        """Sparse vector of a search query (`text_type="query"`)."""
        return to_qdrant(self.owner.hybrid.embed([text], text_type="query")[0][1])

    async def aembed_documents(self, texts: list[str]) -> list[QdrantSparseVector]:
        """Async `embed_documents` on the running event loop."""
        return [to_qdrant(sparse) for _, sparse in await self.owner.hybrid.aembed(texts, text_type="document")]

    async def aembed_query(self, text: str) -> QdrantSparseVector:
        """Async `embed_query` on the running event loop."""
        return to_qdrant((await self.owner.hybrid.aembed([text], text_type="query"))[0][1])
