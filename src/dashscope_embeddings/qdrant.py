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

Settings, embedders and the dense view are shared with the Milvus adapters (`dashscope_embeddings.langchain`'s
`SparseEmbeddingsBase`, `HybridEmbeddingsBase`, `HybridDenseView`); this module adds Qdrant's sparse form. Thin by
design, as the other adapters: documents → `text_type="document"`, queries → `"query"`, our `SparseVector`
→ `langchain_qdrant.SparseVector(indices, values)`; checks, batching, concurrency, retries and ordering are the
embedder's.
"""

from __future__ import annotations

from langchain_qdrant import SparseEmbeddings
from langchain_qdrant import SparseVector as QdrantSparseVector

from .langchain import HybridDenseView, HybridEmbeddingsBase, SparseEmbeddingsBase
from .types import SparseVector

__all__ = [
    "DashScopeHybridEmbeddings",
    "DashScopeSparseEmbeddings",
    "HybridDenseView",
    "HybridSparseView",
    "to_qdrant",
]


def to_qdrant(vector: SparseVector) -> QdrantSparseVector:
    """Our `SparseVector` as langchain-qdrant's. Indices are already unique and sorted (Qdrant requires unique
    indices): `SparseVector.from_entries` merged any index the service repeated by summing its values."""
    return QdrantSparseVector(indices=list(vector.indices), values=list(vector.values))


class DashScopeSparseEmbeddings(SparseEmbeddingsBase, SparseEmbeddings):
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

    # -- langchain-qdrant's interface ----------------------------------------------------------------------------

    def embed_documents(self, texts: list[str]) -> list[QdrantSparseVector]:
        """Sparse vectors of texts to store (`text_type="document"`), in input order; `[]` without a request."""
        return [to_qdrant(v) for v in self._sparse_vectors(texts, "document")]

    def embed_query(self, text: str) -> QdrantSparseVector:
        """Sparse vector of a search query (`text_type="query"`)."""
        return to_qdrant(self._sparse_vectors([text], "query")[0])

    async def aembed_documents(self, texts: list[str]) -> list[QdrantSparseVector]:
        """Async `embed_documents` on the running event loop."""
        return [to_qdrant(v) for v in await self._asparse_vectors(texts, "document")]

    async def aembed_query(self, text: str) -> QdrantSparseVector:
        """Async `embed_query` on the running event loop."""
        return to_qdrant((await self._asparse_vectors([text], "query"))[0])


class DashScopeHybridEmbeddings(HybridEmbeddingsBase):
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
    batch by batch, so a few thousand covers it), `query_instruct` (dense queries only; it costs each query a
    request of its own), `truncate`, and the connection settings (`api_key` — alias `dashscope_api_key`, env
    `DASHSCOPE_API_KEY`, never serialised or pickled — `region`, `workspace`, `base_url`, `timeout`, `max_retries`,
    `max_concurrency`, `allow_insecure_http`, `http_client` / `http_async_client`). The settings, the memo and the
    dense view are `HybridEmbeddingsBase`'s, shared with `dashscope_embeddings.milvus.DashScopeMilvusHybridEmbeddings`.

    Documents are embedded with `text_type="document"` and queries with `"query"`; the memo keeps the two apart.
    Both views' async methods are native. Asking the two views concurrently for texts neither has seen yet (e.g.
    in one `asyncio.gather`) sends two requests, as nothing is in the memo yet; vector stores ask in turn.
    Assigning a setting rebuilds the embedder and starts an empty memo; the views follow, as they read through
    this object.
    """

    @property
    def sparse(self) -> HybridSparseView:
        """The sparse view: a `langchain_qdrant.SparseEmbeddings` for `QdrantVectorStore(sparse_embedding=...)`."""
        return HybridSparseView(self)


class HybridSparseView(SparseEmbeddings):
    """The sparse half of a `DashScopeHybridEmbeddings`; the dense half is answered from the same requests."""

    def __init__(self, owner: HybridEmbeddingsBase) -> None:
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
