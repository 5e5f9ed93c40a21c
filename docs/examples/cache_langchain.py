"""LangChain: cache DashScope vectors with langchain-classic's CacheBackedEmbeddings, queries and documents apart.

The cache namespace holds everything that changes a vector: model, dimension and text type (and, for queries, the
instruction). A query vector therefore never answers for a document, and a new dimension starts a new cache.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import tempfile
from collections import Counter

from langchain_classic.embeddings import CacheBackedEmbeddings
from langchain_classic.storage import LocalFileStore
from langchain_core.stores import ByteStore
from langchain_core.vectorstores import InMemoryVectorStore

from dashscope_embeddings.langchain import DashScopeEmbeddings


def cached(embeddings: DashScopeEmbeddings, store: ByteStore) -> CacheBackedEmbeddings:
    """Cache documents and queries in one store, under two namespaces."""
    documents = CacheBackedEmbeddings.from_bytes_store(
        embeddings, store, namespace=embeddings.cache_namespace("document") + "/", key_encoder="sha256"
    )
    queries = CacheBackedEmbeddings.from_bytes_store(
        embeddings, store, namespace=embeddings.cache_namespace("query") + "/", key_encoder="sha256"
    )
    return CacheBackedEmbeddings(
        embeddings, documents.document_embedding_store, query_embedding_store=queries.document_embedding_store
    )


texts = [
    "Artificial intelligence is a branch of computer science",
    "Deep learning is a subfield of machine learning",
    "Paris is the capital and largest city of France",
]

with tempfile.TemporaryDirectory() as folder:
    store = LocalFileStore(folder)  # or a Redis store shared by several processes
    embeddings = cached(DashScopeEmbeddings(model="text-embedding-v4", dimension=1024), store)

    first = embeddings.embed_documents(texts)  # one request, 3 vectors stored
    again = embeddings.embed_documents(texts)  # no request: every vector comes from the cache
    print("second call served from the cache:", again == first)

    query = embeddings.embed_query(texts[0])  # same text, embedded as a query: a separate entry
    print("query vector differs from the document vector:", query != first[0])

    # Another dimension is another namespace, so vectors of different sizes never mix.
    cached(DashScopeEmbeddings(model="text-embedding-v4", dimension=256), store).embed_documents(texts[:1])

    for namespace, count in sorted(Counter(key.rsplit("/", 1)[0] for key in store.yield_keys()).items()):
        print(f"{count} cached  {namespace}")

    # Any vector store takes the cached embeddings: add_texts reads the document cache, searches the query cache.
    vector_store = InMemoryVectorStore(embedding=embeddings)
    vector_store.add_texts(texts)
    print("hit:", vector_store.similarity_search("Which city is the capital of France?", k=1)[0].page_content)
