"""`dashscope_embeddings.jobs` against the in-process emulator: both APIs, sync and async (`call` fixture).

Vectors are compared exactly with the emulator's oracle. Jobs take a few milliseconds (JobTiming) and the client
polls every few milliseconds (PollSchedule), so the whole file runs in about a second.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dashscope_embeddings import BatchJobs, PollSchedule, TextEmbeddingTasks
from dashscope_embeddings.emulator import Emulator, Faults, JobFaults, JobTiming
from dashscope_embeddings.errors import (
    BadRequestError,
    InputError,
    JobError,
    JobTimeoutError,
    ResponseValidationError,
    ServerError,
)
from dashscope_embeddings.jobs import BatchLimits
from dashscope_embeddings.protocol.jobs import compatible_root, parse_task_result, split_lines
from emulated import KEY, connection

FAST = PollSchedule(initial=0.005, factor=2.0, every=3, maximum=0.02)
TIMING = JobTiming(queued=0.005, run=0.005, per_line=0.0, finalizing=0.002, submit_interval=0)
LINES = ["The quality of the clothes is excellent", "风急天高猿啸哀", "third line", "4th"]

Call = Callable[..., Any]


@pytest.fixture
def emu() -> Emulator:
    return Emulator(job_timing=TIMING)


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest) -> Call:
    """`call(obj, "fetch", ...)` runs `obj.fetch(...)` or, on the async leg, `asyncio.run(obj.afetch(...))`."""

    def run(obj: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if request.param == "sync":
            return getattr(obj, name)(*args, **kwargs)
        return asyncio.run(getattr(obj, "a" + name)(*args, **kwargs))

    return run


def tasks_client(emu: Emulator, **overrides: Any) -> TextEmbeddingTasks:
    return TextEmbeddingTasks(**connection(emu, poll=FAST, **overrides))


def batch_client(emu: Emulator, **overrides: Any) -> BatchJobs:
    return BatchJobs(**connection(emu, poll=FAST, **overrides))


def paths(emu: Emulator) -> list[tuple[str, str, int | None]]:
    return [(r.method, r.path, r.status) for r in emu.requests]


# --- pure parts -------------------------------------------------------------------------------------------------------


def test_the_sdk_poll_schedule() -> None:
    schedule = PollSchedule()
    assert [schedule.delay(n) for n in range(12)] == [1, 1, 1, 2, 2, 2, 4, 4, 4, 5, 5, 5]
    with pytest.raises(ValueError, match="initial > 0"):
        PollSchedule(initial=0)


@pytest.mark.parametrize(
    ("base", "root"),
    [
        ("https://dashscope-intl.aliyuncs.com/api/v1", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"),
        ("https://proxy.example/dashscope/api/v1/", "https://proxy.example/dashscope/compatible-mode/v1"),
        ("http://127.0.0.1:8000/other", "http://127.0.0.1:8000/compatible-mode/v1"),
    ],
)
def test_compatible_root(base: str, root: str) -> None:
    assert compatible_root(base) == root


def test_lines_are_split_as_the_service_counts_them() -> None:
    assert split_lines("a\r\nb\n\nc\n") == ["a", "b", "", "c"]
    assert split_lines("a") == ["a"]


def test_result_parsing_refuses_what_could_misalign() -> None:
    def file(*items: dict[str, Any]) -> bytes:
        return gzip.compress(b"".join(json.dumps(i).encode() + b"\n" for i in items))

    one = {"output": {"text_index": 0, "embedding": [0.5, 0.5]}}
    with pytest.raises(ResponseValidationError, match="repeats text_index 0"):
        parse_task_result(file(one, one), task_id="t", width=2)
    with pytest.raises(ResponseValidationError, match="1 vectors for 2 input lines"):
        parse_task_result(file(one), task_id="t", width=2, expected=2)
    with pytest.raises(ResponseValidationError, match=r"1 vectors for 2 input lines; none for text_index \[0\]"):
        parse_task_result(file({"output": {"text_index": 1, "embedding": [1.0, 0.0]}}), task_id="t", width=2)
    with pytest.raises(ResponseValidationError, match="3 dimensions, expected 2"):
        parse_task_result(file({"output": {"text_index": 0, "embedding": [1.0, 0, 0]}}), task_id="t", width=2)
    with pytest.raises(ResponseValidationError, match="not a valid gzip"):
        parse_task_result(b"\x1f\x8bnot gzip", task_id="t", width=2)


# --- text-embedding-async tasks -----------------------------------------------------------------------------------


class TestTasks:
    def test_embed_url_gives_the_twins_vectors_in_order(self, emu: Emulator, call: Call) -> None:
        emu.job_faults = JobFaults(shuffle_results=True)
        url = emu.put_object("lines.txt", "\n".join(LINES) + "\n")
        result = call(tasks_client(emu), "embed_url", url, text_type="query", expected_count=len(LINES))
        assert result.embeddings == [emu.expected_task_embedding(t, text_type="query") for t in LINES]
        assert (result.model, result.dimension) == ("text-embedding-async-v2", 1536)
        assert result.usage.total_tokens == sum(emu.count_tokens(t) for t in LINES)
        submission = emu.requests[0]
        assert submission.headers["x-dashscope-async"] == "enable"
        assert submission.body == {
            "model": "text-embedding-async-v2",
            "input": {"url": url},
            "parameters": {"text_type": "query"},
        }
        assert result.request_ids == [submission.response_body["output"]["task_id"]]

    def test_the_result_download_carries_no_key(self, emu: Emulator) -> None:
        tasks_client(emu).embed_url(emu.put_object("a.txt", "x\n"))
        api = [r for r in emu.requests if r.path.startswith("/api/v1")]
        download = [r for r in emu.requests if r.path.startswith("/emulator/oss/results/")]
        assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in api)
        assert len(download) == 1
        assert "authorization" not in download[0].headers
        assert "x-dashscope-workspace" not in download[0].headers
        assert "Signature=" in download[0].query

    def test_an_injected_clients_own_authorization_is_stripped(self, emu: Emulator) -> None:
        import httpx

        client = httpx.Client(transport=emu.transport(), headers={"Authorization": "Bearer sk-leak"})
        tasks_client(emu, http_client=client, workspace="ws1").embed_url(emu.put_object("a.txt", "x\n"))
        download = next(r for r in emu.requests if r.path.startswith("/emulator/oss/results/"))
        assert "authorization" not in download.headers
        assert "x-dashscope-workspace" not in download.headers

    def test_the_download_is_retried_after_a_500(self, emu: Emulator, call: Call) -> None:
        emu.job_faults = JobFaults(download_failures=1)
        result = call(tasks_client(emu), "embed_url", emu.put_object("a.txt", "hello\n"))
        assert result.embeddings == [emu.expected_task_embedding("hello")]
        downloads = [r.status for r in emu.requests if r.path.startswith("/emulator/oss/results/")]
        assert downloads == [500, 200]

    def test_a_failed_task_raises_its_code(self, emu: Emulator, call: Call) -> None:
        emu.job_faults = JobFaults(fail=("InternalError.Timeout", "The task timed out."))
        with pytest.raises(JobError) as caught:
            call(tasks_client(emu), "embed_url", emu.put_object("a.txt", "x\n"))
        error = caught.value
        assert (error.code, error.status, error.message) == (
            "InternalError.Timeout",
            "FAILED",
            f"task {error.job_id} ended FAILED: The task timed out.",
        )

    def test_the_deadline_names_the_task_to_resume(self, emu: Emulator, call: Call) -> None:
        emu.job_faults = JobFaults(stall=True)
        with pytest.raises(JobTimeoutError) as caught:
            call(tasks_client(emu), "embed_url", emu.put_object("a.txt", "x\n"), deadline=0.05)
        error = caught.value
        assert error.status == "RUNNING"
        assert error.job_id in str(error)
        assert f"poll_until_done({error.job_id!r})" in str(error)
        assert f"dashscope-embeddings job wait {error.job_id}" in str(error)
        assert isinstance(error, TimeoutError)

    def test_resume_by_id_and_cancel(self, emu: Emulator, call: Call) -> None:
        tasks = tasks_client(emu)
        url = emu.put_object("a.txt", "\n".join(LINES))
        first = call(tasks, "submit", url)
        assert first.status == "PENDING"
        fetched = call(tasks, "fetch", first.task_id, expected_count=4)
        assert fetched.embeddings == [emu.expected_task_embedding(t) for t in LINES]
        again = call(tasks, "poll_until_done", first.task_id)
        assert (again.status, again.total_tokens) == ("SUCCEEDED", fetched.usage.total_tokens)
        slow = Emulator(job_timing=JobTiming(queued=60, submit_interval=0))
        slow_tasks = tasks_client(slow)
        pending = call(slow_tasks, "submit", slow.put_object("a.txt", "x"))
        assert call(slow_tasks, "cancel", pending.task_id).status == "CANCELED"
        with pytest.raises(BadRequestError, match="PENDING"):
            call(slow_tasks, "cancel", pending.task_id)
        with pytest.raises(JobError, match="CANCELED"):
            call(slow_tasks, "fetch", pending.task_id)

    def test_an_unknown_task(self, emu: Emulator) -> None:
        with pytest.raises(JobError, match="no such task") as caught:
            tasks_client(emu).fetch("no-such-task")
        assert caught.value.status == "UNKNOWN"

    def test_a_wrong_expected_count_is_caught(self, emu: Emulator) -> None:
        with pytest.raises(ResponseValidationError, match="4 vectors for 5 input lines"):
            tasks_client(emu).embed_url(emu.put_object("a.txt", "\n".join(LINES)), expected_count=5)

    def test_the_submission_is_not_sent_twice_after_a_500(self, emu: Emulator) -> None:
        emu.faults = Faults(error_rate=1.0)
        with pytest.raises(ServerError):
            tasks_client(emu).submit(emu.put_object("a.txt", "x"))
        assert paths(emu) == [("POST", "/api/v1/services/embeddings/text-embedding/text-embedding", 500)]

    def test_polls_are_retried(self, emu: Emulator) -> None:
        tasks = tasks_client(emu)
        submitted = tasks.submit(emu.put_object("a.txt", "x"))
        emu.faults = Faults(error_rate=0.5, seed=1)  # the first two polls answer 500
        result = tasks_client(emu, retry=None, max_retries=10).fetch(submitted.task_id)
        assert len(result) == 1
        assert 500 in [status for _, _, status in paths(emu)]

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"model": "text-embedding-v4"}, "not a text-embedding-async model"),
            ({"deadline": -1}, "deadline must be"),
        ],
    )
    def test_settings_are_checked(self, emu: Emulator, kwargs: dict[str, Any], match: str) -> None:
        with pytest.raises(InputError, match=match):
            tasks_client(emu, **kwargs)

    @pytest.mark.parametrize(
        ("url", "text_type", "match"),
        [("file:///a.txt", "query", "http"), ("https://e/a.txt", "passage", "text_type")],
    )
    def test_submissions_are_checked_before_sending(self, emu: Emulator, url: str, text_type: Any, match: str) -> None:
        with pytest.raises(InputError, match=match):
            tasks_client(emu).submit(url, text_type=text_type)
        assert emu.requests == []


# --- the Batch API ----------------------------------------------------------------------------------------------------


class TestBatches:
    def test_embed_gives_the_compatible_vectors_in_order(self, emu: Emulator, call: Call) -> None:
        emu.job_faults = JobFaults(shuffle_results=True)
        result = call(batch_client(emu, dimension=256), "embed", LINES, metadata={"run": "1"})
        assert result.embeddings == [emu.expected_embedding(t, model="text-embedding-v4", dimension=256) for t in LINES]
        assert (result.dimension, len(result.request_ids)) == (256, 4)
        assert result.usage.total_tokens == sum(emu.count_tokens(t) for t in LINES)
        upload, create = emu.requests[0], emu.requests[1]
        assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
        assert create.body == {
            "input_file_id": upload.response_body["id"],
            "endpoint": "/v1/embeddings",
            "completion_window": "24h",
            "metadata": {"run": "1"},
        }
        uploaded = emu.batches.files.get(upload.response_body["id"], KEY)
        assert uploaded is not None
        assert [json.loads(line) for line in uploaded.data.splitlines()][1] == {
            "custom_id": "1",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": "text-embedding-v4", "input": LINES[1], "dimensions": 256},
        }

    def test_a_text_file_as_input(self, emu: Emulator, tmp_path: Path, call: Call) -> None:
        source = tmp_path / "corpus.txt"
        source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
        result = call(batch_client(emu, model="text-embedding-v2"), "embed", source)
        assert result.embeddings == [emu.expected_embedding(t, model="text-embedding-v2") for t in LINES]
        sent = emu.batches.files.list(KEY)[0].data
        assert b"dimensions" not in sent  # v1/v2 have one size and take no dimension

    def test_failed_requests_keep_the_rest(self, emu: Emulator, call: Call) -> None:
        emu.job_faults = JobFaults(failed_lines=[1, 3])
        with pytest.raises(JobError) as caught:
            call(batch_client(emu), "embed", LINES)
        error = caught.value
        assert error.failed_indices == (1, 3)
        assert error.partial is not None
        assert error.partial.indices == (0, 2)
        assert error.partial.result.embeddings == [
            emu.expected_embedding(LINES[i], model="text-embedding-v4") for i in (0, 2)
        ]
        assert [(e.index, e.code, e.status_code) for e in error.line_errors] == [  # type: ignore[attr-defined]
            (1, "internal_error", 500),
            (3, "internal_error", 500),
        ]
        assert "2 of 4 vectors" in str(error)

    def test_partial_complete_roundtrip(self, emu: Emulator) -> None:
        emu.job_faults = JobFaults(failed_lines=[0])
        jobs = batch_client(emu)
        with pytest.raises(JobError) as caught:
            jobs.embed(LINES)
        partial = caught.value.partial
        assert partial is not None
        emu.job_faults = JobFaults()
        rest = jobs.embed([LINES[i] for i in partial.failed_indices])
        whole = partial.complete(rest)
        assert whole.embeddings == [emu.expected_embedding(t, model="text-embedding-v4") for t in LINES]

    def test_a_failed_batch(self, emu: Emulator, call: Call) -> None:
        emu.job_faults = JobFaults(fail=("quota_exceeded", "Batch quota exceeded."))
        with pytest.raises(JobError) as caught:
            call(batch_client(emu), "embed", LINES)
        assert (caught.value.code, caught.value.status) == ("quota_exceeded", "failed")
        assert caught.value.partial is None

    def test_deadline_resume_and_cancel(self, emu: Emulator, call: Call) -> None:
        emu.job_faults = JobFaults(stall=True)
        jobs = batch_client(emu)
        with pytest.raises(JobTimeoutError) as caught:
            call(jobs, "embed", LINES, deadline=0.05)
        batch_id = caught.value.job_id
        assert batch_id.startswith("batch_")
        assert call(jobs, "status", batch_id).status == "in_progress"
        cancelled = call(jobs, "cancel", batch_id)
        assert cancelled.status == "cancelling"
        assert call(jobs, "poll_until_done", batch_id).status == "cancelled"
        with pytest.raises(JobError, match="before 4 request"):
            call(jobs, "fetch", batch_id)

    def test_delete_files(self, emu: Emulator) -> None:
        jobs = batch_client(emu)
        status = jobs.poll_until_done(jobs.submit(LINES).id)
        jobs.delete_files(status)
        assert emu.batches.files.list(KEY) == []

    def test_resume_without_the_dimension(self, emu: Emulator) -> None:
        batch_id = batch_client(emu, dimension=512).submit(LINES).id
        result = batch_client(emu).fetch(batch_id)
        assert result.dimension == 512

    @pytest.mark.parametrize(
        ("texts", "kwargs", "match", "index"),
        [
            (["a"] * 50_001, {}, "50,001 texts is over the Batch API's 50,000 requests per batch", None),
            (["ok", "word " * 9000], {}, r"texts\[1\] has [\d,]+ tokens, over text-embedding-v4's limit of 8,192", 1),
            (["ok", "  "], {}, r"texts\[1\] is empty", 1),
            (["ok", "x" * 200], {"limits": BatchLimits(line_bytes=200)}, "over the Batch API's 200 bytes per line", 1),
            (["a", "b"], {"limits": BatchLimits(file_bytes=150)}, "over the Batch API's 150", None),
            ([], {}, "nothing to embed", None),
        ],
    )
    def test_limits_are_refused_before_sending(
        self, emu: Emulator, texts: list[str], kwargs: dict[str, Any], match: str, index: int | None
    ) -> None:
        with pytest.raises(InputError, match=match) as caught:
            batch_client(emu, **kwargs).submit(texts)
        assert caught.value.index == index
        assert emu.requests == []

    def test_file_lines_are_named_by_line_number(self, emu: Emulator, tmp_path: Path) -> None:
        source = tmp_path / "c.txt"
        source.write_text("ok\n\nmore\n", encoding="utf-8")
        with pytest.raises(InputError, match=r"c\.txt:line 2 is empty"):
            batch_client(emu).submit(source)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"model": "text-embedding-async-v2"}, "Batch API does not serve text-embedding-async-v2"),
            ({"model": "qwen3-vl-embedding"}, "Batch API does not serve"),
            ({"dimension": 3072}, "dimension 3072 is not offered by text-embedding-v4"),
        ],
    )
    def test_settings_are_checked(self, emu: Emulator, kwargs: dict[str, Any], match: str) -> None:
        with pytest.raises(InputError, match=match):
            batch_client(emu, **kwargs)

    def test_creation_is_not_sent_twice_after_a_500(self, emu: Emulator) -> None:
        emu.faults = Faults(error_rate=1.0)
        with pytest.raises(ServerError):
            batch_client(emu).submit(LINES)
        assert paths(emu) == [("POST", "/compatible-mode/v1/files", 500)]
