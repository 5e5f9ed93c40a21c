"""Sparse and hybrid adapters against the in-process emulator: exact vectors, request bodies, batching, the memo.

- `dashscope_embeddings.qdrant.DashScopeSparseEmbeddings` (langchain-qdrant `SparseEmbeddings`),
- `dashscope_embeddings.qdrant.DashScopeHybridEmbeddings` (`.dense` + `.sparse` views over one `HybridEmbedder`),
- `dashscope_embeddings.llama_index.DashScopeSparseEmbedding` (LlamaIndex `BaseSparseEmbedding` + Qdrant functions).

Expected vectors are the emulator's wire entries through `SparseVector.from_entries`; the emulator answers in a
shuffled order, so every ordered result also proves the client reordered by index.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core.embeddings import Embeddings
from langchain_qdrant import SparseEmbeddings
from langchain_qdrant import SparseVector as QdrantSparseVector
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.embedding import SparseEmbeddingEndEvent, SparseEmbeddingStartEvent
from pydantic import Field, SecretStr, ValidationError

from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import InputError, ServerError
from dashscope_embeddings.llama_index import DashScopeSparseEmbedding
from dashscope_embeddings.qdrant import DashScopeHybridEmbeddings, DashScopeSparseEmbeddings
from dashscope_embeddings.types import SparseVector, TextType
from emulated import BASE_URL, KEY, connection

V4 = "text-embedding-v4"
SECRET = "sk-very-secret-value"


@pytest.fixture
def emu() -> Emulator:
    return Emulator(faults=Faults(shuffle=True))


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def texts_of(n: int) -> list[str]:
    return [f"part {i}: {'bolt ' * (i % 3)}washer nut" for i in range(n)]


def sparse(emu: Emulator, text: str, text_type: TextType = "document", model: str = V4) -> SparseVector:
    return SparseVector.from_entries(emu.expected_sparse(text, model=model, text_type=text_type))


def qdrant(vector: SparseVector) -> QdrantSparseVector:
    return QdrantSparseVector(indices=list(vector.indices), values=list(vector.values))


def dense(emu: Emulator, text: str, text_type: TextType = "document", dimension: int = 256) -> list[float]:
    return emu.expected_embedding(text, model=V4, dimension=dimension, text_type=text_type)


def sent(emu: Emulator) -> list[tuple[list[str], str, str]]:
    """(texts, text_type, output_type) of every request, in the order sent."""
    return [
        (r.body["input"]["texts"], r.body["parameters"]["text_type"], r.body["parameters"].get("output_type", "dense"))
        for r in emu.requests
    ]


def sizes(emu: Emulator) -> list[int]:
    return sorted((len(r.body["input"]["texts"]) for r in emu.requests), reverse=True)


# == LangChain / Qdrant: DashScopeSparseEmbeddings ================================================================


async def lc_documents(emb: SparseEmbeddings, texts: list[str], mode: str) -> list[QdrantSparseVector]:
    return emb.embed_documents(texts) if mode == "sync" else await emb.aembed_documents(texts)


async def lc_query(emb: SparseEmbeddings, text: str, mode: str) -> QdrantSparseVector:
    return emb.embed_query(text) if mode == "sync" else await emb.aembed_query(text)


async def test_documents_and_query_are_exact_and_typed(emu: Emulator, mode: str) -> None:
    emb = DashScopeSparseEmbeddings(**connection(emu))
    texts = ["The XJ-9000 drill drill kit", "Spare battery for the XJ-9001"]
    docs, query = await lc_documents(emb, texts, mode), await lc_query(emb, "drill drill XJ-9000", mode)
    assert docs == [qdrant(sparse(emu, t)) for t in texts]
    assert query == qdrant(sparse(emu, "drill drill XJ-9000", "query"))
    assert sent(emu) == [(texts, "document", "sparse"), (["drill drill XJ-9000"], "query", "sparse")]
    # The document weighs a repeated word 1 + ln 2 (rounded to 4 decimals); the query states each word once.
    [drill] = sparse(emu, "drill").indices
    assert (docs[0].values[docs[0].indices.index(drill)], query.values[query.indices.index(drill)]) == (1.6931, 1.0)


async def test_batches_of_ten_in_input_order(emu: Emulator, mode: str) -> None:
    emb = DashScopeSparseEmbeddings(**connection(emu))
    texts = texts_of(25)
    assert await lc_documents(emb, texts, mode) == [qdrant(sparse(emu, t)) for t in texts]
    assert sizes(emu) == [10, 10, 5]
    assert sorted(t for texts_sent, _, _ in sent(emu) for t in texts_sent) == sorted(texts)


async def test_a_repeated_index_is_merged_by_summing(emu: Emulator, mode: str) -> None:
    # "az" and "aep" share index 53867 (CRC-32 mod 250,000): the wire carries two entries for one index.
    entries = emu.expected_sparse("az aep az", model=V4)
    assert [(e["index"], e["value"], e["token"]) for e in entries] == [(53867, 1.6931, "az"), (53867, 1.0, "aep")]
    emb = DashScopeSparseEmbeddings(**connection(emu))
    [vector] = await lc_documents(emb, ["az aep az"], mode)
    assert vector == QdrantSparseVector(indices=[53867], values=[1.6931 + 1.0])


async def test_no_texts_no_request_and_bad_text_refused_before_sending(emu: Emulator, mode: str) -> None:
    emb = DashScopeSparseEmbeddings(**connection(emu))
    assert await lc_documents(emb, [], mode) == []
    with pytest.raises(InputError, match=r"texts\[1\]"):
        await lc_documents(emb, ["fine", "  "], mode)
    assert emu.requests == []


async def test_async_is_native(emu: Emulator) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the async methods must not use the sync client")

    emb = DashScopeSparseEmbeddings(**connection(emu, http_client=httpx.Client(transport=httpx.MockTransport(refuse))))
    assert await emb.aembed_documents(["a b"]) == [qdrant(sparse(emu, "a b"))]
    assert await emb.aembed_query("a b") == qdrant(sparse(emu, "a b", "query"))


def test_v3_has_sparse_vectors_and_v2_is_refused(emu: Emulator) -> None:
    emb = DashScopeSparseEmbeddings(model="text-embedding-v3", **connection(emu))
    assert emb.embed_query("drill") == qdrant(sparse(emu, "drill", "query", model="text-embedding-v3"))
    with pytest.raises(ValidationError, match="text-embedding-v2 has no sparse vectors; text-embedding-v4 and -v3"):
        DashScopeSparseEmbeddings(model="text-embedding-v2", region="beijing", api_key=KEY)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        DashScopeSparseEmbeddings(dimension=1024, api_key=KEY)  # a sparse vector has no dimension


def test_key_alias_environment_and_never_serialised(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = connection(emu)
    del settings["api_key"]
    emb = DashScopeSparseEmbeddings(dashscope_api_key=SECRET, **settings)
    emb.embed_query("x")
    assert emu.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    for text in (repr(emb), str(emb), str(emb.model_dump()), emb.model_dump_json(), repr(emb.embedder)):
        assert SECRET not in text
    assert SECRET.encode() not in pickle.dumps(emb)
    assert "http_client" not in emb.model_dump()

    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    copy = pickle.loads(pickle.dumps(DashScopeSparseEmbeddings(api_key=SECRET, base_url=BASE_URL, max_retries=5)))
    assert (copy.api_key, copy.base_url, copy.max_retries) == (SecretStr("sk-from-env"), BASE_URL, 5)


def test_missing_key_fails_at_construction() -> None:
    with pytest.raises(ValidationError, match="DASHSCOPE_API_KEY"):
        DashScopeSparseEmbeddings()


# == LangChain / Qdrant: DashScopeHybridEmbeddings ================================================================


def hybrid(emu: Emulator, **kwargs: Any) -> DashScopeHybridEmbeddings:
    return DashScopeHybridEmbeddings(**connection(emu, dimension=256, **kwargs))


def test_views_are_the_langchain_interfaces(emu: Emulator) -> None:
    h = hybrid(emu)
    assert isinstance(h.dense, Embeddings)
    assert isinstance(h.sparse, SparseEmbeddings)
    assert h.dense.owner is h
    assert h.sparse.owner is h
    assert h.hybrid.memo_size == 4096


@pytest.mark.parametrize("first", ["dense", "sparse"])
async def test_one_request_serves_both_views(emu: Emulator, mode: str, first: str) -> None:
    h = hybrid(emu)
    texts = texts_of(25)

    async def dense_docs() -> list[list[float]]:
        return h.dense.embed_documents(texts) if mode == "sync" else await h.dense.aembed_documents(texts)

    if first == "dense":
        dense_vectors, sparse_vectors = await dense_docs(), await lc_documents(h.sparse, texts, mode)
    else:
        sparse_vectors, dense_vectors = await lc_documents(h.sparse, texts, mode), await dense_docs()

    assert dense_vectors == [dense(emu, t) for t in texts]
    assert sparse_vectors == [qdrant(sparse(emu, t)) for t in texts]
    assert sizes(emu) == [10, 10, 5]  # three requests for both views, not six
    assert {(text_type, output_type) for _, text_type, output_type in sent(emu)} == {("document", "dense&sparse")}
    assert all(r.body["parameters"]["dimension"] == 256 for r in emu.requests)


async def test_one_request_per_query_for_both_views(emu: Emulator, mode: str) -> None:
    h = hybrid(emu)
    q = "XJ-9000 drill"
    d = h.dense.embed_query(q) if mode == "sync" else await h.dense.aembed_query(q)
    s = await lc_query(h.sparse, q, mode)
    assert (d, s) == (dense(emu, q, "query"), qdrant(sparse(emu, q, "query")))
    assert sent(emu) == [([q], "query", "dense&sparse")]


async def test_documents_and_queries_are_not_mixed(emu: Emulator, mode: str) -> None:
    h = hybrid(emu)
    text = "drill drill bits"
    as_document = await lc_documents(h.sparse, [text], mode)
    as_query = await lc_query(h.sparse, text, mode)
    assert as_document == [qdrant(sparse(emu, text, "document"))]
    assert as_query == qdrant(sparse(emu, text, "query"))
    assert as_document[0] != as_query  # "drill" weighs 1.6931 in the document, 1.0 in the query
    assert sent(emu) == [([text], "document", "dense&sparse"), ([text], "query", "dense&sparse")]
    h.dense.embed_documents([text])
    h.dense.embed_query(text)
    assert len(emu.requests) == 2


def test_memo_bound_is_respected(emu: Emulator) -> None:
    h = hybrid(emu, memo_size=3)
    texts = texts_of(5)
    h.dense.embed_documents(texts)
    assert len(h.hybrid) == 3
    assert h.sparse.embed_documents(texts[2:]) == [qdrant(sparse(emu, t)) for t in texts[2:]]
    assert len(emu.requests) == 1  # the newest three were remembered
    assert h.sparse.embed_documents(texts[:2]) == [qdrant(sparse(emu, t)) for t in texts[:2]]
    assert sent(emu)[1] == (texts[:2], "document", "dense&sparse")  # the oldest two were dropped
    assert len(h.hybrid) == 3


def test_repeated_texts_are_sent_once_and_returned_in_order(emu: Emulator) -> None:
    h = hybrid(emu)
    texts = ["bolt", "nut", "bolt", "washer", "nut"]
    assert h.sparse.embed_documents(texts) == [qdrant(sparse(emu, t)) for t in texts]
    assert h.dense.embed_documents(texts) == [dense(emu, t) for t in texts]
    assert sent(emu) == [(["bolt", "nut", "washer"], "document", "dense&sparse")]


def test_returned_dense_lists_do_not_alias_the_memo(emu: Emulator) -> None:
    h = hybrid(emu)
    h.dense.embed_query("bolt")[0] = 99.0
    assert h.dense.embed_query("bolt") == dense(emu, "bolt", "query")


def test_settings_memo_size_and_assignment(emu: Emulator) -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        DashScopeHybridEmbeddings(memo_size=0, api_key=KEY)
    with pytest.raises(ValidationError, match="text-embedding-v2 has no sparse vectors"):
        DashScopeHybridEmbeddings(model="text-embedding-v2", region="beijing", api_key=KEY)
    h = hybrid(emu)
    view = h.dense
    view.embed_query("bolt")
    h.dimension = 512  # rebuilds the embedder with an empty memo; views read through the owner
    assert view.embed_query("bolt") == dense(emu, "bolt", "query", dimension=512)
    assert len(emu.requests) == 2
    with pytest.raises(ValidationError):
        h.dimension = 3
    assert (h.dimension, h.embedder.dimension) == (512, 512)


def test_hybrid_key_never_serialised(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    h = hybrid(emu, api_key=SECRET)
    h.dense.embed_query("x")
    for text in (repr(h), repr(h.dense), repr(h.sparse), str(h.model_dump()), h.model_dump_json()):
        assert SECRET not in text
    blob = pickle.dumps(h)
    assert SECRET.encode() not in blob
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    copy = pickle.loads(blob)
    assert (copy.api_key, copy.dimension, copy.memo_size, len(copy.hybrid)) == (SecretStr("sk-from-env"), 256, 4096, 0)


# == LlamaIndex: DashScopeSparseEmbedding ==========================================================================


class _Events(BaseEventHandler):
    seen: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "_SparseEvents"

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


async def li_batch(emb: DashScopeSparseEmbedding, texts: list[str], mode: str, **kw: Any) -> list[dict[int, float]]:
    if mode == "sync":
        return emb.get_text_embedding_batch(texts, **kw)
    return await emb.aget_text_embedding_batch(texts, **kw)


async def test_llama_query_and_text_types(emu: Emulator, mode: str) -> None:
    emb = DashScopeSparseEmbedding(**connection(emu))
    if mode == "sync":
        q, t = emb.get_query_embedding("drill drill"), emb.get_text_embedding("drill drill")
    else:
        q, t = await emb.aget_query_embedding("drill drill"), await emb.aget_text_embedding("drill drill")
    index = sparse(emu, "drill").indices[0]
    assert (q, t) == ({index: 1.0}, {index: 1.6931})
    assert sent(emu) == [(["drill drill"], "query", "sparse"), (["drill drill"], "document", "sparse")]
    assert all(type(v) is float for v in (*q.values(), *t.values()))


async def test_llama_batch_one_request_per_chunk_in_order_with_events(
    emu: Emulator, mode: str, events: list[BaseEvent]
) -> None:
    emb = DashScopeSparseEmbedding(**connection(emu))
    texts = texts_of(25)
    vectors = await li_batch(emb, texts, mode)
    assert vectors == [sparse(emu, t).to_dict() for t in texts]
    assert sizes(emu) == [10, 10, 5]
    starts = [e for e in events if isinstance(e, SparseEmbeddingStartEvent)]
    ends = [e for e in events if isinstance(e, SparseEmbeddingEndEvent)]
    assert [s.model_dict for s in starts] == [
        {"class_name": "DashScopeSparseEmbedding", "model_name": V4, "embed_batch_size": 10}
    ] * 3
    assert [e.chunks for e in ends] == [texts[0:10], texts[10:20], texts[20:25]]
    assert [v for e in ends for v in e.embeddings] == vectors


async def test_llama_batch_size_smaller_respected_larger_lowered(emu: Emulator, mode: str) -> None:
    emb = DashScopeSparseEmbedding(embed_batch_size=4, **connection(emu))
    texts = texts_of(10)
    assert await li_batch(emb, texts, mode) == [sparse(emu, t).to_dict() for t in texts]
    assert sizes(emu) == [4, 4, 2]
    with pytest.warns(UserWarning, match="embed_batch_size=25 is above text-embedding-v4's limit of 10"):
        assert DashScopeSparseEmbedding(embed_batch_size=25, **connection(emu)).embed_batch_size == 10


async def test_llama_empty_batch_sends_nothing(emu: Emulator, mode: str) -> None:
    emb = DashScopeSparseEmbedding(**connection(emu))
    assert await li_batch(emb, [], mode) == []
    assert emb.qdrant_doc_fn([]) == ([], [])
    assert emu.requests == []


async def test_llama_failed_chunk_raises(mode: str) -> None:
    emu = Emulator(faults=Faults(error_rate=1.0))
    emb = DashScopeSparseEmbedding(max_retries=0, **connection(emu))
    with pytest.raises(ServerError):
        await li_batch(emb, texts_of(25), mode)


async def test_llama_show_progress_counts_texts(emu: Emulator, mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    await li_batch(DashScopeSparseEmbedding(**connection(emu)), texts_of(25), mode, show_progress=True)
    assert "25/25" in capsys.readouterr().err


class _Peak(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Counts requests in flight through the emulator's transports."""

    def __init__(self, emu: Emulator) -> None:
        self.sync, self.async_ = emu.transport(), emu.async_transport()
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def _enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def _leave(self) -> None:
        with self.lock:
            self.now -= 1

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._enter()
        try:
            response = self.sync.handle_request(request)
            response.read()
            return response
        finally:
            self._leave()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._enter()
        try:
            response = await self.async_.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self._leave()


@pytest.mark.parametrize(("max_concurrency", "num_workers", "peak"), [(4, None, 4), (4, 2, 2)])
async def test_llama_chunks_run_concurrently_within_the_bound(
    mode: str, max_concurrency: int, num_workers: int | None, peak: int
) -> None:
    emu = Emulator(faults=Faults(latency=0.05, shuffle=True))
    counter = _Peak(emu)
    emb = DashScopeSparseEmbedding(
        max_concurrency=max_concurrency,
        num_workers=num_workers,
        **connection(
            emu, http_client=httpx.Client(transport=counter), http_async_client=httpx.AsyncClient(transport=counter)
        ),
    )
    texts = texts_of(80)
    assert await li_batch(emb, texts, mode) == [sparse(emu, t).to_dict() for t in texts]
    assert (len(emu.requests), counter.peak) == (8, peak)


async def test_llama_async_is_native(emu: Emulator) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the async methods must not use the sync client")

    emb = DashScopeSparseEmbedding(**connection(emu, http_client=httpx.Client(transport=httpx.MockTransport(refuse))))
    assert await emb.aget_query_embedding("a b") == sparse(emu, "a b", "query").to_dict()
    assert await emb.aget_text_embedding_batch(["a", "b"]) == [sparse(emu, "a").to_dict(), sparse(emu, "b").to_dict()]


def test_llama_qdrant_functions(emu: Emulator) -> None:
    emb = DashScopeSparseEmbedding(**connection(emu))
    texts = texts_of(12)
    docs = [sparse(emu, t) for t in texts]
    assert emb.qdrant_doc_fn(texts) == ([list(v.indices) for v in docs], [list(v.values) for v in docs])
    q = sparse(emu, "XJ-9000", "query")
    assert emb.qdrant_query_fn(["XJ-9000"]) == ([list(q.indices)], [list(q.values)])
    chunks, query = sent(emu)[:2], sent(emu)[2]  # the two chunks run concurrently: either may arrive first
    assert sorted(chunks, key=lambda c: -len(c[0])) == [
        (texts[:10], "document", "sparse"),
        (texts[10:], "document", "sparse"),
    ]
    assert query == (["XJ-9000"], "query", "sparse")


def test_llama_settings(emu: Emulator) -> None:
    with pytest.raises(ValidationError, match="text-embedding-v2 has no sparse vectors"):
        DashScopeSparseEmbedding(model_name="text-embedding-v2", region="beijing", api_key=KEY)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        DashScopeSparseEmbedding(dimension=256, api_key=KEY)
    with pytest.raises(ValidationError, match="DASHSCOPE_API_KEY"):
        DashScopeSparseEmbedding()
    assert DashScopeSparseEmbedding.class_name() == "DashScopeSparseEmbedding"


def test_llama_key_never_serialised(emu: Emulator, events: list[BaseEvent], monkeypatch: pytest.MonkeyPatch) -> None:
    emb = DashScopeSparseEmbedding(**connection(emu, api_key=SECRET))
    emb.get_text_embedding_batch(["x"])
    dumped = [
        repr(emb),
        str(emb),
        str(emb.model_dump()),
        emb.model_dump_json(),
        str(emb.to_payload()),
        *(str(e.model_dict) for e in events if isinstance(e, SparseEmbeddingStartEvent)),
    ]
    assert all(SECRET not in text for text in dumped)
    assert "http_client" not in emb.model_dump()
    assert emb.model_dump()["class_name"] == "DashScopeSparseEmbedding"
    blob = pickle.dumps(emb)
    assert SECRET.encode() not in blob

    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    copy = pickle.loads(pickle.dumps(DashScopeSparseEmbedding(api_key=SECRET, base_url=BASE_URL, embed_batch_size=5)))
    assert (copy.api_key, copy.base_url, copy.embed_batch_size) == (None, BASE_URL, 5)
    assert copy.embedder.endpoint.base_url == BASE_URL
    monkeypatch.delenv("DASHSCOPE_API_KEY")
    keyless = pickle.loads(blob)
    with pytest.raises(InputError, match="DASHSCOPE_API_KEY"):
        keyless.get_query_embedding("x")
