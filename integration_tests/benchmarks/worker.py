"""One tool, one workload, one process: build, warm up, reset the emulator's counters, then time the work.

    python -m integration_tests.benchmarks.worker '{"tool": "TextEmbedder.embed", "texts": 2000, ...}'

Running each tool in its own interpreter keeps the measurements apart: a peer's imports, module globals and
threads never touch another tool's numbers, and peak RSS is this tool's alone. What is measured:

- wall and CPU seconds (`time.process_time`: every thread of this process, user + system) around the call only,
  after the client is built, one warm-up request of 10 texts (not in the workload) has been answered, and one full
  garbage collection has run. Without that collection the collector's debt from the imports is paid by whichever
  call comes first: importing LlamaIndex leaves ~140,000 tracked objects, and the full pass over them (~110 ms)
  landed inside the timed call or not, depending on the tool. Every tool, peers included, starts with it paid;
- `base_mb`: resident memory just before the call (interpreter, imports, the client, the input list);
  `peak_mb`: the process's high-water mark (`VmHWM`) after it;
- requests, answers by status and the emulator's CPU seconds, as the emulator counted them during the call.

The result is one JSON line on stdout, prefixed with `RESULT_PREFIX`.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from .emulator_process import Control
from .peers import PEERS
from .tooling import AsyncEmbed, Outcome, SyncEmbed, Target, Tool, Unavailable
from .tools import TOOLS
from .workload import MODEL, iter_texts, text

__all__ = ["RESULT_PREFIX", "WorkerResult", "WorkerSpec", "all_tools"]

RESULT_PREFIX = "BENCH-RESULT "
WARM_UP_OFFSET = 10**9
"""Warm-up texts are numbered from here, so they never repeat a workload text."""


def all_tools() -> dict[str, Tool]:
    return {**TOOLS, **PEERS}


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    tool: str
    root: str
    """The emulator's `http://host:port`."""
    texts: int
    dimension: int = 1024


@dataclass
class WorkerResult:
    status: str = "ok"
    """ok | error | unavailable | timeout"""
    error: str | None = None
    wall: float = 0.0
    cpu: float = 0.0
    base_mb: float = 0.0
    peak_mb: float = 0.0
    vectors: int = 0
    failed: int = 0
    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    throttled: int = 0
    emulator_cpu: float = 0.0


def _memory_mb(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


class _Session:
    """The measured part, shared by sync and async tools."""

    def __init__(self, spec: WorkerSpec, tool: Tool, control: Control) -> None:
        self.spec, self.tool, self.control = spec, tool, control
        self.result = WorkerResult()
        self._emulator_cpu = 0.0

    def inputs(self) -> Iterable[str]:
        return iter_texts(self.spec.texts) if self.tool.streaming else list(iter_texts(self.spec.texts))

    def start(self) -> tuple[float, float]:
        gc.collect()  # the imports' collection debt, paid before the clock starts (see the module docstring)
        self.control.reset()
        self._emulator_cpu = self.control.stats().cpu_seconds
        self.result.base_mb = _memory_mb("VmRSS")
        return time.perf_counter(), time.process_time()

    def stop(self, started: tuple[float, float], outcome: Outcome | BaseException) -> None:
        wall, cpu = time.perf_counter() - started[0], time.process_time() - started[1]
        stats = self.control.stats()
        result = self.result
        result.wall, result.cpu, result.peak_mb = wall, cpu, _memory_mb("VmHWM")
        result.requests, result.by_status, result.throttled = stats.requests, stats.by_status, stats.throttled
        result.emulator_cpu = stats.cpu_seconds - self._emulator_cpu
        if isinstance(outcome, BaseException):
            result.status, result.error = "error", _describe(outcome)
        else:
            result.vectors, result.failed = outcome.vectors, outcome.failed


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _warm_up() -> list[str]:
    return [text(WARM_UP_OFFSET + i) for i in range(10)]


def _run_sync(session: _Session, target: Target) -> None:
    embed = cast(Callable[[Target], SyncEmbed], session.tool.build)(target)
    embed(_warm_up())
    inputs = session.inputs()
    started = session.start()
    try:
        outcome: Outcome | BaseException = embed(inputs)
    except Exception as exc:
        outcome = exc
    session.stop(started, outcome)


async def _run_async(session: _Session, target: Target) -> None:
    embed = cast(Callable[[Target], AsyncEmbed], session.tool.build)(target)
    await embed(_warm_up())
    inputs = session.inputs()
    started = session.start()
    try:
        outcome: Outcome | BaseException = await embed(inputs)
    except Exception as exc:
        outcome = exc
    session.stop(started, outcome)


def run(spec: WorkerSpec) -> WorkerResult:
    tool = all_tools()[spec.tool]
    control = Control(spec.root)
    target = Target(control.native_url, control.compatible_url, MODEL, spec.dimension)
    session = _Session(spec, tool, control)
    try:
        if tool.mode == "async":
            asyncio.run(_run_async(session, target))
        else:
            _run_sync(session, target)
    except Unavailable as exc:
        return WorkerResult(status="unavailable", error=str(exc))
    except Exception as exc:  # building or warming up failed: the tool did not run
        traceback.print_exc()
        return WorkerResult(status="error", error=_describe(exc))
    return session.result


def main(argv: list[str]) -> None:
    spec = WorkerSpec(**cast(dict[str, Any], json.loads(argv[0])))
    result = run(spec)
    sys.stdout.write(RESULT_PREFIX + json.dumps(asdict(result)) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
