"""Latency-bound throughput: 2,000 texts (~40 words) on text-embedding-v4 at 1024 dimensions, 100 ms per request.

The emulator runs in its own process (so it does not share the client's GIL). Compares TextEmbedder (sync and async,
default concurrency) with a sequential loop (max_concurrency=1) and with the ideal ceil(200 / C) × 0.1 s.

    .venv/bin/python integration_tests/benchmarks/latency_bound.py [--texts 2000] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from dashscope_embeddings import TextEmbedder
from dashscope_embeddings.text import DEFAULT_MAX_CONCURRENCY

WORDS = [
    "embedding",
    "vector",
    "search",
    "retrieval",
    "language",
    "model",
    "region",
    "batch",
    "request",
    "latency",
    "token",
    "query",
    "document",
]


def texts(n: int) -> list[str]:
    return [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(40)) + f" #{i}" for i in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def emulator_process(latency: float) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "dashscope_embeddings.emulator", "--port", str(port), "--latency", str(latency)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("emulator did not start") from None
                time.sleep(0.1)
        yield base_url
    finally:
        proc.terminate()
        proc.wait(10)


def timed(label: str, run: object) -> float:
    start = time.perf_counter()
    result = run()  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    assert len(result) > 0
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    inputs = texts(args.texts)
    requests = math.ceil(args.texts / 10)
    ideal = math.ceil(requests / DEFAULT_MAX_CONCURRENCY) * args.latency
    with emulator_process(args.latency) as base_url:
        fast = TextEmbedder("text-embedding-v4", dimension=1024, api_key="bench", base_url=base_url)
        slow = TextEmbedder("text-embedding-v4", dimension=1024, api_key="bench", base_url=base_url, max_concurrency=1)
        fast.embed(inputs[:10])  # warm the connection pool and tokenizer
        rows = [
            (f"TextEmbedder.embed (C={DEFAULT_MAX_CONCURRENCY})", timed("sync", lambda: fast.embed(inputs))),
            (
                f"TextEmbedder.aembed (C={DEFAULT_MAX_CONCURRENCY})",
                timed("async", lambda: asyncio.run(fast.aembed(inputs))),
            ),
            ("sequential (max_concurrency=1)", timed("seq", lambda: slow.embed(inputs))),
        ]
    sequential = rows[-1][1]
    print(f"{args.texts} texts, {requests} requests, {args.latency * 1000:.0f} ms per request; ideal {ideal:.2f} s")
    print(f"{'run':36} {'wall s':>8} {'× ideal':>8} {'speed-up vs sequential':>24}")
    for label, seconds in rows:
        print(f"{label:36} {seconds:8.2f} {seconds / ideal:8.2f} {sequential / seconds:23.1f}×")


if __name__ == "__main__":
    main()
