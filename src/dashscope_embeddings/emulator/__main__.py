"""Command line: `python -m dashscope_embeddings.emulator --port 8000 [fault options]`.

The package CLI (`dashscope-embeddings emulator ...`) calls `main` with the same arguments.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m dashscope_embeddings.emulator",
        description="Serve a local DashScope embedding emulator (native and OpenAI-compatible endpoints).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free port)")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept only this key (repeatable; default: any non-empty key)",
    )
    parser.add_argument(
        "--accept-unknown-models",
        action="store_true",
        help="serve any model name as a text model instead of answering 'Model not exist.'",
    )
    faults = parser.add_argument_group("faults")
    faults.add_argument("--latency", type=_seconds, default=0.0, help="seconds before every answer")
    faults.add_argument("--jitter", type=_seconds, default=0.0, help="extra random seconds, uniform in [0, JITTER]")
    faults.add_argument("--rpm", type=_positive, default=None, help="requests per minute before 429")
    faults.add_argument("--tpm", type=_positive, default=None, help="tokens per minute before 429")
    faults.add_argument(
        "--burst", type=_positive, default=None, help="requests the RPM bucket holds (default: one second's worth)"
    )
    faults.add_argument("--error-rate", type=_rate, default=0.0, help="share of 500 InternalError answers")
    faults.add_argument(
        "--throttle-rate", type=_rate, default=0.0, help="share of 429 Throttling answers (no Retry-After)"
    )
    faults.add_argument("--drop-rate", type=_rate, default=0.0, help="share of connections dropped mid-response")
    faults.add_argument("--malformed-rate", type=_rate, default=0.0, help="share of 200s with a body cut in half")
    faults.add_argument("--missing-rate", type=_rate, default=0.0, help="share of 200s missing one embedding")
    faults.add_argument("--shuffle", action="store_true", help="return embeddings out of input order")
    faults.add_argument(
        "--hang", type=_rate, nargs="?", const=1.0, default=0.0, metavar="RATE", help="never answer (all, or a share)"
    )
    faults.add_argument("--seed", type=int, default=0, help="seed of the fault random stream (default: 0)")
    parser.add_argument(
        "--max-records",
        type=_positive,
        default=1000,
        help="requests kept in the in-memory request log (default: 1000; answers included)",
    )
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--access-log", action="store_true", help="log every request")
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Parse `argv` and serve until interrupted; returns the exit status."""
    args = build_parser(prog).parse_args(argv)
    from .core import Emulator
    from .faults import Faults
    from .server import serve

    faults = Faults(
        latency=args.latency,
        jitter=args.jitter,
        rpm=args.rpm,
        tpm=args.tpm,
        burst=args.burst,
        error_rate=args.error_rate,
        throttle_rate=args.throttle_rate,
        drop_rate=args.drop_rate,
        malformed_rate=args.malformed_rate,
        missing_rate=args.missing_rate,
        shuffle=args.shuffle,
        hang=args.hang,
        seed=args.seed,
    )
    emulator = Emulator(
        faults=faults,
        api_keys=args.api_keys,
        accept_unknown_models=args.accept_unknown_models,
        max_records=args.max_records,
    )
    try:
        serve(emulator, host=args.host, port=args.port, log_level=args.log_level, access_log=args.access_log)
    except KeyboardInterrupt:
        pass
    except OSError as error:
        print(f"cannot serve on {args.host}:{args.port}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
