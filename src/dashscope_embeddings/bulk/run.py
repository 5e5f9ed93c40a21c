"""A resumable bulk run: every record of an input file embedded into one output file, in input order.

1. **Scan** the input once: check every record (empty text, over-long text) before anything is spent, and write each
   record's id and text hash. The scan's fingerprint identifies the run.
2. **Embed** the rows the store does not have yet, saving each answer the moment it arrives (`embed_batches`), so a
   kill (SIGINT, SIGKILL, a crash) loses only the requests on the wire, and the same command continues.
3. **Write** the output from the store, then remove the store.

Memory stays flat as the input grows: records are read lazily, at most `max_concurrency` requests are in flight,
vectors go straight to disk, and the store's index of done rows is a few intervals.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..catalog import Price
from ..errors import InputError
from ..text import TextEmbedder
from ..types import EmbeddingResult, OutputType, TextType
from .outputs import check_output, write_output
from .sources import Source
from .store import Manifest, RunStore

__all__ = ["Progress", "Summary", "embed_file", "store_directory"]


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a run stands; handed to `on_progress` after every saved answer."""

    rows: int
    done: int
    """Rows embedded, by this run and the runs it continues."""
    done_at_start: int
    tokens: int
    """Tokens billed for the rows done, across runs."""
    throttles: int
    """429 answers this run has received (each was retried)."""
    elapsed: float


@dataclass(frozen=True, slots=True)
class Summary:
    output: Path
    rows: int
    embedded_now: int
    """Rows this run embedded; the rest were done by the runs it continued."""
    tokens: int
    tokens_now: int
    throttles: int
    elapsed: float
    price: Price | None
    """The model's price in `region`, from the catalog (None when the catalog has none)."""
    region: str

    @property
    def cost(self) -> float | None:
        """Estimated cost of all the rows' tokens, in `price.currency`."""
        return None if self.price is None else self.tokens / 1e6 * self.price.per_million


def store_directory(output: Path) -> Path:
    """Where the run writing `output` keeps its state: `OUTPUT.partial/` next to it."""
    return output.with_name(output.name + ".partial")


def embed_file(
    source: Source,
    output: Path,
    embedder: TextEmbedder,
    *,
    text_type: TextType = "document",
    sparse: bool = False,
    region: str = "singapore",
    restart: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    on_scanned: Callable[[int, int], None] | None = None,
) -> Summary:
    """Embed every record of `source` into `output`, continuing an unfinished run of the same command.

    `region` names the price list the summary's cost uses (the endpoint's own region, unless it is a custom base
    URL). `on_scanned(rows, done_at_start)` is called once the input has been checked; `on_progress` after every
    answer. KeyboardInterrupt (Ctrl-C) leaves the run resumable, as any kill does.
    """
    check_output(output, sparse=sparse)
    directory = store_directory(output)
    if restart:
        RunStore.discard(directory)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        manifest = _scan(source, embedder, directory, text_type=text_type, sparse=sparse)
        store = RunStore.open(directory, manifest)
    except BaseException:
        for name in ("ids.txt.scan", "hashes.bin.scan"):
            (directory / name).unlink(missing_ok=True)
        raise
    for name in ("ids.txt", "hashes.bin"):
        os.replace(directory / f"{name}.scan", directory / name)
    done_at_start, tokens_at_start = store.coverage.count, store.tokens
    if on_scanned is not None:
        on_scanned(manifest.rows, done_at_start)
    started, throttles_before = time.monotonic(), embedder.throttles

    def progress() -> Progress:
        return Progress(
            manifest.rows,
            store.coverage.count,
            done_at_start,
            store.tokens,
            embedder.throttles - throttles_before,
            time.monotonic() - started,
        )

    try:
        asyncio.run(_embed_missing(source, embedder, store, text_type, sparse, progress, on_progress))
        write_output(store, output)
    finally:
        store.close()
    RunStore.discard(directory)
    final = progress()
    return Summary(
        output=output,
        rows=manifest.rows,
        embedded_now=manifest.rows - done_at_start,
        tokens=final.tokens,
        tokens_now=final.tokens - tokens_at_start,
        throttles=final.throttles,
        elapsed=final.elapsed,
        price=embedder.spec.price_in(region),
        region=region,
    )


def _scan(source: Source, embedder: TextEmbedder, directory: Path, *, text_type: TextType, sparse: bool) -> Manifest:
    """Check every record, write ids and text hashes next to the store, and fingerprint the run."""
    dimension = embedder.dimension or embedder.spec.default_dimension
    if dimension is None:
        raise InputError(f"{embedder.model} has no default dimension; pass --dimension.")
    settings: dict[str, object] = {
        "model": embedder.model,
        "dimension": dimension,
        "text_type": text_type,
        "sparse": sparse,
        "truncate": embedder.truncate,
        "field": source.field,
        "id_field": source.id_field,
        "skip_blank": source.skip_blank,
    }
    fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    rows, all_int = 0, True
    with (
        (directory / "ids.txt.scan").open("w", encoding="utf-8") as ids,
        (directory / "hashes.bin.scan").open("wb") as hashes,
    ):
        for record_id, text in source.records():
            try:
                embedder._checked([text], rows, embedder.truncate)
            except InputError as error:
                raise InputError(f"{source.path}, record {record_id!r}: {error}", index=rows) from None
            encoded = text.encode("utf-8")
            all_int = all_int and isinstance(record_id, int)
            ids.write(f"{record_id}\n")
            hashes.write(hashlib.sha256(encoded).digest())
            fingerprint.update(f"{type(record_id).__name__}:{record_id}\0".encode())
            fingerprint.update(encoded + b"\0")
            rows += 1
    if rows == 0:
        raise InputError(f"{source.path} has no records to embed.")
    return Manifest(fingerprint.hexdigest(), rows, dimension, sparse, "int" if all_int else "str", settings)


async def _embed_missing(
    source: Source,
    embedder: TextEmbedder,
    store: RunStore,
    text_type: TextType,
    sparse: bool,
    progress: Callable[[], Progress],
    on_progress: Callable[[Progress], None] | None,
) -> None:
    rows = _RowMap()
    missing = store.coverage.missing(store.manifest.rows)
    if not missing:
        return
    texts = _texts_of(source, missing, rows)
    output_type: OutputType = "dense&sparse" if sparse else "dense"
    async for span, result in embedder.aembed_batches(texts, text_type=text_type, output_type=output_type):
        for start, piece in rows.pieces(span):
            _save(store, start, piece, result)
        if on_progress is not None:
            on_progress(progress())


def _save(store: RunStore, start: int, piece: range, result: EmbeddingResult) -> None:
    """Save rows `start`.. of the store from `piece` (positions within `result`)."""
    vectors = result.embeddings[piece.start : piece.stop]
    sparse = result.sparse[piece.start : piece.stop]
    # Usage is per request; a request split across two gaps of an earlier run bills its tokens to its first piece.
    tokens = result.usage.total_tokens if piece.start == 0 else 0
    store.save(start, vectors, sparse, tokens)


def _texts_of(source: Source, missing: list[range], rows: _RowMap) -> Iterator[str]:
    """The texts of the `missing` rows, in order, telling `rows` which row each one is."""
    gap = 0
    for row, (_, text) in enumerate(source.records()):
        while gap < len(missing) and row >= missing[gap].stop:
            gap += 1
        if gap == len(missing):
            return
        if row >= missing[gap].start:
            rows.append(row)
            yield text


class _RowMap:
    """Which store row each text sent has, as runs of consecutive rows: the embedder numbers the texts it was given
    0, 1, 2…, which are not the rows when earlier runs left gaps."""

    def __init__(self) -> None:
        self._positions: list[int] = []  # the first text position of each run
        self._rows: list[int] = []  # the row of that text
        self._sent = 0

    def append(self, row: int) -> None:
        if not self._rows or row != self._rows[-1] + (self._sent - self._positions[-1]):
            self._positions.append(self._sent)
            self._rows.append(row)
        self._sent += 1

    def pieces(self, span: range) -> Iterator[tuple[int, range]]:
        """Split the text positions `span` into (first row, positions within span) per run of consecutive rows."""
        position = span.start
        while position < span.stop:
            run = bisect.bisect_right(self._positions, position) - 1
            run_end = self._positions[run + 1] if run + 1 < len(self._positions) else span.stop
            stop = min(span.stop, run_end)
            row = self._rows[run] + (position - self._positions[run])
            yield row, range(position - span.start, stop - span.start)
            position = stop
