"""LlamaIndex: an agent whose tool searches a VectorStoreIndex embedded with DashScopeEmbedding.

The nodes are embedded as documents and the tool's search text as a query. The LLM here is a scripted stand-in, so
the example runs without an LLM key; replace it with any function-calling LLM (see the comment below).

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import asyncio
from collections.abc import Sequence
from typing import Any

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms import MockFunctionCallingLLM
from llama_index.core.tools import FunctionTool

from dashscope_embeddings.llama_index import DashScopeEmbedding

embed_model = DashScopeEmbedding(model_name="text-embedding-v4", dimension=512)

documents = [
    Document(text="Refunds are paid within 14 days after the returned item arrives"),
    Document(text="Shipping to Germany takes three working days"),
    Document(text="The support line is open on weekdays from 9:00 to 17:00"),
]
index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)  # text_type="document"
retriever = index.as_retriever(similarity_top_k=1)


async def search_policies(query: str) -> str:
    """Search the shop's policy documents and return the most relevant passage."""
    nodes = await retriever.aretrieve(query)  # text_type="query"
    return "\n".join(node.get_content() for node in nodes)


tool = FunctionTool.from_defaults(async_fn=search_policies)


def scripted_llm(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
    """Calls the tool with the user's question, then answers with what the tool returned."""
    results = [m for m in messages if m.role == MessageRole.TOOL]
    if results:
        return ChatMessage(role=MessageRole.ASSISTANT, content=f"According to our policies: {results[-1].content}")
    question = next(m.content for m in reversed(messages) if m.role == MessageRole.USER)
    call = ToolCallBlock(tool_call_id="call-1", tool_name="search_policies", tool_kwargs={"query": question})
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=[call])


# With a real LLM, e.g. Qwen on DashScope's OpenAI-compatible endpoint (pip install llama-index-llms-openai-like):
#   llm = OpenAILike(model="qwen-plus", api_base=".../compatible-mode/v1", api_key=...,
#                    is_chat_model=True, is_function_calling_model=True)
llm = MockFunctionCallingLLM(response_generator=scripted_llm)
agent = FunctionAgent(tools=[tool], llm=llm, system_prompt="Answer from the shop's policy documents.")


async def main() -> None:
    handler = agent.run(user_msg="How long does shipping to Germany take?")
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            print(f"tool {event.tool_name}({event.tool_kwargs}) -> {event.tool_output.content}")
    print("agent:", await handler)


asyncio.run(main())
