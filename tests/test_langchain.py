"""`DashScopeEmbeddings` (LangChain) against the in-process emulator: exact vectors, exact request bodies."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest
from langchain_core.vectorstores import InMemoryVectorStore
from pydantic import SecretStr, ValidationError

from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import InputError, ServerError
from dashscope_embeddings.langchain import DashScopeEmbeddings
from emulated import BASE_URL, KEY, connection

TEXT_PATH = "/api/v1/services/embeddings/text-embedding/text-embedding"
INSTRUCT = "Given a web search query, retrieve relevant passages that answer the query"


@pytest.fixture
def emu() -> Emulator:
    return Emulator(faults=Faults(shuffle=True))


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def documents(emb: DashScopeEmbeddings, texts: list[str], mode: str) -> list[list[float]]:
    return emb.embed_documents(texts) if mode == "sync" else await emb.aembed_documents(texts)


async def query(emb: DashScopeEmbeddings, text: str, mode: str) -> list[float]:
    return emb.embed_query(text) if mode == "sync" else await emb.aembed_query(text)


def bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [r.body for r in emu.requests]


def texts_of(n: int) -> list[str]:
    return [f"document number {i}: {'lorem ipsum ' * (i % 4)}end" for i in range(n)]


# -- query vs document ---------------------------------------------------------------------------------------------


async def test_documents_are_sent_as_documents(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbeddings(**connection(emu))
    texts = ["Paris is the capital of France.", "Berlin is the capital of Germany."]
    vectors = await documents(emb, texts, mode)
    assert vectors == [emu.expected_embedding(t, model="text-embedding-v4", text_type="document") for t in texts]
    [request] = emu.requests
    assert request.path == TEXT_PATH
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body == {
        "model": "text-embedding-v4",
        "input": {"texts": texts},
        "parameters": {"text_type": "document", "dimension": 1024},  # the default, sent explicitly by the core
    }


async def test_query_is_sent_as_query(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbeddings(**connection(emu))
    vector = await query(emb, "What is the capital of France?", mode)
    assert vector == emu.expected_embedding(
        "What is the capital of France?", model="text-embedding-v4", text_type="query"
    )
    assert bodies(emu) == [
        {
            "model": "text-embedding-v4",
            "input": {"texts": ["What is the capital of France?"]},
            "parameters": {"text_type": "query", "dimension": 1024},
        }
    ]
    assert vector != emu.expected_embedding("What is the capital of France?", model="text-embedding-v4")


async def test_query_instruct_goes_with_queries_only(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbeddings(query_instruct=INSTRUCT, dimension=256, **connection(emu))
    q = await query(emb, "capital of France", mode)
    d = await documents(emb, ["Paris"], mode)
    assert q == emu.expected_embedding(
        "capital of France", model="text-embedding-v4", dimension=256, text_type="query", instruct=INSTRUCT
    )
    assert d == [emu.expected_embedding("Paris", model="text-embedding-v4", dimension=256, text_type="document")]
    assert [b["parameters"] for b in bodies(emu)] == [
        {"text_type": "query", "dimension": 256, "instruct": INSTRUCT},
        {"text_type": "document", "dimension": 256},
    ]


async def test_dimensions_alias_and_python_floats(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbeddings(dimensions=64, **connection(emu))
    assert emb.dimension == 64
    [vector] = await documents(emb, ["hello"], mode)
    assert len(vector) == 64
    assert all(type(x) is float for x in vector)
    assert bodies(emu)[0]["parameters"] == {"text_type": "document", "dimension": 64}


# -- batching and order --------------------------------------------------------------------------------------------


async def test_v4_batches_of_ten_in_input_order(emu: Emulator, mode: str) -> None:
    texts = texts_of(25)
    emb = DashScopeEmbeddings(dimension=128, **connection(emu))
    vectors = await documents(emb, texts, mode)
    assert vectors == [
        emu.expected_embedding(t, model="text-embedding-v4", dimension=128, text_type="document") for t in texts
    ]
    sent = sorted((b["input"]["texts"] for b in bodies(emu)), key=lambda batch: texts.index(batch[0]))
    assert sent == [texts[0:10], texts[10:20], texts[20:25]]


async def test_v2_batches_of_twenty_five_without_dimension(emu: Emulator, mode: str) -> None:
    texts = texts_of(30)
    emb = DashScopeEmbeddings(model="text-embedding-v2", **connection(emu))
    vectors = await documents(emb, texts, mode)
    assert vectors == [emu.expected_embedding(t, model="text-embedding-v2", text_type="document") for t in texts]
    assert sorted(len(b["input"]["texts"]) for b in bodies(emu)) == [5, 25]
    assert all(b["model"] == "text-embedding-v2" for b in bodies(emu))
    assert all("dimension" not in b["parameters"] for b in bodies(emu))
    assert len(vectors[0]) == 1536


async def test_async_is_native_not_a_thread_around_sync(emu: Emulator) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the async methods must not use the sync client")

    emb = DashScopeEmbeddings(**connection(emu, http_client=httpx.Client(transport=httpx.MockTransport(refuse))))
    assert await emb.aembed_documents(["a"]) == [emu.expected_embedding("a", model="text-embedding-v4")]
    assert await emb.aembed_query("a") == emu.expected_embedding("a", model="text-embedding-v4", text_type="query")


async def test_no_texts_no_request(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbeddings(**connection(emu))
    assert await documents(emb, [], mode) == []
    assert emu.requests == []


async def test_invalid_text_is_refused_before_sending(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbeddings(**connection(emu))
    with pytest.raises(InputError, match=r"texts\[1\]"):
        await documents(emb, ["fine", "   "], mode)
    assert emu.requests == []


async def test_service_errors_raise_instead_of_returning_none(mode: str) -> None:
    emu = Emulator(faults=Faults(error_rate=1.0))
    emb = DashScopeEmbeddings(max_retries=0, **connection(emu))
    with pytest.raises(ServerError):
        await documents(emb, ["a", "b"], mode)
    assert len(emu.requests) == 1


# -- keys, settings, serialisation ---------------------------------------------------------------------------------


def test_dashscope_api_key_alias(emu: Emulator) -> None:
    settings = connection(emu)
    del settings["api_key"]
    emb = DashScopeEmbeddings(dashscope_api_key="sk-from-alias", **settings)
    assert emb.api_key == SecretStr("sk-from-alias")
    emb.embed_query("hi")
    assert emu.requests[0].headers["authorization"] == "Bearer sk-from-alias"


def test_key_and_base_url_from_environment(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", "http://127.0.0.1:9/api/v1")
    emb = DashScopeEmbeddings(http_client=httpx.Client(transport=emu.transport()))
    assert emb.api_key is not None
    assert emb.api_key.get_secret_value() == "sk-from-env"
    assert emb.embedder.endpoint.base_url == "http://127.0.0.1:9/api/v1"
    emb.embed_documents(["x"])
    assert emu.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_two_instances_keep_their_own_keys(emu: Emulator) -> None:
    # langchain-community sets dashscope.api_key globally: the second instance's key leaks into the first.
    a = DashScopeEmbeddings(**connection(emu, api_key="sk-AAA"))
    b = DashScopeEmbeddings(**connection(emu, api_key="sk-BBB"))
    a.embed_query("one")
    b.embed_query("two")
    a.embed_query("three")
    assert [r.headers["authorization"] for r in emu.requests] == ["Bearer sk-AAA", "Bearer sk-BBB", "Bearer sk-AAA"]


def test_workspace_header(emu: Emulator) -> None:
    emb = DashScopeEmbeddings(workspace="ws-123", **connection(emu))
    emb.embed_query("hi")
    assert emu.requests[0].headers["x-dashscope-workspace"] == "ws-123"


def test_missing_key_fails_at_construction_without_network() -> None:
    with pytest.raises(ValidationError, match="DASHSCOPE_API_KEY"):
        DashScopeEmbeddings()


def test_construction_touches_no_network() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    emb = DashScopeEmbeddings(
        api_key=KEY,
        region="beijing",
        http_client=httpx.Client(transport=httpx.MockTransport(refuse)),
    )
    assert emb.embedder.endpoint.base_url == "https://dashscope.aliyuncs.com/api/v1"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dimensions_typo": 64}, "Extra inputs are not permitted"),
        ({"chunk_size": 10}, "Extra inputs are not permitted"),
        ({"dimension": 100}, "dimension 100 is not offered by text-embedding-v4"),
        ({"model": "text-embedding-v3", "query_instruct": INSTRUCT}, "text-embedding-v3 does not take instruct"),
        ({"region": "mars"}, "Unknown region 'mars'"),
        ({"base_url": "http://example.com/api/v1"}, "plain http"),
        ({"max_concurrency": 0}, "max_concurrency"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DashScopeEmbeddings(api_key=KEY, **kwargs)


def test_key_never_leaks(emu: Emulator) -> None:
    emb = DashScopeEmbeddings(**connection(emu, api_key="sk-very-secret-value"))
    for text in (
        repr(emb),
        str(emb),
        str(emb.model_dump()),
        emb.model_dump_json(),
        repr(emb.embedder),
    ):
        assert "sk-very-secret-value" not in text
    assert b"sk-very-secret-value" not in pickle.dumps(emb)
    assert "http_client" not in emb.model_dump()


def test_unpickled_copy_takes_the_key_from_the_environment(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    emb = DashScopeEmbeddings(api_key="sk-original", base_url=BASE_URL, dimension=256, query_instruct=INSTRUCT)
    data = pickle.dumps(emb)

    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    copy = pickle.loads(data)
    assert copy.api_key == SecretStr("sk-from-env")
    assert (copy.dimension, copy.query_instruct, copy.base_url) == (256, INSTRUCT, BASE_URL)

    monkeypatch.delenv("DASHSCOPE_API_KEY")
    keyless = pickle.loads(data)
    assert keyless.dimension == 256
    with pytest.raises(InputError, match="DASHSCOPE_API_KEY"):
        keyless.embed_query("x")


def test_assignment_rebuilds_and_bad_assignment_is_rolled_back(emu: Emulator) -> None:
    emb = DashScopeEmbeddings(**connection(emu))
    emb.dimension = 512
    assert len(emb.embed_query("x")) == 512
    with pytest.raises(ValidationError):
        emb.dimension = 3
    assert emb.dimension == 512
    assert len(emb.embed_query("x")) == 512

    emb.query_instruct = INSTRUCT
    with pytest.raises(ValidationError, match="does not take instruct"):
        emb.model = "text-embedding-v3"
    assert (emb.model, emb.embedder.model) == ("text-embedding-v4", "text-embedding-v4")


# -- inside LangChain ----------------------------------------------------------------------------------------------


async def test_in_memory_vector_store_round_trip(emu: Emulator, mode: str) -> None:
    store_texts = [f"fact {i}: the number {i} squared is {i * i}" for i in range(12)]
    emb = DashScopeEmbeddings(dimension=256, **connection(emu))
    store = InMemoryVectorStore(embedding=emb)
    if mode == "sync":
        store.add_texts(store_texts)
        hits = store.similarity_search_with_score(store_texts[7], k=3)
    else:
        await store.aadd_texts(store_texts)
        hits = await store.asimilarity_search_with_score(store_texts[7], k=3)

    q = emu.expected_embedding(store_texts[7], model="text-embedding-v4", dimension=256, text_type="query")
    docs = {
        t: emu.expected_embedding(t, model="text-embedding-v4", dimension=256, text_type="document")
        for t in store_texts
    }

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True)) / (
            sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5
        )

    ranked = sorted(store_texts, key=lambda t: cosine(q, docs[t]), reverse=True)[:3]
    assert [doc.page_content for doc, _ in hits] == ranked
    assert [score for _, score in hits] == pytest.approx([cosine(q, docs[t]) for t in ranked])
    assert [b["parameters"]["text_type"] for b in bodies(emu)] == ["document", "document", "query"]
