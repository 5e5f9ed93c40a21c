"""`dashscope-embeddings embed` as a user runs it: a subprocess against a served emulator, killed with SIGKILL or
SIGINT mid-run and started again, with the finished file checked row by row and the re-spent requests counted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from dashscope_embeddings.bulk import store_directory
from dashscope_embeddings.emulator import Emulator, Faults, ServedEmulator

V4 = "text-embedding-v4"
CONCURRENCY = 4


@pytest.fixture
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator(Emulator(faults=Faults(latency=0.03))) as served:
        yield served


def command(served: ServedEmulator, source: Path, output: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dashscope_embeddings.cli",
        "embed",
        str(source),
        "-o",
        str(output),
        "--base-url",
        served.base_url,
        "--dimension",
        "64",
        "--concurrency",
        str(CONCURRENCY),
        "--progress-interval",
        "0.2",
        *extra,
    ]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    return {**env, "DASHSCOPE_API_KEY": "sk-emulator"}


def texts_answered(served: ServedEmulator) -> int:
    return sum(len(r.body["input"]["texts"]) for r in served.emulator.requests if r.status == 200)


def rows_saved(output: Path) -> int:
    done = store_directory(output) / "done.log"
    return 10 * (done.stat().st_size // 20) if done.exists() else 0


def expected(served: ServedEmulator, texts: list[str]) -> np.ndarray:
    return np.asarray([served.emulator.expected_embedding(t, model=V4, dimension=64) for t in texts], dtype="<f4")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_mid_run_the_same_command_finishes_with_one_row_per_input(
    served: ServedEmulator, tmp_path: Path, how: signal.Signals
) -> None:
    texts = [f"line {i} of the corpus, about subject {i % 13}" for i in range(3000)]
    source, output = tmp_path / "corpus.txt", tmp_path / "vectors.parquet"
    source.write_text("".join(f"{t}\n" for t in texts))
    first = subprocess.Popen(
        command(served, source, output), env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while rows_saved(output) < 600 and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(how)
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == (-9 if how == signal.SIGKILL else 130), stderr.decode()
    if how == signal.SIGINT:
        assert b"run the same command to continue" in stderr
    saved = rows_saved(output)
    assert 600 <= saved < 3000
    assert not output.exists()
    answered_first = texts_answered(served)

    second = subprocess.run(
        command(served, source, output), env=environment(), capture_output=True, text=True, timeout=120, check=False
    )
    assert second.returncode == 0, second.stderr
    assert f"Continuing: {saved:,} of 3,000 texts" in second.stderr
    assert f"Embedded 3,000 texts into {output} ({3000 - saved:,} in this run, {saved:,} by the run" in second.stdout
    table = pq.read_table(output)
    assert table.column("id").to_pylist() == list(range(3000))
    np.testing.assert_array_equal(np.asarray(table.column("embedding").to_pylist(), "<f4"), expected(served, texts))
    assert not store_directory(output).exists()
    # Paid twice: only what the first run had on the wire (at most `CONCURRENCY` requests of 10 texts) when killed.
    respent = texts_answered(served) - 3000
    assert respent == answered_first - saved
    assert 0 <= respent <= CONCURRENCY * 10


def test_progress_lines_and_summary_without_a_terminal(served: ServedEmulator, tmp_path: Path) -> None:
    texts = [f"text {i}" for i in range(500)]
    source, output = tmp_path / "in.jsonl", tmp_path / "out.npy"
    source.write_text("".join(f'{{"id": "d{i}", "body": "{t}"}}\n' for i, t in enumerate(texts)))
    done = subprocess.run(
        command(served, source, output, "--field", "body", "--id-field", "id", "--text-type", "query"),
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "500/500 texts (100.0%)" in done.stderr
    assert "texts/s" in done.stderr
    assert "ETA" in done.stderr
    tokens = sum(served.emulator.count_tokens(t) for t in texts)
    assert f"Tokens: {tokens:,} ({tokens:,} in this run); estimated cost at singapore prices: " in done.stdout
    want = [served.emulator.expected_embedding(t, model=V4, dimension=64, text_type="query") for t in texts]
    np.testing.assert_array_equal(np.load(output), np.asarray(want, dtype="<f4"))
    assert (tmp_path / "out.ids.txt").read_text().splitlines() == [f"d{i}" for i in range(500)]


def peak_rss_mb(served: ServedEmulator, tmp_path: Path, rows: int) -> float:
    """The command's peak resident memory, from its own VmHWM: ru_maxrss would include this test process's, which
    a child inherits across fork and exec."""
    source, output = tmp_path / f"in{rows}.txt", tmp_path / f"out{rows}.parquet"
    source.write_text("".join(f"row {i} text\n" for i in range(rows)))
    script = (
        "import sys\n"
        "from dashscope_embeddings.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(next(line for line in open('/proc/self/status') if line.startswith('VmHWM')).split()[1], file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    args = command(served, source, output, "--progress", "none", "--concurrency", "16", "--dimension", "1024")[3:]
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stderr.strip().splitlines()[-1]) / 1024


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_memory_stays_flat_as_the_input_grows(tmp_path: Path) -> None:
    with ServedEmulator(Emulator(max_records=100)) as served:
        small = peak_rss_mb(served, tmp_path, 2_000)
        large = peak_rss_mb(served, tmp_path, 20_000)
    # 10 times the rows: 72 MB more vectors at 1024 dimensions (the list `embed` returns would hold 800 MB more),
    # and peak memory grows by less than a third of that.
    assert large - small < 25, (small, large)
