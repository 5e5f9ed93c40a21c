"""The LangChain and LlamaIndex adapters over real sockets: a served emulator always, the real API with a key.

The same scenarios as `tests/test_langchain.py` / `tests/test_llama_index.py`, with the adapters building their own
HTTP clients (nothing injected). Exact vectors and request bodies are asserted against the emulator; structure,
order and the query/document split on both backends.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.vectorstores import InMemoryVectorStore
from llama_index.core import Document, Settings, VectorStoreIndex

from dashscope_embeddings.emulator import Emulator, Faults, ServedEmulator
from dashscope_embeddings.errors import AuthenticationError, ServerError
from dashscope_embeddings.langchain import DashScopeEmbeddings
from dashscope_embeddings.llama_index import DashScopeEmbedding

from .conftest import Backend

V4 = "text-embedding-v4"
INSTRUCT = "Given a web search query, retrieve relevant passages that answer the query"
FACTS = [
    "Paris is the capital and largest city of France.",
    "The Nile is the longest river in Africa.",
    "Mount Everest is the highest mountain above sea level.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "The Pacific is the largest and deepest ocean on Earth.",
]
QUESTION = "What is the capital of France?"


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings_embed_model() -> Iterator[None]:
    saved = Settings._embed_model
    try:
        yield
    finally:
        Settings._embed_model = saved


def connection(backend: Backend) -> dict[str, Any]:
    return {"api_key": backend.api_key, "base_url": backend.base_url}


def sizes(emulator: Emulator) -> list[int]:
    return sorted((len(r.body["input"]["texts"]) for r in emulator.requests), reverse=True)


def cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


def assert_vectors(vectors: list[list[float]], count: int, dimension: int) -> None:
    assert len(vectors) == count
    assert all(len(v) == dimension and all(type(x) is float for x in v) for v in vectors)


# -- LangChain -----------------------------------------------------------------------------------------------------


async def test_langchain_documents_and_queries(backend: Backend, mode: str) -> None:
    texts = [f"Document {i} is about topic {i % 4}" for i in range(23)]
    emb = DashScopeEmbeddings(dimension=256, query_instruct=INSTRUCT, **connection(backend))
    if mode == "sync":
        docs, query = emb.embed_documents(texts), emb.embed_query("Which document is about topic 3?")
    else:
        docs, query = await emb.aembed_documents(texts), await emb.aembed_query("Which document is about topic 3?")
    assert_vectors(docs, 23, 256)
    assert_vectors([query], 1, 256)
    if backend.emulator is not None:
        emu = backend.emulator
        assert docs == [emu.expected_embedding(t, model=V4, dimension=256) for t in texts]
        assert query == emu.expected_embedding(
            "Which document is about topic 3?", model=V4, dimension=256, text_type="query", instruct=INSTRUCT
        )
        assert sizes(emu) == [10, 10, 3, 1]
        assert sorted(r.body["parameters"]["text_type"] for r in emu.requests) == ["document"] * 3 + ["query"]


async def test_langchain_vector_store(backend: Backend, mode: str) -> None:
    store = InMemoryVectorStore(embedding=DashScopeEmbeddings(**connection(backend)))
    if mode == "sync":
        store.add_texts(FACTS)
        hits = store.similarity_search(QUESTION, k=2)
    else:
        await store.aadd_texts(FACTS)
        hits = await store.asimilarity_search(QUESTION, k=2)
    assert len(hits) == 2
    if backend.emulator is not None:
        emu = backend.emulator
        q = emu.expected_embedding(QUESTION, model=V4, text_type="query")
        ranked = sorted(FACTS, key=lambda t: cosine(q, emu.expected_embedding(t, model=V4)), reverse=True)
        assert [h.page_content for h in hits] == ranked[:2]
    else:
        assert hits[0].page_content == FACTS[0]


# -- LlamaIndex ----------------------------------------------------------------------------------------------------


async def test_llama_index_batches_and_queries(backend: Backend, mode: str) -> None:
    texts = [f"passage {i}: {'filler ' * (i % 3)}end" for i in range(25)]
    emb = DashScopeEmbedding(dimension=128, **connection(backend))
    if mode == "sync":
        docs, query = emb.get_text_embedding_batch(texts), emb.get_query_embedding("passage 7")
    else:
        docs, query = await emb.aget_text_embedding_batch(texts), await emb.aget_query_embedding("passage 7")
    assert_vectors(docs, 25, 128)
    assert_vectors([query], 1, 128)
    if backend.emulator is not None:
        emu = backend.emulator
        assert docs == [emu.expected_embedding(t, model=V4, dimension=128) for t in texts]
        assert query == emu.expected_embedding("passage 7", model=V4, dimension=128, text_type="query")
        assert sizes(emu) == [10, 10, 5, 1]


async def test_llama_index_vector_store_index(backend: Backend, mode: str, settings_embed_model: None) -> None:
    Settings.embed_model = DashScopeEmbedding(dimension=512, **connection(backend))
    documents = [Document(text=t) for t in FACTS]
    if mode == "sync":
        index = VectorStoreIndex.from_documents(documents)
        hits = index.as_retriever(similarity_top_k=2).retrieve(QUESTION)
    else:
        index = VectorStoreIndex.from_documents(documents, use_async=True)
        hits = await index.as_retriever(similarity_top_k=2).aretrieve(QUESTION)
    assert len(hits) == 2
    if backend.emulator is not None:
        emu = backend.emulator
        q = emu.expected_embedding(QUESTION, model=V4, dimension=512, text_type="query")
        scores = {t: cosine(q, emu.expected_embedding(t, model=V4, dimension=512)) for t in FACTS}
        ranked = sorted(FACTS, key=scores.__getitem__, reverse=True)
        assert [h.node.get_content() for h in hits] == ranked[:2]
        assert [h.score for h in hits] == pytest.approx([scores[t] for t in ranked[:2]])
        assert sizes(emu) == [5, 1]
    else:
        assert hits[0].node.get_content() == FACTS[0]


# -- emulator only -------------------------------------------------------------------------------------------------


def test_settings_from_the_environment(served: ServedEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    served.emulator.reset()
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-env")
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", served.base_url)
    assert DashScopeEmbeddings().embed_query("x") == served.emulator.expected_embedding(
        "x", model=V4, text_type="query"
    )
    assert DashScopeEmbedding().get_text_embedding("x") == served.emulator.expected_embedding("x", model=V4)
    assert [r.headers["authorization"] for r in served.emulator.requests] == ["Bearer sk-env"] * 2


async def test_v2_batches_over_sockets(mode: str) -> None:
    texts = [f"old model text {i}" for i in range(30)]
    with ServedEmulator(Emulator(faults=Faults(shuffle=True))) as served:
        emu = served.emulator
        lc = DashScopeEmbeddings(model="text-embedding-v2", api_key="k", base_url=served.base_url)
        li = DashScopeEmbedding(model_name="text-embedding-v2", api_key="k", base_url=served.base_url)
        if mode == "sync":
            results = [lc.embed_documents(texts), li.get_text_embedding_batch(texts)]
        else:
            results = [await lc.aembed_documents(texts), await li.aget_text_embedding_batch(texts)]
        expected = [emu.expected_embedding(t, model="text-embedding-v2") for t in texts]
        assert results == [expected, expected]
        assert sizes(emu) == [25, 25, 5, 5]


async def test_batches_overlap_on_the_wire(mode: str) -> None:
    """20 requests at 50 ms each: one at a time would take 1 s; 16 in flight take about 0.1 s."""
    texts = [f"concurrent text {i}" for i in range(200)]
    with ServedEmulator(Emulator(faults=Faults(latency=0.05, shuffle=True))) as served:
        emu = served.emulator
        lc = DashScopeEmbeddings(api_key="k", base_url=served.base_url)
        li = DashScopeEmbedding(api_key="k", base_url=served.base_url)
        expected = [emu.expected_embedding(t, model=V4) for t in texts]
        # One request each first, untimed: the first call pays one-time costs (importing httpcore's async backend,
        # the emulator loading its tokenizer), which on a fresh clone without bytecode take longer than the run.
        lc.embed_query("warm up")
        await li.aget_query_embedding("warm up")
        for name in ("langchain", "llama_index"):
            emu.reset()
            started = time.perf_counter()
            if mode == "sync":
                vectors = lc.embed_documents(texts) if name == "langchain" else li.get_text_embedding_batch(texts)
            elif name == "langchain":
                vectors = await lc.aembed_documents(texts)
            else:
                vectors = await li.aget_text_embedding_batch(texts)
            elapsed = time.perf_counter() - started
            assert vectors == expected
            assert len(emu.requests) == 20
            assert elapsed < 0.5, f"{name} {mode} took {elapsed:.2f} s"


async def test_errors_surface_over_sockets(mode: str) -> None:
    with ServedEmulator(Emulator(api_keys={"sk-good"}, faults=Faults(error_rate=1.0))) as served:
        bad_key = {"api_key": "sk-bad", "base_url": served.base_url}
        failing = {"api_key": "sk-good", "base_url": served.base_url, "max_retries": 0}
        lc_bad, li_bad = DashScopeEmbeddings(**bad_key), DashScopeEmbedding(**bad_key)
        lc_err, li_err = DashScopeEmbeddings(**failing), DashScopeEmbedding(**failing)
        texts = ["a", "b", "c"]
        if mode == "sync":
            with pytest.raises(AuthenticationError, match="API keys are per region"):
                lc_bad.embed_documents(texts)
            with pytest.raises(AuthenticationError):
                li_bad.get_text_embedding_batch(texts)
            with pytest.raises(ServerError):
                lc_err.embed_query("x")
            with pytest.raises(ServerError):  # never a list of None vectors
                li_err.get_text_embedding_batch(texts)
        else:
            with pytest.raises(AuthenticationError, match="API keys are per region"):
                await lc_bad.aembed_documents(texts)
            with pytest.raises(AuthenticationError):
                await li_bad.aget_text_embedding_batch(texts)
            with pytest.raises(ServerError):
                await lc_err.aembed_query("x")
            with pytest.raises(ServerError):
                await li_err.aget_text_embedding_batch(texts)
