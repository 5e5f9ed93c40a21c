"""`DashScopeEmbedding` (LlamaIndex) against the in-process emulator: exact vectors, bodies, batching, events."""

from __future__ import annotations

import asyncio
import pickle
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from llama_index.core import Settings, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload, LlamaDebugHandler
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.embedding import EmbeddingEndEvent, EmbeddingStartEvent
from llama_index.core.rate_limiter import BaseRateLimiter
from llama_index.core.schema import TextNode
from llama_index.core.storage.kvstore import SimpleKVStore
from pydantic import Field, SecretStr, ValidationError

from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import InputError, ServerError
from dashscope_embeddings.llama_index import DashScopeEmbedding
from emulated import BASE_URL, KEY, connection

V4 = "text-embedding-v4"
INSTRUCT = "Given a web search query, retrieve relevant passages that answer the query"


@pytest.fixture
def emu() -> Emulator:
    return Emulator(faults=Faults(shuffle=True))


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def batch(emb: BaseEmbedding, texts: list[str], mode: str, **kwargs: Any) -> list[list[float]]:
    if mode == "sync":
        return emb.get_text_embedding_batch(texts, **kwargs)
    return await emb.aget_text_embedding_batch(texts, **kwargs)


def bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [r.body for r in emu.requests]


def batch_sizes(emu: Emulator) -> list[int]:
    return sorted((len(b["input"]["texts"]) for b in bodies(emu)), reverse=True)


def texts_of(n: int) -> list[str]:
    return [f"passage {i}: {'words ' * (i % 5)}done" for i in range(n)]


def expected(emu: Emulator, texts: list[str], **kwargs: Any) -> list[list[float]]:
    kwargs.setdefault("model", V4)
    return [emu.expected_embedding(t, **kwargs) for t in texts]


# -- query vs text -------------------------------------------------------------------------------------------------


async def test_query_and_text_types(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbedding(dimension=256, **connection(emu))
    if mode == "sync":
        q = emb.get_query_embedding("what is a cat?")
        t = emb.get_text_embedding("A cat is a small mammal.")
    else:
        q = await emb.aget_query_embedding("what is a cat?")
        t = await emb.aget_text_embedding("A cat is a small mammal.")
    assert q == emu.expected_embedding("what is a cat?", model=V4, dimension=256, text_type="query")
    assert t == emu.expected_embedding("A cat is a small mammal.", model=V4, dimension=256, text_type="document")
    assert bodies(emu) == [
        {"model": V4, "input": {"texts": ["what is a cat?"]}, "parameters": {"text_type": "query", "dimension": 256}},
        {
            "model": V4,
            "input": {"texts": ["A cat is a small mammal."]},
            "parameters": {"text_type": "document", "dimension": 256},
        },
    ]
    assert all(type(x) is float for x in q + t)


async def test_query_instruct_on_queries_only(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbedding(query_instruct=INSTRUCT, **connection(emu))
    if mode == "sync":
        q = emb.get_query_embedding("cats")
        docs = emb.get_text_embedding_batch(["a", "b"])
    else:
        q = await emb.aget_query_embedding("cats")
        docs = await emb.aget_text_embedding_batch(["a", "b"])
    assert q == emu.expected_embedding("cats", model=V4, text_type="query", instruct=INSTRUCT)
    assert docs == expected(emu, ["a", "b"], text_type="document")
    assert [b["parameters"] for b in bodies(emu)] == [
        {"text_type": "query", "dimension": 1024, "instruct": INSTRUCT},
        {"text_type": "document", "dimension": 1024},
    ]


def test_dimensions_alias_and_class_identity(emu: Emulator) -> None:
    emb = DashScopeEmbedding(dimensions=64, **connection(emu))
    assert emb.dimension == 64
    assert len(emb.get_text_embedding("x")) == 64
    assert isinstance(emb, BaseEmbedding)
    assert DashScopeEmbedding.class_name() == "DashScopeEmbedding"


# -- batching ------------------------------------------------------------------------------------------------------


async def test_v4_batch_is_three_requests_in_order(emu: Emulator, mode: str) -> None:
    texts = texts_of(25)
    emb = DashScopeEmbedding(dimension=128, **connection(emu))
    assert await batch(emb, texts, mode) == expected(emu, texts, dimension=128, text_type="document")
    assert batch_sizes(emu) == [10, 10, 5]
    assert {tuple(b["input"]["texts"]) for b in bodies(emu)} == {
        tuple(texts[0:10]),
        tuple(texts[10:20]),
        tuple(texts[20:25]),
    }
    assert all(b["parameters"] == {"text_type": "document", "dimension": 128} for b in bodies(emu))


async def test_v2_batch_is_twenty_five_plus_five(emu: Emulator, mode: str) -> None:
    texts = texts_of(30)
    emb = DashScopeEmbedding(model_name="text-embedding-v2", **connection(emu))
    assert emb.embed_batch_size == 25
    vectors = await batch(emb, texts, mode)
    assert vectors == expected(emu, texts, model="text-embedding-v2", text_type="document")
    assert batch_sizes(emu) == [25, 5]
    assert all(b["parameters"] == {"text_type": "document"} for b in bodies(emu))


async def test_async_batch_sends_no_per_text_requests(emu: Emulator) -> None:
    # llama-index-embeddings-dashscope sent four single-text requests for four texts.
    emb = DashScopeEmbedding(**connection(emu))
    texts = ["one", "two", "three", "four"]
    assert await emb.aget_text_embedding_batch(texts) == expected(emu, texts, text_type="document")
    assert await emb._aget_text_embeddings(texts) == expected(emu, texts, text_type="document")
    assert batch_sizes(emu) == [4, 4]


async def test_async_is_native_not_a_thread_around_sync(emu: Emulator) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the async methods must not use the sync client")

    emb = DashScopeEmbedding(**connection(emu, http_client=httpx.Client(transport=httpx.MockTransport(refuse))))
    assert await emb.aget_query_embedding("q") == emu.expected_embedding("q", model=V4, text_type="query")
    assert await emb.aget_text_embedding("t") == emu.expected_embedding("t", model=V4)
    assert await emb.aget_text_embedding_batch(["a", "b"]) == expected(emu, ["a", "b"])


async def test_empty_batch_sends_nothing(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbedding(**connection(emu))
    assert await batch(emb, [], mode) == []
    assert emb._get_text_embeddings([]) == []
    assert await emb._aget_text_embeddings([]) == []
    assert emu.requests == []


@pytest.mark.parametrize(
    ("model", "cap"), [("text-embedding-v4", 10), ("text-embedding-v3", 10), ("text-embedding-v2", 25)]
)
def test_embed_batch_size_defaults_to_the_model_cap(emu: Emulator, model: str, cap: int) -> None:
    assert DashScopeEmbedding(model_name=model, **connection(emu)).embed_batch_size == cap


def test_embed_batch_size_above_the_cap_is_lowered_with_a_warning(emu: Emulator) -> None:
    with pytest.warns(UserWarning, match="embed_batch_size=25 is above text-embedding-v4's limit of 10"):
        emb = DashScopeEmbedding(embed_batch_size=25, **connection(emu))
    assert emb.embed_batch_size == 10
    emb.get_text_embedding_batch(texts_of(25))
    assert batch_sizes(emu) == [10, 10, 5]


async def test_smaller_embed_batch_size_is_respected(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbedding(embed_batch_size=4, **connection(emu))
    texts = texts_of(10)
    assert await batch(emb, texts, mode) == expected(emu, texts, text_type="document")
    assert batch_sizes(emu) == [4, 4, 2]


# -- concurrency ---------------------------------------------------------------------------------------------------


class _Peak:
    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.lock = threading.Lock()

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


class _CountingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, peak: _Peak) -> None:
        self.inner, self.peak = inner, peak

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.peak.enter()
        try:
            response = self.inner.handle_request(request)
            response.read()
            return response
        finally:
            self.peak.leave()


class _AsyncCountingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, peak: _Peak) -> None:
        self.inner, self.peak = inner, peak

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.peak.enter()
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.peak.leave()


@pytest.mark.parametrize(("max_concurrency", "num_workers", "peak"), [(4, None, 4), (4, 2, 2), (3, 8, 3)])
async def test_batches_run_concurrently_within_the_bound(
    mode: str, max_concurrency: int, num_workers: int | None, peak: int
) -> None:
    emu = Emulator(faults=Faults(latency=0.05, shuffle=True))
    counter = _Peak()
    emb = DashScopeEmbedding(
        max_concurrency=max_concurrency,
        num_workers=num_workers,
        **connection(
            emu,
            http_client=httpx.Client(transport=_CountingTransport(emu.transport(), counter)),
            http_async_client=httpx.AsyncClient(transport=_AsyncCountingTransport(emu.async_transport(), counter)),
        ),
    )
    texts = texts_of(120)  # 12 requests of 10
    vectors = await batch(emb, texts, mode)
    assert vectors == expected(emu, texts, text_type="document")
    assert len(emu.requests) == 12
    # LlamaIndex's own sync path has 1 request in flight, its async path all 12: we hold exactly the bound.
    assert counter.peak == peak


# -- LlamaIndex's per-batch machinery ------------------------------------------------------------------------------


class _Events(BaseEventHandler):
    seen: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "_Events"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.seen.append(event)


@pytest.fixture
def events() -> Iterator[list[BaseEvent]]:
    handler = _Events(seen=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    try:
        yield handler.seen
    finally:
        root.event_handlers.remove(handler)


async def test_events_per_request_sized_chunk(emu: Emulator, mode: str, events: list[BaseEvent]) -> None:
    debug = LlamaDebugHandler()
    emb = DashScopeEmbedding(callback_manager=CallbackManager([debug]), dimension=64, **connection(emu))
    texts = texts_of(25)
    vectors = await batch(emb, texts, mode)

    starts = [e for e in events if isinstance(e, EmbeddingStartEvent)]
    ends = [e for e in events if isinstance(e, EmbeddingEndEvent)]
    assert len(starts) == 3
    assert all(s.model_dict["model_name"] == V4 and s.model_dict["embed_batch_size"] == 10 for s in starts)
    assert [e.chunks for e in ends] == [texts[0:10], texts[10:20], texts[20:25]]
    assert [v for e in ends for v in e.embeddings] == vectors

    pairs = debug.get_event_pairs(CBEventType.EMBEDDING)
    assert len(pairs) == 3
    assert [end.payload[EventPayload.CHUNKS] for _, end in pairs] == [texts[0:10], texts[10:20], texts[20:25]]
    assert [v for _, end in pairs for v in end.payload[EventPayload.EMBEDDINGS]] == vectors


async def test_failed_chunk_raises_and_closes_callback_events(mode: str) -> None:
    emu = Emulator(faults=Faults(error_rate=1.0))
    debug = LlamaDebugHandler()
    emb = DashScopeEmbedding(callback_manager=CallbackManager([debug]), max_retries=0, **connection(emu))
    with pytest.raises(ServerError):
        await batch(emb, texts_of(25), mode)
    pairs = debug.get_event_pairs(CBEventType.EMBEDDING)
    assert len(pairs) == 3
    assert all(isinstance(end.payload[EventPayload.EXCEPTION], ServerError) for _, end in pairs)


async def test_show_progress_counts_texts(emu: Emulator, mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    emb = DashScopeEmbedding(**connection(emu))
    await batch(emb, texts_of(25), mode, show_progress=True)
    err = capsys.readouterr().err
    assert "Generating embeddings" in err
    assert "25/25" in err


class _CountingLimiter(BaseRateLimiter):
    def __init__(self) -> None:
        self.sync = 0
        self.calls_async = 0

    def acquire(self, num_tokens: int = 0) -> None:
        self.sync += 1

    async def async_acquire(self, num_tokens: int = 0) -> None:
        self.calls_async += 1
        await asyncio.sleep(0)


async def test_rate_limiter_is_acquired_once_per_request(emu: Emulator, mode: str) -> None:
    limiter = _CountingLimiter()
    emb = DashScopeEmbedding(rate_limiter=limiter, **connection(emu))
    await batch(emb, texts_of(25), mode)
    assert (limiter.sync, limiter.calls_async) == ((3, 0) if mode == "sync" else (0, 3))


async def test_embeddings_cache_skips_known_texts(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbedding(embeddings_cache=SimpleKVStore(), **connection(emu))
    texts = texts_of(12)
    first = await batch(emb, texts, mode)
    assert len(emu.requests) == 2
    assert await batch(emb, texts, mode) == first == expected(emu, texts, text_type="document")
    assert len(emu.requests) == 2


def test_ingestion_pipeline_transform(emu: Emulator) -> None:
    emb = DashScopeEmbedding(dimension=128, **connection(emu))
    nodes = [TextNode(text=t) for t in texts_of(12)]
    out = IngestionPipeline(transformations=[emb]).run(nodes=nodes)
    assert [n.embedding for n in out] == expected(emu, texts_of(12), dimension=128, text_type="document")


# -- settings and serialisation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text_type": "passage"}, "text_type must be 'query' or 'document'"),
        ({"dimensions_typo": 1}, "Extra inputs are not permitted"),
        ({"dimension": 100}, "dimension 100 is not offered"),
        ({"model_name": "text-embedding-v3", "query_instruct": INSTRUCT}, "does not take instruct"),
        ({"region": "atlantis"}, "Unknown region"),
        ({"model_name": "multimodal-embedding-v1"}, "multimodal model"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DashScopeEmbedding(api_key=KEY, **kwargs)


def test_key_from_environment(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", BASE_URL)
    emb = DashScopeEmbedding(http_client=httpx.Client(transport=emu.transport()))
    emb.get_query_embedding("x")
    assert emu.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_missing_key_fails_at_construction() -> None:
    with pytest.raises(ValidationError, match="DASHSCOPE_API_KEY"):
        DashScopeEmbedding()


def test_key_never_leaks(emu: Emulator, events: list[BaseEvent]) -> None:
    secret = "sk-very-secret-value"
    emb = DashScopeEmbedding(**connection(emu, api_key=secret))
    emb.get_text_embedding_batch(["x"])
    dumped = [
        repr(emb),
        str(emb),
        str(emb.to_dict()),
        emb.to_json(),
        str(emb.model_dump()),
        emb.model_dump_json(),
        str(emb.to_payload()),
        *(str(e.model_dict) for e in events if isinstance(e, EmbeddingStartEvent)),
    ]
    assert all(secret not in text for text in dumped)
    assert secret.encode() not in pickle.dumps(emb)
    assert "http_client" not in emb.to_dict()
    assert emb.api_key == SecretStr(secret)


def test_to_dict_round_trip_and_pickle_take_the_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    emb = DashScopeEmbedding(api_key="sk-original", base_url=BASE_URL, dimension=512, embed_batch_size=5)
    data, blob = emb.to_dict(), pickle.dumps(emb)

    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    for copy in (DashScopeEmbedding.from_dict(data), pickle.loads(blob)):
        assert (copy.dimension, copy.embed_batch_size, copy.base_url) == (512, 5, BASE_URL)
        assert copy.embedder.dimension == 512

    monkeypatch.delenv("DASHSCOPE_API_KEY")
    keyless = pickle.loads(blob)
    assert keyless.dimension == 512
    with pytest.raises(InputError, match="DASHSCOPE_API_KEY"):
        keyless.get_query_embedding("x")


# -- inside LlamaIndex ---------------------------------------------------------------------------------------------


@pytest.fixture
def settings_embed_model() -> Iterator[None]:
    saved = Settings._embed_model
    try:
        yield
    finally:
        Settings._embed_model = saved


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5)


async def test_vector_store_index_retrieval(emu: Emulator, mode: str, settings_embed_model: None) -> None:
    Settings.embed_model = DashScopeEmbedding(dimension=256, **connection(emu))
    texts = [f"note {i}: the river {i} flows into lake {i * 3}" for i in range(15)]
    question = "which river flows into lake 21?"
    nodes = [TextNode(text=t, id_=str(i)) for i, t in enumerate(texts)]
    if mode == "sync":
        index = VectorStoreIndex(nodes)
        hits = index.as_retriever(similarity_top_k=3).retrieve(question)
    else:
        index = VectorStoreIndex(nodes, use_async=True)
        hits = await index.as_retriever(similarity_top_k=3).aretrieve(question)

    q = emu.expected_embedding(question, model=V4, dimension=256, text_type="query")
    docs = expected(emu, texts, dimension=256, text_type="document")
    ranked = sorted(range(len(texts)), key=lambda i: _cosine(q, docs[i]), reverse=True)[:3]
    assert [hit.node.get_content() for hit in hits] == [texts[i] for i in ranked]
    assert [hit.score for hit in hits] == pytest.approx([_cosine(q, docs[i]) for i in ranked])
    assert sorted(b["parameters"]["text_type"] for b in bodies(emu)) == ["document", "document", "query"]
    assert batch_sizes(emu) == [10, 5, 1]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_bad_text_in_a_later_chunk_is_named_by_its_index_before_any_request(mode: str) -> None:
    emu = Emulator()
    embed = DashScopeEmbedding(model_name="text-embedding-v4", **connection(emu))
    texts = [f"text {i}" for i in range(25)] + ["   "]

    def run() -> object:
        if mode == "sync":
            return embed.get_text_embedding_batch(texts)
        return asyncio.run(embed.aget_text_embedding_batch(texts))

    with pytest.raises(InputError, match=r"texts\[25\] is empty"):
        run()
    assert emu.requests == []
