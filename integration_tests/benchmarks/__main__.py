"""Run the benchmarks and print the table and the targets:

    .venv/bin/python -m integration_tests.benchmarks [--quick] [--only P1,P3] [--markdown FILE] [--json FILE]

From the repository root, with the `bench` extra installed (the peers). `--quick` runs every scenario at a fifth of
its size, to check the harness, not the targets. Takes about 25 minutes in full: the peers embed one request at a
time, and P2 is paced by its rate limit.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict

from .environment import Environment
from .runner import Row, run_scenario
from .scenarios import Scenario, all_scenarios
from .table import markdown, scaling, text
from .targets import Check, check
from .tools import default_concurrency

GROUPS = ("emu", "P1", "P2", "P3", "P4", "scaling")


def _selected(scenarios: list[Scenario], only: str | None) -> list[Scenario]:
    if not only:
        return scenarios
    wanted = {key.strip() for key in only.split(",")}
    unknown = wanted - set(GROUPS)
    if unknown:
        raise SystemExit(f"unknown scenario {', '.join(sorted(unknown))}; choose from {', '.join(GROUPS)}")
    return [s for s in scenarios if s.key in wanted or ("scaling" in wanted and s.key.startswith("N="))]


def _progress(row: Row) -> None:
    result = row.result
    summary = f"{result.wall:7.2f} s  {result.cpu:6.2f} CPU s" if result.status == "ok" else result.status
    print(f"  {row.scenario.key:8} {row.tool.name:48} {summary}", file=sys.stderr, flush=True)


def _checks_text(checks: Sequence[Check]) -> str:
    return "\n".join(f"[{c.verdict:>6}] {c.target}: {c.measured}" for c in checks)


def _report(environment: Environment, scenarios: Sequence[Scenario], rows: Sequence[Row]) -> str:
    checks = check(rows)
    parts = [
        f"Measured {environment.describe()}",
        "",
        *(f"- `{s.key}`: {s.title}; emulator {s.emulator.describe()}" for s in scenarios),
        "",
        markdown(rows),
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        *(f"| {c.target} | {c.measured} | {c.verdict} |" for c in checks),
    ]
    if any(row.scenario.key.startswith("N=") for row in rows):
        parts += ["", scaling(rows)]
    return "\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integration_tests.benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="every scenario at a fifth of its size")
    parser.add_argument("--only", metavar="KEYS", help=f"comma-separated subset of {', '.join(GROUPS)}")
    parser.add_argument("--markdown", metavar="FILE", help="also write the report as Markdown")
    parser.add_argument("--json", metavar="FILE", help="also write every row's raw measurements as JSON")
    parser.add_argument(
        "--repeats", type=int, default=None, help="runs of each tool under 10 s, median reported (default 3; 1 quick)"
    )
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    args = parser.parse_args(argv)

    repeats = args.repeats or (1 if args.quick else 3)
    environment = Environment.capture()
    scenarios = _selected(all_scenarios(quick=args.quick, concurrency=default_concurrency()), args.only)
    rows: list[Row] = []
    for scenario in scenarios:
        print(f"{scenario.key}: {scenario.title}; emulator {scenario.emulator.describe()}", file=sys.stderr)
        rows += run_scenario(scenario, _progress, repeats=repeats)

    checks = check(rows)
    print(f"Measured {environment.describe()}\n")
    print(text(rows))
    print()
    print(_checks_text(checks))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write(_report(environment, scenarios, rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            records = [{"scenario": r.scenario.key, "tool": r.tool.name, **asdict(r.result)} for r in rows]
            json.dump({"environment": asdict(environment), "rows": records}, out, indent=1)
    return 1 if args.strict and any(c.passed is False for c in checks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
