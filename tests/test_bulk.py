"""Resumable bulk runs (`bulk.embed_file`) against the in-process emulator: every input format, both outputs, exact
vectors in input order, and continuing after an interruption without paying twice for saved answers."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashscope_embeddings import SparseVector, TextEmbedder
from dashscope_embeddings.bulk import Progress, Source, embed_file, store_directory
from dashscope_embeddings.bulk.run import _RowMap
from dashscope_embeddings.bulk.store import Coverage
from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import AuthenticationError, InputError

V4 = "text-embedding-v4"
TEXTS = [f"record {i} on subject {i % 7}" for i in range(57)]


def make_embedder(emu: Emulator, **kwargs: Any) -> TextEmbedder:
    kwargs.setdefault("dimension", 64)
    return TextEmbedder(
        V4,
        api_key="sk-test",
        base_url="http://emulator.test/api/v1",
        allow_insecure_http=True,
        http_client=httpx.Client(transport=emu.transport()),
        http_async_client=httpx.AsyncClient(transport=emu.async_transport()),
        **kwargs,
    )


def expected(emu: Emulator, texts: list[str], dimension: int = 64, text_type: str = "document") -> np.ndarray:
    rows = [emu.expected_embedding(t, model=V4, dimension=dimension, text_type=text_type) for t in texts]
    return np.asarray(rows, dtype="<f4")


def write_txt(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(f"{t}\n" for t in texts), encoding="utf-8")
    return path


def texts_sent(emu: Emulator) -> int:
    return sum(len(r.body["input"]["texts"]) for r in emu.requests if r.status == 200)


class TestOutputs:
    def test_npy_holds_every_vector_in_input_order_and_the_ids_beside_it(self, tmp_path: Path) -> None:
        emu = Emulator(faults=Faults(shuffle=True, jitter=0.01, seed=2))
        out = tmp_path / "vectors.npy"
        summary = embed_file(Source(write_txt(tmp_path / "in.txt", TEXTS)), out, make_embedder(emu))
        np.testing.assert_array_equal(np.load(out), expected(emu, TEXTS))
        assert (tmp_path / "vectors.ids.txt").read_text().splitlines() == [str(i) for i in range(57)]
        assert not store_directory(out).exists()
        assert (summary.rows, summary.embedded_now, summary.throttles) == (57, 57, 0)
        assert summary.tokens == summary.tokens_now == sum(emu.count_tokens(t) for t in TEXTS)
        assert summary.cost == pytest.approx(summary.tokens / 1e6 * 0.07)

    def test_parquet_has_id_text_hash_vector_and_sparse(self, tmp_path: Path) -> None:
        emu = Emulator()
        source = tmp_path / "in.jsonl"
        source.write_text("".join(json.dumps({"key": f"doc-{i}", "body": t}) + "\n" for i, t in enumerate(TEXTS)))
        out = tmp_path / "out.parquet"
        embed_file(Source(source, field="body", id_field="key"), out, make_embedder(emu), sparse=True)
        table = pq.read_table(out)
        assert table.column_names == ["id", "text_sha256", "embedding", "sparse"]
        assert table.schema.field("embedding").type == pa.list_(pa.float32(), 64)
        rows = table.to_pylist()
        assert [r["id"] for r in rows] == [f"doc-{i}" for i in range(57)]
        assert [r["text_sha256"] for r in rows] == [hashlib.sha256(t.encode()).hexdigest() for t in TEXTS]
        np.testing.assert_array_equal(np.asarray([r["embedding"] for r in rows], dtype="<f4"), expected(emu, TEXTS))
        assert [{e["index"]: e["value"] for e in r["sparse"]} for r in rows] == [
            SparseVector.from_entries(emu.expected_sparse(t, model=V4)).to_dict() for t in TEXTS
        ]

    def test_query_text_type_is_sent(self, tmp_path: Path) -> None:
        emu = Emulator()
        out = tmp_path / "q.npy"
        embed_file(Source(write_txt(tmp_path / "q.txt", TEXTS[:5])), out, make_embedder(emu), text_type="query")
        np.testing.assert_array_equal(np.load(out), expected(emu, TEXTS[:5], text_type="query"))

    @pytest.mark.parametrize("suffix", [".json", ".csv.gz"])
    def test_unknown_output_format_is_refused_before_reading(self, tmp_path: Path, suffix: str) -> None:
        with pytest.raises(InputError, match=r"must be \.parquet .* or \.npy"):
            embed_file(Source(tmp_path / "missing.txt"), tmp_path / f"out{suffix}", make_embedder(Emulator()))

    def test_sparse_needs_parquet(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match=r"sparse vectors need a \.parquet output"):
            embed_file(Source(tmp_path / "x.txt"), tmp_path / "o.npy", make_embedder(Emulator()), sparse=True)


class TestSources:
    def test_csv_and_parquet_columns_and_ids(self, tmp_path: Path) -> None:
        emu = Emulator()
        with (tmp_path / "in.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["n", "content"])
            writer.writerows([i * 10, t] for i, t in enumerate(TEXTS[:12]))
        pq.write_table(pa.table({"content": TEXTS[:12], "n": list(range(0, 120, 10))}), tmp_path / "in.parquet")
        for name in ("in.csv", "in.parquet"):
            out = tmp_path / f"{name}.parquet"
            embed_file(Source(tmp_path / name, field="content"), out, make_embedder(emu))
            rows = pq.read_table(out).to_pylist()
            assert [r["id"] for r in rows] == list(range(12))
            np.testing.assert_array_equal(np.asarray([r["embedding"] for r in rows], "<f4"), expected(emu, TEXTS[:12]))
        records = list(Source(tmp_path / "in.parquet", field="content", id_field="n").records())
        assert records[:2] == [(0, TEXTS[0]), (10, TEXTS[1])]
        assert list(Source(tmp_path / "in.csv", field="content", id_field="n").records())[1] == ("10", TEXTS[1])

    def test_a_blank_line_is_refused_naming_it_or_skipped_keeping_positions(self, tmp_path: Path) -> None:
        path = write_txt(tmp_path / "in.txt", ["first", "  ", "third"])
        with pytest.raises(InputError, match=r"in.txt line 2 has no text.*--skip-blank"):
            list(Source(path).records())
        assert list(Source(path, skip_blank=True).records()) == [(0, "first"), (2, "third")]

    @pytest.mark.parametrize(
        ("content", "source", "message"),
        [
            ('{"text": "a"}\n{"body": "b"}\n', {}, r"line 2 has no field 'text'"),
            ('{"text": "a"}\nnot json\n', {}, r"line 2 is not JSON"),
            ('{"text": 5}\n', {}, r"line 1: the text \('text'\) is int, not a string"),
            ('{"text": "a", "id": [1]}\n', {"id_field": "id"}, r"the id \('id'\) is list"),
            ('{"text": "a", "id": "x\\ny"}\n', {"id_field": "id"}, r"the id has a line break"),
        ],
    )
    def test_bad_jsonl_records_are_named(self, tmp_path: Path, content: str, source: Any, message: str) -> None:
        path = tmp_path / "in.jsonl"
        path.write_text(content)
        with pytest.raises(InputError, match=message):
            list(Source(path, **source).records())

    def test_missing_column_and_unknown_format(self, tmp_path: Path) -> None:
        (tmp_path / "in.csv").write_text("a,b\n1,2\n")
        with pytest.raises(InputError, match=r"has no column 'text' \(it has a, b\); pass --column"):
            list(Source(tmp_path / "in.csv").records())
        (tmp_path / "in.xml").write_text("<a/>")
        with pytest.raises(InputError, match=r"unknown input format '.xml'"):
            list(Source(tmp_path / "in.xml").records())

    def test_an_over_long_text_is_refused_before_any_request(self, tmp_path: Path) -> None:
        emu = Emulator()
        path = write_txt(tmp_path / "in.txt", ["short", "word " * 9000])
        with pytest.raises(InputError, match=r"record 1: texts\[1\] has \d+ tokens.*limit of 8192"):
            embed_file(Source(path), tmp_path / "o.npy", make_embedder(emu))
        assert emu.requests == []


def stop_after(answers: int) -> Any:
    def on_progress(progress: Progress) -> None:
        if progress.done - progress.done_at_start >= answers * 10:
            raise KeyboardInterrupt

    return on_progress


class TestResuming:
    def test_an_interrupted_run_continues_and_pays_only_for_what_was_in_flight(self, tmp_path: Path) -> None:
        emu = Emulator(faults=Faults(jitter=0.005, seed=1))
        texts = [f"text {i}" for i in range(400)]
        path, out = write_txt(tmp_path / "in.txt", texts), tmp_path / "out.npy"
        with pytest.raises(KeyboardInterrupt):
            embed_file(Source(path), out, make_embedder(emu, max_concurrency=4), on_progress=stop_after(12))
        assert not out.exists()
        assert store_directory(out).is_dir()
        first = texts_sent(emu)
        summary = embed_file(Source(path), out, make_embedder(emu, max_concurrency=4))
        np.testing.assert_array_equal(np.load(out), expected(emu, texts))
        saved_first = 400 - summary.embedded_now
        assert saved_first >= 120
        # Texts sent twice: those the first run had on the wire when it stopped, at most 4 requests of 10.
        assert texts_sent(emu) - 400 == first - saved_first <= 4 * 10
        assert summary.tokens == sum(emu.count_tokens(t) for t in texts)

    def test_a_failed_request_keeps_the_answers_before_it(self, tmp_path: Path) -> None:
        emu = Emulator()
        path, out = write_txt(tmp_path / "in.txt", TEXTS), tmp_path / "out.parquet"
        emu.api_keys = frozenset({"other"})
        with pytest.raises(AuthenticationError):
            embed_file(Source(path), out, make_embedder(emu))
        emu.api_keys = None
        summary = embed_file(Source(path), out, make_embedder(emu))
        assert summary.embedded_now == 57
        rows = pq.read_table(out).column("embedding").to_pylist()
        np.testing.assert_array_equal(np.asarray(rows, "<f4"), expected(emu, TEXTS))

    def test_a_torn_record_is_dropped_and_its_rows_embedded_again(self, tmp_path: Path) -> None:
        emu = Emulator()
        path, out = write_txt(tmp_path / "in.txt", TEXTS), tmp_path / "out.npy"
        with pytest.raises(KeyboardInterrupt):
            embed_file(Source(path), out, make_embedder(emu, max_concurrency=1), on_progress=stop_after(3))
        done_log = store_directory(out) / "done.log"
        intact = done_log.read_bytes()
        assert len(intact) == 3 * 20
        done_log.write_bytes(intact + intact[-20:-7])  # a kill in the middle of the fourth record
        summary = embed_file(Source(path), out, make_embedder(emu))
        assert summary.embedded_now == 27
        np.testing.assert_array_equal(np.load(out), expected(emu, TEXTS))

    def test_a_different_input_or_setting_is_not_mixed_in(self, tmp_path: Path) -> None:
        emu = Emulator()
        path, out = write_txt(tmp_path / "in.txt", TEXTS), tmp_path / "out.npy"
        with pytest.raises(KeyboardInterrupt):
            embed_file(Source(path), out, make_embedder(emu, max_concurrency=1), on_progress=stop_after(1))
        with pytest.raises(InputError, match=r"dimension: 64 then, 128 now.*--restart"):
            embed_file(Source(path), out, make_embedder(emu, dimension=128))
        write_txt(path, [*TEXTS[:-1], "changed"])
        with pytest.raises(InputError, match=r"the input file's records differ"):
            embed_file(Source(path), out, make_embedder(emu))
        summary = embed_file(Source(path), out, make_embedder(emu), restart=True)
        assert summary.embedded_now == 57
        np.testing.assert_array_equal(np.load(out), expected(emu, [*TEXTS[:-1], "changed"]))


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 12)), max_size=20))
def test_coverage_matches_a_set_of_rows(intervals: list[tuple[int, int]]) -> None:
    coverage, rows = Coverage(), set()
    for start, length in intervals:
        coverage.add(start, start + length)
        rows.update(range(start, start + length))
    assert coverage.count == len(rows)
    assert all((row in coverage) == (row in rows) for row in range(80))
    assert [r for gap in coverage.missing(80) for r in gap] == [r for r in range(80) if r not in rows]
    assert all(a < b for a, b in zip(coverage.stops, coverage.starts[1:], strict=False))  # merged, not touching


def test_row_map_splits_a_request_across_gaps() -> None:
    rows = _RowMap()
    for row in [*range(10, 15), *range(30, 40)]:
        rows.append(row)
    assert list(rows.pieces(range(10))) == [(10, range(5)), (30, range(5, 10))]
    assert list(rows.pieces(range(10, 15))) == [(35, range(5))]
