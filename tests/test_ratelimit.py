"""Client-side rate limits: the pacing decisions on a fake clock, the window invariant, and end to end against the
in-process emulator's per-account limits (zero 429s when the client paces to the emulator's limit)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashscope_embeddings import TextEmbedder
from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import AuthenticationError, InputError
from dashscope_embeddings.ratelimit import PROBE_POLL, Grant, Limiter, Pacer, RateLimit, RateLimiter, as_limiter
from dashscope_embeddings.transport import RetryPolicy

V4 = "text-embedding-v4"


def make_embedder(emu: Emulator, **kwargs: Any) -> TextEmbedder:
    kwargs.setdefault("api_key", "sk-test")
    kwargs.setdefault("retry", RetryPolicy(max_rate_limit_retries=50, max_retry_after=5))
    return TextEmbedder(
        V4,
        base_url="http://emulator.test/api/v1",
        allow_insecure_http=True,
        http_client=httpx.Client(transport=emu.transport()),
        http_async_client=httpx.AsyncClient(transport=emu.async_transport()),
        **kwargs,
    )


class FakeTime:
    """A clock that only moves when someone sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


class TestRateLimit:
    @pytest.mark.parametrize(
        ("kwargs", "bad"),
        [
            ({"rpm": 0}, "rpm"),
            ({"tpm": -5}, "tpm"),
            ({"rpm": 1.5}, "rpm"),
            ({"rpm": True}, "rpm"),
            ({"burst": 0}, "burst"),
        ],
    )
    def test_limits_are_positive_ints(self, kwargs: dict[str, Any], bad: str) -> None:
        with pytest.raises(InputError) as info:
            RateLimit(**kwargs)
        assert str(info.value).startswith(f"RateLimit.{bad} must be a positive int, got {kwargs[bad]!r}.")

    def test_no_limit_means_no_limiter(self) -> None:
        assert as_limiter(None) is None
        assert as_limiter(RateLimit()) is None
        limiter = Limiter(RateLimit(rpm=10))
        assert as_limiter(limiter) is limiter
        assert isinstance(as_limiter(RateLimit(tpm=10)), Limiter)
        with pytest.raises(InputError, match="rate_limit must be a RateLimit"):
            as_limiter(1800)  # type: ignore[arg-type]


class TestPacerRequests:
    def test_evenly_spaced_slots_first_come_first_served(self) -> None:
        pacer = Pacer(RateLimit(rpm=60), now=0.0)
        assert pacer.grant(0.0) == Grant((0.0,))
        assert pacer.grant(0.0) == Grant((1.0,))
        assert pacer.grant(0.5) == Grant((1.5,))  # slot at 2.0
        assert pacer.grant(10.0) == Grant((0.0,))  # idle: no debt carried, no credit either
        assert pacer.grant(10.25) == Grant((0.75,))

    def test_burst_requests_go_at_once_after_an_idle_spell(self) -> None:
        pacer = Pacer(RateLimit(rpm=120, burst=3), now=0.0)
        assert [pacer.grant(0.0).delays for _ in range(4)] == [(0.0,), (0.0,), (0.0,), (0.5,)]
        assert pacer.grant(100.0).delays == (0.0,)

    def test_a_lease_is_consecutive_slots(self) -> None:
        pacer = Pacer(RateLimit(rpm=600), now=0.0)
        assert pacer.grant(0.0, count=4) == Grant((0.0, 0.1, 0.2, 0.30000000000000004))
        assert pacer.grant(0.0, count=2).delays == (0.4, 0.5)

    @settings(max_examples=200, deadline=None)
    @given(
        rpm=st.integers(1, 600),
        burst=st.integers(1, 5),
        gaps=st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=300),
    )
    def test_no_60_second_window_admits_more_than_rpm_plus_burst(self, rpm: int, burst: int, gaps: list[float]) -> None:
        pacer = Pacer(RateLimit(rpm=rpm, burst=burst), now=0.0)
        now, sent = 0.0, []
        for gap in gaps:
            now += gap
            (delay,) = pacer.grant(now).delays
            assert delay >= 0
            sent.append(now + delay)
        sent.sort()
        right = 0
        for left, start in enumerate(sent):
            while right < len(sent) and sent[right] <= start + 60 - 1e-9:
                right += 1
            assert right - left <= rpm + burst


class TestPacerTokens:
    def test_one_request_probes_until_the_first_answer_gives_an_estimate(self) -> None:
        pacer = Pacer(RateLimit(tpm=600), now=0.0)  # 10 tokens/s, balance holds 10
        assert pacer.grant(0.0) == Grant((0.0,), reserved=0.0)
        assert pacer.grant(0.0) == Grant((), retry_after=PROBE_POLL)
        pacer.settle(0.1, reserved=0.0, tokens=25)  # billed more than the balance held: 10 - 25
        assert pacer.estimate == 31.25  # 25 % over the largest recent answer
        assert pacer.grant(0.1) == Grant((), retry_after=2.5)  # until the balance is full again (-15 → 10)
        assert pacer.grant(2.6) == Grant((0.0,), reserved=31.25)
        assert pacer.grant(2.6) == Grant((), retry_after=3.125)  # the reservation counts before the answer

    def test_the_answer_corrects_the_reservation_and_failures_give_it_back(self) -> None:
        pacer = Pacer(RateLimit(tpm=6000), now=0.0)  # 100 tokens/s, balance holds 100
        pacer.grant(0.0)
        pacer.settle(0.0, reserved=0.0, tokens=40)  # balance 60, estimate 50
        assert pacer.grant(0.0) == Grant((0.0,), reserved=50.0)  # balance 10
        assert pacer.grant(0.0) == Grant((), retry_after=0.4)  # the reservation counts before the answer
        pacer.settle(0.0, reserved=50.0, tokens=None)  # failed: not billed, the 50 go back
        assert pacer.grant(0.0) == Grant((0.0,), reserved=50.0)  # balance 10 again
        pacer.settle(0.0, reserved=50.0, tokens=20)  # billed less than reserved: balance 40
        assert pacer.estimate == 50.0  # still 25 % over the largest of the last answers (40)
        assert pacer.grant(0.0) == Grant((), retry_after=0.1)
        assert pacer.grant(0.1) == Grant((0.0,), reserved=50.0)

    def test_a_failed_probe_lets_the_next_request_probe(self) -> None:
        pacer = Pacer(RateLimit(tpm=600), now=0.0)
        pacer.grant(0.0)
        pacer.settle(0.0, reserved=0.0, tokens=None)
        assert pacer.estimate is None
        assert pacer.grant(0.0) == Grant((0.0,), reserved=0.0)

    def test_requests_wait_for_both_limits(self) -> None:
        pacer = Pacer(RateLimit(rpm=60, tpm=6000), now=0.0)
        pacer.grant(0.0)
        pacer.settle(0.0, reserved=0.0, tokens=10)
        assert pacer.grant(0.0) == Grant((1.0,), reserved=12.5)  # tokens are there; the next request slot is not


class TestLimiter:
    def test_sync_waits_are_exactly_the_pacers(self) -> None:
        fake = FakeTime()
        limiter = Limiter(RateLimit(rpm=30, tpm=600), clock=fake.clock, sleep=fake.sleep)
        assert limiter.acquire() == 0.0
        limiter.settle(0.0, 5)  # balance 10 - 5, estimate 6.25
        assert limiter.acquire() == 6.25
        assert fake.sleeps == [0.125, 1.875]  # until the balance covers 6.25, then to the next request slot (2 s)
        limiter.settle(6.25, 20)  # at 2 s: balance 10 (full) - 13.75, estimate 25
        assert limiter.acquire() == 25.0
        assert fake.sleeps == [0.125, 1.875, 1.375, 0.625]  # until the balance is full (-3.75 → 10), then to 4 s
        assert isinstance(limiter, RateLimiter)

    async def test_async_waits_on_the_event_loop(self) -> None:
        fake = FakeTime()
        limiter = Limiter(RateLimit(rpm=60), clock=fake.clock, asleep=fake.asleep, sleep=_never)
        assert [await limiter.aacquire() for _ in range(3)] == [0.0, 0.0, 0.0]
        assert fake.sleeps == [1.0, 1.0]

    async def test_a_cancelled_wait_gives_its_tokens_back(self) -> None:
        fake = FakeTime()
        forever = asyncio.get_running_loop().create_future()

        async def asleep(seconds: float) -> None:
            fake.sleeps.append(seconds)
            await forever

        limiter = Limiter(RateLimit(rpm=60, tpm=6000), clock=fake.clock, asleep=asleep, sleep=_never)
        limiter.settle(await limiter.aacquire(), 30)  # estimate 37.5, balance 70
        waiting = asyncio.ensure_future(limiter.aacquire())  # reserves 37.5 (balance 32.5), waits 1 s for its slot
        await asyncio.sleep(0)
        assert (fake.sleeps, limiter._pacer._balance.level) == ([1.0], 32.5)  # type: ignore[union-attr]
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert limiter._pacer._balance.level == 70.0  # type: ignore[union-attr]

    def test_threads_share_one_schedule(self) -> None:
        limiter = Limiter(RateLimit(rpm=1200))  # one request every 50 ms
        started: list[float] = []
        lock = threading.Lock()

        def worker() -> None:
            for _ in range(3):
                limiter.acquire()
                with lock:
                    started.append(time.monotonic())

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        started.sort()
        gaps = [b - a for a, b in itertools.pairwise(started)]
        assert len(started) == 12
        assert min(gaps) >= 0.045  # evenly spaced whatever the thread, minus timer slack
        assert 0.5 <= started[-1] - started[0] < 0.9


class TestSharedLimiter:
    """The per-actor side of the Ray limiter, against a ledger in this process (no Ray cluster needed)."""

    def test_slots_are_leased_in_chunks_and_late_ones_dropped(self) -> None:
        ray_module = pytest.importorskip("dashscope_embeddings.ray", reason="needs ray")
        fake = FakeTime()
        ledger = ray_module._AccountLedger(600, None, 1, clock=fake.clock)
        limiter = ray_module.SharedLimiter(ledger, RateLimit(rpm=600), lease=3, clock=fake.clock, sleep=fake.sleep)
        assert ray_module.lease_size(RateLimit(rpm=600), max_concurrency=16) == 3  # a quarter second at 10/s
        for _ in range(4):
            limiter.acquire()
        assert fake.sleeps == pytest.approx([0.1, 0.1, 0.1])  # one schedule: 0, 0.1, 0.2 | 0.3 (second lease)
        assert ledger.leases == 2
        fake.now = 10.0  # idle: the slots at 0.4 and 0.5 have passed
        limiter.acquire()
        assert (ledger.leases, len(fake.sleeps)) == (3, 3)

    def test_the_probe_is_reported_at_once_and_leases_hold_what_the_balance_covers(self) -> None:
        ray_module = pytest.importorskip("dashscope_embeddings.ray", reason="needs ray")
        fake = FakeTime()
        ledger = ray_module._AccountLedger(None, 6000, 1, clock=fake.clock)  # 100 tokens/s, balance holds 100
        limiter = ray_module.SharedLimiter(ledger, RateLimit(tpm=6000), lease=4, clock=fake.clock, sleep=fake.sleep)
        assert limiter.acquire() == 0.0  # the probe
        limiter.settle(0.0, 20)
        assert ledger.pacer.estimate == 25.0  # reported without waiting for the next lease
        assert [limiter.acquire() for _ in range(3)] == [25.0] * 3  # one lease: 80 covers 3 requests, not 4
        assert (ledger.leases, fake.sleeps) == (2, [])
        limiter.settle(25.0, 10)  # reported with the next lease: 15 back
        assert limiter.acquire() == 25.0
        assert (ledger.leases, fake.sleeps) == (4, [pytest.approx(0.05)])  # 5 + 15 back = 20; 25 in 0.05 s at 100/s


def _never(seconds: float) -> None:
    raise AssertionError("the async path must not block the event loop")


class Recording:
    """A RateLimiter that admits everything and records what the embedder told it."""

    def __init__(self) -> None:
        self.acquired = 0
        self.settled: list[tuple[float, int | None]] = []

    def acquire(self) -> float:
        self.acquired += 1
        return 7.0

    async def aacquire(self) -> float:
        return self.acquire()

    def settle(self, reserved: float, tokens: int | None) -> None:
        self.settled.append((reserved, tokens))


class TestEmbedderHook:
    def test_without_a_limit_requests_go_straight_to_the_transport(self) -> None:
        for setting in (None, RateLimit()):
            embedder = make_embedder(Emulator(), rate_limit=setting)
            assert embedder.rate_limiter is None
            assert embedder._send == embedder._transport.send
            assert embedder._asend == embedder._transport.asend

    @pytest.mark.parametrize("path", ["embed", "aembed", "embed_stream", "aembed_stream"])
    def test_every_request_acquires_then_settles_its_billed_tokens(self, path: str) -> None:
        emu = Emulator()
        recording = Recording()
        embedder = make_embedder(emu, rate_limit=recording)
        texts = [f"text number {i}" for i in range(25)]
        if path == "embed":
            embedder.embed(texts)
        elif path == "aembed":
            asyncio.run(embedder.aembed(texts))
        elif path == "embed_stream":
            list(embedder.embed_stream(texts))
        else:

            async def drain() -> None:
                async for _ in embedder.aembed_stream(texts):
                    pass

            asyncio.run(drain())
        billed = [record.response_body["usage"]["total_tokens"] for record in emu.requests]
        assert recording.acquired == 3
        assert sorted(recording.settled) == sorted((7.0, tokens) for tokens in billed)
        assert sum(billed) == emu.stats.tokens

    def test_a_failed_request_settles_with_no_tokens(self) -> None:
        recording = Recording()
        embedder = make_embedder(Emulator(api_keys=["sk-other"]), rate_limit=recording)
        with pytest.raises(AuthenticationError):
            embedder.embed(["a"])
        assert recording.settled == [(7.0, None)]


class TestAgainstTheEmulatorsLimit:
    """The emulator enforces 600 RPM (10/s, one second's worth of burst); 15 requests go out at once by default."""

    TEXTS = tuple(f"paced text {i}" for i in range(150))

    def test_without_a_limit_the_account_throttles(self) -> None:
        emu = Emulator(faults=Faults(rpm=600))
        result = make_embedder(emu).embed(self.TEXTS)
        assert len(result.embeddings) == 150
        assert emu.stats.throttled >= 5

    def test_pacing_to_the_limit_gives_zero_429s(self) -> None:
        emu = Emulator(faults=Faults(rpm=600))
        embedder = make_embedder(emu, rate_limit=RateLimit(rpm=600))
        started = time.monotonic()
        result = embedder.embed(self.TEXTS)
        elapsed = time.monotonic() - started
        assert result.embeddings == [emu.expected_embedding(t, model=V4) for t in self.TEXTS]
        assert (emu.stats.requests, emu.stats.throttled) == (15, 0)
        assert 1.35 <= elapsed < 3.0  # 14 gaps of 100 ms

    async def test_async_pacing_gives_zero_429s(self) -> None:
        emu = Emulator(faults=Faults(rpm=600))
        embedder = make_embedder(emu, rate_limit=RateLimit(rpm=600))
        result = await embedder.aembed(self.TEXTS, text_type="query")
        assert result.embeddings == [emu.expected_embedding(t, model=V4, text_type="query") for t in self.TEXTS]
        assert (emu.stats.requests, emu.stats.throttled) == (15, 0)

    def test_pacing_to_the_token_limit_gives_zero_429s(self) -> None:
        texts = [f"a somewhat longer text to embed, number {i}" for i in range(150)]
        total = sum(Emulator.count_tokens(t) for t in texts)
        tpm = 60 * total * 10 // 15  # ten of the fifteen requests' worth per second
        emu = Emulator(faults=Faults(tpm=tpm))
        assert make_embedder(emu).embed(texts).usage.total_tokens == total
        assert emu.stats.throttled > 0
        emu = Emulator(faults=Faults(tpm=tpm))
        result = make_embedder(emu, rate_limit=RateLimit(tpm=tpm)).embed(texts)
        assert result.embeddings == [emu.expected_embedding(t, model=V4) for t in texts]
        assert (emu.stats.requests, emu.stats.throttled) == (15, 0)

    def test_one_limiter_shared_by_two_embedders(self) -> None:
        emu = Emulator(faults=Faults(rpm=600))
        shared = Limiter(RateLimit(rpm=600))
        first, second = make_embedder(emu, rate_limit=shared), make_embedder(emu, rate_limit=shared)
        threads = [threading.Thread(target=e.embed, args=(self.TEXTS[:80],)) for e in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert (emu.stats.requests, emu.stats.throttled) == (16, 0)
