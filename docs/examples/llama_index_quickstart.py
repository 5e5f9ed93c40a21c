"""LlamaIndex: use DashScopeEmbedding as Settings.embed_model, build a VectorStoreIndex and retrieve (no LLM needed).

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import asyncio

from llama_index.core import Document, Settings, VectorStoreIndex

from dashscope_embeddings.llama_index import DashScopeEmbedding

Settings.embed_model = DashScopeEmbedding(
    model_name="text-embedding-v4",
    dimension=1024,
    # Sent with queries only (text-embedding-v4): describes the search task in English.
    query_instruct="Given a web search query, retrieve relevant passages that answer the query",
)
print("texts per request:", Settings.embed_model.embed_batch_size)  # the model's cap: 10 on v4

documents = [
    Document(text="Artificial intelligence is a branch of computer science"),
    Document(text="Machine learning is an important method for achieving artificial intelligence"),
    Document(text="Deep learning is a subfield of machine learning"),
    Document(text="Paris is the capital and largest city of France"),
]

# Nodes are embedded as documents (text_type="document"), in concurrent requests of at most 10 texts.
index = VectorStoreIndex.from_documents(documents)

# The question is embedded as a query (text_type="query", plus query_instruct).
retriever = index.as_retriever(similarity_top_k=2)
for hit in retriever.retrieve("What is machine learning?"):
    print(f"{hit.score:.3f}  {hit.node.get_content()}")


async def main() -> None:
    embed_model = Settings.embed_model
    # 25 texts: 3 requests (10 + 10 + 5) in flight together, one EmbeddingStart/End event pair per request.
    vectors = await embed_model.aget_text_embedding_batch([f"passage {i}" for i in range(25)])
    query = await embed_model.aget_query_embedding("passage 7")
    print(f"async: {len(vectors)} vectors, query of {len(query)} dimensions")


asyncio.run(main())
