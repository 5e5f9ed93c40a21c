"""The benchmarks' emulator process: the package's emulator served by its own `serve`, plus two control routes.

    python -m integration_tests.benchmarks.emulator_server --latency 0.1 [--rpm 600 --burst 10] [--cache-size N]

Every tool in a scenario talks to this one process. The control routes let a benchmark count what the server saw
without touching the emulator package:

- `GET /_bench/stats`: the emulator's `Stats` since the last reset, plus this process's CPU seconds;
- `POST /_bench/reset`: clear the stats and restart the fault engine (full rate-limit buckets, fresh random
  stream), so each tool starts from the same state.

Everything else goes to the emulator's own ASGI app, so requests are served exactly as
`python -m dashscope_embeddings.emulator` serves them.
"""

from __future__ import annotations

import argparse
import resource
from collections.abc import Sequence

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from dashscope_embeddings.emulator import Emulator, Faults, serve

__all__ = ["CONTROL_PREFIX", "main"]

CONTROL_PREFIX = "/_bench/"


def _restart(emulator: Emulator) -> None:
    emulator.faults = emulator.faults  # the setter builds a new engine: full buckets, a fresh seeded stream
    emulator.reset()


def _stats_json(emulator: Emulator) -> bytes:
    stats = emulator.stats
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return orjson.dumps(
        {
            "requests": stats.requests,
            "by_status": {str(k): v for k, v in stats.by_status.items()},
            "throttled": stats.throttled,
            "dropped": stats.dropped,
            "tokens": stats.tokens,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
        }
    )


class _ControlMiddleware:
    """Answers the control routes; passes every other request to the emulator's app."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        if path == CONTROL_PREFIX + "reset":
            _restart(self.emulator)
            body = b'{"reset":true}'
        elif path == CONTROL_PREFIX + "stats":
            body = _stats_json(self.emulator)
        else:
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m integration_tests.benchmarks.emulator_server")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on the first line)")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rpm", type=int, default=None)
    parser.add_argument("--burst", type=int, default=None)
    parser.add_argument("--cache-size", type=int, default=2048, help="vectors the emulator keeps serialised")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    emulator = Emulator(
        faults=Faults(latency=args.latency, rpm=args.rpm, burst=args.burst),
        cache_size=args.cache_size,
        max_records=1,  # the request log holds answers (~100 KB each); the counters are all a benchmark reads
    )
    emulator.app.add_middleware(_ControlMiddleware, emulator=emulator)
    serve(emulator, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
