"""The planner and the ordered runners: any sizes, any completion order."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashscope_embeddings.batching import arun_ordered, plan_batches, run_ordered


@pytest.mark.parametrize(
    ("count", "cap", "sizes"),
    [(25, 10, [10, 10, 5]), (30, 25, [25, 5]), (10, 10, [10]), (1, 10, [1]), (0, 10, [])],
)
def test_plan_examples(count: int, cap: int, sizes: list[int]) -> None:
    assert [len(r) for r in plan_batches(count, cap)] == sizes


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=40))
def test_plan_covers_every_index_once_in_order_within_the_cap(count: int, cap: int) -> None:
    batches = plan_batches(count, cap)
    assert [i for batch in batches for i in batch] == list(range(count))
    assert all(1 <= len(batch) <= cap for batch in batches)
    assert len(batches) == -(-count // cap)


def test_plan_refuses_a_zero_cap() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        plan_batches(3, 0)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=0.003), max_size=40),
    st.integers(min_value=1, max_value=8),
    st.one_of(st.none(), st.integers(min_value=1, max_value=10)),
)
def test_sync_runner_yields_in_job_order_within_the_concurrency(
    delays: list[float], concurrency: int, window: int | None
) -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def call(job: tuple[int, float]) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(job[1])
        with lock:
            running -= 1
        return job[0]

    jobs = list(enumerate(delays))
    assert list(run_ordered(jobs, call, concurrency=concurrency, window=window)) == list(range(len(delays)))
    assert peak <= concurrency


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=0.003), max_size=40),
    st.integers(min_value=1, max_value=8),
    st.one_of(st.none(), st.integers(min_value=1, max_value=10)),
)
def test_async_runner_yields_in_job_order_within_the_concurrency(
    delays: list[float], concurrency: int, window: int | None
) -> None:
    running = 0
    peak = 0

    async def call(job: tuple[int, float]) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(job[1])
        running -= 1
        return job[0]

    async def collect() -> list[int]:
        return [r async for r in arun_ordered(list(enumerate(delays)), call, concurrency=concurrency, window=window)]

    assert asyncio.run(collect()) == list(range(len(delays)))
    assert peak <= concurrency


def test_sync_runner_raises_the_first_failure_in_order_and_stops_queued_jobs() -> None:
    started: list[int] = []

    def call(job: int) -> int:
        started.append(job)
        time.sleep(0.01 if job != 3 else 0)
        if job == 3:
            raise RuntimeError("batch 3 failed")
        return job

    results: list[int] = []
    with pytest.raises(RuntimeError, match="batch 3"):
        results.extend(run_ordered(range(100), call, concurrency=2, window=4))
    assert results == [0, 1, 2]
    assert len(started) < 100


async def test_async_runner_cancels_in_flight_work_on_failure() -> None:
    cancelled = 0
    started = 0

    async def call(job: int) -> int:
        nonlocal cancelled, started
        started += 1
        if job == 0:
            await asyncio.sleep(0)
            raise RuntimeError("first failed")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return job

    with pytest.raises(RuntimeError, match="first failed"):
        async for _ in arun_ordered(range(6), call, concurrency=3):
            pass
    assert cancelled == started - 1  # everything that started, except the failure itself, was cancelled
    assert started <= 4  # the semaphore (3) plus the slot the failure freed; the rest never started


def test_window_bounds_how_far_submission_runs_ahead() -> None:
    submitted: list[int] = []

    def jobs():  # type: ignore[no-untyped-def]
        for i in range(50):
            submitted.append(i)
            yield i

    runner = run_ordered(jobs(), lambda j: j, concurrency=4, window=5)
    assert next(runner) == 0
    assert len(submitted) <= 6
    assert list(runner) == list(range(1, 50))


def test_concurrency_one_is_sequential() -> None:
    order: list[int] = []
    assert list(run_ordered(range(5), lambda j: order.append(j) or j, concurrency=1)) == [0, 1, 2, 3, 4]
    assert order == [0, 1, 2, 3, 4]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_adaptive_limit_halves_on_throttling_once_per_cooldown() -> None:
    from dashscope_embeddings.batching import AdaptiveConcurrency

    clock = FakeClock()
    limit = AdaptiveConcurrency(16, cooldown=1.0, clock=clock)
    limit.throttled()
    limit.throttled()  # the same burst: still one signal
    assert limit.limit == 8
    clock.now = 1.0
    limit.throttled()
    assert limit.limit == 4
    for step in range(3):
        clock.now = 2.0 + step
        limit.throttled()
    assert limit.limit == 1  # never below one


def test_adaptive_limit_grows_back_by_about_one_per_round() -> None:
    from dashscope_embeddings.batching import AdaptiveConcurrency

    limit = AdaptiveConcurrency(16, clock=FakeClock())
    limit.throttled()
    assert limit.limit == 8
    for _ in range(8):  # one round of successes adds just under one (each step is 1 / the growing limit)
        limit.succeeded()
    assert limit.limit == 8
    limit.succeeded()
    assert limit.limit == 9
    for _ in range(1000):
        limit.succeeded()
    assert limit.limit == 16  # never above the maximum


def test_runner_starts_no_more_than_the_adaptive_limit() -> None:
    from dashscope_embeddings.batching import AdaptiveConcurrency

    adaptive = AdaptiveConcurrency(8, clock=FakeClock())
    adaptive.throttled()
    adaptive.throttled()
    running = peak = 0
    lock = threading.Lock()

    def call(job: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.002)
        with lock:
            running -= 1
        return job

    assert list(run_ordered(range(40), call, concurrency=8, adaptive=adaptive)) == list(range(40))
    assert peak <= 4


async def test_async_runner_starts_no_more_than_the_adaptive_limit() -> None:
    from dashscope_embeddings.batching import AdaptiveConcurrency

    adaptive = AdaptiveConcurrency(8, clock=FakeClock())
    adaptive.throttled()
    running = peak = 0

    async def call(job: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return job

    assert [r async for r in arun_ordered(range(40), call, concurrency=8, adaptive=adaptive)] == list(range(40))
    assert peak == 4
