"""Ray Data: embed a dataset's text column with `ds.map_batches(DashScopeEmbedder, ...)`, pacing the whole job to
one account's rate limits.

```python
ds = ds.map_batches(
    DashScopeEmbedder,
    fn_constructor_kwargs={"model": "text-embedding-v4", "dimension": 1024, "rpm": 1800, "tpm": 1_200_000},
    concurrency=4, batch_size=200, num_cpus=0.25,
)
```

Each actor builds one `TextEmbedder` (one HTTP connection pool) in `__init__` and embeds each batch with it,
`max_concurrency` requests at a time. DashScope's limits are per account and model, so with `rpm` / `tpm` every
actor paces through one named Ray actor that holds the account's buckets (`_AccountLedger`, a `Pacer`): actors lease
request slots from it in chunks and report the tokens they were billed, so the account's RPM and TPM hold however
many actors there are.

Why chunks, and how big: one lease is one actor round trip (about 0.5–1 ms on one node), cheap next to a request
(100–300 ms) but not free, and the ledger is one process serving every actor. A lease covers `LEASE_SECONDS`
(a quarter second) of the account's request rate, at least 1 and at most the actor's `max_concurrency`: at
1,800 RPM that is 7 slots, so each actor asks about 4 times a second at full rate whatever the account's limit, and
an actor that stops early (its last batch) wastes at most a quarter second of the account's capacity. Slots are
consecutive on the account's schedule, so actors leasing in turn interleave without ever sending faster than the
limit; a slot not used within half an interval of its time is dropped (sending it late would bunch requests).

What travels: `fn_constructor_kwargs` are pickled into Ray's object store and task specs as they are. Pass no
`api_key` there if you can: set `DASHSCOPE_API_KEY` in the workers' environment (the cluster's, or
`ray.init(runtime_env={"env_vars": ...})`, which also travels in plain text but is not logged with each task). The
ledger's name carries only a hash of the key (with the endpoint, workspace and model), so two accounts never share
a ledger and the key itself never leaves the actors.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import ray
from pydantic import SecretStr

from .embedder import DEFAULT_MAX_CONCURRENCY, resolve_api_key
from .errors import DashScopeError, InputError
from .ratelimit import Pacer, RateLimit
from .regions import resolve_endpoint
from .text import TextEmbedder
from .transport import DEFAULT_TIMEOUT

__all__ = ["LEASE_SECONDS", "DashScopeEmbedder", "RowsFailedError", "SharedLimiter", "ledger_name"]

LEASE_SECONDS = 0.25
"""How much of the account's request schedule one lease covers (see the module docstring)."""
TPM_ONLY_LEASE = 4
"""Requests per lease when only TPM is limited (there is no request rate to size the lease by)."""
LEDGER_NAMESPACE = "dashscope-embeddings"
"""Ray namespace of the ledgers, so every job on a cluster that uses one account shares its ledger."""
LEDGER_IDLE_EXIT = 600.0
"""Seconds after its last lease a ledger ends itself."""
MIN_GRACE = 0.05
"""Seconds a leased slot may be late and still be used."""


class RowsFailedError(DashScopeError):
    """Rows of a batch got no vector. `rows` are their positions in the batch, or their ids with `id_column`."""

    def __init__(self, message: str, rows: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.rows = rows

    def __reduce__(self) -> tuple[Any, ...]:  # crosses process boundaries inside Ray's task errors
        return (type(self), (str(self), self.rows))


class _AccountLedger:
    """The account's buckets, shared by every actor of a job: a `Pacer` behind a Ray actor (which runs one method
    call at a time, so it needs no lock)."""

    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        idle_exit: float | None = None,
    ) -> None:
        self.limit = RateLimit(rpm=rpm, tpm=tpm, burst=burst)
        self._clock = clock
        self.pacer = Pacer(self.limit, clock())
        self.leases = 0
        self.used = clock()
        if idle_exit is not None:
            threading.Thread(target=self._exit_when_idle, args=(idle_exit,), daemon=True).start()

    def _exit_when_idle(self, idle: float) -> None:
        """A detached actor outlives the job that made it; this one ends itself once nobody has leased for `idle`
        seconds (a later job simply creates a new one, with full buckets: the account's have refilled by then)."""
        while True:
            time.sleep(min(idle, 30.0))
            if self._clock() - self.used > idle:
                ray.kill(ray.get_runtime_context().current_actor)
                return

    def lease(
        self, count: int, adjust: float, billed: int, answered: int, finished: int
    ) -> tuple[tuple[float, ...], float, float, bool]:
        """Settle what the caller reports, then grant up to `count` slots: (delays, reserved each, retry after,
        whether the grant is the probe that learns the token estimate)."""
        now = self.used = self._clock()
        self.pacer.report(now, adjust=adjust, billed=billed, answered=answered, finished=finished)
        probe = self.limit.tpm is not None and self.pacer.estimate is None
        grant = self.pacer.grant(now, count)
        self.leases += 1
        return grant.delays, grant.reserved, grant.retry_after, probe and bool(grant.delays)

    def report(self, adjust: float, billed: int, answered: int, finished: int) -> None:
        self.pacer.report(self._clock(), adjust=adjust, billed=billed, answered=answered, finished=finished)

    def limits(self) -> tuple[int | None, int | None, int]:
        return self.limit.rpm, self.limit.tpm, self.limit.burst

    def stats(self) -> dict[str, Any]:
        return {"leases": self.leases, "estimate": self.pacer.estimate}


def ledger_name(base_url: str, workspace: str | None, model: str, api_key: SecretStr) -> str:
    """The ledger's actor name: one per account (key), endpoint, workspace and model; the key only as a hash."""
    account = f"{base_url}\n{workspace or ''}\n{model}\n{api_key.get_secret_value()}"
    return f"dashscope-ratelimit-{hashlib.sha256(account.encode()).hexdigest()[:24]}"


def ledger(name: str, limit: RateLimit, *, idle_exit: float = LEDGER_IDLE_EXIT) -> Any:
    """The account's ledger actor, created by the first caller (`get_if_exists`), found by the others.

    Detached: otherwise it would be owned by the map actor that happened to create it, and die when Ray Data scales
    that actor down while the others still lease from it. It ends itself after `idle_exit` seconds unused.
    """
    actor: Any = ray.remote(_AccountLedger)  # a sync actor: one call at a time
    handle = actor.options(
        name=name, namespace=LEDGER_NAMESPACE, get_if_exists=True, lifetime="detached", num_cpus=0
    ).remote(limit.rpm, limit.tpm, limit.burst, idle_exit=idle_exit)
    rpm, tpm, _ = ray.get(handle.limits.remote())
    if (rpm, tpm) != (limit.rpm, limit.tpm):
        raise InputError(
            f"this account's shared rate limit already runs with rpm={rpm}, tpm={tpm} in this Ray job; got "
            f"rpm={limit.rpm}, tpm={limit.tpm}. Pass the same limits to every DashScopeEmbedder of one account."
        )
    return handle


def lease_size(limit: RateLimit, max_concurrency: int) -> int:
    if limit.rpm is None:
        return min(TPM_ONLY_LEASE, max_concurrency)
    return max(1, min(max_concurrency, math.ceil(limit.rpm / 60 * LEASE_SECONDS)))


class SharedLimiter:
    """A `RateLimiter` for one actor that leases request slots from the account's ledger actor.

    Slots are kept locally with their times on this process's clock (the ledger's delays start when its answer
    arrives, so the network only ever makes them later). Tokens are reported back with the next lease; the answer
    to the probe (the first request while TPM has no estimate) is reported at once, as every other actor waits on it.
    """

    def __init__(
        self,
        ledger: Any,
        limit: RateLimit,
        *,
        lease: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        reconnect: Callable[[], Any] | None = None,
    ) -> None:
        """`ledger`: an `_AccountLedger` actor handle (`reconnect` makes a new one if it has died), or (in tests)
        an `_AccountLedger` itself."""
        self.limit = limit
        self.lease = lease
        self._handle = ledger
        self._reconnect = reconnect
        self._lease: Callable[..., Any] = ledger.lease if isinstance(ledger, _AccountLedger) else self._lease_remote
        self._send_report: Callable[..., Any] = (
            ledger.report if isinstance(ledger, _AccountLedger) else lambda *args: self._handle.report.remote(*args)
        )
        self._clock = clock
        self._sleep = sleep
        # A slot up to half an interval late is still used (at least 50 ms: a thread switch must not expire it).
        self._grace = max(30.0 / limit.rpm, MIN_GRACE) if limit.rpm is not None else LEASE_SECONDS
        self._slots: deque[tuple[float, float]] = deque()
        self._state = threading.Lock()
        self._leasing = threading.Lock()
        self._adjust, self._billed, self._answered, self._finished = 0.0, 0, 0, 0
        self._probe_out = False
        self.leases = 0

    def _lease_remote(self, *args: Any) -> Any:
        try:
            return ray.get(self._handle.lease.remote(*args))
        except ray.exceptions.RayActorError:
            if self._reconnect is None:
                raise
            self._handle = self._reconnect()  # it ended itself after an idle spell, or its node went away
            return ray.get(self._handle.lease.remote(*args))

    def _take_slot(self) -> tuple[float, float] | None:
        with self._state:
            now = self._clock()
            while self._slots and self._slots[0][0] < now - self._grace:
                self._adjust -= self._slots.popleft()[1]  # expired: its reservation goes back
            return self._slots.popleft() if self._slots else None

    def _report(self) -> tuple[float, int, int, int]:
        with self._state:
            report = (self._adjust, self._billed, self._answered, self._finished)
            self._adjust, self._billed, self._answered, self._finished = 0.0, 0, 0, 0
        return report

    def acquire(self) -> float:
        while (slot := self._take_slot()) is None:
            with self._leasing:
                if self._slots:  # another thread leased while this one waited
                    continue
                delays, reserved, retry_after, probe = self._lease(self.lease, *self._report())
                self.leases += 1
                if not delays:
                    self._sleep(retry_after)
                    continue
                start = self._clock()
                with self._state:
                    self._probe_out = self._probe_out or probe
                    self._slots.extend((start + delay, reserved) for delay in delays)
        at, reserved = slot
        wait = at - self._clock()
        if wait > 0:
            try:
                self._sleep(wait)
            except BaseException:
                self.settle(reserved, None)
                raise
        return reserved

    async def aacquire(self) -> float:
        return await asyncio.to_thread(self.acquire)

    def settle(self, reserved: float, tokens: int | None) -> None:
        with self._state:
            self._adjust += (tokens or 0) - reserved
            self._finished += 1
            if tokens is not None:
                self._billed += tokens
                self._answered += 1
            flush, self._probe_out = self._probe_out, False
        if flush:
            self._send_report(*self._report())


class DashScopeEmbedder:
    """A Ray Data callable class: adds a column of float32 vectors, shape (rows, dimension), to each batch.

    ```python
    ds.map_batches(DashScopeEmbedder, fn_constructor_kwargs={"dimension": 1024, "rpm": 1800}, concurrency=4)
    ```

    - `model`, `dimension`, `text_type` (`"document"` default; `"query"` for queries; None sends none),
      `instruct` (queries on text-embedding-v4).
    - `input_column` (`"text"`) and `output_column` (`"embedding"`); `id_column` names the rows in errors.
    - `api_key`, `region`, `workspace`, `base_url`: as `TextEmbedder`, falling back to `DASHSCOPE_API_KEY` /
      `DASHSCOPE_HTTP_BASE_URL` in the workers' environment (prefer that to passing the key: see the module
      docstring on what travels).
    - `max_concurrency`: requests in flight per actor; the account sees `concurrency × max_concurrency` at most.
    - `rpm`, `tpm`: the account's limits for this model, shared by every actor of the job (a named ledger actor).
    - `truncate`, `timeout`, `max_retries`: as `TextEmbedder`.

    Rows are never dropped: a batch either gets a vector for every row, in row order, or raises (a
    `RowsFailedError` naming the rows, from the embedder's error).
    """

    def __init__(
        self,
        model: str = "text-embedding-v4",
        *,
        dimension: int | None = None,
        text_type: str | None = "document",
        instruct: str | None = None,
        input_column: str = "text",
        output_column: str = "embedding",
        id_column: str | None = None,
        api_key: str | SecretStr | None = None,
        region: str | None = None,
        workspace: str | None = None,
        base_url: str | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        rpm: int | None = None,
        tpm: int | None = None,
        truncate: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        allow_insecure_http: bool = False,
    ) -> None:
        key = resolve_api_key(api_key)
        del api_key
        limit = RateLimit(rpm=rpm, tpm=tpm)
        self.limiter: SharedLimiter | None = None
        if limit.limited:
            endpoint = resolve_endpoint(
                region=region, workspace=workspace, base_url=base_url, allow_insecure_http=allow_insecure_http
            )
            name = ledger_name(endpoint.base_url, workspace, model, key)
            self.limiter = SharedLimiter(
                ledger(name, limit),
                limit,
                lease=lease_size(limit, max_concurrency),
                reconnect=functools.partial(ledger, name, limit),
            )
        self.embedder = TextEmbedder(
            model,
            dimension=dimension,
            api_key=key,
            region=region,
            workspace=workspace,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            truncate=truncate,
            allow_insecure_http=allow_insecure_http,
            rate_limit=self.limiter,
        )
        self.text_type = text_type
        self.instruct = instruct
        self.input_column = input_column
        self.output_column = output_column
        self.id_column = id_column

    def __repr__(self) -> str:
        return f"DashScopeEmbedder({self.embedder!r}, input_column={self.input_column!r})"

    def __call__(self, batch: Mapping[str, np.ndarray[Any, Any]] | Any) -> Any:
        """Ray's default batch format (a dict of numpy arrays), or a pandas DataFrame (`batch_format="pandas"`)."""
        if _is_dataframe(batch):
            frame: Any = batch
            vectors = self._embed(frame[self.input_column].tolist() if self.input_column in frame else None, frame)
            frame = frame.copy()
            frame[self.output_column] = list(vectors)
            return frame
        mapping = dict(batch)
        column = mapping.get(self.input_column)
        texts = None if column is None else column.tolist() if hasattr(column, "tolist") else list(column)
        mapping[self.output_column] = self._embed(texts, mapping)
        return mapping

    def _embed(self, texts: list[Any] | None, batch: Any) -> np.ndarray[Any, np.dtype[np.float32]]:
        if texts is None:
            raise InputError(
                f"the batch has no column {self.input_column!r} (columns: {', '.join(map(str, batch.keys()))}); "
                f"pass input_column=... in fn_constructor_kwargs."
            )
        try:
            result = self.embedder.embed(texts, text_type=self.text_type, instruct=self.instruct)  # type: ignore[arg-type]
        except DashScopeError as error:
            raise self._rows_failed(error, len(texts), batch) from error
        return np.asarray(result.embeddings, dtype=np.float32).reshape(len(texts), -1)

    def _rows_failed(self, error: DashScopeError, count: int, batch: Any) -> RowsFailedError:
        if isinstance(error, InputError) and error.index is not None:
            positions: tuple[int, ...] = (error.index,)
        else:
            positions = error.failed_indices or tuple(range(count))
        if self.id_column is not None and self.id_column in batch:
            ids = list(batch[self.id_column])
            rows: tuple[Any, ...] = tuple(_plain(ids[i]) for i in positions)
            what = f"{self.id_column} "
        else:
            rows, what = positions, "positions in the batch "
        shown = ", ".join(map(str, rows[:10])) + (f", … ({len(rows)} in all)" if len(rows) > 10 else "")
        return RowsFailedError(
            f"{len(rows)} of {count} rows got no embedding (column {self.input_column!r}; {what}{shown}): "
            f"{type(error).__name__}: {error}",
            rows,
        )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _is_dataframe(batch: object) -> bool:
    return type(batch).__name__ == "DataFrame" and hasattr(batch, "iloc")
