"""The on-disk state of a bulk run, written so that killing the process at any moment loses only requests in flight.

It lives in a directory next to the output (`OUTPUT.partial/`):

- `manifest.json`: what the run embeds (a fingerprint of the input and the settings), how many rows, how wide;
- `ids.txt`, `hashes.bin`: each row's id and the SHA-256 of its text, written by the input scan;
- `vectors.npy`: the result itself, a float32 `.npy` of shape (rows, dimension) allocated up front; each answer is
  written straight into its rows, so nothing is ever held in memory or reordered later;
- `sparse.jsonl`: the sparse vectors of each answer, when asked for;
- `done.log`: one fixed-size, checksummed record per answer that has been written (start row, count, tokens).

An answer's vectors are written before its `done.log` record, so a record means its rows are on disk. A record cut
short by a kill fails its checksum and is ignored, and those rows are embedded again: the requests on the wire when
the process died are the only ones paid twice. Writes are not fsynced: the kernel keeps what a killed process wrote;
only a power cut could lose it.
"""

from __future__ import annotations

import bisect
import json
import os
import shutil
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..types import SparseVector

__all__ = ["Coverage", "Manifest", "RunStore"]

_RECORD = struct.Struct("<QII")  # start row, rows, tokens billed
_CHECKSUM = struct.Struct("<I")
_RECORD_SIZE = _RECORD.size + _CHECKSUM.size
VERSION = 1


class Coverage:
    """Which rows are done, as sorted, merged, half-open intervals: a handful however many answers there were,
    because answers arrive almost in order."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.stops: list[int] = []

    def add(self, start: int, stop: int) -> None:
        i = bisect.bisect_left(self.stops, start)  # the first interval that could touch [start, stop)
        j = bisect.bisect_right(self.starts, stop)
        if i < j:
            start, stop = min(start, self.starts[i]), max(stop, self.stops[j - 1])
        self.starts[i:j], self.stops[i:j] = [start], [stop]

    def __contains__(self, row: int) -> bool:
        i = bisect.bisect_right(self.starts, row) - 1
        return i >= 0 and row < self.stops[i]

    @property
    def count(self) -> int:
        return sum(stop - start for start, stop in zip(self.starts, self.stops, strict=True))

    def missing(self, rows: int) -> list[range]:
        """The rows of [0, rows) not covered, as ranges in order."""
        gaps, cursor = [], 0
        for start, stop in zip(self.starts, self.stops, strict=True):
            if start > cursor:
                gaps.append(range(cursor, start))
            cursor = max(cursor, stop)
        if cursor < rows:
            gaps.append(range(cursor, rows))
        return gaps


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a run embeds. Two runs with equal manifests produce the same output, so the second may continue the
    first."""

    fingerprint: str
    """SHA-256 over the settings and every (id, text) record."""
    rows: int
    dimension: int
    sparse: bool
    id_type: str
    """`int` when every id is an integer (Parquet then stores them as int64), else `str`."""
    settings: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps({"version": VERSION, **{name: getattr(self, name) for name in self.__slots__}}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if data.pop("version", None) != VERSION:
            raise ValueError("unknown manifest version")
        return cls(**data)


class RunStore:
    """The directory of one run: create it, or reopen it to continue (see the module docstring)."""

    def __init__(self, directory: Path, manifest: Manifest) -> None:
        self.directory = directory
        self.manifest = manifest
        self.coverage = Coverage()
        self.tokens = 0
        """Tokens billed for the rows done, across every run."""
        self._header = 0
        self._vectors_fd = -1
        self._done_fd = -1
        self._sparse_fd = -1

    @property
    def header_size(self) -> int:
        """Bytes before the first vector in `vectors.npy`."""
        return self._header

    @property
    def vectors_path(self) -> Path:
        return self.directory / "vectors.npy"

    @property
    def ids_path(self) -> Path:
        return self.directory / "ids.txt"

    @property
    def hashes_path(self) -> Path:
        return self.directory / "hashes.bin"

    @property
    def sparse_path(self) -> Path:
        return self.directory / "sparse.jsonl"

    @property
    def done_path(self) -> Path:
        return self.directory / "done.log"

    @classmethod
    def open(cls, directory: Path, manifest: Manifest) -> RunStore:
        """Continue the run in `directory` if it embeds the same thing, else start one there.

        Raises InputError when `directory` holds a run of a different input or different settings: continuing it
        would mix vectors of two inputs, and deleting it silently would throw away paid work.
        """
        store = cls(directory, manifest)
        manifest_path = directory / "manifest.json"
        if manifest_path.exists():
            try:
                previous = Manifest.from_json(manifest_path.read_text(encoding="utf-8"))
            except (ValueError, TypeError, KeyError):
                previous = None
            if previous != manifest:
                changed = _differences(previous, manifest)
                raise InputError(
                    f"{directory} holds an unfinished run of a different input or different settings ({changed}). "
                    f"Run the original command to finish it, or pass --restart to discard it and start over."
                )
        else:
            directory.mkdir(parents=True, exist_ok=True)
            store._allocate()
            (directory / "manifest.json.tmp").write_text(manifest.to_json(), encoding="utf-8")
            os.replace(directory / "manifest.json.tmp", manifest_path)  # the manifest last: it marks a usable run
        store._open_files()
        store._load_done()
        return store

    @staticmethod
    def discard(directory: Path) -> None:
        shutil.rmtree(directory, ignore_errors=True)

    def _allocate(self) -> None:
        import numpy as np

        rows, width = self.manifest.rows, self.manifest.dimension
        # The header, then the full length as a sparse file of zeros; rows are written with pwrite. Not through a
        # memory map: every page written into a mapped file would count towards this process's memory.
        with self.vectors_path.open("wb") as handle:
            np.lib.format.write_array_header_1_0(
                handle, {"descr": "<f4", "fortran_order": False, "shape": (rows, width)}
            )
            handle.truncate(handle.tell() + rows * width * 4)
        for path in (self.done_path, self.sparse_path):
            path.write_bytes(b"")

    def _open_files(self) -> None:
        import numpy as np

        with self.vectors_path.open("rb") as handle:
            np.lib.format.read_magic(handle)
            np.lib.format.read_array_header_1_0(handle)
            self._header = handle.tell()
        self._vectors_fd = os.open(self.vectors_path, os.O_WRONLY)
        self._done_fd = os.open(self.done_path, os.O_RDWR | os.O_APPEND)
        self._sparse_fd = os.open(self.sparse_path, os.O_WRONLY | os.O_APPEND)

    def _load_done(self) -> None:
        raw = self.done_path.read_bytes()
        good = 0
        for offset in range(0, len(raw) - _RECORD_SIZE + 1, _RECORD_SIZE):
            body = raw[offset : offset + _RECORD.size]
            (checksum,) = _CHECKSUM.unpack_from(raw, offset + _RECORD.size)
            if zlib.crc32(body) != checksum:
                break
            start, count, tokens = _RECORD.unpack(body)
            if start + count > self.manifest.rows:
                break
            self.coverage.add(start, start + count)
            self.tokens += tokens
            good = offset + _RECORD_SIZE
        if good != len(raw):
            os.truncate(self.done_path, good)  # drop a record torn by a kill; its rows are embedded again
        _cut_torn_line(self.sparse_path)  # the same for a line of sparse vectors torn by a kill

    def save(self, start: int, vectors: Sequence[Sequence[float]], sparse: Sequence[SparseVector], tokens: int) -> None:
        """Write one answer's rows (`start`, `start + len(vectors)`), then record them as done."""
        import numpy as np

        count = len(vectors) or len(sparse)
        if vectors:
            block = np.asarray(vectors, dtype="<f4")
            if block.shape != (count, self.manifest.dimension):
                raise ValueError(f"expected {count} vectors of {self.manifest.dimension}, got {block.shape}")
            os.pwrite(self._vectors_fd, block.tobytes(), self._header + start * self.manifest.dimension * 4)
        if self.manifest.sparse:
            line = {"start": start, "sparse": [[list(s.indices), list(s.values)] for s in sparse]}
            os.write(self._sparse_fd, json.dumps(line, separators=(",", ":")).encode() + b"\n")
        body = _RECORD.pack(start, count, tokens)
        os.write(self._done_fd, body + _CHECKSUM.pack(zlib.crc32(body)))
        self.coverage.add(start, start + count)
        self.tokens += tokens

    def sparse_rows(self) -> Iterator[SparseVector]:
        """Every row's sparse vector, in row order (for the final output). Holds one (start, offset) pair per
        answer, not the vectors."""
        index: list[tuple[int, int]] = []
        seen: set[int] = set()
        with self.sparse_path.open("rb") as handle:
            offset = 0
            for line in handle:
                if line.endswith(b"\n"):
                    start = json.loads(line)["start"]
                    if start not in seen:
                        seen.add(start)
                        index.append((start, offset))
                offset += len(line)
            index.sort()
            for _, at in index:
                handle.seek(at)
                for indices, values in json.loads(handle.readline())["sparse"]:
                    yield SparseVector(tuple(indices), tuple(values))

    def close(self) -> None:
        for fd in (self._vectors_fd, self._done_fd, self._sparse_fd):
            if fd >= 0:
                os.close(fd)
        self._vectors_fd = self._done_fd = self._sparse_fd = -1


def _cut_torn_line(path: Path) -> None:
    """Truncate `path` after its last newline (reading backwards, so memory stays small)."""
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        cut = end
        while cut > 0:
            step = min(cut, 65536)
            handle.seek(cut - step)
            chunk = handle.read(step)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                cut = cut - step + newline + 1
                break
            cut -= step
    if cut != end:
        os.truncate(path, cut)


def _differences(previous: Manifest | None, current: Manifest) -> str:
    if previous is None:
        return "its manifest is unreadable"
    changed = [
        f"{name}: {previous.settings.get(name)!r} then, {value!r} now"
        for name, value in current.settings.items()
        if previous.settings.get(name) != value
    ]
    if previous.fingerprint != current.fingerprint and not changed:
        changed.append("the input file's records differ")
    return "; ".join(changed) or "the manifest differs"
