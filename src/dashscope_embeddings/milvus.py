"""Milvus adapters: DashScope's sparse (lexical) vectors as a langchain-milvus `BaseSparseEmbedding`, alone or
together with the dense ones from one request.

text-embedding-v4 and -v3 return, besides the dense vector, a sparse one: a weight for each vocabulary entry of the
text, so an exact keyword (a product SKU, an error code, a name) is found where dense vectors blur it (reference
docs §3.4: "exact keyword match … product SKU search"). langchain-milvus stores such vectors in a
`SPARSE_FLOAT_VECTOR` field when the embedding passed to `Milvus(embedding_function=...)` is a
`langchain_milvus.utils.sparse.BaseSparseEmbedding` (it checks with `isinstance`), and searches a dense and a sparse
field together when given the list `[dense, sparse]`.

- `DashScopeMilvusSparseEmbeddings` on its own sends `output_type="sparse"` requests.
- `DashScopeMilvusHybridEmbeddings` serves both kinds from one `HybridEmbedder`, in the same shape as
  `dashscope_embeddings.qdrant.DashScopeHybridEmbeddings`: `.dense` is a LangChain `Embeddings`, `.sparse` a
  `BaseSparseEmbedding`. langchain-milvus asks the two one after the other with the same texts (`add_texts`,
  `upsert`, hybrid search), so the second ask reads what the first fetched (`output_type="dense&sparse"`, which
  costs the same as one kind): one request per batch instead of two.

Settings, embedders and the dense view are shared with the Qdrant adapters (`dashscope_embeddings.langchain`'s
`SparseEmbeddingsBase`, `HybridEmbeddingsBase`, `HybridDenseView`); this module adds Milvus's sparse form. Thin,
like the LangChain adapters: queries go out as `text_type="query"`, documents as `"document"`, and
`SparseVector.to_dict()` gives Milvus its `{index: value}` form; the embedder does everything else.
"""

from __future__ import annotations

from langchain_milvus.utils.sparse import BaseSparseEmbedding

from .langchain import HybridDenseView, HybridEmbeddingsBase, SparseEmbeddingsBase

__all__ = [
    "DashScopeMilvusHybridEmbeddings",
    "DashScopeMilvusSparseEmbeddings",
    "HybridDenseView",
    "HybridMilvusSparseView",
]


class DashScopeMilvusSparseEmbeddings(SparseEmbeddingsBase, BaseSparseEmbedding):
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

    For hybrid search use `DashScopeMilvusHybridEmbeddings`: this class next to a separate dense embedding makes
    two requests per batch where one would do.

    Async:
        `aembed_documents` / `aembed_query` make native `httpx.AsyncClient` requests, not the base class's
        thread-pool fallback.
    """

    # -- langchain-milvus's interface ----------------------------------------------------------------------------

    def embed_documents(self, texts: list[str]) -> list[dict[int, float]]:
        """Sparse vectors of texts to store (`text_type="document"`), in input order; `[]` for none, no request."""
        return [sparse.to_dict() for sparse in self._sparse_vectors(list(texts), "document")]

    def embed_query(self, query: str) -> dict[int, float]:
        """Sparse vector of a search query (`text_type="query"`)."""
        return self._sparse_vectors([query], "query")[0].to_dict()

    async def aembed_documents(self, texts: list[str]) -> list[dict[int, float]]:
        """Async `embed_documents` on the running event loop."""
        return [sparse.to_dict() for sparse in await self._asparse_vectors(list(texts), "document")]

    async def aembed_query(self, query: str) -> dict[int, float]:
        """Async `embed_query` on the running event loop."""
        return (await self._asparse_vectors([query], "query"))[0].to_dict()


class DashScopeMilvusHybridEmbeddings(HybridEmbeddingsBase):
    """Dense and sparse DashScope vectors for Milvus hybrid search, one request per batch for both.

    `Milvus(embedding_function=[dense, sparse], ...)` takes the two kinds as two objects and asks them one after
    the other with the same texts. DashScope returns both from one request at the price of one
    (`output_type="dense&sparse"`). This object holds one `HybridEmbedder`: whichever view is asked first fetches
    both kinds and keeps them in a bounded memo, and the other view is answered from it.

    ```python
    from langchain_milvus import Milvus
    from dashscope_embeddings.milvus import DashScopeMilvusHybridEmbeddings

    hybrid = DashScopeMilvusHybridEmbeddings(model="text-embedding-v4", dimension=512)  # key: DASHSCOPE_API_KEY
    store = Milvus(embedding_function=[hybrid.dense, hybrid.sparse], vector_field=["dense", "sparse"], ...)
    ```

    `.dense` is a `HybridDenseView` (a LangChain `Embeddings`), `.sparse` a `HybridMilvusSparseView` (a
    `BaseSparseEmbedding` returning `{index: weight}` dicts). Fields: `model` (text-embedding-v4 or -v3),
    `dimension` (alias `dimensions`; of the dense vectors), `memo_size` (default 4,096), `query_instruct` (dense
    queries only; it costs each query a request of its own), `truncate`, and the connection settings (`api_key` —
    alias `dashscope_api_key`, env `DASHSCOPE_API_KEY`, never serialised or pickled — `region`, `workspace`,
    `base_url`, `timeout`, `max_retries`, `max_concurrency`, `allow_insecure_http`, `http_client` /
    `http_async_client`).

    `memo_size` should cover the texts of one `add_texts` call: langchain-milvus embeds all of them with one
    embedding before the other, so beyond it the older texts are fetched again (same vectors, one more request per
    batch). Assigning a setting rebuilds the embedder with an empty memo; the views follow, as they read through
    this object. A pickled copy starts with an empty memo and reads the key from `DASHSCOPE_API_KEY`.
    """

    @property
    def sparse(self) -> HybridMilvusSparseView:
        """The sparse view: a `BaseSparseEmbedding` for Milvus's sparse field."""
        return HybridMilvusSparseView(self)


class HybridMilvusSparseView(BaseSparseEmbedding):
    """The sparse half of a `DashScopeMilvusHybridEmbeddings`; the dense half is answered from the same requests."""

    def __init__(self, owner: HybridEmbeddingsBase) -> None:
        self.owner = owner

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.owner!r})"

    def embed_documents(self, texts: list[str]) -> list[dict[int, float]]:
        """Sparse vectors of texts to store (`text_type="document"`), in input order; `[]` for none, no request."""
        return [sparse.to_dict() for _, sparse in self.owner.hybrid.embed(list(texts), text_type="document")]

    def embed_query(self, query: str) -> dict[int, float]:
        """Sparse vector of a search query (`text_type="query"`)."""
        return self.owner.hybrid.embed([query], text_type="query")[0][1].to_dict()

    async def aembed_documents(self, texts: list[str]) -> list[dict[int, float]]:
        """Async `embed_documents` on the running event loop."""
        return [sparse.to_dict() for _, sparse in await self.owner.hybrid.aembed(list(texts), text_type="document")]

    async def aembed_query(self, query: str) -> dict[int, float]:
        """Async `embed_query` on the running event loop."""
        return (await self.owner.hybrid.aembed([query], text_type="query"))[0][1].to_dict()
