"""LangChain: embed documents and queries with DashScopeEmbeddings, then search an in-memory vector store.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import asyncio
import math

from langchain_core.vectorstores import InMemoryVectorStore

from dashscope_embeddings.langchain import DashScopeEmbeddings

documents = [
    "Artificial intelligence is a branch of computer science",
    "Machine learning is an important method for achieving artificial intelligence",
    "Deep learning is a subfield of machine learning",
    "Paris is the capital and largest city of France",
]

embeddings = DashScopeEmbeddings(
    model="text-embedding-v4",
    dimension=1024,
    # Sent with queries only (text-embedding-v4): describes the search task in English.
    query_instruct="Given a web search query, retrieve relevant passages that answer the query",
)

# Documents go out with text_type="document", queries with text_type="query".
doc_vectors = embeddings.embed_documents(documents)
query_vector = embeddings.embed_query("What is machine learning?")
print(f"{len(doc_vectors)} document vectors and 1 query vector of {len(query_vector)} dimensions")


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


for text, vector in sorted(zip(documents, doc_vectors, strict=True), key=lambda pair: -cosine(query_vector, pair[1])):
    print(f"{cosine(query_vector, vector):.3f}  {text}")

# Any LangChain vector store works the same way: add_texts embeds documents, similarity_search embeds the query.
store = InMemoryVectorStore(embedding=embeddings)
store.add_texts(documents)
for doc in store.similarity_search("Which city is the capital of France?", k=2):
    print("hit:", doc.page_content)


async def main() -> None:
    # Native async: 25 texts become 3 requests of at most 10, sent concurrently on this event loop.
    vectors = await embeddings.aembed_documents([f"document {i}" for i in range(25)])
    query = await embeddings.aembed_query("document 7")
    print(f"async: {len(vectors)} vectors, query of {len(query)} dimensions")


asyncio.run(main())
