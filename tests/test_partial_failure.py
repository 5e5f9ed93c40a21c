"""A call whose request fails for good keeps its type, names the inputs it cost, and keeps what did succeed.

A wrapper transport fails every request that carries a marked input, with the status a scenario asks for, and hands
every other request to the in-process emulator, so which batch fails is certain whatever the order requests run in.
With `delay`, a failure is answered only after that long, so every other request of the call has started by then.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashscope_embeddings import EmbeddingResult, MultimodalEmbedder, PartialResult, TextEmbedder
from dashscope_embeddings.emulator import Emulator
from dashscope_embeddings.errors import BadRequestError, DashScopeError, ServerError
from dashscope_embeddings.transport import RetryPolicy
from dashscope_embeddings.types import SparseVector, Usage

V4 = "text-embedding-v4"
MARK = "BROKEN"
FAST_RETRY = RetryPolicy(initial_delay=0.001, max_delay=0.002)


def _inputs(request: httpx.Request) -> list[str]:
    body = json.loads(request.content)
    if "texts" in body["input"]:
        return list(body["input"]["texts"])
    return [content["text"] for content in body["input"]["contents"]]


class Breaker:
    """Fails requests that carry a marked input while `broken`; sends the rest to the emulator. Counts every send."""

    def __init__(self, emu: Emulator, status: int = 400, delay: float = 0.0) -> None:
        self.emu = emu
        self.status = status
        self.delay = delay
        self.broken = True
        self.sent: Counter[str] = Counter()

    def _answer(self, request: httpx.Request) -> httpx.Response | None:
        inputs = _inputs(request)
        self.sent.update(inputs)
        if self.broken and any(MARK in text for text in inputs):
            code = "InvalidParameter" if self.status == 400 else "InternalError"
            body = {"code": code, "message": "refused by the test", "request_id": f"rid-{inputs[0]}"}
            return httpx.Response(self.status, json=body)
        return None

    def client(self) -> httpx.Client:
        inner = self.emu.transport()

        def handle(request: httpx.Request) -> httpx.Response:
            failure = self._answer(request)
            if failure is None:
                return inner.handle_request(request)
            time.sleep(self.delay)
            return failure

        return httpx.Client(transport=httpx.MockTransport(handle))

    def async_client(self) -> httpx.AsyncClient:
        inner = self.emu.async_transport()

        async def handle(request: httpx.Request) -> httpx.Response:
            failure = self._answer(request)
            if failure is None:
                return await inner.handle_async_request(request)
            await asyncio.sleep(self.delay)
            return failure

        return httpx.AsyncClient(transport=httpx.MockTransport(handle))


def text_embedder(breaker: Breaker, **kwargs: Any) -> TextEmbedder:
    return TextEmbedder(
        V4,
        dimension=64,
        api_key="sk-test",
        base_url="http://emulator.test/api/v1",
        allow_insecure_http=True,
        retry=FAST_RETRY,
        http_client=breaker.client(),
        http_async_client=breaker.async_client(),
        **kwargs,
    )


def texts_with_broken(count: int, broken: set[int]) -> list[str]:
    return [f"{MARK} text {i}" if i in broken else f"text {i}" for i in range(count)]


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def embed(embedder: TextEmbedder | MultimodalEmbedder, items: Any, mode: str) -> EmbeddingResult:
    if mode == "sync":
        return embedder.embed(items)
    return asyncio.run(embedder.aembed(items))


def expected(emu: Emulator, texts: list[str]) -> list[list[float]]:
    return [emu.expected_embedding(text, model=V4, dimension=64) for text in texts]


def test_a_refused_batch_keeps_its_type_and_the_other_batches_vectors(mode: str) -> None:
    emu = Emulator()
    breaker = Breaker(emu, delay=0.2)
    texts = texts_with_broken(40, {23})
    with pytest.raises(BadRequestError) as info:
        embed(text_embedder(breaker), texts, mode)
    error = info.value
    assert error.status_code == 400
    assert error.request_id == f"rid-{texts[20]}"
    assert error.failed_indices == tuple(range(20, 30))
    partial = error.partial
    assert partial is not None
    assert partial.total == 40
    assert partial.indices == (*range(20), *range(30, 40))
    assert partial.result.embeddings == expected(emu, [texts[i] for i in partial.indices])
    assert partial.result.usage.total_tokens > 0
    assert len(partial.result.request_ids) == 3
    message = str(error)
    assert "texts[20:30] failed" in message
    assert "30 of 40 texts were embedded" in message
    assert "rid-" in message
    assert sum(breaker.sent.values()) == 40  # four requests, each sent once


def test_only_the_failed_inputs_are_sent_again_and_complete_restores_the_order(mode: str) -> None:
    emu = Emulator()
    breaker = Breaker(emu, delay=0.2)
    texts = texts_with_broken(40, {5, 36})
    embedder = text_embedder(breaker)
    with pytest.raises(BadRequestError) as info:
        embed(embedder, texts, mode)
    partial = info.value.partial
    assert partial is not None
    assert partial.failed_indices == (*range(10), *range(30, 40))
    breaker.broken = False
    rest = embed(embedder, [texts[i] for i in partial.failed_indices], mode)
    whole = partial.complete(rest)
    assert whole.embeddings == expected(emu, texts)
    assert len(whole.request_ids) == 4
    # The two batches that succeeded went out once; the failed ones twice (the failure and the retry by hand).
    assert {breaker.sent[text] for text in texts[10:30]} == {1}
    assert {breaker.sent[text] for text in texts[:10] + texts[30:]} == {2}


def test_exhausted_retries_name_the_batch_and_keep_the_rest(mode: str) -> None:
    emu = Emulator()
    breaker = Breaker(emu, status=500, delay=0.05)
    texts = texts_with_broken(25, {12})
    with pytest.raises(ServerError) as info:
        embed(text_embedder(breaker, max_retries=2), texts, mode)
    assert info.value.failed_indices == tuple(range(10, 20))
    assert info.value.partial is not None
    assert info.value.partial.indices == (*range(10), *range(20, 25))
    assert breaker.sent[texts[12]] == 3  # the first attempt and max_retries=2 retries
    assert {breaker.sent[t] for t in texts[:10] + texts[20:]} == {1}


def test_requests_not_yet_started_are_not_sent_after_a_failure(mode: str) -> None:
    emu = Emulator()
    breaker = Breaker(emu)
    texts = texts_with_broken(50, {14})
    with pytest.raises(BadRequestError) as info:
        embed(text_embedder(breaker, max_concurrency=1), texts, mode)
    assert info.value.failed_indices == tuple(range(10, 50))
    assert info.value.partial is not None
    assert info.value.partial.indices == tuple(range(10))
    assert set(breaker.sent) == set(texts[:20])  # batches 3 to 5 were never sent
    assert "10 of 50 texts were embedded" in str(info.value)


def test_a_single_request_call_keeps_the_plain_message(mode: str) -> None:
    emu = Emulator()
    breaker = Breaker(emu)
    with pytest.raises(BadRequestError) as info:
        embed(text_embedder(breaker), [f"{MARK} query"], mode)
    assert str(info.value) == f"InvalidParameter: refused by the test (HTTP 400, request_id=rid-{MARK} query)"
    assert info.value.failed_indices == (0,)
    assert info.value.partial is not None
    assert info.value.partial.indices == ()


def test_multimodal_items_get_the_same_report(mode: str) -> None:
    emu = Emulator()
    breaker = Breaker(emu, delay=0.2)
    embedder = MultimodalEmbedder(
        "tongyi-embedding-vision-plus",
        api_key="sk-test",
        base_url="http://emulator.test/api/v1",
        allow_insecure_http=True,
        retry=FAST_RETRY,
        http_client=breaker.client(),
        http_async_client=breaker.async_client(),
    )
    cap = embedder.spec.max_batch
    items = [{"text": f"{MARK} item {i}" if i == cap else f"item {i}"} for i in range(3 * cap)]
    with pytest.raises(BadRequestError) as info:
        embed(embedder, items, mode)
    assert info.value.failed_indices == tuple(range(cap, 2 * cap))
    partial = info.value.partial
    assert partial is not None
    assert partial.indices == (*range(cap), *range(2 * cap, 3 * cap))
    assert partial.result.embeddings == [
        vector
        for start in (0, 2 * cap)
        for vector in emu.expected_multimodal_embedding(
            items[start : start + cap], model="tongyi-embedding-vision-plus"
        )
    ]
    assert f"items[{cap}:{2 * cap}] failed" in str(info.value)


class TestStreams:
    def test_a_stream_yields_everything_before_the_failure_then_names_the_batch(self) -> None:
        emu = Emulator()
        breaker = Breaker(emu)
        texts = texts_with_broken(60, {31})
        received: list[list[float]] = []

        def consume() -> None:
            for result in text_embedder(breaker, max_concurrency=2).embed_stream(iter(texts)):
                received.extend(result.embeddings)

        with pytest.raises(BadRequestError) as info:
            consume()
        assert received == expected(emu, texts[:30])
        assert info.value.failed_indices == tuple(range(30, 40))
        assert info.value.partial is None
        assert "texts[30:40] failed; every result before texts[30] was yielded: resume from there" in str(info.value)

    def test_an_async_stream_does_the_same(self) -> None:
        emu = Emulator()
        breaker = Breaker(emu)
        texts = texts_with_broken(60, {31})

        async def consume() -> list[list[float]]:
            received: list[list[float]] = []
            async for result in text_embedder(breaker, max_concurrency=2).aembed_stream(iter(texts)):
                received.extend(result.embeddings)
            return received

        with pytest.raises(BadRequestError) as info:
            asyncio.run(consume())
        assert info.value.failed_indices == tuple(range(30, 40))


class TestComplete:
    def result(self, vectors: list[list[float]], sparse: list[SparseVector] | None = None) -> EmbeddingResult:
        return EmbeddingResult(
            model=V4, embeddings=vectors, sparse=sparse or [], usage=Usage(total_tokens=len(vectors)), dimension=1
        )

    def test_interleaves_by_index_and_sums_usage(self) -> None:
        partial = PartialResult(total=5, indices=(0, 3), result=self.result([[0.0], [3.0]]))
        assert partial.failed_indices == (1, 2, 4)
        whole = partial.complete(self.result([[1.0], [2.0], [4.0]]))
        assert whole.embeddings == [[0.0], [1.0], [2.0], [3.0], [4.0]]
        assert whole.usage.total_tokens == 5

    def test_sparse_vectors_are_interleaved_too(self) -> None:
        vector = [SparseVector((i,), (1.0,)) for i in range(3)]
        partial = PartialResult(total=3, indices=(1,), result=self.result([], [vector[1]]))
        whole = partial.complete(self.result([], [vector[0], vector[2]]))
        assert whole.sparse == vector
        assert whole.embeddings == []

    def test_a_rest_of_the_wrong_length_is_refused(self) -> None:
        partial = PartialResult(total=3, indices=(1,), result=self.result([[1.0]]))
        with pytest.raises(ValueError, match="1 results for 2 failed inputs"):
            partial.complete(self.result([[0.0]]))

    def test_repr_is_a_summary(self) -> None:
        partial = PartialResult(total=3, indices=(1,), result=self.result([[1.0]]))
        assert repr(partial).startswith("PartialResult(total=3, embedded=1, result=EmbeddingResult(")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    count=st.integers(1, 45),
    broken=st.sets(st.integers(0, 44), max_size=6),
    concurrency=st.sampled_from([1, 3, 16]),
)
def test_partial_plus_the_retried_rest_is_always_the_whole_result(
    count: int, broken: set[int], concurrency: int
) -> None:
    """Whatever fails, and however many requests run at once: the partial result and a retry of its failed inputs
    give exactly the vectors of one clean call, and no input of a succeeded batch is sent twice."""
    emu = Emulator()
    breaker = Breaker(emu)
    texts = texts_with_broken(count, {i for i in broken if i < count})
    embedder = text_embedder(breaker, max_concurrency=concurrency)
    if not any(MARK in text for text in texts):
        whole = embedder.embed(texts)
    else:
        with pytest.raises(DashScopeError) as info:
            embedder.embed(texts)
        partial, failed = info.value.partial, info.value.failed_indices
        assert partial is not None
        assert set(partial.indices).isdisjoint(failed)
        assert sorted([*partial.indices, *failed]) == list(range(count))
        assert all(breaker.sent[texts[i]] == 1 for i in partial.indices)
        breaker.broken = False
        whole = partial.complete(embedder.embed([texts[i] for i in partial.failed_indices]))
    assert whole.embeddings == expected(emu, texts)
