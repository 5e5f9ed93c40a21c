"""Milvus adapter: DashScope's sparse (lexical) vectors as a langchain-milvus `BaseSparseEmbedding`.

text-embedding-v4 and -v3 return, besides the dense vector, a sparse one: a weight for each vocabulary entry of the
text, so an exact keyword (a product SKU, an error code, a name) is found where dense vectors blur it (reference
docs §3.4: "exact keyword match … product SKU search"). langchain-milvus stores such vectors in a
`SPARSE_FLOAT_VECTOR` field when the embedding passed to `Milvus(embedding_function=...)` is a
`langchain_milvus.utils.sparse.BaseSparseEmbedding` (it checks with `isinstance`), and searches a dense and a sparse
field together when given the list `[dense, sparse]`.

Two ways in:

- `DashScopeMilvusSparseEmbeddings(...)` on its own sends `output_type="sparse"` requests.
- `DashScopeMilvusSparseEmbeddings.from_dense(dense)`, with `dense` a `DashScopeMilvusDenseEmbeddings`, shares
  the dense instance's `output_type="dense&sparse"` requests, which cost the same as one kind (§3.4).
  langchain-milvus calls the embeddings one after the other with the same texts (`add_texts`, `upsert`, hybrid
  search), so the second call reads what the first fetched from a `HybridEmbedder` memo: one request per batch
  instead of two.

Thin, like the LangChain adapters: queries go out as `text_type="query"`, documents as `"document"`, and
`SparseVector.to_dict()` gives Milvus its `{index: value}` form; the embedder does everything else.
"""

from __future__ import annotations

from typing import Any

from langchain_core.utils import secret_from_env
from langchain_milvus.utils.sparse import BaseSparseEmbedding
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from .errors import InputError
from .hybrid import DEFAULT_MEMO_SIZE, HybridEmbedder
from .langchain import DashScopeEmbeddings, _assign, _pickled_state, _unpickle
from .text import DEFAULT_MAX_CONCURRENCY, EMBEDDER_SETTINGS, TextEmbedder
from .transport import DEFAULT_TIMEOUT
from .types import TextType

__all__ = ["DashScopeMilvusDenseEmbeddings", "DashScopeMilvusSparseEmbeddings"]

_SPARSE_SETTINGS = tuple(name for name in EMBEDDER_SETTINGS if name != "dimension")
"""The `TextEmbedder` settings the sparse embedding exposes as fields: all but `dimension`, which sizes only the
dense vector."""


def _require_sparse(embedder: TextEmbedder) -> TextEmbedder:
    if not embedder.spec.sparse:
        raise InputError(f"{embedder.model} has no sparse vectors; text-embedding-v4 and -v3 do.")
    return embedder


def _restore(model: BaseModel, state: dict[Any, Any]) -> None:
    """`_unpickle`, then the private attributes it does not know about back at their defaults.

    `_unpickle` restores only `_embedder` when the new process has no key; without this, reading any other private
    attribute would raise AttributeError instead of the missing-key error on first use.
    """
    _unpickle(model, state)
    private = model.__pydantic_private__
    if private is not None:
        for name, attribute in type(model).__private_attributes__.items():
            private.setdefault(name, attribute.get_default())


class DashScopeMilvusDenseEmbeddings(DashScopeEmbeddings):
    """`DashScopeEmbeddings` whose requests fetch the sparse vectors too, for a paired sparse embedding to read.

    DashScope returns both kinds from one request at the price of one (`output_type="dense&sparse"`), but vector
    stores ask for them through two objects. This class answers `embed_documents` / `embed_query` exactly as
    `DashScopeEmbeddings` does, and keeps each text's sparse vector in a bounded memo (`hybrid`, a `HybridEmbedder`)
    that `DashScopeMilvusSparseEmbeddings.from_dense(self)` reads instead of sending its own request.

    ```python
    from langchain_milvus import Milvus
    from dashscope_embeddings.milvus import DashScopeMilvusDenseEmbeddings, DashScopeMilvusSparseEmbeddings

    dense = DashScopeMilvusDenseEmbeddings(model="text-embedding-v4", dimension=512)
    sparse = DashScopeMilvusSparseEmbeddings.from_dense(dense)
    store = Milvus(embedding_function=[dense, sparse], vector_field=["dense", "sparse"], ...)
    ```

    Only text-embedding-v4 and -v3 have sparse vectors; other models are refused when the instance is built. A
    query with `query_instruct` set is not shared: the instruct shapes the dense query vector only, so the sparse
    embedding fetches its query vector itself. `memo_size` should cover the texts of one `add_texts` call
    (langchain-milvus embeds them all with one embedding before the other); beyond it the older texts are fetched
    again, with the same vectors, one more request per batch.
    """

    memo_size: int = Field(default=DEFAULT_MEMO_SIZE, ge=1)
    """Texts whose vectors are remembered for the sparse embedding (least recently used go first)."""

    _hybrid: HybridEmbedder | None = PrivateAttr(default=None)

    def _new_embedder(self) -> TextEmbedder:
        # Checked here, before the validator installs the embedder: a rejected assignment keeps the old one.
        return _require_sparse(super()._new_embedder())

    @property
    def hybrid(self) -> HybridEmbedder:
        """The memo both embeddings read; a new, empty one whenever an assigned setting rebuilds the embedder."""
        embedder = self.embedder
        hybrid = self._hybrid
        if hybrid is None or hybrid.embedder is not embedder:
            hybrid = self._hybrid = HybridEmbedder(embedder, memo_size=self.memo_size)
        return hybrid

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts to store (`text_type="document"`); their sparse vectors wait in the memo."""
        if not texts:
            return []
        return [dense for dense, _ in self.hybrid.embed(texts, text_type="document")]

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (`text_type="query"`); shared with the sparse view unless `query_instruct` is set."""
        if self.query_instruct is not None:
            return super().embed_query(text)
        return self.hybrid.embed([text], text_type="query")[0][0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async `embed_documents` on the running event loop."""
        if not texts:
            return []
        return [dense for dense, _ in await self.hybrid.aembed(texts, text_type="document")]

    async def aembed_query(self, text: str) -> list[float]:
        """Async `embed_query` on the running event loop."""
        if self.query_instruct is not None:
            return await super().aembed_query(text)
        return (await self.hybrid.aembed([text], text_type="query"))[0][0]

    def __setstate__(self, state: dict[Any, Any]) -> None:
        """Rebuild from the pickled settings (key from `DASHSCOPE_API_KEY`), with an empty memo."""
        _restore(self, state)


class DashScopeMilvusSparseEmbeddings(BaseModel, BaseSparseEmbedding):
    """Alibaba Cloud Model Studio (DashScope) sparse text embeddings for langchain-milvus.

    Each text becomes `{index: weight}` over DashScope's vocabulary (text-embedding-v4 or -v3), the form Milvus
    stores in a `SPARSE_FLOAT_VECTOR` field and scores by inner product. Documents are sent with
    `text_type="document"` and queries with `text_type="query"`, at most 10 texts per request, requests running
    concurrently and every vector put back in input order.

    Setup:
        ```bash
        pip install "dashscope-embeddings[milvus]"
        export DASHSCOPE_API_KEY="sk-..."
        ```

    Key init args:
        model: str
            `"text-embedding-v4"` (default) or `"text-embedding-v3"`; other models have no sparse vectors and are
            refused when the instance is built.
        api_key, region, workspace, base_url, timeout, max_retries, max_concurrency, truncate,
        allow_insecure_http, http_client / http_async_client:
            As for `DashScopeEmbeddings` (`api_key` also as `dashscope_api_key`, env `DASHSCOPE_API_KEY`;
            `base_url` env `DASHSCOPE_HTTP_BASE_URL`). The key is never serialised or pickled.

    Instantiate and embed:
        ```python
        from dashscope_embeddings.milvus import DashScopeMilvusSparseEmbeddings

        sparse = DashScopeMilvusSparseEmbeddings(model="text-embedding-v4")
        sparse.embed_documents(["Order XJ-9000 shipped"])   # [{index: weight, ...}]
        sparse.embed_query("XJ-9000")
        ```

    With Milvus:
        ```python
        from langchain_milvus import Milvus

        store = Milvus(embedding_function=sparse, connection_args={"uri": "./milvus.db"}, auto_id=True,
                       index_params={"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "IP"})
        ```

    Sharing requests with a dense embedding (hybrid search at the price of one kind):
        ```python
        dense = DashScopeMilvusDenseEmbeddings(dimension=512)
        sparse = DashScopeMilvusSparseEmbeddings.from_dense(dense)
        store = Milvus(embedding_function=[dense, sparse], vector_field=["dense", "sparse"], ...)
        ```
        While paired, the sparse embedding follows the dense instance (change settings there). Assigning a setting
        on the sparse embedding, or unpickling it, ends the pairing: it then sends its own `output_type="sparse"`
        requests.

    Async:
        `aembed_documents` / `aembed_query` make native `httpx.AsyncClient` requests, not the base class's
        thread-pool fallback.
    """

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        protected_namespaces=(),
        arbitrary_types_allowed=True,
        validate_assignment=True,
    )

    model: str = "text-embedding-v4"
    """DashScope model with sparse vectors: text-embedding-v4 or -v3."""
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
    _dense: DashScopeMilvusDenseEmbeddings | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build_embedder(self) -> Self:
        """Build the embedder now, so a bad setting (or a model without sparse vectors) fails at construction."""
        self._embedder = self._new_embedder()
        return self

    def _new_embedder(self) -> TextEmbedder:
        return _require_sparse(TextEmbedder(self.model, **{name: getattr(self, name) for name in _SPARSE_SETTINGS}))

    @classmethod
    def from_dense(cls, dense: DashScopeMilvusDenseEmbeddings) -> Self:
        """A sparse embedding that reads what `dense`'s requests already fetched: one request per batch for both.

        The new instance takes `dense`'s settings (all but `dimension`), so it describes the same model and
        connection.
        """
        if not isinstance(dense, DashScopeMilvusDenseEmbeddings):
            raise TypeError(
                f"from_dense needs a DashScopeMilvusDenseEmbeddings (its requests fetch sparse vectors too), "
                f"got {type(dense).__name__}"
            )
        sparse = cls(**{name: getattr(dense, name) for name in cls.model_fields})
        sparse._dense = dense
        return sparse

    def __setattr__(self, name: str, value: Any) -> None:
        _assign(self, name, value)
        if name in type(self).model_fields:
            # The settings no longer match the dense instance's: fetch with our own from now on.
            self._dense = None

    @property
    def embedder(self) -> TextEmbedder:
        """The `TextEmbedder` doing the work (the dense instance's while paired)."""
        if self._dense is not None:
            return self._dense.embedder
        if self._embedder is None:  # only after unpickling without a key in the environment
            self._embedder = self._new_embedder()
        return self._embedder

    @property
    def dense(self) -> DashScopeMilvusDenseEmbeddings | None:
        """The dense instance whose requests this embedding shares, or None when it sends its own."""
        return self._dense

    def _fetch(self, texts: list[str], text_type: TextType) -> list[dict[int, float]]:
        if self._dense is not None:
            return [sparse.to_dict() for _, sparse in self._dense.hybrid.embed(texts, text_type=text_type)]
        result = self.embedder.embed(texts, text_type=text_type, output_type="sparse")
        return [sparse.to_dict() for sparse in result.sparse]

    async def _afetch(self, texts: list[str], text_type: TextType) -> list[dict[int, float]]:
        if self._dense is not None:
            return [sparse.to_dict() for _, sparse in await self._dense.hybrid.aembed(texts, text_type=text_type)]
        result = await self.embedder.aembed(texts, text_type=text_type, output_type="sparse")
        return [sparse.to_dict() for sparse in result.sparse]

    # -- langchain-milvus's interface ----------------------------------------------------------------------------

    def embed_documents(self, texts: list[str]) -> list[dict[int, float]]:
        """Sparse vectors of texts to store (`text_type="document"`), in input order; `[]` for none, no request."""
        if not texts:
            return []
        return self._fetch(list(texts), "document")

    def embed_query(self, query: str) -> dict[int, float]:
        """Sparse vector of a search query (`text_type="query"`)."""
        return self._fetch([query], "query")[0]

    async def aembed_documents(self, texts: list[str]) -> list[dict[int, float]]:
        """Async `embed_documents` on the running event loop."""
        if not texts:
            return []
        return await self._afetch(list(texts), "document")

    async def aembed_query(self, query: str) -> dict[int, float]:
        """Async `embed_query` on the running event loop."""
        return (await self._afetch([query], "query"))[0]

    # -- pickling: never the key ---------------------------------------------------------------------------------

    def __getstate__(self) -> dict[Any, Any]:
        return _pickled_state(self)

    def __setstate__(self, state: dict[Any, Any]) -> None:
        """Rebuild from the pickled settings (key from `DASHSCOPE_API_KEY`), unpaired."""
        _restore(self, state)
