"""Running a scenario: one emulator process, then one worker process per tool and run, in the scenario's order.

Quick tools are run several times, round by round (every quick tool once, then again), so a burst of load from the
rest of the machine lands on one run of each rather than on all runs of one tool. A row reports the run whose key
metric is the median (with all runs' wall times kept). A tool whose first run takes `REPEAT_UNDER` seconds or more
runs once: its noise is small next to its time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass

from .emulator_process import REPO_ROOT, EmulatorProcess
from .scenarios import Scenario
from .tooling import Tool
from .worker import RESULT_PREFIX, WorkerResult, WorkerSpec

__all__ = ["Row", "run_scenario"]


REPEAT_UNDER = 10.0


@dataclass(frozen=True, slots=True)
class Row:
    scenario: Scenario
    tool: Tool
    result: WorkerResult
    """The median run."""
    samples: tuple[WorkerResult, ...] = ()
    """Every run, in order."""

    def metric(self) -> float | None:
        if self.result.status != "ok":
            return None
        value: float = getattr(self.result, self.scenario.metric)
        return value


def _run_worker(spec: WorkerSpec, timeout: float) -> WorkerResult:
    command = [sys.executable, "-m", "integration_tests.benchmarks.worker", json.dumps(asdict(spec))]
    try:
        done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return WorkerResult(status="timeout", error=f"stopped after {timeout:.0f} s")
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line[len(RESULT_PREFIX) :])
            data["by_status"] = {int(k): v for k, v in data["by_status"].items()}
            return WorkerResult(**data)
    tail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
    return WorkerResult(status="error", error=f"the worker printed no result: {tail[0]}"[:300])


def _median(scenario: Scenario, tool: Tool, samples: list[WorkerResult]) -> Row:
    ok = [sample for sample in samples if sample.status == "ok"]
    if len(ok) < len(samples):  # a failed run is the result: never hide it behind a good one
        chosen = next(sample for sample in samples if sample.status != "ok")
    else:
        chosen = sorted(ok, key=lambda sample: float(getattr(sample, scenario.metric)))[(len(ok) - 1) // 2]
    return Row(scenario, tool, chosen, tuple(samples))


def run_scenario(scenario: Scenario, progress: Callable[[Row], None] | None = None, *, repeats: int = 3) -> list[Row]:
    samples: dict[str, list[WorkerResult]] = {tool.name: [] for tool in scenario.tools}
    with EmulatorProcess(scenario.emulator) as control:
        for round_ in range(repeats):
            for tool in scenario.tools:
                runs = samples[tool.name]
                if round_ > 0 and (runs[0].status != "ok" or runs[0].wall >= REPEAT_UNDER):
                    continue
                spec = WorkerSpec(tool=tool.name, root=control.root, texts=scenario.workload.texts)
                runs.append(_run_worker(spec, scenario.timeout))
                if progress is not None:
                    progress(Row(scenario, tool, runs[-1], tuple(runs)))
    return [_median(scenario, tool, samples[tool.name]) for tool in scenario.tools]
