"""The results table, as aligned text for the terminal and as a Markdown table for `docs/performance.md`.

Columns: scenario, tool, wall s, CPU s (client process only), peak MB (the worker's RSS high-water mark), requests
and 429s (as the emulator counted them), × ideal (wall ÷ the scenario's ideal), × ours (the scenario's key metric ÷
this package's reference row: wall, except CPU s in P3 and peak MB in P4), and notes.
"""

from __future__ import annotations

from collections.abc import Sequence

from .runner import Row

__all__ = ["COLUMNS", "markdown", "notes", "scaling", "text"]

COLUMNS = ("scenario", "tool", "wall s", "CPU s", "peak MB", "requests", "429s", "× ideal", "× ours", "notes")
_RIGHT = frozenset(COLUMNS[2:9])


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "—"
    return f"{value / base:.2f}"


def _reference(rows: Sequence[Row], row: Row) -> float | None:
    if row.scenario.reference is None:
        return None
    for other in rows:
        if other.scenario is row.scenario and other.tool is row.scenario.reference:
            return other.metric()
    return None


def notes(row: Row) -> str:
    result, scenario = row.result, row.scenario
    if result.status != "ok":
        return f"{result.status}: {result.error}" if result.error else result.status
    parts = []
    values = sorted(float(getattr(sample, scenario.metric)) for sample in row.samples)
    if len(values) > 1:
        unit = {"wall": "s", "cpu": "CPU s", "peak_mb": "MB"}[scenario.metric]
        parts.append(f"median of {len(values)} ({values[0]:.2f}–{values[-1]:.2f} {unit})")
    if result.failed:
        parts.append(f"{result.failed} texts without a vector")
    if scenario.key == "emu" and result.wall > 0:
        parts.append(f"{result.requests / result.wall:.0f} req/s, emulator CPU {result.emulator_cpu:.2f} s")
    if scenario.emulator.rpm is not None and result.wall > 0:
        limit = scenario.emulator.rpm / 60
        answered = result.by_status.get(200, 0)
        share = result.throttled / result.requests if result.requests else 0.0
        parts.append(f"{answered / result.wall / limit:.2f}× the limit, 429 share {share:.0%}")
    if scenario.metric == "peak_mb" or scenario.key.startswith("N="):
        parts.append(f"base {result.base_mb:.0f} MB")
    return "; ".join(parts)


def cells(rows: Sequence[Row]) -> list[list[str]]:
    out = []
    for row in rows:
        result, ok = row.result, row.result.status == "ok"
        ideal = row.scenario.ideal
        out.append(
            [
                row.scenario.key,
                row.tool.name,
                f"{result.wall:.2f}" if ok else "—",
                f"{result.cpu:.2f}" if ok else "—",
                f"{result.peak_mb:.0f}" if ok else "—",
                str(result.requests) if ok else "—",
                str(result.throttled) if ok else "—",
                _ratio(result.wall if ok else None, ideal),
                _ratio(row.metric(), _reference(rows, row)),
                notes(row),
            ]
        )
    return out


def text(rows: Sequence[Row]) -> str:
    body = cells(rows)
    widths = [max(len(column), *(len(line[i]) for line in body)) for i, column in enumerate(COLUMNS)]

    def line(values: Sequence[str]) -> str:
        padded = (
            value.rjust(width) if column in _RIGHT else value.ljust(width)
            for column, value, width in zip(COLUMNS, values, widths, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(COLUMNS), rule, *(line(values) for values in body)])


def markdown(rows: Sequence[Row]) -> str:
    align = ["---:" if column in _RIGHT else "---" for column in COLUMNS]
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(value.replace("|", "\\|") for value in values) + " |" for values in cells(rows)]
    return "\n".join(lines)


def scaling(rows: Sequence[Row]) -> str:
    """Markdown: for each tool of the `N=…` scenarios, wall s (× ideal) and peak MB at each N."""
    scaled = [row for row in rows if row.scenario.key.startswith("N=")]
    sizes = sorted({row.scenario.workload.texts for row in scaled})
    names = list(dict.fromkeys(row.tool.name for row in scaled))
    header = ["tool", *(f"N={n}: wall s (× ideal)" for n in sizes), *(f"N={n}: peak MB" for n in sizes)]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for name in names:
        by_size = {row.scenario.workload.texts: row for row in scaled if row.tool.name == name}
        walls, peaks = [], []
        for n in sizes:
            row = by_size.get(n)
            if row is None or row.result.status != "ok":
                walls.append("—")
                peaks.append("—")
                continue
            walls.append(f"{row.result.wall:.2f} ({_ratio(row.result.wall, row.scenario.ideal)})")
            peaks.append(f"{row.result.peak_mb:.0f}")
        lines.append("| " + " | ".join([name, *walls, *peaks]) + " |")
    return "\n".join(lines)
