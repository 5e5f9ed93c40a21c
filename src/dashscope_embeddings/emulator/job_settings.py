"""How emulated jobs behave in time, and what goes wrong with them: `JobTiming`, `JobFaults`, `JobClock`.

Jobs (text-embedding-async-* tasks and Batch API batches) never run in a thread. Each one is a timeline fixed when
it is created (queued, then running for a time that grows with its lines, then done) and evaluated lazily whenever
a request looks at it, against an injectable clock. So tests choose how long a job takes (the defaults finish a
small job in a few hundredths of a second), or freeze and advance time with a fake clock without sleeping.

`JobFaults` are scenarios, not rates: unlike the per-request `Faults`, a job failure is a property of the job (it is
captured when the job is created), while `download_failures` counts down over the next downloads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["JobClock", "JobFaults", "JobTiming"]


@dataclass(frozen=True, slots=True)
class JobTiming:
    """Durations (seconds of the emulator's clock) and the service's job limits.

    The limits default to the documented ones (api-facts §3 and §5): 1 task submission per second, 3 tasks running
    and 50 queued or running per account, results kept 24 h.
    """

    queued: float = 0.02
    """Time a job waits before it runs (task PENDING, batch `validating`)."""
    run: float = 0.02
    """Time every job runs at least (task RUNNING, batch `in_progress`)."""
    per_line: float = 0.0001
    """Extra running time per input line."""
    finalizing: float = 0.01
    """Batches: time spent `finalizing` before `completed`, and `cancelling` before `cancelled`."""
    submit_interval: float = 1.0
    """Tasks: seconds between two submissions of one account (1 RPS); 0 disables the limit."""
    running_tasks: int = 3
    queued_tasks: int = 50
    result_ttl: float = 86_400.0
    """How long a task's result URL stays valid (task data and result URLs live 24 h)."""

    def __post_init__(self) -> None:
        for name in ("queued", "run", "per_line", "finalizing", "submit_interval", "result_ttl"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.running_tasks < 1 or self.queued_tasks < self.running_tasks:
            raise ValueError("need running_tasks >= 1 and queued_tasks >= running_tasks")

    def running_time(self, lines: int) -> float:
        return self.run + self.per_line * lines


@dataclass(frozen=True, slots=True)
class JobFaults:
    """Job failures to inject (`Emulator(job_faults=...)` or `emu.job_faults = JobFaults(...)`).

    - `fail`: `(code, message)`: every job created from now on ends FAILED (task) / `failed` (batch) with it.
    - `failed_lines`: batch requests (0-based line numbers of the input file) answered with 500 `InternalError`
      in the error file instead of a vector.
    - `download_failures`: the next N result downloads (task result URLs, batch file contents) answer 500.
    - `stall`: jobs created from now on never finish (RUNNING / `in_progress` until a batch expires).
    - `shuffle_results`: result files list their lines in a shuffled order (never the input order for 2+ lines).
    """

    fail: tuple[str, str] | None = None
    failed_lines: frozenset[int] = field(default_factory=frozenset)
    download_failures: int = 0
    stall: bool = False
    shuffle_results: bool = False

    def __init__(
        self,
        *,
        fail: tuple[str, str] | None = None,
        failed_lines: Iterable[int] = (),
        download_failures: int = 0,
        stall: bool = False,
        shuffle_results: bool = False,
    ) -> None:
        if download_failures < 0:
            raise ValueError("download_failures must be >= 0")
        object.__setattr__(self, "fail", fail)
        object.__setattr__(self, "failed_lines", frozenset(failed_lines))
        object.__setattr__(self, "download_failures", download_failures)
        object.__setattr__(self, "stall", stall)
        object.__setattr__(self, "shuffle_results", shuffle_results)


class JobClock:
    """Monotonic time for job timelines, and the wall-clock time it stands for (for timestamps and URL expiry).

    `clock` is any monotonic function (default `time.monotonic`); a test passes its own and advances it.
    """

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or time.monotonic
        self._origin = self._clock()
        self._wall_origin = time.time()

    def now(self) -> float:
        return self._clock()

    def wall(self, at: float | None = None) -> float:
        """Unix time of monotonic instant `at` (default: now)."""
        return self._wall_origin + ((self.now() if at is None else at) - self._origin)
