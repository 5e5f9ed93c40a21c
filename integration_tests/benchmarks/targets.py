"""The issue's targets, checked against one run's rows: each is met, missed, or only reported.

- P1: every one of this package's six entry points within 1.11 × the floor, the floor being the larger of the
  ideal and the raw client's wall time in the same run; the default concurrency at least 5 × a sequential loop.
- emulator: at least 300 requests/s of 10 texts × 1024.
- P2: at least 0.90 × the rate limit in answered requests per second, no error reaching the caller; the share of
  requests answered 429 is reported.
- P3: client CPU at most 0.5 × the `dashscope` SDK's (sync: the SDK has no async text embedding), and below
  `OpenAIEmbeddings` on compatible mode (sync against sync, async against async, core and LangChain adapter).
- P4: peak RSS for the streaming API, reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import peers, tools
from .runner import Row
from .scenarios import OURS
from .tooling import Tool

__all__ = ["Check", "check"]

P1_FACTOR = 1.11
SEQUENTIAL_SPEEDUP = 5.0
EMULATOR_RPS = 300.0
P2_SHARE = 0.90
P3_SDK_FACTOR = 0.5


@dataclass(frozen=True, slots=True)
class Check:
    target: str
    measured: str
    passed: bool | None
    """None: reported, no threshold."""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "info"}[self.passed]


def _find(rows: Sequence[Row], key: str, tool: Tool) -> Row | None:
    for row in rows:
        if row.scenario.key == key and row.tool is tool:
            return row
    return None


def _ok(row: Row | None) -> bool:
    return row is not None and row.result.status == "ok" and row.result.failed == 0


def _missing(target: str, row: Row | None) -> Check:
    what = "not run" if row is None else f"{row.result.status}: {row.result.error or f'{row.result.failed} failed'}"
    return Check(target, what, False)


def _emulator(rows: Sequence[Row]) -> list[Check]:
    row = _find(rows, "emu", tools.LOAD)
    if row is None:
        return []
    target = f"emulator serves ≥ {EMULATOR_RPS:.0f} req/s (10 texts × 1024)"
    if not _ok(row):
        return [_missing(target, row)]
    rps = row.result.requests / row.result.wall
    return [Check(target, f"{rps:.0f} req/s", rps >= EMULATOR_RPS)]


def _latency_bound(rows: Sequence[Row]) -> list[Check]:
    raw, embed = _find(rows, "P1", tools.RAW), _find(rows, "P1", tools.EMBED)
    if raw is None or embed is None:
        return []
    ideal = embed.scenario.ideal or 0.0
    floor = max(ideal, raw.result.wall) if _ok(raw) else ideal
    out = []
    for tool in OURS:
        row = _find(rows, "P1", tool)
        target = f"P1 {tool.name} ≤ {P1_FACTOR} × floor ({floor:.2f} s)"
        if not _ok(row):
            out.append(_missing(target, row))
            continue
        assert row is not None
        ratio = row.result.wall / floor
        out.append(Check(target, f"{row.result.wall:.2f} s = {ratio:.2f} × floor", ratio <= P1_FACTOR))
    sequential = _find(rows, "P1", tools.SEQUENTIAL)
    target = f"P1 default concurrency ≥ {SEQUENTIAL_SPEEDUP:.0f} × a sequential loop"
    if _ok(sequential) and _ok(embed):
        assert sequential is not None
        speedup = sequential.result.wall / embed.result.wall
        out.append(Check(target, f"{speedup:.1f} ×", speedup >= SEQUENTIAL_SPEEDUP))
    else:
        out.append(_missing(target, sequential if not _ok(sequential) else embed))
    return out


def _rate_bound(rows: Sequence[Row]) -> list[Check]:
    out = []
    for tool in (tools.EMBED, tools.AEMBED):
        row = _find(rows, "P2", tool)
        if row is None:
            continue
        target = f"P2 {tool.name} ≥ {P2_SHARE:.2f} × the limit, no errors"
        if not _ok(row):
            out.append(_missing(target, row))
            continue
        result = row.result
        limit = (row.scenario.emulator.rpm or 0) / 60
        share = result.by_status.get(200, 0) / result.wall / limit
        out.append(Check(target, f"{share:.2f} × the limit, 0 errors", share >= P2_SHARE))
        throttled = result.throttled / result.requests if result.requests else 0.0
        out.append(
            Check(f"P2 {tool.name} 429 share", f"{result.throttled} of {result.requests} ({throttled:.1%})", None)
        )
    return out


_P3_PAIRS: tuple[tuple[Tool, Tool, float, bool], ...] = (
    # (ours, peer, factor, enforced). The SDK has no async text embedding: async against it is reported only.
    (tools.EMBED, peers.SDK, P3_SDK_FACTOR, True),
    (tools.AEMBED, peers.SDK, P3_SDK_FACTOR, False),
    (tools.EMBED, peers.OPENAI, 1.0, True),
    (tools.AEMBED, peers.AOPENAI, 1.0, True),
    (tools.LANGCHAIN, peers.OPENAI, 1.0, True),
    (tools.ALANGCHAIN, peers.AOPENAI, 1.0, True),
)


def _overhead(rows: Sequence[Row]) -> list[Check]:
    out = []
    for ours, other, factor, enforced in _P3_PAIRS:
        row, peer = _find(rows, "P3", ours), _find(rows, "P3", other)
        if row is None or peer is None:
            continue
        relation = "≤" if factor < 1 else "<"
        target = f"P3 {ours.name} CPU {relation} {factor:g} × {other.name}"
        if not (_ok(row) and _ok(peer)):
            out.append(_missing(target, row if not _ok(row) else peer))
            continue
        ratio = row.result.cpu / peer.result.cpu
        passed = (ratio <= factor if factor < 1 else ratio < factor) if enforced else None
        out.append(Check(target, f"{row.result.cpu:.2f} s vs {peer.result.cpu:.2f} s = {ratio:.2f} ×", passed))
    return out


def _memory(rows: Sequence[Row]) -> list[Check]:
    out = []
    for tool in (tools.EMBED_STREAM, tools.AEMBED_STREAM):
        row = _find(rows, "P4", tool)
        if row is None:
            continue
        target = f"P4 {tool.name} peak RSS, {row.scenario.workload.texts} texts"
        if row.result.status != "ok":
            out.append(Check(target, f"{row.result.status}: {row.result.error}", None))
            continue
        result = row.result
        grown = result.peak_mb - result.base_mb
        out.append(Check(target, f"{result.peak_mb:.0f} MB (base {result.base_mb:.0f} MB, +{grown:.0f} MB)", None))
    return out


def check(rows: Sequence[Row]) -> list[Check]:
    return [*_emulator(rows), *_latency_bound(rows), *_rate_bound(rows), *_overhead(rows), *_memory(rows)]
