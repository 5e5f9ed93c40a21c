"""Split inputs into requests and run them concurrently, handing results back in input order.

The planner is pure. The runners differ only in how they wait: the sync ones run requests on a thread pool over
one pooled httpx.Client (httpx clients are thread-safe), the async ones run tasks under a semaphore. The ordered
runners yield results strictly in job order, whatever order the requests finish in, and keep at most `window` jobs
submitted ahead of the consumer, so a streaming caller holds O(window × batch) vectors however many inputs there
are. The completion-order runners yield each result as soon as it arrives, with at most `concurrency` jobs
submitted: a caller that saves each result at once (a resumable bulk run) loses at most the requests on the wire.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Sized
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = [
    "AdaptiveConcurrency",
    "arun_as_completed",
    "arun_ordered",
    "plan_batches",
    "run_as_completed",
    "run_ordered",
]

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
        self.throttles = 0
        """429 answers seen so far (progress displays report them)."""

    @property
    def limit(self) -> int:
        return max(1, int(self._limit))

    def throttled(self) -> None:
        with self._lock:
            self.throttles += 1
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
    gated = call if adaptive is None else _agated(call, adaptive)

    async def guarded(job: J) -> R:
        async with semaphore:
            return await gated(job)

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


def run_as_completed(
    jobs: Iterable[J],
    call: Callable[[J], R],
    *,
    concurrency: int,
    adaptive: AdaptiveConcurrency | None = None,
) -> Generator[R, None, None]:
    """Yield `call(job)` for each job as soon as it returns, with at most `concurrency` jobs submitted at once.

    Jobs are drawn lazily, one more each time one finishes. The first exception is raised at once; jobs not yet
    started are not started.
    """
    if concurrency <= 1:
        for job in jobs:
            yield call(job)
        return
    if adaptive is not None:
        call = _gated(call, adaptive)
    source = iter(jobs)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="dashscope-embed")
    running: set[Future[R]] = set()
    try:
        while True:
            running.update(pool.submit(call, job) for job in itertools.islice(source, concurrency - len(running)))
            if not running:
                return
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        for future in running:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


async def arun_as_completed(
    jobs: Iterable[J],
    call: Callable[[J], Awaitable[R]],
    *,
    concurrency: int,
    adaptive: AdaptiveConcurrency | None = None,
) -> AsyncGenerator[R, None]:
    """Async `run_as_completed`. Closing or cancelling the consumer cancels every in-flight request at once."""
    concurrency = max(concurrency, 1)
    gated = call if adaptive is None else _agated(call, adaptive)
    source = iter(jobs)
    running: set[asyncio.Task[R]] = set()
    try:
        while True:
            running.update(
                asyncio.ensure_future(gated(job)) for job in itertools.islice(source, concurrency - len(running))
            )
            if not running:
                return
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                yield task.result()
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)


def _agated(call: Callable[[J], Awaitable[R]], adaptive: AdaptiveConcurrency) -> Callable[[J], Awaitable[R]]:
    """Async `_gated`: `call`, but waiting while `adaptive.limit` requests of this run are already in flight."""
    room = asyncio.Condition()
    running = 0

    async def gated(job: J) -> R:
        nonlocal running
        async with room:
            await room.wait_for(lambda: running < adaptive.limit)
            running += 1
        try:
            return await call(job)
        finally:
            async with room:
                running -= 1
                room.notify_all()

    return gated


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
