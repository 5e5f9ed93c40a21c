"""Fault injection through the in-process transports: each fault fires, at its seeded rate."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest

from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.emulator.faults import FaultEngine

from .conftest import AUTH, COMPATIBLE, NATIVE, native_body

TEXTS = [f"text number {i}" for i in range(10)]


def make(faults: Faults, **kw: object) -> tuple[Emulator, httpx.Client]:
    emu = Emulator(faults=faults, **kw)  # type: ignore[arg-type]
    return emu, httpx.Client(transport=emu.transport(), base_url="http://e", headers=AUTH)


def statuses(client: httpx.Client, n: int) -> list[int]:
    return [client.post(NATIVE, json=native_body(["a"])).status_code for _ in range(n)]


def test_error_rate_fires_at_the_seeded_rate() -> None:
    emu, client = make(Faults(error_rate=0.3, seed=7))
    seen = statuses(client, 400)
    assert 90 <= seen.count(500) <= 150
    assert set(seen) == {200, 500}
    assert emu.stats.by_status == {200: seen.count(200), 500: seen.count(500)}
    _, again = make(Faults(error_rate=0.3, seed=7))
    assert statuses(again, 400) == seen  # same seed, same sequence


def test_internal_error_bodies() -> None:
    _, client = make(Faults(error_rate=1.0))
    r = client.post(NATIVE, json=native_body(["a"]))
    message = "An internal error has occured, please try again later or contact service support."
    assert r.status_code == 500
    assert r.json() == {"code": "InternalError", "message": message, "request_id": r.headers["x-request-id"]}
    r = client.post(COMPATIBLE, json={"model": "text-embedding-v4", "input": "a"})
    assert r.json()["error"] == {"message": message, "type": "internal_error", "param": None, "code": "internal_error"}


def test_invalid_requests_are_refused_before_the_injected_500() -> None:
    _, client = make(Faults(error_rate=1.0))
    assert client.post(NATIVE, json=native_body([""])).status_code == 400


def test_drop_raises_remote_protocol_error() -> None:
    emu, client = make(Faults(drop_rate=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(NATIVE, json=native_body(["a"]))
    assert (emu.stats.requests, emu.stats.dropped, dict(emu.stats.by_status)) == (1, 1, {})


def test_drop_rate() -> None:
    emu, client = make(Faults(drop_rate=0.25, seed=3))
    dropped = 0
    for _ in range(400):
        try:
            client.post(NATIVE, json=native_body(["a"]))
        except httpx.RemoteProtocolError:
            dropped += 1
    assert 70 <= dropped <= 130
    assert emu.stats.dropped == dropped


async def test_async_drop() -> None:
    emu = Emulator(faults=Faults(drop_rate=1.0))
    async with httpx.AsyncClient(transport=emu.async_transport(), base_url="http://e", headers=AUTH) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(NATIVE, json=native_body(["a"]))


def test_malformed_body_is_not_json() -> None:
    _, client = make(Faults(malformed_rate=1.0))
    r = client.post(NATIVE, json=native_body(TEXTS))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)


def test_malformed_rate() -> None:
    _, client = make(Faults(malformed_rate=0.5, seed=11))
    bad = 0
    for _ in range(200):
        try:
            json.loads(client.post(NATIVE, json=native_body(["a"])).content)
        except json.JSONDecodeError:
            bad += 1
    assert 80 <= bad <= 120


def test_missing_removes_one_embedding() -> None:
    emu, client = make(Faults(missing_rate=1.0))
    r = client.post(NATIVE, json=native_body(TEXTS))
    items = r.json()["output"]["embeddings"]
    assert len(items) == 9
    assert len({e["text_index"] for e in items}) == 9
    assert r.json()["usage"]["total_tokens"] == sum(emu.count_tokens(t) for t in TEXTS)  # still billed
    r = client.post(COMPATIBLE, json={"model": "text-embedding-v4", "input": TEXTS})
    assert len(r.json()["data"]) == 9


def test_missing_rate() -> None:
    _, client = make(Faults(missing_rate=0.2, seed=5))
    body = native_body(TEXTS[:3], dimension=64)
    short = sum(len(client.post(NATIVE, json=body).json()["output"]["embeddings"]) == 2 for _ in range(300))
    assert 40 <= short <= 80


def test_shuffle_reorders_but_keeps_indices() -> None:
    emu, client = make(Faults(shuffle=True, seed=1))
    for _ in range(5):
        items = client.post(NATIVE, json=native_body(TEXTS, dimension=64)).json()["output"]["embeddings"]
        order = [e["text_index"] for e in items]
        assert order != sorted(order)
        assert sorted(order) == list(range(10))
        for e in items:
            expected = emu.expected_embedding(TEXTS[e["text_index"]], model="text-embedding-v4", dimension=64)
            assert e["embedding"] == expected
    data = client.post(COMPATIBLE, json={"model": "text-embedding-v4", "input": ["a", "b"]}).json()["data"]
    assert [d["index"] for d in data] == [1, 0]  # two items: always swapped


def test_hang_times_out_at_the_read_timeout() -> None:
    emu, client = make(Faults(hang=True))
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.post(NATIVE, json=native_body(["a"]), timeout=0.1)
    assert 0.09 <= time.monotonic() - start < 1.0
    assert emu.stats.hung == 1


async def test_async_hang_times_out() -> None:
    emu = Emulator(faults=Faults(hang=1.0))
    async with httpx.AsyncClient(transport=emu.async_transport(), base_url="http://e", headers=AUTH) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(NATIVE, json=native_body(["a"]), timeout=0.1)


def test_latency_and_jitter() -> None:
    _, client = make(Faults(latency=0.05, jitter=0.05, seed=2))
    start = time.monotonic()
    for _ in range(4):
        assert client.post(NATIVE, json=native_body(["a"])).status_code == 200
    assert 0.2 <= time.monotonic() - start < 0.8


def test_latency_longer_than_the_read_timeout_times_out() -> None:
    _, client = make(Faults(latency=5.0))
    with pytest.raises(httpx.ReadTimeout):
        client.post(NATIVE, json=native_body(["a"]), timeout=0.05)


async def test_async_latency_does_not_block_the_event_loop() -> None:
    emu = Emulator(faults=Faults(latency=0.2))
    async with httpx.AsyncClient(transport=emu.async_transport(), base_url="http://e", headers=AUTH) as client:
        start = time.monotonic()
        replies = await asyncio.gather(*(client.post(NATIVE, json=native_body(["a"])) for _ in range(5)))
        assert time.monotonic() - start < 0.6
    assert [r.status_code for r in replies] == [200] * 5


def test_rpm_answers_429_with_retry_after() -> None:
    emu, client = make(Faults(rpm=60))
    first = client.post(NATIVE, json=native_body(["a"]))
    second = client.post(NATIVE, json=native_body(["a"]))
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.headers["retry-after"] == "1"
    assert second.json() == {
        "code": "Throttling.RateQuota",
        "message": "Requests rate limit exceeded, please try again later.",
        "request_id": second.headers["x-request-id"],
    }
    compat = client.post(COMPATIBLE, json={"model": "text-embedding-v4", "input": "a"})
    assert compat.status_code == 429
    assert compat.json()["error"]["code"] == "limit_requests"
    assert emu.stats.throttled == 2


def test_burst_sets_the_request_bucket() -> None:
    _, client = make(Faults(rpm=60, burst=3))
    assert statuses(client, 4) == [200, 200, 200, 429]


def test_tpm_counts_tokens() -> None:
    _, client = make(Faults(tpm=600))  # 10 tokens a second, bucket of 10
    eight = ["one two three four five six seven eight"]  # 8 Qwen tokens
    assert client.post(NATIVE, json=native_body(eight)).status_code == 200
    r = client.post(NATIVE, json=native_body(eight))
    assert r.status_code == 429
    assert r.headers["retry-after"] == "1"


def test_buckets_compute_retry_after_from_the_refill_rate() -> None:
    now = [0.0]
    engine = FaultEngine(Faults(rpm=6, tpm=60), clock=lambda: now[0])
    engine.admit_request()  # the burst: one request
    with pytest.raises(Exception, match="429") as info:
        engine.admit_request()
    assert dict(info.value.headers)["retry-after"] == "10"  # type: ignore[attr-defined]
    now[0] = 4.0
    with pytest.raises(Exception, match="429") as info:
        engine.admit_request()
    assert dict(info.value.headers)["retry-after"] == "6"  # type: ignore[attr-defined]
    now[0] = 10.0
    engine.admit_request()
    engine.admit_tokens(500)  # bigger than the bucket (1 s = 1 token): passes when full, leaves a debt
    with pytest.raises(Exception, match="429") as info:
        engine.admit_tokens(1)
    assert dict(info.value.headers)["retry-after"] == "500"  # type: ignore[attr-defined]


def test_faults_can_be_replaced_at_runtime() -> None:
    emu, client = make(Faults())
    assert statuses(client, 1) == [200]
    emu.faults = Faults(error_rate=1.0)
    assert statuses(client, 2) == [500, 500]
    emu.faults = Faults()
    assert statuses(client, 1) == [200]
    assert emu.faults == Faults()


@pytest.mark.parametrize("kwargs", [{"error_rate": 1.5}, {"drop_rate": -0.1}, {"latency": -1}, {"rpm": 0}, {"hang": 2}])
def test_invalid_faults_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Faults(**kwargs)  # type: ignore[arg-type]


def test_sync_transport_is_thread_safe() -> None:
    emu, client = make(Faults(error_rate=0.1, seed=4))
    results: list[int] = []
    lock = threading.Lock()

    def work(k: int) -> None:
        for i in range(25):
            code = client.post(NATIVE, json=native_body([f"thread {k} text {i}"])).status_code
            with lock:
                results.append(code)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = emu.stats
    assert stats.requests == len(results) == len(emu.requests) == 200
    assert dict(stats.by_status) == {code: results.count(code) for code in set(results)}
    assert 5 <= results.count(500) <= 40
