"""LlamaIndex: cache DashScope vectors in `embeddings_cache`, one store for queries and documents alike.

DashScopeEmbedding files every cached vector under `cache_namespace(text_type)`, a collection named by the model,
the dimension and the role, so one store serves the index (documents) and the retriever (queries) without a query
ever being answered with a document's vector. The store is saved to a file and reloaded by the second run, which
sends no request.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import tempfile
from pathlib import Path

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.storage.kvstore import SimpleKVStore

from dashscope_embeddings.llama_index import DashScopeEmbedding

documents = [
    Document(text="Artificial intelligence is a branch of computer science"),
    Document(text="Deep learning is a subfield of machine learning"),
    Document(text="Paris is the capital and largest city of France"),
]
question = "Which city is the capital of France?"

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "embeddings.json"
    for run in (1, 2):  # the second run finds every vector in the saved cache
        cache = SimpleKVStore.from_persist_path(str(path)) if path.exists() else SimpleKVStore()
        embed_model = DashScopeEmbedding(model_name="text-embedding-v4", dimension=1024, embeddings_cache=cache)

        index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)  # documents
        hit = index.as_retriever(similarity_top_k=1).retrieve(question)[0]  # the query
        print(f"run {run}: {hit.node.get_content()}")

        for collection, entries in sorted(cache.to_dict().items()):
            print(f"  {len(entries)} cached  {collection}")
        cache.persist(str(path))
