"""Emulated jobs pinned from the reference facts (api-facts §3, §5): async tasks, the object store, the Batch API.

Plain httpx against the emulator, never the client package. Time is a fake clock the tests advance, so the
timelines are exact and nothing sleeps.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dashscope_embeddings.emulator import Emulator, JobFaults, JobTiming

from .conftest import AUTH, COMPATIBLE, NATIVE

ASYNC = {"X-DashScope-Async": "enable"}
TIMING = JobTiming(queued=1.0, run=2.0, per_line=0.0, finalizing=1.0)
LINES = ["The quality of the clothes is excellent", "风急天高猿啸哀", "third line"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Emulator:
    return Emulator(clock=clock, job_timing=TIMING)


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emu.transport(), base_url="http://emulator", headers=AUTH) as c:
        yield c


def task_body(url: str, model: str = "text-embedding-async-v2", **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": {"url": url}}
    if parameters:
        body["parameters"] = parameters
    return body


def submit(client: httpx.Client, url: str, **parameters: Any) -> str:
    r = client.post(NATIVE, json=task_body(url, **parameters), headers=ASYNC)
    assert r.status_code == 200, r.text
    return str(r.json()["output"]["task_id"])


def task(client: httpx.Client, task_id: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/tasks/{task_id}")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def result_lines(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    r = httpx.Client(transport=client._transport).get(url)  # no Authorization: the URL is signed
    assert r.status_code == 200, r.text
    return [json.loads(line) for line in gzip.decompress(r.content).decode().splitlines()]


# --- text-embedding-async tasks ---------------------------------------------------------------------------------------


class TestTaskSubmission:
    def test_the_answer_is_a_pending_task(self, client: httpx.Client, emu: Emulator) -> None:
        r = client.post(NATIVE, json=task_body(emu.put_object("a.txt", "x\n")), headers=ASYNC)
        body = r.json()
        assert r.status_code == 200
        assert list(body) == ["output", "request_id"]
        assert list(body["output"]) == ["task_status", "task_id"]
        assert body["output"]["task_status"] == "PENDING"
        assert re.fullmatch(r"[0-9a-f-]{36}", body["output"]["task_id"])
        assert body["request_id"] == r.headers["x-request-id"]

    @pytest.mark.parametrize(
        ("body", "headers", "status", "code", "message"),
        [
            pytest.param(
                task_body("https://e/a.txt"),
                {},
                403,
                "AccessDenied",
                "current user api does not support synchronous calls.",
                id="async model without the header",
            ),
            pytest.param(
                {"model": "text-embedding-v4", "input": {"texts": ["a"]}},
                ASYNC,
                403,
                "AccessDenied",
                "Current user api does not support asynchronous calls.",
                id="sync model with the header",
            ),
            pytest.param(
                task_body("ftp://e/a.txt"),
                ASYNC,
                400,
                "InvalidParameter",
                "The provided URL does not appear to be valid. Ensure it is correctly formatted.",
                id="not an http url",
            ),
            pytest.param(
                {"model": "text-embedding-async-v2", "input": {}},
                ASYNC,
                400,
                "BadRequest.EmptyInput",
                "Required input parameter missing from request.",
                id="no url",
            ),
            pytest.param(
                task_body("https://e/a.txt", text_type="passage"),
                ASYNC,
                400,
                "InvalidParameter",
                "<400> InternalError.Algo.InvalidParameter: Input should be 'query' or 'document': "
                "parameters.text_type",
                id="bad text_type",
            ),
        ],
    )
    def test_refusals(
        self, client: httpx.Client, body: dict[str, Any], headers: dict[str, str], status: int, code: str, message: str
    ) -> None:
        r = client.post(NATIVE, json=body, headers=headers)
        assert (r.status_code, r.json()["code"], r.json()["message"]) == (status, code, message)

    def test_one_submission_per_second(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        url = emu.put_object("a.txt", "x\n")
        submit(client, url)
        clock.advance(0.4)
        r = client.post(NATIVE, json=task_body(url), headers=ASYNC)
        assert (r.status_code, r.json()["code"], r.headers["retry-after"]) == (429, "Throttling.RateQuota", "1")
        clock.advance(0.6)
        submit(client, url)

    def test_fifty_queued_or_running_per_account(self, emu: Emulator, clock: Clock) -> None:
        emu.job_faults = JobFaults(stall=True)
        url = emu.put_object("a.txt", "x\n")
        with httpx.Client(transport=emu.transport(), base_url="http://e", headers=AUTH) as client:
            for _ in range(50):
                submit(client, url)
                clock.advance(1)
            r = client.post(NATIVE, json=task_body(url), headers=ASYNC)
            assert (r.status_code, r.json()["code"]) == (429, "Throttling")
            other = {"Authorization": "Bearer sk-other-account"}
            assert client.post(NATIVE, json=task_body(url), headers={**ASYNC, **other}).status_code == 200


class TestTaskLifecycle:
    def test_pending_running_succeeded_with_exact_bodies(
        self, client: httpx.Client, emu: Emulator, clock: Clock
    ) -> None:
        task_id = submit(client, emu.put_object("in/lines.txt", "\r\n".join(LINES) + "\n"), text_type="query")
        pending = task(client, task_id)
        assert list(pending) == ["request_id", "output"]
        assert list(pending["output"]) == ["task_id", "task_status", "submit_time"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", pending["output"]["submit_time"])
        clock.advance(1.5)
        running = task(client, task_id)["output"]
        assert (running["task_status"], list(running)) == (
            "RUNNING",
            ["task_id", "task_status", "submit_time", "scheduled_time"],
        )
        clock.advance(2)
        done = task(client, task_id)
        assert list(done) == ["request_id", "output", "usage"]
        output = done["output"]
        assert list(output) == ["task_id", "task_status", "submit_time", "scheduled_time", "end_time", "url"]
        assert output["task_status"] == "SUCCEEDED"
        tokens = [emu.count_tokens(line) for line in LINES]
        assert done["usage"] == {"total_tokens": sum(tokens)}
        assert re.fullmatch(
            rf"http://emulator/emulator/oss/results/{task_id}/\d{{8}}/[0-9a-f-]{{36}}_output_\d{{13}}\.txt\.gz"
            r"\?Expires=\d+&OSSAccessKeyId=\w+&Signature=[\w%]+",
            output["url"],
        )
        lines = result_lines(client, output["url"])
        assert lines == [
            {
                "output": {"text_index": i, "embedding": emu.expected_task_embedding(text, text_type="query")},
                "usage": {"total_tokens": tokens[i]},
            }
            for i, text in enumerate(LINES)
        ]

    def test_vectors_are_the_interactive_twins(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        url = emu.put_object("a.txt", "hello world\n")
        task_id = submit(client, url)
        clock.advance(5)
        vector = result_lines(client, task(client, task_id)["output"]["url"])[0]["output"]["embedding"]
        sync = client.post(NATIVE, json={"model": "text-embedding-v2", "input": {"texts": ["hello world"]}})
        assert vector == sync.json()["output"]["embeddings"][0]["embedding"]
        assert len(vector) == 1536

    def test_three_tasks_run_at_once(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        url = emu.put_object("a.txt", "x\n")
        ids = []
        for _ in range(4):
            ids.append(submit(client, url))
            clock.advance(1.0)
        # t=4: the first three (ready at 1, 2, 3) run until 3, 4, 5; the fourth waits for the first slot (free at 3).
        statuses = [emu.tasks.expected_status(i) for i in ids]
        assert statuses == ["SUCCEEDED", "SUCCEEDED", "RUNNING", "RUNNING"]
        emu2 = Emulator(clock=clock, job_timing=JobTiming(queued=0, run=10, per_line=0, submit_interval=0))
        with httpx.Client(transport=emu2.transport(), base_url="http://e", headers=AUTH) as c2:
            url2 = emu2.put_object("a.txt", "x\n")
            later = [submit(c2, url2) for _ in range(4)]
            assert [emu2.tasks.expected_status(i) for i in later] == ["RUNNING"] * 3 + ["PENDING"]
            clock.advance(10)
            assert [emu2.tasks.expected_status(i) for i in later] == ["SUCCEEDED"] * 3 + ["RUNNING"]

    def test_cancel_only_pending(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        url = emu.put_object("a.txt", "x\n")
        task_id = submit(client, url)
        r = client.post(f"/api/v1/tasks/{task_id}/cancel")
        assert r.status_code == 200
        assert list(r.json()) == ["request_id"]
        output = task(client, task_id)["output"]
        assert (output["task_status"], "end_time" in output) == ("CANCELED", True)
        clock.advance(1)
        running = submit(client, url)
        clock.advance(1.5)
        r = client.post(f"/api/v1/tasks/{running}/cancel")
        assert (r.status_code, r.json()["code"]) == (400, "UnsupportedOperation")
        assert r.json()["message"] == "Failed to cancel the task, please confirm if the task is in PENDING status."

    def test_unknown_ids_other_accounts_and_expired_tasks_read_unknown(
        self, client: httpx.Client, emu: Emulator, clock: Clock
    ) -> None:
        unknown = task(client, "no-such-task")
        assert unknown == {
            "request_id": unknown["request_id"],
            "output": {"task_id": "no-such-task", "task_status": "UNKNOWN"},
        }
        task_id = submit(client, emu.put_object("a.txt", "x\n"))
        other = client.get(f"/api/v1/tasks/{task_id}", headers={"Authorization": "Bearer sk-someone-else"})
        assert other.json()["output"]["task_status"] == "UNKNOWN"
        clock.advance(3.5)
        url = task(client, task_id)["output"]["url"]
        clock.advance(24 * 3600)
        assert task(client, task_id)["output"]["task_status"] == "UNKNOWN"
        expired = httpx.Client(transport=emu.transport()).get(url)
        assert expired.status_code == 403
        assert "<Code>AccessDenied</Code>" in expired.text
        assert "<Message>Request has expired.</Message>" in expired.text

    def test_tasks_need_a_key(self, emu: Emulator) -> None:
        r = httpx.Client(transport=emu.transport()).get("http://e/api/v1/tasks/x")
        assert (r.status_code, r.json()["code"]) == (401, "InvalidApiKey")

    def test_list(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        url = emu.put_object("a.txt", "x\n")
        first = submit(client, url)
        clock.advance(5)
        second = submit(client, url)
        body = client.get("/api/v1/tasks", params={"page_no": 1, "page_size": 1}).json()
        assert list(body) == ["request_id", "data", "total", "total_page", "page_no", "page_size"]
        assert (body["total"], body["total_page"], body["page_no"], body["page_size"]) == (2, 2, 1, 1)
        row = body["data"][0]
        assert (row["task_id"], row["status"], row["model_name"], row["region"]) == (
            second,
            "PENDING",
            "text-embedding-async-v2",
            "cn-beijing",
        )
        done = client.get("/api/v1/tasks", params={"status": "SUCCEEDED"}).json()["data"]
        assert [r["task_id"] for r in done] == [first]


class TestTaskFailures:
    @pytest.mark.parametrize(
        ("name", "data", "code", "message"),
        [
            ("a.csv", "x\n", "InvalidFile.TypeNotTxt", "File type should be txt"),
            ("empty.txt", "", "InvalidFile.Empty", "File should not be empty"),
            ("latin.txt", b"caf\xe9\n", "InvalidFile.Encoding", "File should be encoded in UTF-8"),
            (
                "long.txt",
                "ok\n" + "word " * 3000 + "\n",
                "InvalidParameter",
                "<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, 2048]: line 2",
            ),
        ],
    )
    def test_file_checks_fail_the_task(
        self, client: httpx.Client, emu: Emulator, clock: Clock, name: str, data: str | bytes, code: str, message: str
    ) -> None:
        task_id = submit(client, emu.put_object(name, data))
        clock.advance(5)
        output = task(client, task_id)["output"]
        assert (output["task_status"], output["code"], output["message"]) == ("FAILED", code, message)
        assert "url" not in output

    def test_a_missing_object_fails_the_download(self, client: httpx.Client, clock: Clock) -> None:
        task_id = submit(client, "https://bucket.example/emulator/oss/objects/missing.txt")
        clock.advance(5)
        output = task(client, task_id)["output"]
        assert (output["task_status"], output["code"]) == ("FAILED", "InvalidFile.DownloadFailed")

    def test_injected_failure(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        emu.job_faults = JobFaults(fail=("InternalError.Timeout", "The task timed out."))
        task_id = submit(client, emu.put_object("a.txt", "x\n"))
        clock.advance(5)
        output = task(client, task_id)["output"]
        assert (output["task_status"], output["code"], output["message"]) == (
            "FAILED",
            "InternalError.Timeout",
            "The task timed out.",
        )

    def test_stalled_tasks_never_finish(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        emu.job_faults = JobFaults(stall=True)
        task_id = submit(client, emu.put_object("a.txt", "x\n"))
        clock.advance(10_000)
        assert task(client, task_id)["output"]["task_status"] == "RUNNING"

    def test_shuffled_result_file(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        emu.job_faults = JobFaults(shuffle_results=True)
        task_id = submit(client, emu.put_object("a.txt", "\n".join(LINES)))
        clock.advance(5)
        lines = result_lines(client, task(client, task_id)["output"]["url"])
        order = [line["output"]["text_index"] for line in lines]
        assert sorted(order) == [0, 1, 2]
        assert order != [0, 1, 2]

    def test_download_failures_then_success(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        emu.job_faults = JobFaults(download_failures=1)
        task_id = submit(client, emu.put_object("a.txt", "x\n"))
        clock.advance(5)
        url = task(client, task_id)["output"]["url"]
        plain = httpx.Client(transport=emu.transport())
        failed = plain.get(url)
        assert (failed.status_code, failed.headers["content-type"]) == (500, "application/xml")
        assert "<Code>InternalError</Code>" in failed.text
        assert plain.get(url).status_code == 200

    def test_a_tampered_signature_is_refused(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        task_id = submit(client, emu.put_object("a.txt", "x\n"))
        clock.advance(5)
        url = task(client, task_id)["output"]["url"]
        plain = httpx.Client(transport=emu.transport())
        forged = plain.get(re.sub(r"Expires=(\d+)", lambda m: f"Expires={int(m.group(1)) + 1}", url))
        assert forged.status_code == 403
        assert "<Code>SignatureDoesNotMatch</Code>" in forged.text
        unsigned = plain.get(url.split("?")[0])
        assert (unsigned.status_code, "<Code>AccessDenied</Code>" in unsigned.text) == (403, True)


class TestObjectStore:
    def test_put_and_get_on_any_host(self, emu: Emulator) -> None:
        url = emu.put_object("dir/a b.txt", "hello")
        assert url == "http://127.0.0.1/emulator/oss/objects/dir/a%20b.txt"
        plain = httpx.Client(transport=emu.transport())
        assert plain.get("https://any.host/emulator/oss/objects/dir/a%20b.txt").content == b"hello"
        assert plain.put("http://x/emulator/oss/objects/up.txt", content=b"up").status_code == 200
        assert plain.get("http://x/emulator/oss/objects/up.txt").content == b"up"
        missing = plain.get("http://x/emulator/oss/objects/nope.txt")
        assert (missing.status_code, "<Code>NoSuchKey</Code>" in missing.text) == (404, True)

    def test_bad_names(self, emu: Emulator) -> None:
        with pytest.raises(ValueError, match="relative path"):
            emu.put_object("../x", "a")


# --- the Batch API ----------------------------------------------------------------------------------------------------

FILES = "/compatible-mode/v1/files"
BATCHES = "/compatible-mode/v1/batches"


def jsonl(*items: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def request(custom_id: str, text: str, model: str = "text-embedding-v4", **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {"model": model, "input": text, **body},
    }


def upload(client: httpx.Client, data: bytes, purpose: str = "batch") -> dict[str, Any]:
    r = client.post(FILES, files={"file": ("input.jsonl", data)}, data={"purpose": purpose})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def create(client: httpx.Client, file_id: str, **extra: Any) -> dict[str, Any]:
    payload = {"input_file_id": file_id, "endpoint": "/v1/embeddings", "completion_window": "24h", **extra}
    r = client.post(BATCHES, json=payload)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def batch(client: httpx.Client, batch_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"{BATCHES}/{batch_id}").json()
    return body


def content(client: httpx.Client, file_id: str) -> list[dict[str, Any]]:
    r = client.get(f"{FILES}/{file_id}/content")
    assert r.status_code == 200
    return [json.loads(line) for line in r.text.splitlines()]


BATCH_KEYS = [
    "id",
    "object",
    "endpoint",
    "errors",
    "input_file_id",
    "completion_window",
    "status",
    "output_file_id",
    "error_file_id",
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
    "request_counts",
    "metadata",
]


class TestFiles:
    def test_upload_get_content_delete(self, client: httpx.Client, clock: Clock) -> None:
        data = jsonl(request("1", "a"))
        uploaded = upload(client, data)
        assert uploaded == {
            "id": uploaded["id"],
            "object": "file",
            "bytes": len(data),
            "created_at": uploaded["created_at"],
            "filename": "input.jsonl",
            "purpose": "batch",
            "status": "processed",
        }
        assert uploaded["id"].startswith("file-batch-")
        assert client.get(f"{FILES}/{uploaded['id']}").json() == uploaded
        assert client.get(f"{FILES}/{uploaded['id']}/content").content == data
        assert [f["id"] for f in client.get(FILES).json()["data"]] == [uploaded["id"]]
        deleted = client.delete(f"{FILES}/{uploaded['id']}")
        assert deleted.json() == {"id": uploaded["id"], "object": "file", "deleted": True}
        gone = client.get(f"{FILES}/{uploaded['id']}")
        assert gone.status_code == 404
        assert gone.json()["error"]["type"] == "invalid_request_error"

    def test_refusals(self, client: httpx.Client) -> None:
        assert client.post(FILES, files={"file": ("a", b"x")}, data={"purpose": "fine-tune"}).status_code == 400
        assert client.post(FILES, data={"purpose": "batch"}).status_code == 400
        assert client.post(FILES, json={"purpose": "batch"}).status_code == 400
        other = client.get(f"{FILES}/{upload(client, b'x')['id']}", headers={"Authorization": "Bearer sk-other"})
        assert other.status_code == 404


class TestBatches:
    def test_lifecycle_and_output(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        texts = ["first text", "second text", "third"]
        items = [request(str(i), t, dimensions=256) for i, t in enumerate(texts)]
        uploaded = upload(client, jsonl(*items))
        created = create(client, uploaded["id"], metadata={"run": "7"})
        assert list(created) == BATCH_KEYS
        assert (created["object"], created["status"], created["metadata"]) == ("batch", "validating", {"run": "7"})
        assert created["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
        assert created["expires_at"] - created["created_at"] == 24 * 3600
        assert created["id"].startswith("batch_")
        seen = []
        for _ in range(5):
            clock.advance(1)
            seen.append(batch(client, created["id"])["status"])
        assert seen == ["in_progress", "in_progress", "finalizing", "completed", "completed"]
        done = batch(client, created["id"])
        assert done["request_counts"] == {"total": 3, "completed": 3, "failed": 0}
        assert done["error_file_id"] is None
        lines = content(client, done["output_file_id"])
        for i, line in enumerate(lines):
            assert list(line) == ["id", "custom_id", "response", "error"]
            assert (line["custom_id"], line["response"]["status_code"], line["error"]) == (str(i), 200, None)
            body = line["response"]["body"]
            sync = client.post(COMPATIBLE, json={"model": "text-embedding-v4", "input": texts[i], "dimensions": 256})
            assert body["data"] == sync.json()["data"]
            assert body["data"][0]["embedding"] == emu.expected_embedding(
                texts[i], model="text-embedding-v4", dimension=256
            )
            assert body["usage"] == {
                "prompt_tokens": emu.count_tokens(texts[i]),
                "total_tokens": emu.count_tokens(texts[i]),
            }

    def test_failed_requests_go_to_the_error_file(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        emu.job_faults = JobFaults(failed_lines=[2])
        items = [request("a", "ok"), request("b", "word " * 9000), request("c", "injected")]
        created = create(client, upload(client, jsonl(*items))["id"])
        clock.advance(5)
        done = batch(client, created["id"])
        assert (done["status"], done["request_counts"]) == ("completed", {"total": 3, "completed": 1, "failed": 2})
        assert [line["custom_id"] for line in content(client, done["output_file_id"])] == ["a"]
        errors = content(client, done["error_file_id"])
        assert [(e["custom_id"], e["response"]["status_code"]) for e in errors] == [("b", 400), ("c", 500)]
        assert errors[0]["error"] == {
            "code": "InvalidParameter",
            "message": "<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, 8192]",
        }
        assert errors[0]["response"]["body"]["error"]["code"] == "InvalidParameter"
        assert errors[1]["error"]["code"] == "internal_error"

    @pytest.mark.parametrize(
        ("items", "code", "message", "line"),
        [
            (
                [request("1", "a"), request("1", "b")],
                "duplicate_custom_id",
                "The custom_id for this request is a duplicate of another request. The custom_id parameter must be "
                "unique for each request in a batch.",
                2,
            ),
            (
                [request("1", "a"), request("2", "b", model="text-embedding-v3")],
                "mismatched_model",
                "The model text-embedding-v3 differs from the batch's model text-embedding-v4: a batch serves one "
                "model.",
                2,
            ),
            (
                [request("1", "a", model="text-embedding-async-v2")],
                "model_not_found",
                "The provided model text-embedding-async-v2 is not supported by the Batch API.",
                1,
            ),
            ([{**request("1", "a"), "url": "/v1/chat/completions"}], "invalid_url", None, 1),
        ],
    )
    def test_validation_fails_the_batch(
        self, client: httpx.Client, clock: Clock, items: list[dict[str, Any]], code: str, message: str | None, line: int
    ) -> None:
        created = create(client, upload(client, jsonl(*items))["id"])
        clock.advance(1.5)
        failed = batch(client, created["id"])
        assert failed["status"] == "failed"
        assert failed["failed_at"] is not None
        error = failed["errors"]["data"][0]
        assert (error["code"], error["line"]) == (code, line)
        if message is not None:
            assert error["message"] == message

    def test_too_many_requests(self, client: httpx.Client, clock: Clock) -> None:
        line = json.dumps(request("x", "a")).encode()
        data = b"\n".join(line.replace(b'"x"', f'"{i}"'.encode()) for i in range(50_001))
        created = create(client, upload(client, data)["id"])
        clock.advance(1.5)
        assert batch(client, created["id"])["errors"]["data"][0]["code"] == "too_many_requests"

    def test_cancel_keeps_finished_requests(self, client: httpx.Client, clock: Clock) -> None:
        items = [request(str(i), f"text {i}") for i in range(4)]
        created = create(client, upload(client, jsonl(*items))["id"])
        clock.advance(2.0)  # validated at 1, half-way through the 2 s run: 2 of 4 done
        cancelling = client.post(f"{BATCHES}/{created['id']}/cancel").json()
        assert (cancelling["status"], cancelling["request_counts"]["completed"]) == ("cancelling", 2)
        clock.advance(1)
        cancelled = batch(client, created["id"])
        assert cancelled["status"] == "cancelled"
        assert [line["custom_id"] for line in content(client, cancelled["output_file_id"])] == ["0", "1"]
        again = client.post(f"{BATCHES}/{created['id']}/cancel")
        assert (again.status_code, again.json()["error"]["message"]) == (
            400,
            "Cannot cancel a batch with status 'cancelled'.",
        )

    def test_a_stalled_batch_expires(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        emu.job_faults = JobFaults(stall=True)
        created = create(client, upload(client, jsonl(request("1", "a")))["id"])
        clock.advance(3600)
        assert batch(client, created["id"])["status"] == "in_progress"
        clock.advance(24 * 3600)
        expired = batch(client, created["id"])
        assert (expired["status"], expired["output_file_id"]) == ("expired", None)
        assert expired["expired_at"] == expired["expires_at"]

    def test_shuffled_output_and_download_failure(self, client: httpx.Client, emu: Emulator, clock: Clock) -> None:
        emu.job_faults = JobFaults(shuffle_results=True, download_failures=1)
        created = create(client, upload(client, jsonl(*(request(str(i), f"t{i}") for i in range(5))))["id"])
        clock.advance(5)
        file_id = batch(client, created["id"])["output_file_id"]
        failed = client.get(f"{FILES}/{file_id}/content")
        assert (failed.status_code, failed.json()["error"]["code"]) == (500, "internal_error")
        order = [line["custom_id"] for line in content(client, file_id)]
        assert sorted(order) == ["0", "1", "2", "3", "4"]
        assert order != sorted(order)

    @pytest.mark.parametrize(
        "payload",
        [
            {"endpoint": "/v1/chat/completions", "completion_window": "24h"},
            {"endpoint": "/v1/embeddings", "completion_window": "1h"},
            {"endpoint": "/v1/embeddings", "completion_window": "24h", "metadata": {"a": 1}},
        ],
    )
    def test_create_refusals(self, client: httpx.Client, payload: dict[str, Any]) -> None:
        file_id = upload(client, jsonl(request("1", "a")))["id"]
        r = client.post(BATCHES, json={"input_file_id": file_id, **payload})
        assert (r.status_code, r.json()["error"]["type"]) == (400, "invalid_request_error")

    def test_unknown_file_and_batch(self, client: httpx.Client) -> None:
        r = client.post(
            BATCHES, json={"input_file_id": "file-x", "endpoint": "/v1/embeddings", "completion_window": "24h"}
        )
        assert r.status_code == 404
        assert client.get(f"{BATCHES}/batch_nope").status_code == 404

    def test_list(self, client: httpx.Client) -> None:
        file_id = upload(client, jsonl(request("1", "a")))["id"]
        first, second = create(client, file_id)["id"], create(client, file_id)["id"]
        page = client.get(BATCHES, params={"limit": 1}).json()
        assert ([b["id"] for b in page["data"]], page["has_more"]) == ([second], True)
        rest = client.get(BATCHES, params={"after": second}).json()
        assert [b["id"] for b in rest["data"]] == [first]
