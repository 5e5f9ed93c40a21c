"""`dashscope-embeddings embed INPUT -o OUTPUT`: a file of texts into a file of vectors, resumably.

The work is `bulk.embed_file`; this module maps options onto it and shows progress: a bar (texts/s, tokens, ETA,
429s) when stderr is a terminal, a plain line every `--progress-interval` seconds otherwise (logs, CI, nohup).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..bulk import Progress
from ..errors import DashScopeError, InputError
from ..types import TEXT_TYPES

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "embed",
        help="embed a file of texts (.txt, .jsonl, .csv, .parquet) into .parquet or .npy, resumably",
        description=(
            "Embed every record of INPUT into OUTPUT, in input order. Killed or interrupted, the same command "
            "continues where it stopped (the state lives in OUTPUT.partial/). The key comes from DASHSCOPE_API_KEY."
        ),
    )
    parser.add_argument("input", type=Path, help=".txt (a text per line), .jsonl, .csv or .parquet")
    parser.add_argument("-o", "--output", type=Path, required=True, help=".parquet or .npy (+ .ids.txt)")
    parser.add_argument("--model", default="text-embedding-v4")
    parser.add_argument("--dimension", type=int, help="vector width (default: the model's)")
    parser.add_argument("--text-type", choices=TEXT_TYPES, default="document")
    parser.add_argument(
        "--field", "--column", dest="field", default="text", help="the JSON field / column with the text"
    )
    parser.add_argument("--id-field", "--id-column", dest="id_field", help="the field / column with each id")
    parser.add_argument("--skip-blank", action="store_true", help="leave out records with no text")
    parser.add_argument("--sparse", action="store_true", help="also store sparse vectors (Parquet output)")
    parser.add_argument("--truncate", action="store_true", help="cut over-long texts at the token limit")
    parser.add_argument("--region", help="singapore (default), beijing, hongkong, us")
    parser.add_argument("--workspace", help="a workspace host's id")
    parser.add_argument("--base-url", help="API root ending in /api/v1 (env DASHSCOPE_HTTP_BASE_URL)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--restart", action="store_true", help="discard an unfinished run of OUTPUT and start over")
    parser.add_argument("--emulator", action="store_true", help="use the bundled emulator (offline, not real vectors)")
    parser.add_argument("--progress", choices=("auto", "bar", "lines", "none"), default="auto")
    parser.add_argument("--progress-interval", type=float, default=10.0, help="seconds between progress lines")


def run(args: argparse.Namespace) -> int:
    from ..bulk import Source, embed_file
    from ..text import TextEmbedder

    try:
        with _backend(args.emulator) as connection:
            source = Source(args.input, field=args.field, id_field=args.id_field, skip_blank=args.skip_blank)
            embedder = TextEmbedder(
                args.model,
                dimension=args.dimension,
                region=args.region,
                workspace=args.workspace,
                max_concurrency=args.concurrency,
                truncate=args.truncate,
                **(connection or {"base_url": args.base_url}),
            )
            region = args.region or (embedder.endpoint.region.name if embedder.endpoint.region else "singapore")
            display = _Display(args.progress, args.progress_interval)
            try:
                summary = embed_file(
                    source,
                    args.output,
                    embedder,
                    text_type=args.text_type,
                    sparse=args.sparse,
                    region=region,
                    restart=args.restart,
                    on_scanned=display.start,
                    on_progress=display.update,
                )
            finally:
                display.close()
                embedder.close()
    except KeyboardInterrupt:
        print(
            f"\nInterrupted. Every answer received is saved in {args.output}.partial/; run the same command to "
            f"continue.",
            file=sys.stderr,
        )
        return 130
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except DashScopeError as error:
        print(
            f"error: {error}\nEvery answer received before the error is saved; run the same command to continue.",
            file=sys.stderr,
        )
        return 1
    price = summary.price
    before = summary.rows - summary.embedded_now
    print(
        f"Embedded {summary.rows:,} texts into {summary.output}"
        + (f" ({summary.embedded_now:,} in this run, {before:,} by the run it continued)." if before else ".")
    )
    cost = (
        f"estimated cost at {summary.region} prices: {summary.cost:.4f} {price.currency} "
        f"({price.per_million:g} {price.currency} per 1M tokens)"
        if price is not None and summary.cost is not None
        else f"no {summary.region} price for {args.model} in the catalog"
    )
    print(f"Tokens: {summary.tokens:,} ({summary.tokens_now:,} in this run); {cost}.")
    print(f"Time: {_duration(summary.elapsed)}; 429 answers: {summary.throttles} (each retried).")
    return 0


@contextlib.contextmanager
def _backend(emulator: bool) -> Iterator[dict[str, Any] | None]:
    """With `--emulator`, connection settings for the bundled emulator served on loopback; else None (the real API,
    or DASHSCOPE_HTTP_BASE_URL / --base-url)."""
    if not emulator:
        yield None
        return
    from ..emulator import ServedEmulator

    with ServedEmulator() as served:
        yield {"base_url": served.base_url, "api_key": "emulator-key", "allow_insecure_http": True}


class _Display:
    """The progress bar, or plain lines, or nothing."""

    def __init__(self, mode: str, interval: float) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode = mode
        self.interval = interval
        self._bar: Any = None
        self._last_line = 0.0
        self._shown = 0

    def start(self, rows: int, done: int) -> None:
        if done:
            print(f"Continuing: {done:,} of {rows:,} texts were embedded by an earlier run.", file=sys.stderr)
        if self.mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=rows, initial=done, unit="text", unit_scale=True, dynamic_ncols=True)
        self._shown = done
        self._last_line = time.monotonic()

    def update(self, progress: Progress) -> None:
        if self._bar is not None:
            self._bar.update(progress.done - self._shown)
            self._bar.set_postfix(tokens=f"{progress.tokens:,}", **{"429s": progress.throttles}, refresh=False)
            self._shown = progress.done
            return
        now = time.monotonic()
        if self.mode != "lines" or (now - self._last_line < self.interval and progress.done < progress.rows):
            return
        self._last_line = now
        rate = (progress.done - progress.done_at_start) / progress.elapsed if progress.elapsed > 0 else 0.0
        eta = _duration((progress.rows - progress.done) / rate) if rate > 0 else "?"
        print(
            f"{progress.done:,}/{progress.rows:,} texts ({progress.done / progress.rows:.1%}), {rate:,.0f} texts/s, "
            f"{progress.tokens:,} tokens, ETA {eta}, 429s: {progress.throttles}",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
