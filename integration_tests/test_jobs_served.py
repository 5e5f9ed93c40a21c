"""Bulk jobs over real sockets against the served emulator: both APIs, sync and async, the CLI, a failed download.

Each test uses its own API key: jobs and the one-submission-per-second limit are per account, so the tests do not
wait on each other. (No `live` variant: a task needs an input file at a public URL, and jobs take minutes.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dashscope_embeddings import BatchJobs, PollSchedule, TextEmbeddingTasks
from dashscope_embeddings.cli.job import main as job_main
from dashscope_embeddings.emulator import Emulator, JobFaults, ServedEmulator
from dashscope_embeddings.errors import JobError

FAST = PollSchedule(initial=0.01, maximum=0.05)
LINES = ["Deep learning is a subfield of machine learning", "风急天高猿啸哀", "a third line"]


@pytest.fixture
def key() -> str:
    return f"sk-jobs-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def emulator(served: ServedEmulator) -> Iterator[Emulator]:
    served.emulator.job_faults = JobFaults()
    yield served.emulator
    served.emulator.job_faults = JobFaults()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_task_lifecycle(served: ServedEmulator, emulator: Emulator, key: str, mode: str) -> None:
    url = served.put_object(f"{key}/lines.txt", "\n".join(LINES) + "\n")
    assert url.startswith(served.root_url)
    tasks = TextEmbeddingTasks(api_key=key, base_url=served.base_url, poll=FAST)
    if mode == "sync":
        result = tasks.embed_url(url, text_type="document", expected_count=3)
    else:
        result = asyncio.run(tasks.aembed_url(url, text_type="document", expected_count=3))
    assert result.embeddings == [emulator.expected_task_embedding(t) for t in LINES]
    downloads = [r for r in emulator.requests if r.path.startswith("/emulator/oss/results/") and r.query]
    mine = [r for r in downloads if result.request_ids[0] in r.path]
    assert len(mine) == 1
    assert "authorization" not in mine[0].headers


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_batch_lifecycle(served: ServedEmulator, emulator: Emulator, key: str, mode: str) -> None:
    jobs = BatchJobs("text-embedding-v4", dimension=512, api_key=key, base_url=served.base_url, poll=FAST)
    result = jobs.embed(LINES) if mode == "sync" else asyncio.run(jobs.aembed(LINES))
    assert result.embeddings == [
        emulator.expected_embedding(t, model="text-embedding-v4", dimension=512) for t in LINES
    ]


def test_batch_partial_failure_and_retried_download(served: ServedEmulator, emulator: Emulator, key: str) -> None:
    emulator.job_faults = JobFaults(failed_lines=[0], download_failures=1, shuffle_results=True)
    jobs = BatchJobs(api_key=key, base_url=served.base_url, poll=FAST)
    with pytest.raises(JobError) as caught:
        jobs.embed(LINES)
    partial = caught.value.partial
    assert partial is not None
    assert (caught.value.failed_indices, partial.indices) == ((0,), (1, 2))
    assert partial.result.embeddings == [emulator.expected_embedding(t, model="text-embedding-v4") for t in LINES[1:]]


def test_cli_batch(
    served: ServedEmulator, emulator: Emulator, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", key)
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", served.base_url)
    source, out = tmp_path / "in.txt", tmp_path / "out.npy"
    source.write_text("\n".join(LINES), encoding="utf-8")
    assert job_main(["batch", str(source), "-o", str(out), "--poll-interval", "0.01"]) == 0
    expected = [emulator.expected_embedding(t, model="text-embedding-v4") for t in LINES]
    assert np.load(out).tolist() == np.asarray(expected, dtype=np.float32).tolist()
