"""Timeouts and cancellation over real sockets, against the served emulator.

A server that never answers makes a call fail with `APITimeoutError` within the bound its settings imply: every
attempt waits the read timeout, and every retry first waits its back-off. Cancelling an async call cancels its
requests on the wire. Either way no connection stays checked out of the embedder's own pool, the embedder keeps
working, and `close()` / `aclose()` leave the pool empty. The calls go through the owned httpcore pool, so these
tests also check that its DEBUG logs and the timeout's traceback (with every frame's locals) carry no key.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Iterator

import pytest

from dashscope_embeddings import MultimodalEmbedder, RetryPolicy, TextEmbedder
from dashscope_embeddings.embedder import BaseEmbedder
from dashscope_embeddings.emulator import Emulator, Faults, ServedEmulator
from dashscope_embeddings.errors import APITimeoutError

KEY = "sk-SECRET-7f3a9c"
TIMEOUT = 0.5
MAX_RETRIES = 1
MARGIN = 0.35
"""Seconds allowed beyond the computed bound: opening the pool (its TLS context) and connections, thread and task
start-up, and a busy two-core machine."""
LATENCY = 2.0
TEXT_MODEL = "text-embedding-v4"
VISION_MODEL = "tongyi-embedding-vision-plus"
CLIENT_LOGGERS = ("httpx", "httpcore", "dashscope_embeddings", "asyncio")


def bounds(timeout: float, policy: RetryPolicy) -> tuple[float, float]:
    """The shortest and longest a call to a hung server can take: each of the `max_retries + 1` attempts waits the
    read timeout, and each retry first waits its back-off, which jitter shortens by up to `policy.jitter`."""
    backoffs = [min(policy.initial_delay * 2.0**n, policy.max_delay) for n in range(policy.max_retries)]
    attempts = (policy.max_retries + 1) * timeout
    return attempts + sum(backoffs) * (1 - policy.jitter), attempts + sum(backoffs)


def key_fragments(text: str) -> list[str]:
    """Every 6-character piece of the key after its `sk-` prefix found in `text`: a truncated echo leaks too."""
    return [KEY[i : i + 6] for i in range(3, len(KEY) - 5) if KEY[i : i + 6] in text]


def assert_no_key(error: BaseException, records: list[logging.LogRecord]) -> None:
    shown = [
        str(error),
        repr(error),
        "".join(traceback.format_exception(error)),
        "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format()),
    ]
    for record in records:
        shown += [record.getMessage(), repr(record.args), logging.Formatter().format(record)]
    assert [key_fragments(text) for text in shown if key_fragments(text)] == []


@pytest.fixture
def hung(emulator: Emulator) -> Iterator[Emulator]:
    emulator.faults = Faults(hang=True)
    yield emulator
    emulator.faults = Faults()


@pytest.fixture
def client_logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in CLIENT_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
    return caplog


def make(kind: str, served: ServedEmulator) -> BaseEmbedder:
    if kind == "text":
        return TextEmbedder(TEXT_MODEL, api_key=KEY, base_url=served.base_url, timeout=TIMEOUT, max_retries=MAX_RETRIES)
    return MultimodalEmbedder(
        VISION_MODEL, api_key=KEY, base_url=served.base_url, timeout=TIMEOUT, max_retries=MAX_RETRIES
    )


def texts_of(n: int) -> list[str]:
    return [f"text number {i}" for i in range(n)]


# -- a hung server ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "count", "requests"), [("text", 25, 3), ("multimodal", 1, 1)])
def test_sync_call_to_a_hung_server_times_out_within_the_bound(
    hung: Emulator, served: ServedEmulator, client_logs: pytest.LogCaptureFixture, kind: str, count: int, requests: int
) -> None:
    embedder = make(kind, served)
    shortest, longest = bounds(TIMEOUT, RetryPolicy(max_retries=MAX_RETRIES))
    assert (shortest, longest) == (1.375, 1.5)

    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        embedder.embed(texts_of(count))
    elapsed = time.monotonic() - started

    assert shortest <= elapsed <= longest + MARGIN, f"{elapsed:.3f} s"
    assert hung.stats.hung == requests * (MAX_RETRIES + 1)
    assert embedder._transport.pool_connections() == {"open": 0, "in_use": 0}
    assert_no_key(info.value, client_logs.records)

    hung.faults = Faults()
    assert len(embedder.embed("after the hang").embeddings) == 1
    assert embedder._transport.pool_connections() == {"open": 1, "in_use": 0}
    embedder.close()
    assert embedder._transport.pool_connections() == {"open": 0, "in_use": 0}


@pytest.mark.parametrize(("kind", "count", "requests"), [("text", 25, 3), ("multimodal", 1, 1)])
async def test_async_call_to_a_hung_server_times_out_within_the_bound(
    hung: Emulator, served: ServedEmulator, client_logs: pytest.LogCaptureFixture, kind: str, count: int, requests: int
) -> None:
    embedder = make(kind, served)
    shortest, longest = bounds(TIMEOUT, RetryPolicy(max_retries=MAX_RETRIES))

    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        await embedder.aembed(texts_of(count))
    elapsed = time.monotonic() - started

    assert shortest <= elapsed <= longest + MARGIN, f"{elapsed:.3f} s"
    assert hung.stats.hung == requests * (MAX_RETRIES + 1)
    assert embedder._transport.pool_connections() == {"open": 0, "in_use": 0}
    assert_no_key(info.value, client_logs.records)

    hung.faults = Faults()
    assert len((await embedder.aembed("after the hang")).embeddings) == 1
    assert embedder._transport.pool_connections() == {"open": 1, "in_use": 0}
    await embedder.aclose()
    assert embedder._transport.pool_connections() == {"open": 0, "in_use": 0}


# -- cancellation ----------------------------------------------------------------------------------------------------


async def test_cancelling_an_async_call_cancels_its_requests(emulator: Emulator, served: ServedEmulator) -> None:
    """400 texts are 40 requests, 16 at a time (max_concurrency); the emulator holds each for LATENCY seconds."""
    embedder = TextEmbedder(TEXT_MODEL, api_key=KEY, base_url=served.base_url, timeout=10 * LATENCY)
    await embedder.aembed("opens this loop's pool")
    emulator.reset()
    emulator.faults = Faults(latency=LATENCY)
    try:
        task = asyncio.ensure_future(embedder.aembed(texts_of(400)))
        await asyncio.sleep(0.3)
        for _ in range(50):  # up to 0.5 s more on a busy machine, still well within LATENCY
            if emulator.stats.requests >= 16:
                break
            await asyncio.sleep(0.01)
        assert emulator.stats.requests == 16
        assert embedder._transport.pool_connections() == {"open": 16, "in_use": 16}

        cancelled = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        cancel_latency = time.monotonic() - cancelled

        assert cancel_latency < 0.1 * LATENCY, f"{cancel_latency:.3f} s"
        assert embedder._transport.pool_connections() == {"open": 0, "in_use": 0}
        await asyncio.sleep(1.0)
        assert emulator.stats.requests == 16
    finally:
        emulator.faults = Faults()

    result = await embedder.aembed(["still", "works"])
    assert result.embeddings == [emulator.expected_embedding(text, model=TEXT_MODEL) for text in ("still", "works")]
    assert embedder._transport.pool_connections() == {"open": 1, "in_use": 0}
    await embedder.aclose()
    assert embedder._transport.pool_connections() == {"open": 0, "in_use": 0}
