"""Fault injection: the failures a client must survive, at seeded, reproducible rates.

One `random.Random(seed)` (under a lock) draws a fixed set of numbers for every request, whatever happens to it, so
a given seed gives the same fault sequence for the same request sequence. What each fault does:

- `latency` + `jitter`: wait `latency + U(0, jitter)` seconds before answering (async code awaits; the sync
  transport sleeps the calling thread).
- `hang`: never answer (probability, `True` = every request). Transports raise `httpx.ReadTimeout` once the client's
  read timeout has passed; a served emulator holds the connection until the client leaves or the server stops.
- `drop_rate`: the connection ends without a complete response (in-process: `httpx.RemoteProtocolError`).
- `rpm` / `tpm`: token buckets refilled continuously (the service enforces RPM/TPM per minute and per second,
  api-facts §3) holding one second's worth (at least one request; `burst` sets the RPM bucket's size in
  requests); a request the bucket cannot cover answers 429
  `Throttling.RateQuota` with `Retry-After` (whole seconds until it can). A request bigger than the whole bucket
  passes when the bucket is full and leaves it in debt, so every request can eventually be served.
- `throttle_rate`: 429 with the plain `Throttling` code, "Requests throttling triggered.", and no `Retry-After`
  (whether the service sends one with this code is not documented, so the client's own backoff must cope). It is
  decided with the RPM limit, after authentication and before validation, and takes nothing from the buckets.
- `error_rate`: 500 `InternalError`.
- `malformed_rate`: 200 whose body is cut in half (not valid JSON).
- `missing_rate`: 200 with one embedding (seeded choice) removed.
- `shuffle`: the embeddings come back in a seeded order that is never the input order (for two or more texts), so
  a client that ignores `text_index` / `index` is caught every time.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

from .errors import ServiceError

__all__ = ["FaultEngine", "Faults", "Rolls", "shuffled_order"]


@dataclass(frozen=True, slots=True)
class Faults:
    """What to inject. Rates are probabilities in [0, 1]; `hang` accepts `True` (every request) or a rate."""

    latency: float = 0.0
    jitter: float = 0.0
    rpm: int | None = None
    tpm: int | None = None
    burst: int | None = None
    """Requests the RPM bucket holds (default: one second's worth, at least 1)."""
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    missing_rate: float = 0.0
    shuffle: bool = False
    hang: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("latency", "jitter"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("error_rate", "throttle_rate", "drop_rate", "malformed_rate", "missing_rate", "hang"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        for name in ("rpm", "tpm", "burst"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 (None disables it)")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True, slots=True)
class Rolls:
    """The fate of one request, decided before it is handled."""

    delay: float = 0.0
    hang: bool = False
    drop: bool = False
    error: bool = False
    throttle: bool = False
    malformed: bool = False
    missing: bool = False
    order_seed: int = 0
    """Seeds the choice of the removed embedding and the shuffled order."""


class _Bucket:
    """A token bucket that may go into debt (see the module docstring)."""

    def __init__(self, per_minute: int, now: float, capacity: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(capacity) if capacity is not None else max(1.0, self.rate)
        self.level = self.capacity
        self.stamp = now

    def take(self, amount: int, now: float) -> int:
        """Take `amount` and return 0, or return the whole seconds to wait (at least 1) and take nothing.

        A request needs `amount` in the bucket, or a full bucket when it is bigger than the whole bucket.
        """
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        need = min(float(amount), self.capacity)
        if self.level + 1e-9 < need:
            return max(1, math.ceil((need - self.level) / self.rate - 1e-9))
        self.level -= amount
        return 0


class FaultEngine:
    """Draws `Rolls` and keeps the rate-limit buckets for one `Faults` setting. Thread-safe."""

    def __init__(self, faults: Faults, clock: Callable[[], float] = time.monotonic) -> None:
        self.faults = faults
        self._clock = clock
        self._lock = threading.Lock()
        self._random = random.Random(faults.seed)
        now = clock()
        self._requests = _Bucket(faults.rpm, now, faults.burst) if faults.rpm else None
        self._tokens = _Bucket(faults.tpm, now) if faults.tpm else None

    def roll(self) -> Rolls:
        f = self.faults
        with self._lock:
            draw = self._random.random
            jitter, hang, drop, error, malformed, missing, throttle = (draw() for _ in range(7))
            order_seed = self._random.getrandbits(32)
        return Rolls(
            delay=f.latency + jitter * f.jitter,
            hang=hang < f.hang,
            drop=drop < f.drop_rate,
            error=error < f.error_rate,
            throttle=throttle < f.throttle_rate,
            malformed=malformed < f.malformed_rate,
            missing=missing < f.missing_rate,
            order_seed=order_seed,
        )

    def admit_request(self, rolls: Rolls | None = None) -> None:
        """Raise the injected 429 if `rolls` say so, else take one request from the RPM bucket or raise its 429."""
        if rolls is not None and rolls.throttle:
            raise ServiceError.throttling()
        self._take(self._requests, 1)

    def admit_tokens(self, tokens: int) -> None:
        """Take `tokens` from the TPM bucket, or raise 429."""
        self._take(self._tokens, tokens)

    def _take(self, bucket: _Bucket | None, amount: int) -> None:
        if bucket is None:
            return
        with self._lock:
            wait = bucket.take(amount, self._clock())
        if wait:
            raise ServiceError.throttled(wait)


def shuffled_order(n: int, seed: int) -> list[int]:
    """A seeded permutation of range(n) that differs from the identity whenever n >= 2."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    if n >= 2 and order == sorted(order):
        order = order[1:] + order[:1]
    return order
