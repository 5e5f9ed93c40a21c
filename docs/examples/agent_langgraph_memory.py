"""LangGraph: long-term semantic memory in an InMemoryStore indexed with DashScopeEmbeddings.

Memories are embedded as documents when they are put, and the search text as a query. A tiny graph recalls the
memory that answers the user's question; an agent would add it to the LLM's prompt.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import asyncio
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.memory import InMemoryStore

from dashscope_embeddings.langchain import DashScopeEmbeddings

embeddings = DashScopeEmbeddings(model="text-embedding-v4", dimension=512)

# Pass the Embeddings object itself, not a function such as `embeddings.embed_documents`: LangGraph wraps a
# plain function so that queries are embedded as documents.
store = InMemoryStore(index={"embed": embeddings, "dims": 512, "fields": ["text"]})

namespace = ("user-42", "memories")
store.put(namespace, "coffee", {"text": "The user drinks black coffee every morning"})  # text_type="document"
store.put(namespace, "pet", {"text": "The user has a cat named Miso"})
store.put(namespace, "home", {"text": "The user lives in Lisbon and commutes by bike"})

for item in store.search(namespace, query="What is the name of my cat?", limit=2):  # text_type="query"
    print(f"{item.score:.3f}  {item.key}: {item.value['text']}")


class State(TypedDict):
    user_id: str
    question: str
    memories: list[str]


def recall(state: State, runtime: Runtime) -> dict[str, list[str]]:
    """The graph's memory step: the stored memories closest to the question."""
    hits = runtime.store.search((state["user_id"], "memories"), query=state["question"], limit=1)
    return {"memories": [hit.value["text"] for hit in hits]}


builder = StateGraph(State)
builder.add_node("recall", recall)
builder.add_edge(START, "recall")
builder.add_edge("recall", END)
graph = builder.compile(store=store)

state = graph.invoke({"user_id": "user-42", "question": "Which city do I live in?", "memories": []})
print("recalled:", state["memories"])


async def main() -> None:
    # aput / asearch call aembed_documents / aembed_query: native async requests on this event loop.
    await store.aput(namespace, "tea", {"text": "In the afternoon the user prefers green tea"})
    hits = await store.asearch(namespace, query="What does the user drink in the afternoon? Tea?", limit=1)
    print("async:", hits[0].key, hits[0].value["text"])


asyncio.run(main())
