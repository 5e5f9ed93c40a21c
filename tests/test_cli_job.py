"""`dashscope-embeddings job ...` against the in-process emulator (through `job.main`'s injectable client)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from dashscope_embeddings.cli import main as cli_main
from dashscope_embeddings.cli.job import main
from dashscope_embeddings.emulator import Emulator, JobFaults, JobTiming

TIMING = JobTiming(queued=0.005, run=0.005, per_line=0.0, finalizing=0.002, submit_interval=0)
LINES = ["alpha text", "beta text", "gamma"]
COMMON = ["--base-url", "http://127.0.0.1/api/v1", "--poll-interval", "0.005"]


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-cli")
    return Emulator(job_timing=TIMING)


def run(emu: Emulator, *argv: str) -> int:
    return main([*argv, *COMMON], http_client=httpx.Client(transport=emu.transport()))


def test_batch_writes_vectors_ids_and_cost(emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    out = tmp_path / "out.npy"
    assert run(emu, "batch", str(source), "-o", str(out), "--dimension", "256") == 0
    matrix = np.load(out)
    expected = [emu.expected_embedding(t, model="text-embedding-v4", dimension=256) for t in LINES]
    assert matrix.dtype == np.float32
    assert matrix.tolist() == np.asarray(expected, dtype=np.float32).tolist()
    assert out.with_suffix(".ids.txt").read_text() == "0\n1\n2\n"
    text = capsys.readouterr().out
    tokens = sum(emu.count_tokens(t) for t in LINES)
    # No region with a custom base URL: priced as Singapore, the default region, at the Batch API's half price.
    assert f"3 texts; estimated cost: {tokens} tokens × 0.035 USD per 1M at the Batch API's 50 % price" in text
    assert "batch batch_" in text
    assert f"cost: {tokens} tokens × 0.035 USD per 1M" in text


def test_batch_no_wait_then_resume_by_id(emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join(LINES), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert run(emu, "batch", str(source), "-o", str(out), "--no-wait") == 0
    batch_id = capsys.readouterr().out.split("job fetch ")[1].split()[0]
    assert not out.exists()
    assert run(emu, "wait", batch_id) == 0
    assert f"batch {batch_id}: completed (3 of 3 requests done, 0 failed)" in capsys.readouterr().out
    assert run(emu, "fetch", batch_id, "-o", str(out)) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == [
        {"index": i, "embedding": emu.expected_embedding(t, model="text-embedding-v4")} for i, t in enumerate(LINES)
    ]


def test_partial_results_are_written_and_the_rest_listed(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.job_faults = JobFaults(failed_lines=[1])
    source = tmp_path / "in.txt"
    source.write_text("\n".join(LINES), encoding="utf-8")
    out = tmp_path / "out.npy"
    assert run(emu, "batch", str(source), "-o", str(out)) == 1
    assert np.load(out).shape == (2, 1024)
    assert out.with_suffix(".ids.txt").read_text() == "0\n2\n"
    assert "1 inputs have no vector: [1]" in capsys.readouterr().err


def test_task_submit_status_wait_fetch(emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = emu.put_object("lines.txt", "\n".join(LINES))
    assert run(emu, "submit", "--url", url, "--text-type", "query") == 0
    text = capsys.readouterr().out
    task_id = text.split("task ")[1].split(":")[0]
    assert f"next: dashscope-embeddings job wait {task_id}" in text
    assert "price: 1,000,000 tokens × 0.7 CNY per 1M (beijing)" in text
    assert run(emu, "wait", task_id) == 0
    waited = capsys.readouterr().out
    assert f"task {task_id}: SUCCEEDED" in waited
    assert "cost: " in waited
    assert run(emu, "status", task_id) == 0
    assert "SUCCEEDED" in capsys.readouterr().out
    out = tmp_path / "task.npy"
    assert run(emu, "fetch", task_id, "-o", str(out), "--expected", "3") == 0
    expected = [emu.expected_task_embedding(t, text_type="query") for t in LINES]
    assert np.load(out).tolist() == np.asarray(expected, dtype=np.float32).tolist()


def test_a_deadline_exits_3_and_says_how_to_resume(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    emu.job_faults = JobFaults(stall=True)
    url = emu.put_object("lines.txt", "x")
    assert run(emu, "submit", "--url", url) == 0
    task_id = capsys.readouterr().out.split("task ")[1].split(":")[0]
    assert run(emu, "wait", task_id, "--deadline", "0.03") == 3
    assert f"job wait {task_id}" in capsys.readouterr().err


def test_cancel_and_failures(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    slow = Emulator(job_timing=JobTiming(queued=60, submit_interval=0))
    assert run(slow, "submit", "--url", slow.put_object("a.txt", "x")) == 0
    task_id = capsys.readouterr().out.split("task ")[1].split(":")[0]
    assert run(slow, "cancel", task_id) == 0
    assert f"task {task_id}: CANCELED" in capsys.readouterr().out
    emu.job_faults = JobFaults(fail=("InvalidFile.TypeNotTxt", "File type should be txt"))
    assert run(emu, "submit", "--url", emu.put_object("b.txt", "x")) == 0
    failed_id = capsys.readouterr().out.split("task ")[1].split(":")[0]
    assert run(emu, "fetch", failed_id, "-o", "unused.npy") == 1
    assert "File type should be txt" in capsys.readouterr().err


def test_registered_in_the_main_command(capsys: pytest.CaptureFixture[str]) -> None:
    # No key in the environment: the command runs, and refuses before any request.
    assert cli_main(["job", "status", "some-task"]) == 1
    assert "No DashScope API key" in capsys.readouterr().err
