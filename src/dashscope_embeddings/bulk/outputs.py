"""Turn a finished run's store into the output file: `.npy` (+ ids) or Parquet. Both are written in chunks, and
appear under their final name only when complete (a rename), so a reader never sees half a file."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from .store import RunStore

__all__ = ["OUTPUT_FORMATS", "check_output", "ids_path_for", "write_output"]

OUTPUT_FORMATS = (".parquet", ".npy")
_CHUNK_ROWS = 2048
"""Rows per Parquet row group: 8 MB of vectors at 1024 dimensions, few enough to keep the writer's buffers small."""


def check_output(output: Path, *, sparse: bool) -> None:
    """Refuse an output the run could not write, before anything is read or sent."""
    suffix = output.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise InputError(
            f"{output}: the output must be .parquet (id, text hash, vector, optional sparse) or .npy (vectors, "
            f"with the ids in {ids_path_for(output.with_suffix('.npy')).name})."
        )
    if sparse and suffix == ".npy":
        raise InputError(f"{output}: sparse vectors need a .parquet output; a .npy file holds dense vectors only.")
    if not output.parent.is_dir():
        raise InputError(f"{output}: the directory {output.parent} does not exist.")


def ids_path_for(output: Path) -> Path:
    """`vectors.npy` → `vectors.ids.txt`: row i of the array is the record with the id on line i + 1."""
    return output.with_suffix(".ids.txt")


def write_output(store: RunStore, output: Path) -> None:
    missing = store.coverage.missing(store.manifest.rows)
    if missing:
        raise RuntimeError(f"the run is not finished: rows {missing[0].start}..{missing[-1].stop - 1} are missing")
    store.close()
    if output.suffix.lower() == ".npy":
        os.replace(store.ids_path, ids_path_for(output))
        os.replace(store.vectors_path, output)
    else:
        _write_parquet(store, output)


def _write_parquet(store: RunStore, output: Path) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    manifest = store.manifest
    width = manifest.dimension
    fields = [
        pa.field("id", pa.int64() if manifest.id_type == "int" else pa.string(), nullable=False),
        pa.field("text_sha256", pa.string(), nullable=False),
        pa.field("embedding", pa.list_(pa.float32(), width), nullable=False),
    ]
    if manifest.sparse:
        entry = pa.struct([pa.field("index", pa.int64()), pa.field("value", pa.float64())])
        fields.append(pa.field("sparse", pa.list_(entry), nullable=False))
    schema = pa.schema(fields, metadata={"model": str(manifest.settings["model"]), "dimension": str(width)})

    sparse_rows = store.sparse_rows() if manifest.sparse else None
    temporary = output.with_name(output.name + ".tmp")
    with (
        store.ids_path.open(encoding="utf-8") as ids,
        store.hashes_path.open("rb") as hashes,
        pq.ParquetWriter(temporary, schema, use_dictionary=["id"], write_statistics=["id"]) as writer,
    ):
        for start in range(0, manifest.rows, _CHUNK_ROWS):
            count = min(_CHUNK_ROWS, manifest.rows - start)
            id_values: list[int | str] = [ids.readline().rstrip("\n") for _ in range(count)]
            if manifest.id_type == "int":
                id_values = [int(value) for value in id_values]
            digests = hashes.read(32 * count)
            # Read, not memory-mapped: mapped pages would count towards the process's memory until it ends.
            offset = store.header_size + start * width * 4
            block = np.fromfile(store.vectors_path, dtype="<f4", count=count * width, offset=offset)
            columns = [
                pa.array(id_values, type=schema.field("id").type),
                pa.array([digests[i : i + 32].hex() for i in range(0, len(digests), 32)], type=pa.string()),
                pa.FixedSizeListArray.from_arrays(pa.array(block.reshape(-1), type=pa.float32()), width),
            ]
            if sparse_rows is not None:
                rows = [next(sparse_rows) for _ in range(count)]
                columns.append(
                    pa.array(
                        [[{"index": i, "value": v} for i, v in zip(s.indices, s.values, strict=True)] for s in rows],
                        type=schema.field("sparse").type,
                    )
                )
            writer.write_batch(pa.record_batch(columns, schema=schema))
    os.replace(temporary, output)
