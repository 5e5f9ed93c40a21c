"""Split inputs into requests and run them concurrently, handing results back in input order.

The planner is pure. The two runners differ only in how they wait: the sync one runs requests on a thread pool over
one pooled httpx.Client (httpx clients are thread-safe), the async one runs tasks under a semaphore. Both yield
results strictly in job order, whatever order the requests finish in, and keep at most `window` jobs submitted
ahead of the consumer, so a streaming caller holds O(window × batch) vectors however many inputs there are.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Sized
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["AdaptiveConcurrency", "arun_ordered", "plan_batches", "run_ordered"]

J = TypeVar("J")
R = TypeVar("R")


class AdaptiveConcurrency:
    """How many requests may be in flight: AIMD, as TCP does with its window, driven by the service's 429s.

    Each throttled answer halves the limit (at most once per `cooldown`, so a burst of 429s from requests that were
    already in flight counts as one signal), each success adds 1/limit (about +1 per round of requests), never
    above `maximum` nor below 1. The transport reports every answer; the runners let at most `limit` requests start.
    Shared by all calls of one embedder, because the account's rate limit is shared too.
    """

    def __init__(self, maximum: int, *, cooldown: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.maximum = maximum
        self.cooldown = cooldown
        self._clock = clock
        self._limit = float(maximum)
        self._last_cut = -math.inf
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        return max(1, int(self._limit))

    def throttled(self) -> None:
        with self._lock:
            now = self._clock()
            if now - self._last_cut >= self.cooldown:
                self._limit = max(1.0, self._limit / 2)
                self._last_cut = now

    def succeeded(self) -> None:
        with self._lock:
            self._limit = min(float(self.maximum), self._limit + 1 / self._limit)


def plan_batches(count: int, max_batch: int) -> list[range]:
    """Consecutive index ranges of at most `max_batch` items (the model's per-request cap): 25 on v4 → 10, 10, 5."""
    if max_batch < 1:
        raise ValueError("max_batch must be >= 1")
    return [range(start, min(start + max_batch, count)) for start in range(0, count, max_batch)]


def run_ordered(
    jobs: Iterable[J],
    call: Callable[[J], R],
    *,
    concurrency: int,
    window: int | None = None,
    adaptive: AdaptiveConcurrency | None = None,
) -> Generator[R, None, None]:
    """Yield `call(job)` for each job, in job order, with at most `concurrency` calls running at once.

    The first exception is raised in order; queued jobs are then cancelled (requests already on the wire finish,
    as a thread cannot be interrupted). With `adaptive`, fewer may run at once while the service throttles.
    """
    if isinstance(jobs, Sized):
        concurrency = min(concurrency, len(jobs))  # no idle threads; one request (every query) needs no pool
    if concurrency <= 1:
        for job in jobs:
            yield call(job)
        return
    limit = window if window is not None else float("inf")
    if adaptive is not None:
        call = _gated(call, adaptive)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="dashscope-embed")
    pending: deque[Future[R]] = deque()
    try:
        for job in jobs:
            pending.append(pool.submit(call, job))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


async def arun_ordered(
    jobs: Iterable[J],
    call: Callable[[J], Awaitable[R]],
    *,
    concurrency: int,
    window: int | None = None,
    adaptive: AdaptiveConcurrency | None = None,
) -> AsyncGenerator[R, None]:
    """Async `run_ordered`: tasks under a semaphore. Cancelling the consumer cancels every in-flight request."""
    semaphore = asyncio.Semaphore(max(concurrency, 1))
    limit = window if window is not None else float("inf")
    room = asyncio.Condition()
    running = 0

    async def guarded(job: J) -> R:
        nonlocal running
        async with semaphore:
            if adaptive is None:
                return await call(job)
            async with room:
                await room.wait_for(lambda: running < adaptive.limit)
                running += 1
            try:
                return await call(job)
            finally:
                async with room:
                    running -= 1
                    room.notify_all()

    pending: deque[asyncio.Task[R]] = deque()
    try:
        for job in jobs:
            pending.append(asyncio.ensure_future(guarded(job)))
            if len(pending) >= limit:
                yield await pending.popleft()
        while pending:
            yield await pending.popleft()
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _gated(call: Callable[[J], R], adaptive: AdaptiveConcurrency) -> Callable[[J], R]:
    """`call`, but waiting while `adaptive.limit` requests of this run are already in flight."""
    room = threading.Condition()
    running = 0

    def gated(job: J) -> R:
        nonlocal running
        with room:
            room.wait_for(lambda: running < adaptive.limit)
            running += 1
        try:
            return call(job)
        finally:
            with room:
                running -= 1
                room.notify_all()

    return gated
