"""Milvus: keyword search with DashScope sparse vectors, then hybrid dense + sparse search, on Milvus Lite.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import sys
import tempfile
from pathlib import Path

try:
    import milvus_lite  # noqa: F401  (Milvus Lite: a local Milvus in a file; not available on Windows)
    from langchain_milvus import Milvus
    from pymilvus import Function, FunctionType
except ImportError as error:
    print(f"Skipping: Milvus Lite is not available here ({error}).")
    print("Install it with: pip install 'dashscope-embeddings[milvus]' (Linux and macOS)")
    sys.exit(0)

from dashscope_embeddings.milvus import DashScopeMilvusHybridEmbeddings, DashScopeMilvusSparseEmbeddings

catalogue = [
    "The XJ-900 and XJ-910 chargers are sold out until June",
    "Order XJ-9000 shipped to Berlin on Monday",
    "Our 9000-series routers ship worldwide",
    "Returns are accepted within 30 days of delivery",
    "Paris is the capital and largest city of France",
]

# Sparse vectors weigh the exact words of a text: a SKU such as XJ-9000 matches the document that contains it.
sparse = DashScopeMilvusSparseEmbeddings(model="text-embedding-v4")
query_vector = sparse.embed_query("XJ-9000")  # text_type="query"
print(f"the query XJ-9000 has {len(query_vector)} sparse entries: {query_vector}")

# Milvus Lite accepts only drop_ratio_build=0, so the sparse search params are given explicitly.
sparse_index = {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "IP"}
sparse_search = {"metric_type": "IP", "params": {}}

with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
    # 1. Sparse only: the embedding is a BaseSparseEmbedding, so Milvus makes a SPARSE_FLOAT_VECTOR field.
    keywords = Milvus(
        embedding_function=sparse,
        connection_args={"uri": str(Path(tmp) / "keywords.db")},
        auto_id=True,
        index_params=sparse_index,
        search_params=sparse_search,
    )
    keywords.add_texts(catalogue)  # text_type="document", 10 texts per request
    for doc, score in keywords.similarity_search_with_score("XJ-9000", k=2):
        print(f"sparse  {score:.3f}  {doc.page_content}")

    # 2. Hybrid: a dense and a sparse field, filled from the same requests (output_type="dense&sparse" costs the
    #    same as one kind). Milvus asks the dense view, then the sparse view reads what that request fetched.
    embeddings = DashScopeMilvusHybridEmbeddings(model="text-embedding-v4", dimension=512)
    hybrid = Milvus(
        embedding_function=[embeddings.dense, embeddings.sparse],
        vector_field=["dense", "sparse"],
        connection_args={"uri": str(Path(tmp) / "hybrid.db")},
        auto_id=True,
        index_params=[{"index_type": "FLAT", "metric_type": "COSINE"}, sparse_index],
        search_params=[{"metric_type": "COSINE", "params": {}}, sparse_search],
    )
    hybrid.add_texts(catalogue)  # one request for both kinds of vector
    favour_keywords = Function(
        name="favour_keywords",
        input_field_names=[],
        function_type=FunctionType.RERANK,
        params={"reranker": "weighted", "weights": [0.3, 0.7], "norm_score": True},  # dense, sparse
    )
    for doc, score in hybrid.similarity_search_with_score("XJ-9000", k=2, reranker=favour_keywords):
        print(f"hybrid  {score:.3f}  {doc.page_content}")
