"""Client-side pacing to one account's rate limits: requests per minute (RPM) and tokens per minute (TPM).

DashScope limits each account per model, by requests and by tokens per minute, enforced per second too (a minute's
quota cannot be spent in one burst). The transport already retries 429s, but every 429 is a wasted round trip and a
backoff of 0.5–8 s; a pipeline that knows its account's limits can instead send at the rate they admit and never
be throttled. This module paces requests before they are sent:

- **Requests**: a token bucket refilled continuously at `rpm / 60` per second that holds `burst` requests (1 by
  default: requests leave evenly spaced, which is what the per-second enforcement wants). It is kept as a GCRA
  schedule (the bucket's equivalent, as in ATM cell policing): each request is given the next free slot at once
  and sleeps exactly until it, so waiting callers are served first come, first served, with one wake-up each.
- **Tokens**: a balance refilled at `tpm / 60` per second up to one second's worth. A request may start when the
  balance covers it; the tokens the service bills (`usage.total_tokens`) are known only once it answers, so the
  balance is settled then. Until then a request holds an *estimate* (a quarter more than the largest of the last
  8 answers), so concurrent requests do not all see the same unspent balance, and a request a little bigger than
  those before it does not find the service's balance short; the estimate's error is corrected when the answer
  arrives, which is why the balance may go briefly negative. A request bigger than the whole
  balance may start once the balance is full, and leaves it in debt (the service does the same). Before any
  request has been answered there is no estimate, so one request at a time is let through until one answers.

`Pacer` holds the decisions (pure: it is given the time and says how long to wait); `Limiter` makes them
thread-safe and does the waiting, sync or async, with an injectable clock and sleep. Embedders talk to any
`RateLimiter`, so a limiter shared across processes (`dashscope_embeddings.ray`) plugs in the same way.

What is not paced: the transport's retries of a request (connection errors, 5xx, and 429s if the limit set here is
above the account's). They are rare when the limit holds, and each waits its own backoff.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from .errors import InputError
from .protocol.answers import BatchOutput

__all__ = ["Grant", "Limiter", "Pacer", "RateLimit", "RateLimiter", "as_limiter"]

T = TypeVar("T")

PROBE_POLL = 0.05
"""Seconds between looks at whether the first request has answered (only while a TPM limit has no estimate yet)."""
RECENT = 8
"""Answers the token estimate looks back on."""
HEADROOM = 1.25
"""The estimate over the largest recent answer. Reserving too much only holds tokens back until the answer comes
(a 25 % larger reservation of the requests in flight); reserving too little lets the service's balance run short
of ours, which is a 429. Batches in one run are similar in size, rarely a quarter apart."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One account's limits for one model: `rpm` requests and `tpm` tokens per minute (None: not limited).

    `burst`: requests that may start at once after an idle spell (1: always evenly spaced, `60 / rpm` s apart).
    Set the limits your account shows in the Model Studio console, or a little below them if other clients share
    the account.
    """

    rpm: int | None = None
    tpm: int | None = None
    burst: int = 1

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm", "burst"):
            value = getattr(self, name)
            if value is None and name != "burst":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(
                    f"RateLimit.{name} must be a positive int, got {value!r}. Pass your account's limit per "
                    f"minute (e.g. rpm=1800, tpm=1_200_000), or None for no limit."
                )

    @property
    def limited(self) -> bool:
        return self.rpm is not None or self.tpm is not None


@dataclass(frozen=True, slots=True)
class Grant:
    """What `Pacer.grant` decided.

    `delays`: for each granted request, seconds from now until it may be sent (empty when nothing was granted);
    `reserved`: tokens each granted request holds until it is settled; `retry_after`: when nothing was granted,
    seconds to wait before asking again.
    """

    delays: tuple[float, ...]
    reserved: float = 0.0
    retry_after: float = 0.0


class _Slots:
    """Request slots `60 / rpm` seconds apart, `burst` of them free at once after an idle spell (GCRA).

    `tat` is the theoretical arrival time of the next request: a request may go at `tat - tolerance` or later, and
    each one pushes `tat` on by one interval. Admitting at most `burst` requests at any instant and one per
    interval after that, any window of `w` seconds admits at most `w · rpm / 60 + burst` requests.
    """

    def __init__(self, rpm: int, burst: int, now: float) -> None:
        self.interval = 60.0 / rpm
        self.tolerance = (burst - 1) * self.interval
        self.tat = now

    def take(self, now: float) -> float:
        """Reserve the next slot; return the seconds from `now` until it."""
        start = max(now, self.tat - self.tolerance)
        self.tat = max(self.tat, now) + self.interval
        return start - now


class _Balance:
    """Tokens per minute: refilled at `tpm / 60` per second up to one second's worth; may go into debt."""

    def __init__(self, tpm: int, now: float) -> None:
        self.rate = tpm / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now

    def shortfall(self, need: float) -> float:
        """Seconds until the balance covers `need` (a need above the capacity waits for a full balance)."""
        missing = min(need, self.capacity) - self.level
        return max(0.0, missing / self.rate)


class Pacer:
    """The pure decisions behind a limiter: which requests may go when, and the token balance. Not thread-safe.

    `grant(now, count)` asks for up to `count` requests (a local limiter asks for 1; a shared one leases several at
    a time, and gets no more than the token balance covers); `report(now, ...)` settles requests that have finished.
    """

    def __init__(self, limit: RateLimit, now: float) -> None:
        self.limit = limit
        self._slots = _Slots(limit.rpm, limit.burst, now) if limit.rpm is not None else None
        self._balance = _Balance(limit.tpm, now) if limit.tpm is not None else None
        self._recent: deque[float] = deque(maxlen=RECENT)
        self._probing = False

    @property
    def estimate(self) -> float | None:
        """The tokens a request reserves until it is answered (None until one has been answered)."""
        return HEADROOM * max(self._recent) if self._recent else None

    def grant(self, now: float, count: int = 1) -> Grant:
        """Grant up to `count` requests, or none and say when to ask again."""
        reserved = 0.0
        balance = self._balance
        if balance is not None:
            balance.refill(now)
            estimate = self.estimate
            if estimate is None:
                if self._probing:
                    return Grant((), retry_after=PROBE_POLL)
                count = 1
            else:
                reserved = estimate
            wait = balance.shortfall(reserved)
            if wait > 0:
                return Grant((), retry_after=wait)
            if reserved > 0:  # as many as the balance covers one after another, as the service checks them
                count = min(count, max(1, int(balance.level // reserved)))
            self._probing = estimate is None
            balance.level -= reserved * count
        slots = self._slots
        if slots is None:
            return Grant((0.0,) * count, reserved)
        return Grant(tuple(slots.take(now) for _ in range(count)), reserved)

    def report(self, now: float, *, adjust: float, billed: int = 0, answered: int = 0, finished: int = 0) -> None:
        """Settle `finished` requests: `answered` of them were billed `billed` tokens in all, and `adjust` is what
        they were billed minus what they had reserved (negative: tokens go back to the balance)."""
        if self._balance is not None:
            self._balance.refill(now)
            self._balance.level -= adjust
        if answered:
            self._recent.append(billed / answered)
        if finished:
            self._probing = False

    def settle(self, now: float, reserved: float, tokens: int | None) -> None:
        """Settle one request: billed `tokens`, or None when it got no answer (failed requests are not billed)."""
        if tokens is None:
            self.report(now, adjust=-reserved, finished=1)
        else:
            self.report(now, adjust=tokens - reserved, billed=tokens, answered=1, finished=1)


@runtime_checkable
class RateLimiter(Protocol):
    """What an embedder asks of a rate limiter, around every request it sends.

    `acquire()` / `aacquire()` return once the request may be sent (the async one never blocks the event loop),
    with the tokens the request holds; `settle(reserved, tokens)` is called exactly once afterwards with those and
    the tokens the service billed (None when the request got no answer). Implementations must be thread-safe.
    """

    def acquire(self) -> float: ...

    async def aacquire(self) -> float: ...

    def settle(self, reserved: float, tokens: int | None) -> None: ...


class Limiter:
    """A thread-safe `RateLimiter` for one process: a `Pacer` behind a lock, and the waiting.

    Pass one `Limiter` to several embedders to share an account's limits between them; a `RateLimit` passed to an
    embedder gets a limiter of its own. `clock`, `sleep` and `asleep` are injectable for tests.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._asleep = asleep
        self._lock = threading.Lock()
        self._pacer = Pacer(limit, clock())

    def __repr__(self) -> str:
        return f"Limiter(rpm={self.limit.rpm}, tpm={self.limit.tpm}, burst={self.limit.burst})"

    def _grant(self) -> Grant:
        with self._lock:
            return self._pacer.grant(self._clock())

    def acquire(self) -> float:
        while True:
            grant = self._grant()
            if grant.delays:
                break
            self._sleep(grant.retry_after)
        if grant.delays[0] > 0:
            try:
                self._sleep(grant.delays[0])
            except BaseException:
                self.settle(grant.reserved, None)
                raise
        return grant.reserved

    async def aacquire(self) -> float:
        while True:
            grant = self._grant()
            if grant.delays:
                break
            await self._asleep(grant.retry_after)
        if grant.delays[0] > 0:
            try:
                await self._asleep(grant.delays[0])
            except BaseException:  # cancelled while waiting for its slot: the tokens go back
                self.settle(grant.reserved, None)
                raise
        return grant.reserved

    def settle(self, reserved: float, tokens: int | None) -> None:
        with self._lock:
            self._pacer.settle(self._clock(), reserved, tokens)


def as_limiter(rate_limit: RateLimit | RateLimiter | None) -> RateLimiter | None:
    """The limiter an embedder uses for its `rate_limit` setting (None: no limit, and no cost per request)."""
    if rate_limit is None:
        return None
    if isinstance(rate_limit, RateLimit):
        return Limiter(rate_limit) if rate_limit.limited else None
    if isinstance(rate_limit, RateLimiter):
        return rate_limit
    raise InputError(
        f"rate_limit must be a RateLimit (e.g. RateLimit(rpm=1800, tpm=1_200_000)), a shared RateLimiter, or None; "
        f"got {type(rate_limit).__name__}."
    )


Parse = Callable[[bytes, "str | None"], BatchOutput]


def limited_send(
    limiter: RateLimiter,
    send: Callable[[str, dict[str, Any], Parse], BatchOutput],
    path: str,
    body: dict[str, Any],
    parse: Parse,
) -> BatchOutput:
    """`send(path, body, parse)` once `limiter` admits it, settling the tokens the answer was billed."""
    reserved = limiter.acquire()
    tokens: int | None = None
    try:
        output = send(path, body, parse)
        tokens = output.usage.total_tokens
        return output
    finally:
        limiter.settle(reserved, tokens)


async def alimited_send(
    limiter: RateLimiter,
    send: Callable[[str, dict[str, Any], Parse], Awaitable[BatchOutput]],
    path: str,
    body: dict[str, Any],
    parse: Parse,
) -> BatchOutput:
    reserved = await limiter.aacquire()
    tokens: int | None = None
    try:
        output = await send(path, body, parse)
        tokens = output.usage.total_tokens
        return output
    finally:
        limiter.settle(reserved, tokens)
