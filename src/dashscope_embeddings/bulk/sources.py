"""Where a bulk run's texts come from: a file read lazily, one record at a time.

A record is `(id, text)`. The id is the value of the id field when one is named, else the record's position in the
file counting from 0 (for `.txt` and `.jsonl`, line k has position k - 1). Text files are read line by line, CSV row by
row, Parquet one row group at a time (only the needed columns), so memory does not grow with the file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

__all__ = ["FORMATS", "Record", "Source"]

Id = int | str
Record = tuple[Id, str]

FORMATS = (".txt", ".jsonl", ".csv", ".parquet")


@dataclass(frozen=True, slots=True)
class Source:
    """An input file and how to read texts (and optionally ids) out of it.

    `field`: the JSON field (`.jsonl`) or column (`.csv`, `.parquet`) holding the text. `id_field`: the one holding
    each record's id (None: the position). `skip_blank`: leave out records whose text is empty or whitespace
    instead of refusing them (the service rejects empty input); skipped records keep their positions, so ids still
    point at the right line.
    """

    path: Path
    field: str = "text"
    id_field: str | None = None
    skip_blank: bool = False

    @property
    def format(self) -> str:
        suffix = self.path.suffix.lower()
        if suffix not in FORMATS:
            raise InputError(
                f"{self.path}: unknown input format {suffix or '(no suffix)'!r}; use one of {', '.join(FORMATS)} "
                f"(.txt: one text per line; .jsonl: --field; .csv / .parquet: --column)."
            )
        return suffix

    def records(self) -> Iterator[Record]:
        """Every record to embed, in file order. Raises InputError naming the line or row of a bad record."""
        readers = {".txt": self._txt, ".jsonl": self._jsonl, ".csv": self._csv, ".parquet": self._parquet}
        reader = readers[self.format]
        if not self.path.is_file():
            raise InputError(f"{self.path}: no such file")
        for position, record_id, text, where in reader():
            if not isinstance(text, str):
                raise InputError(
                    f"{self.path} {where}: the text ({self.field!r}) is {type(text).__name__}, not a string. "
                    f"Point --field/--column at a text field, or fix the record."
                )
            if not text.strip():
                if self.skip_blank:
                    continue
                raise InputError(
                    f"{self.path} {where} has no text: the service rejects empty input. Remove it, or pass "
                    f"--skip-blank to leave such records out (ids keep pointing at the right records)."
                )
            yield (position if record_id is None else _checked_id(record_id, self.path, where)), text

    # Each reader yields (position, id or None, text, where) with `where` naming the record for error messages.

    def _txt(self) -> Iterator[tuple[int, Id | None, object, str]]:
        with self.path.open(encoding="utf-8", newline="\n") as lines:
            for position, line in enumerate(lines):
                yield position, None, line.rstrip("\r\n"), f"line {position + 1}"

    def _jsonl(self) -> Iterator[tuple[int, Id | None, object, str]]:
        with self.path.open(encoding="utf-8") as lines:
            for position, line in enumerate(lines):
                where = f"line {position + 1}"
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise InputError(f"{self.path} {where} is not JSON: {error.msg}") from None
                if not isinstance(record, dict) or self.field not in record:
                    raise InputError(
                        f"{self.path} {where} has no field {self.field!r}; name the text field with --field."
                    )
                yield position, self._id_of(record, where), record[self.field], where

    def _csv(self) -> Iterator[tuple[int, Id | None, object, str]]:
        with self.path.open(encoding="utf-8", newline="") as handle:
            rows = csv.DictReader(handle)
            self._check_columns(rows.fieldnames or [])
            for position, row in enumerate(rows):
                yield position, self._id_of(row, f"row {position + 1}"), row[self.field], f"row {position + 1}"

    def _parquet(self) -> Iterator[tuple[int, Id | None, object, str]]:
        import pyarrow.parquet as pq

        table = pq.ParquetFile(self.path)
        self._check_columns(table.schema_arrow.names)
        columns = [self.field] if self.id_field is None else [self.field, self.id_field]
        position = 0
        for batch in table.iter_batches(columns=columns, batch_size=4096):
            texts = batch.column(self.field).to_pylist()
            ids = batch.column(self.id_field).to_pylist() if self.id_field else [None] * len(texts)
            for text, record_id in zip(texts, ids, strict=True):
                yield position, self._nullable_id(record_id, f"row {position}"), text, f"row {position}"
                position += 1

    def _check_columns(self, names: Sequence[str]) -> None:
        for name, option in ((self.field, "--column"), (self.id_field, "--id-field")):
            if name is not None and name not in names:
                raise InputError(f"{self.path} has no column {name!r} (it has {', '.join(names)}); pass {option}.")

    def _id_of(self, record: dict[str, object], where: str) -> Id | None:
        if self.id_field is None:
            return None
        if self.id_field not in record:
            raise InputError(f"{self.path} {where} has no id field {self.id_field!r}.")
        return self._nullable_id(record[self.id_field], where)

    def _nullable_id(self, value: object, where: str) -> Id | None:
        if self.id_field is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise InputError(
                f"{self.path} {where}: the id ({self.id_field!r}) is {type(value).__name__}; ids must be strings or "
                f"integers."
            )
        return value


def _checked_id(value: Id, path: Path, where: str) -> Id:
    if isinstance(value, str) and ("\n" in value or "\r" in value):
        raise InputError(f"{path} {where}: the id has a line break; ids are written one per line.")
    return value
