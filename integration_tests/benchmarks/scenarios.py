"""The issue's scenarios: which emulator, which workload, which tools, and what "ideal" and "this package" mean.

Each scenario starts one emulator process and runs its tools one after another against it, each in its own worker
process (see `worker`), with the emulator's counters and rate-limit buckets reset before each timed call.

| key | emulator | workload | key metric |
|---|---|---|---|
| `emu` | 0 ms | 1,000 requests of 10 texts × 1024 from a raw load generator | requests/s |
| `P1` | 100 ms per request | 2,000 texts at 1024 | wall s (ideal: ceil(200 / C) × 0.1 s) |
| `P2` | 100 ms, 600 RPM, burst 10 | 5,000 texts | wall s (ideal: (500 − burst) / 10 per s) |
| `P3` | 0 ms | 10,000 texts at 1024 | client CPU s |
| `P4` | 0 ms | 200,000 texts through the streaming API | peak RSS |
| `N=…` | 100 ms | 1k, 4k, 16k texts: list and streaming forms | wall s and peak RSS |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from . import peers
from . import tools as ours
from .emulator_process import EmulatorSettings
from .tooling import Tool
from .workload import Workload

__all__ = ["Metric", "Scenario", "all_scenarios"]

Metric = Literal["wall", "cpu", "peak_mb"]


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    title: str
    emulator: EmulatorSettings
    workload: Workload
    tools: tuple[Tool, ...]
    metric: Metric
    """What "× ours" compares: wall seconds, client CPU seconds or peak RSS."""
    reference: Tool | None = ours.EMBED
    """The row "× ours" divides by (None: no such comparison)."""
    ideal: float | None = None
    """Wall seconds with no client or server cost at all (None where only the client's cost is measured)."""
    timeout: float = 600.0
    """Seconds a worker may take before it is stopped and its row marked as a timeout."""


OURS = (
    ours.EMBED,
    ours.AEMBED,
    ours.LANGCHAIN,
    ours.ALANGCHAIN,
    ours.LLAMA_INDEX,
    ours.ALLAMA_INDEX,
)
PEERS = tuple(peers.PEERS.values())


def emulator_throughput(texts: int, concurrency: int) -> Scenario:
    return Scenario(
        key="emu",
        title=f"emulator throughput: raw load, C={concurrency}, no parsing, 10 texts × 1024 per request",
        emulator=EmulatorSettings(),
        workload=Workload(texts),
        tools=(ours.LOAD,),
        metric="wall",
        reference=None,
    )


def latency_bound(texts: int, latency: float, concurrency: int) -> Scenario:
    workload = Workload(texts)
    return Scenario(
        key="P1",
        title=f"latency-bound: {texts} texts, {latency * 1000:.0f} ms per request, default C={concurrency}",
        emulator=EmulatorSettings(latency=latency),
        workload=workload,
        tools=(ours.RAW, *OURS, ours.SEQUENTIAL, *PEERS),
        metric="wall",
        ideal=workload.ideal_seconds(concurrency, latency),
    )


def rate_bound(texts: int, rpm: int, burst: int, latency: float) -> Scenario:
    workload = Workload(texts)
    return Scenario(
        key="P2",
        title=f"rate-bound: {texts} texts, {rpm} RPM (burst {burst}), {latency * 1000:.0f} ms per request",
        emulator=EmulatorSettings(latency=latency, rpm=rpm, burst=burst),
        workload=workload,
        tools=(ours.EMBED, ours.AEMBED, peers.SDK, peers.COMMUNITY, peers.LLAMA, peers.OPENAI, peers.AOPENAI),
        metric="wall",
        ideal=max(workload.requests - burst, 0) / (rpm / 60),
    )


def client_overhead(texts: int) -> Scenario:
    return Scenario(
        key="P3",
        title=f"client overhead: {texts} texts at 1024, no latency (key metric: client CPU s)",
        emulator=EmulatorSettings(),
        workload=Workload(texts),
        tools=(ours.RAW, *OURS, *PEERS),
        metric="cpu",
    )


def memory(texts: int) -> Scenario:
    return Scenario(
        key="P4",
        title=f"memory: {texts} texts through the streaming API, no latency (key metric: peak RSS)",
        emulator=EmulatorSettings(),
        workload=Workload(texts),
        tools=(ours.EMBED_STREAM, ours.AEMBED_STREAM),
        metric="peak_mb",
        reference=ours.EMBED_STREAM,
    )


def scaling(texts: int, latency: float, concurrency: int) -> Scenario:
    workload = Workload(texts)
    return Scenario(
        key=f"N={texts}",
        title=f"scaling: {texts} texts, {latency * 1000:.0f} ms per request",
        emulator=EmulatorSettings(latency=latency),
        workload=workload,
        tools=(ours.EMBED, ours.AEMBED, ours.EMBED_STREAM),
        metric="wall",
        ideal=workload.ideal_seconds(concurrency, latency),
    )


def all_scenarios(*, quick: bool, concurrency: int) -> list[Scenario]:
    """Every scenario at the issue's sizes, or at a fifth of them (`quick`, for checking the harness)."""
    scale = 5 if quick else 1
    return [
        emulator_throughput(10_000 // scale, concurrency),
        latency_bound(2_000 // scale, 0.1, concurrency),
        rate_bound(5_000 // scale, 600, 10, 0.1),
        client_overhead(10_000 // scale),
        memory(200_000 // scale),
        *(scaling(n // scale, 0.1, concurrency) for n in (1_000, 4_000, 16_000)),
    ]
