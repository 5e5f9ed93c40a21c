"""Agent frameworks against the in-process emulator: LangGraph's semantic memory store and a LlamaIndex agent tool.

What each framework calls is asserted from the request log: stored items and nodes go out as documents, searches as
queries, with the model and dimension the adapter was built with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import PutOp
from langgraph.store.memory import InMemoryStore
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms import MockFunctionCallingLLM
from llama_index.core.tools import FunctionTool, RetrieverTool

from dashscope_embeddings.emulator import Emulator
from dashscope_embeddings.langchain import DashScopeEmbeddings
from dashscope_embeddings.llama_index import DashScopeEmbedding
from emulated import connection

# LlamaIndex's Workflow runs inspect.getmembers() over the agent, which touches pydantic's deprecated attributes.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
]

V4 = "text-embedding-v4"
NAMESPACE = ("user-42", "memories")
MEMORIES = {
    "coffee": "The user drinks black coffee every morning",
    "pet": "The user has a cat named Miso",
    "home": "The user lives in Lisbon and commutes by bike",
}
# Each question shares words with exactly one memory: the emulator's vectors are lexical.
QUESTIONS = {
    "pet": "What is the name of my cat?",
    "home": "Which city do I live in? Lisbon?",
    "coffee": "What does the user drink every morning?",
}
POLICIES = [
    "Refunds are paid within 14 days after the returned item arrives",
    "Shipping to Germany takes three working days",
    "The support line is open on weekdays from 9:00 to 17:00",
]


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


def sent(emu: Emulator) -> list[tuple[list[str], dict[str, Any]]]:
    return [(r.body["input"]["texts"], r.body["parameters"]) for r in emu.requests]


def memory_store(emu: Emulator, dims: int = 256) -> InMemoryStore:
    embeddings = DashScopeEmbeddings(model=V4, dimension=dims, **connection(emu))
    return InMemoryStore(index={"embed": embeddings, "dims": dims, "fields": ["text"]})


# -- LangGraph: InMemoryStore(index={"embed": DashScopeEmbeddings(...)}) -----------------------------------------


def test_langgraph_store_puts_documents_and_searches_with_queries(emu: Emulator) -> None:
    store = memory_store(emu)
    for key, text in MEMORIES.items():
        store.put(NAMESPACE, key, {"text": text})
    assert sent(emu) == [([text], {"text_type": "document", "dimension": 256}) for text in MEMORIES.values()]

    for key, question in QUESTIONS.items():
        hits = store.search(NAMESPACE, query=question, limit=3)
        assert hits[0].key == key, (question, [(h.key, h.score) for h in hits])
        assert hits[0].score is not None
        assert hits[1].score is not None
        assert hits[0].score > hits[1].score
    assert sent(emu)[3:] == [([q], {"text_type": "query", "dimension": 256}) for q in QUESTIONS.values()]


def test_langgraph_store_scores_are_the_cosines_of_the_emulators_vectors(emu: Emulator) -> None:
    store = memory_store(emu, dims=128)
    store.put(NAMESPACE, "pet", {"text": MEMORIES["pet"]})
    [hit] = store.search(NAMESPACE, query=QUESTIONS["pet"])
    document = emu.expected_embedding(MEMORIES["pet"], model=V4, dimension=128, text_type="document")
    query = emu.expected_embedding(QUESTIONS["pet"], model=V4, dimension=128, text_type="query")
    assert hit.score == pytest.approx(sum(a * b for a, b in zip(document, query, strict=True)), rel=1e-6)


async def test_langgraph_store_async_uses_the_async_methods(emu: Emulator) -> None:
    store = memory_store(emu)
    for key, text in MEMORIES.items():
        await store.aput(NAMESPACE, key, {"text": text})
    hits = await store.asearch(NAMESPACE, query=QUESTIONS["home"], limit=2)
    assert hits[0].key == "home"
    assert [params["text_type"] for _, params in sent(emu)] == ["document"] * 3 + ["query"]


def test_langgraph_batched_puts_are_one_request_per_ten_texts(emu: Emulator) -> None:
    store = memory_store(emu)
    store.batch([PutOp(NAMESPACE, f"fact-{i}", {"text": f"fact number {i} about the user"}) for i in range(12)])
    assert sorted(len(texts) for texts, _ in sent(emu)) == [2, 10]
    assert {params["text_type"] for _, params in sent(emu)} == {"document"}


def test_langgraph_graph_recalls_memories_from_its_store(emu: Emulator) -> None:
    class State(TypedDict):
        user_id: str
        question: str
        memories: list[str]

    def recall(state: State, runtime: Runtime) -> dict[str, list[str]]:
        assert runtime.store is not None
        hits = runtime.store.search((state["user_id"], "memories"), query=state["question"], limit=1)
        return {"memories": [hit.value["text"] for hit in hits]}

    store = memory_store(emu)
    for key, text in MEMORIES.items():
        store.put(NAMESPACE, key, {"text": text})
    builder = StateGraph(State)
    builder.add_node("recall", recall)
    builder.add_edge(START, "recall")
    builder.add_edge("recall", END)
    graph = builder.compile(store=store)

    state = graph.invoke({"user_id": "user-42", "question": QUESTIONS["pet"], "memories": []})
    assert state["memories"] == [MEMORIES["pet"]]
    assert sent(emu)[-1] == ([QUESTIONS["pet"]], {"text_type": "query", "dimension": 256})


def test_langgraph_wraps_a_plain_function_so_queries_become_documents(emu: Emulator) -> None:
    """Why the docs say to pass the Embeddings object: LangGraph turns a function into `embed_query = embed([q])`."""
    embeddings = DashScopeEmbeddings(model=V4, dimension=256, **connection(emu))
    store = InMemoryStore(index={"embed": embeddings.embed_documents, "dims": 256, "fields": ["text"]})
    store.put(NAMESPACE, "pet", {"text": MEMORIES["pet"]})
    store.search(NAMESPACE, query=QUESTIONS["pet"])
    assert sent(emu)[-1] == ([QUESTIONS["pet"]], {"text_type": "document", "dimension": 256})


# -- LlamaIndex: an agent whose tool searches a DashScope-embedded index -------------------------------------------


def scripted_llm(tool_name: str, argument: str) -> MockFunctionCallingLLM:
    """A function-calling LLM that calls `tool_name` with the user's question, then answers with the tool's output."""

    def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        results = [m for m in messages if m.role == MessageRole.TOOL]
        if results:
            return ChatMessage(role=MessageRole.ASSISTANT, content=f"From the documents: {results[-1].content}")
        question = next(m.content for m in reversed(messages) if m.role == MessageRole.USER)
        call = ToolCallBlock(tool_call_id="call-1", tool_name=tool_name, tool_kwargs={argument: question})
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=[call])

    return MockFunctionCallingLLM(response_generator=respond)


async def run_agent(agent: FunctionAgent, question: str) -> tuple[list[ToolCallResult], str]:
    handler = agent.run(user_msg=question)
    results = [event async for event in handler.stream_events() if isinstance(event, ToolCallResult)]
    return results, str(await handler)


def policy_index(emu: Emulator) -> VectorStoreIndex:
    embed_model = DashScopeEmbedding(model_name=V4, dimension=256, **connection(emu))
    return VectorStoreIndex.from_documents([Document(text=t) for t in POLICIES], embed_model=embed_model)


async def test_llama_index_agent_calls_a_function_tool_over_the_retriever(emu: Emulator) -> None:
    retriever = policy_index(emu).as_retriever(similarity_top_k=1)

    async def search_policies(query: str) -> str:
        """Search the shop's policy documents."""
        return "\n".join(node.get_content() for node in await retriever.aretrieve(query))

    tool = FunctionTool.from_defaults(async_fn=search_policies)
    agent = FunctionAgent(tools=[tool], llm=scripted_llm("search_policies", "query"))

    question = "How long does shipping to Germany take?"
    [result], answer = await run_agent(agent, question)
    assert result.tool_name == "search_policies"
    assert result.tool_output.content == POLICIES[1]
    assert answer == f"From the documents: {POLICIES[1]}"
    assert sent(emu) == [
        (POLICIES, {"text_type": "document", "dimension": 256}),
        ([question], {"text_type": "query", "dimension": 256}),
    ]


async def test_llama_index_agent_calls_a_retriever_tool(emu: Emulator) -> None:
    retriever = policy_index(emu).as_retriever(similarity_top_k=1)
    tool = RetrieverTool.from_defaults(retriever, name="search_policies", description="Search the shop's policies.")
    agent = FunctionAgent(tools=[tool], llm=scripted_llm("search_policies", "input"))

    [result], _ = await run_agent(agent, "When is the support line open on weekdays?")
    assert POLICIES[2] in str(result.tool_output.content)
    [query] = [texts for texts, params in sent(emu) if params["text_type"] == "query"]
    # RetrieverTool embeds its arguments as "name is value", not the bare question.
    assert query == ["\ninput is When is the support line open on weekdays?\n"]
