"""Split inputs into requests and run them concurrently, handing results back in input order.

The planner is pure. The two runners differ only in how they wait: the sync one runs requests on a thread pool over
one pooled httpx.Client (httpx clients are thread-safe), the async one runs tasks under a semaphore. Both yield
results strictly in job order, whatever order the requests finish in, and keep at most `window` jobs submitted
ahead of the consumer, so a streaming caller holds O(window × batch) vectors however many inputs there are.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Sized
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["arun_ordered", "plan_batches", "run_ordered"]

J = TypeVar("J")
R = TypeVar("R")


def plan_batches(count: int, max_batch: int) -> list[range]:
    """Consecutive index ranges of at most `max_batch` items (the model's per-request cap): 25 on v4 → 10, 10, 5."""
    if max_batch < 1:
        raise ValueError("max_batch must be >= 1")
    return [range(start, min(start + max_batch, count)) for start in range(0, count, max_batch)]


def run_ordered(
    jobs: Iterable[J], call: Callable[[J], R], *, concurrency: int, window: int | None = None
) -> Generator[R, None, None]:
    """Yield `call(job)` for each job, in job order, with at most `concurrency` calls running at once.

    The first exception is raised in order; queued jobs are then cancelled (requests already on the wire finish,
    as a thread cannot be interrupted).
    """
    if isinstance(jobs, Sized):
        concurrency = min(concurrency, len(jobs))  # no idle threads; one request (every query) needs no pool
    if concurrency <= 1:
        for job in jobs:
            yield call(job)
        return
    limit = window if window is not None else float("inf")
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
    jobs: Iterable[J], call: Callable[[J], Awaitable[R]], *, concurrency: int, window: int | None = None
) -> AsyncGenerator[R, None]:
    """Async `run_ordered`: tasks under a semaphore. Cancelling the consumer cancels every in-flight request."""
    semaphore = asyncio.Semaphore(max(concurrency, 1))
    limit = window if window is not None else float("inf")

    async def guarded(job: J) -> R:
        async with semaphore:
            return await call(job)

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
