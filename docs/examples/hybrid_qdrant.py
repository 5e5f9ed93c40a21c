"""Sparse and hybrid search in Qdrant (in memory) with LangChain and LlamaIndex.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

from langchain_qdrant import QdrantVectorStore, RetrievalMode
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.schema import TextNode
from llama_index.vector_stores.qdrant import QdrantVectorStore as LlamaQdrantVectorStore
from qdrant_client import QdrantClient

from dashscope_embeddings.llama_index import DashScopeEmbedding, DashScopeSparseEmbedding
from dashscope_embeddings.qdrant import DashScopeHybridEmbeddings, DashScopeSparseEmbeddings

products = [
    "The XJ-9000 cordless drill has a 20 V battery and two speeds.",
    "The XJ-9001 impact driver ships with a belt clip.",
    "Our 9000-series routers support Wi-Fi 6.",
    "A cordless drill for every job: compact, light and quiet.",
    "Return policy: unused tools may be returned within 30 days.",
]

# -- Sparse vectors on their own: exact keywords, such as a SKU ------------------------------------------------------

sparse = DashScopeSparseEmbeddings(model="text-embedding-v4")
vector = sparse.embed_query("XJ-9000")
print(f"sparse query vector: indices={vector.indices} values={vector.values}")

store = QdrantVectorStore.from_texts(
    products,
    embedding=None,
    sparse_embedding=sparse,
    retrieval_mode=RetrievalMode.SPARSE,
    location=":memory:",
    collection_name="products-sparse",
)
for doc, score in store.similarity_search_with_score("XJ-9000", k=3):
    print(f"sparse  {score:.3f}  {doc.page_content}")

# -- LangChain hybrid: one object, one request per batch for both kinds ---------------------------------------------

hybrid = DashScopeHybridEmbeddings(model="text-embedding-v4", dimension=1024)
store = QdrantVectorStore.from_texts(
    products,
    embedding=hybrid.dense,  # a LangChain Embeddings
    sparse_embedding=hybrid.sparse,  # a langchain_qdrant.SparseEmbeddings
    retrieval_mode=RetrievalMode.HYBRID,
    location=":memory:",
    collection_name="products-hybrid",
)
for doc in store.similarity_search("XJ-9000", k=2):
    print("hybrid (LangChain):", doc.page_content)
for doc in store.similarity_search("a quiet drill for small jobs", k=1):
    print("hybrid (LangChain):", doc.page_content)
print(f"texts remembered with both vectors: {len(hybrid.hybrid)} (at most {hybrid.memo_size})")

# -- LlamaIndex hybrid: DashScopeEmbedding for dense, DashScopeSparseEmbedding's functions for sparse ----------------

sparse_model = DashScopeSparseEmbedding(model_name="text-embedding-v4")
vector_store = LlamaQdrantVectorStore(
    "products",
    client=QdrantClient(":memory:"),
    enable_hybrid=True,
    sparse_doc_fn=sparse_model.qdrant_doc_fn,
    sparse_query_fn=sparse_model.qdrant_query_fn,
)
index = VectorStoreIndex(
    [TextNode(text=text) for text in products],
    storage_context=StorageContext.from_defaults(vector_store=vector_store),
    embed_model=DashScopeEmbedding(model_name="text-embedding-v4", dimension=1024),
)
retriever = index.as_retriever(vector_store_query_mode="hybrid", similarity_top_k=2, sparse_top_k=2)
for hit in retriever.retrieve("XJ-9000"):
    print(f"hybrid (LlamaIndex) {hit.score:.3f}  {hit.node.get_content()}")
