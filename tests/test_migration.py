"""Migration (docs/migration.md): the constructor arguments of langchain_community.embeddings.DashScopeEmbeddings and
llama_index.embeddings.dashscope.DashScopeEmbedding work on this package's adapters, and send what they should.

The old behaviours named here are the ones recorded in the reference notes (anchors §1b and §1c).
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import InputError, ServerError
from dashscope_embeddings.langchain import DashScopeEmbeddings
from dashscope_embeddings.llama_index import DashScopeEmbedding
from emulated import connection

V3 = "text-embedding-v3"
TEXTS = [f"passage number {i} about migration" for i in range(25)]


@pytest.fixture
def emu() -> Emulator:
    return Emulator(faults=Faults(shuffle=True))


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def without_key(emu: Emulator) -> dict[str, Any]:
    settings = connection(emu)
    del settings["api_key"]
    return settings


def sent(emu: Emulator) -> list[tuple[int, str | None]]:
    """(texts, text_type) of every request, largest first (concurrent requests arrive in any order)."""
    pairs = [(len(r.body["input"]["texts"]), r.body["parameters"].get("text_type")) for r in emu.requests]
    return sorted(pairs, key=lambda pair: (-pair[0], pair[1] or ""))


def expected(emu: Emulator, texts: list[str], **kwargs: Any) -> list[list[float]]:
    return [emu.expected_embedding(t, **kwargs) for t in texts]


# -- langchain_community.embeddings.DashScopeEmbeddings ----------------------------------------------------------


async def test_langchain_community_arguments_work(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbeddings(model=V3, dashscope_api_key="sk-community", max_retries=5, **without_key(emu))
    assert emb.api_key == SecretStr("sk-community")
    if mode == "sync":
        vectors, query = emb.embed_documents(TEXTS), emb.embed_query("what is migration?")
    else:
        vectors, query = await emb.aembed_documents(TEXTS), await emb.aembed_query("what is migration?")
    # In input order although the emulator shuffles each answer (the old class ignored text_index).
    assert vectors == expected(emu, TEXTS, model=V3, text_type="document")
    assert query == emu.expected_embedding("what is migration?", model=V3, text_type="query")
    assert sent(emu) == [(10, "document"), (10, "document"), (5, "document"), (1, "query")]
    assert {r.headers["authorization"] for r in emu.requests} == {"Bearer sk-community"}


def test_langchain_keys_belong_to_their_instance(emu: Emulator) -> None:
    """The old class set `dashscope.api_key` for the whole process: instance A sent B's key."""
    first = DashScopeEmbeddings(dashscope_api_key="sk-AAA", **without_key(emu))
    second = DashScopeEmbeddings(dashscope_api_key="sk-BBB", **without_key(emu))
    first.embed_query("a")
    second.embed_query("b")
    first.embed_query("c")
    assert [r.headers["authorization"] for r in emu.requests] == ["Bearer sk-AAA", "Bearer sk-BBB", "Bearer sk-AAA"]


def test_langchain_max_retries_counts_retries_after_the_first_attempt() -> None:
    """The old class counted attempts (default 5); here max_retries=1 is two attempts."""
    emu = Emulator(faults=Faults(error_rate=1.0))
    emb = DashScopeEmbeddings(dashscope_api_key="sk-community", max_retries=1, **without_key(emu))
    with pytest.raises(ServerError):
        emb.embed_documents(["a"])
    assert len(emu.requests) == 2


def test_langchain_dimension_is_available(emu: Emulator) -> None:
    """`dimensions=512` was a ValidationError on the old class (extra="forbid", no such field)."""
    emb = DashScopeEmbeddings(dimensions=512, **connection(emu))
    assert emb.embed_query("x") == emu.expected_embedding(
        "x", model="text-embedding-v4", dimension=512, text_type="query"
    )
    assert emu.requests[0].body["parameters"] == {"text_type": "query", "dimension": 512}


def test_default_models_are_v4() -> None:
    """The old defaults were text-embedding-v1 (LangChain) and -v2 (LlamaIndex); pass `model` to keep them."""
    assert DashScopeEmbeddings(api_key="sk-x").model == "text-embedding-v4"
    assert DashScopeEmbedding(api_key="sk-x").model_name == "text-embedding-v4"


# -- llama_index.embeddings.dashscope.DashScopeEmbedding --------------------------------------------------------


async def batch(emb: DashScopeEmbedding, texts: list[str], mode: str) -> list[list[float]]:
    return emb.get_text_embedding_batch(texts) if mode == "sync" else await emb.aget_text_embedding_batch(texts)


async def test_llama_index_dashscope_arguments_work(emu: Emulator, mode: str) -> None:
    with pytest.warns(UserWarning, match="embed_batch_size=25 is above text-embedding-v3's limit of 10"):
        emb = DashScopeEmbedding(model_name=V3, embed_batch_size=25, **connection(emu))
    assert emb.embed_batch_size == 10
    if mode == "sync":
        vectors, query = emb.get_text_embedding_batch(TEXTS), emb.get_query_embedding("what is migration?")
    else:
        vectors = await emb.aget_text_embedding_batch(TEXTS)
        query = await emb.aget_query_embedding("what is migration?")
    assert vectors == expected(emu, TEXTS, model=V3, text_type="document")
    assert query == emu.expected_embedding("what is migration?", model=V3, text_type="query")
    # The old class sent one request of 25 (refused by v3) with text_type nested where the API never read it.
    assert sent(emu) == [(10, "document"), (10, "document"), (5, "document"), (1, "query")]


async def test_llama_index_async_batch_is_one_request_per_chunk(emu: Emulator) -> None:
    """The old class's aget_text_embedding_batch sent one request per text (and blocked the event loop)."""
    emb = DashScopeEmbedding(model_name=V3, **connection(emu))
    await emb.aget_text_embedding_batch(TEXTS[:4])
    assert sent(emu) == [(4, "document")]


async def test_llama_index_errors_raise_instead_of_none_vectors(mode: str) -> None:
    """The old class logged the error and returned [None] * n, which LlamaIndex then failed on elsewhere."""
    emu = Emulator(faults=Faults(error_rate=1.0))
    emb = DashScopeEmbedding(max_retries=0, **connection(emu))
    with pytest.raises(ServerError) as info:
        await batch(emb, ["a", "b"], mode)
    assert info.value.request_id
    with pytest.raises(InputError, match=r"texts\[1\] is empty"):
        emb.get_text_embedding_batch(["a", ""])
    assert len(emu.requests) == 1


@pytest.mark.parametrize("text_type", ["document", "query"])
async def test_llama_index_text_type_argument_is_accepted(emu: Emulator, mode: str, text_type: str) -> None:
    """Old `text_type` never reached the API (it was nested in `kwargs`); here each call's role decides it."""
    with pytest.warns(UserWarning, match="text_type"):
        emb = DashScopeEmbedding(model_name=V3, text_type=text_type, embed_batch_size=10, **connection(emu))
    if mode == "sync":
        emb.get_query_embedding("a question")
        emb.get_text_embedding_batch(["a passage"])
    else:
        await emb.aget_query_embedding("a question")
        await emb.aget_text_embedding_batch(["a passage"])
    assert [(r.body["input"]["texts"], r.body["parameters"]["text_type"]) for r in emu.requests] == [
        (["a question"], "query"),
        (["a passage"], "document"),
    ]
    with pytest.raises(ValidationError, match="text_type"):
        DashScopeEmbedding(text_type="passage", **connection(emu))
