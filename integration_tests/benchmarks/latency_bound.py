"""P1 alone: latency-bound throughput, 2,000 texts (~40 words) on text-embedding-v4 at 1024, 100 ms per request.

    .venv/bin/python integration_tests/benchmarks/latency_bound.py [--texts 2000] [--latency 0.1] [--no-peers]

The same scenario as `python -m integration_tests.benchmarks --only P1`, with its size and latency adjustable: the
raw-client floor, this package's six entry points, a sequential loop and (unless `--no-peers`) the peers, each in
its own process against one emulator process.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
from pathlib import Path
from typing import Any


def _package(name: str) -> Any:
    """Import `integration_tests.benchmarks.<name>`, also when this file is run as a script."""
    if not __package__:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    return importlib.import_module(f"integration_tests.benchmarks.{name}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--no-peers", action="store_true", help="only the floor and this package's tools")
    args = parser.parse_args()
    scenarios, runner, table, targets = (_package(n) for n in ("scenarios", "runner", "table", "targets"))
    scenario = scenarios.latency_bound(args.texts, args.latency, _package("tools").default_concurrency())
    if args.no_peers:
        scenario = dataclasses.replace(scenario, tools=tuple(t for t in scenario.tools if t not in scenarios.PEERS))
    rows = runner.run_scenario(scenario)
    print(scenario.title)
    print(table.text(rows))
    for check in targets.check(rows):
        print(f"[{check.verdict:>6}] {check.target}: {check.measured}")


if __name__ == "__main__":
    main()
