"""LlamaIndex: cache DashScope vectors in `embeddings_cache`, one cache per namespace (model, dimension, text type).

LlamaIndex keys `embeddings_cache` by the text alone, for queries and texts alike. So documents and queries get a
cache each, on two DashScopeEmbedding instances: the index embeds nodes with one, the retriever queries with the
other, and a query vector never answers for a document.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import tempfile
from pathlib import Path

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.storage.kvstore import SimpleKVStore

from dashscope_embeddings.llama_index import DashScopeEmbedding


def with_cache(embed_model: DashScopeEmbedding, text_type: str, folder: Path) -> DashScopeEmbedding:
    """Give the model the cache of its namespace, loaded from `folder` if an earlier run saved it."""
    path = folder / f"{embed_model.cache_namespace(text_type)}.json"
    embed_model.embeddings_cache = SimpleKVStore.from_persist_path(str(path)) if path.exists() else SimpleKVStore()
    return embed_model


def save(embed_model: DashScopeEmbedding, text_type: str, folder: Path) -> None:
    embed_model.embeddings_cache.persist(str(folder / f"{embed_model.cache_namespace(text_type)}.json"))


documents = [
    Document(text="Artificial intelligence is a branch of computer science"),
    Document(text="Deep learning is a subfield of machine learning"),
    Document(text="Paris is the capital and largest city of France"),
]
settings = {"model_name": "text-embedding-v4", "dimension": 1024}

with tempfile.TemporaryDirectory() as name:
    folder = Path(name)
    for run in (1, 2):  # the second run finds every vector in the saved caches
        texts_model = with_cache(DashScopeEmbedding(**settings), "document", folder)
        queries_model = with_cache(DashScopeEmbedding(**settings), "query", folder)

        index = VectorStoreIndex.from_documents(documents, embed_model=texts_model)  # document cache
        retriever = index.as_retriever(similarity_top_k=1, embed_model=queries_model)  # query cache
        hit = retriever.retrieve("Which city is the capital of France?")[0]
        print(f"run {run}: {hit.node.get_content()}")

        for model, text_type in ((texts_model, "document"), (queries_model, "query")):
            cached = sum(len(entries) for entries in model.embeddings_cache.to_dict().values())
            print(f"  {cached} cached  {model.cache_namespace(text_type)}")
            save(model, text_type, folder)

    print("files:", sorted(str(p.relative_to(folder)) for p in folder.rglob("*.json")))
