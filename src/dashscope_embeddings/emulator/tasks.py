"""text-embedding-async-v1/-v2 tasks (api-facts §5): submit a file URL, poll, cancel, list, download the result.

- `POST /api/v1/services/embeddings/text-embedding/text-embedding` with `X-DashScope-Async: enable` and
  `{"model": "text-embedding-async-v2", "input": {"url": ...}, "parameters": {"text_type": ...}}` answers
  `{"output": {"task_status": "PENDING", "task_id": ...}, "request_id": ...}` (`TaskSubmitEndpoint`, which hands
  every request without the header to the synchronous endpoint unchanged).
- `GET /api/v1/tasks/{id}`, `POST /api/v1/tasks/{id}/cancel`, `GET /api/v1/tasks?...` (`TasksResource`).

Life of a task (timed by `JobTiming`): PENDING until queued long enough *and* one of the account's 3 running slots
is free (first come, first served), RUNNING while its file is embedded, then SUCCEEDED or FAILED. Only PENDING tasks
can be cancelled. Unknown ids, other accounts' ids and tasks older than the 24 h retention read as UNKNOWN.

The file is read when the task starts. Lines are the file split at `\\n` (a trailing newline ends the last line
rather than adding an empty one; a `\\r` before it is dropped). File checks fail the task: not `.txt`, over 200 MB,
not UTF-8, no lines, over 100,000 lines, a line outside 1..2,048 tokens. Only the `.txt` check's code and message
are documented (`InvalidFile.TypeNotTxt` / "File type should be txt"); the rest use that style (emulator's wording).

The result is a gzip JSONL file, one line per input line: `{"output": {"text_index": i, "embedding": [...]},
"usage": {"total_tokens": n}}`. Only `output.text_index` and `output.embedding` are documented; the per-line
`usage` is a plausible guess. Vectors are exactly the synchronous endpoint's for the model's interactive twin
(text-embedding-async-v2 → text-embedding-v2, async-v1 → v1) with the same `text_type`, 1,536 dimensions.
"""

from __future__ import annotations

import heapq
import math
import random
import threading
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from dashscope_embeddings.catalog import ModelSpec
from dashscope_embeddings.types import TEXT_TYPES

from .endpoint import Answer, Context, Endpoint, ErrorStyle
from .errors import ServiceError
from .faults import shuffled_order
from .job_runtime import JobFailure, JobRuntime, gzip_bytes, service_time
from .job_settings import JobFaults
from .object_store import RESULTS_PATH
from .resource import HttpAnswer, HttpRequest
from .validation import model_and_input
from .vectors import Variant

__all__ = ["TASKS_PATH", "TaskService", "TaskSubmitEndpoint", "TasksResource", "interactive_twin"]

TASKS_PATH: Final = "/api/v1/tasks"
MAX_LINES: Final = 100_000
MAX_FILE_BYTES: Final = 200 * 1024 * 1024
REGION: Final = "cn-beijing"
"""The async models are served in Beijing only (api-facts §1); the list answer names the region."""


def interactive_twin(model: str) -> str:
    """The synchronous model whose vectors an async model's tasks return (text-embedding-async-v2 → -v2)."""
    return model.replace("-async-", "-")


def account_of(headers: Mapping[str, str]) -> str:
    return headers.get("authorization", "").strip().partition(" ")[2].strip()


@dataclass(eq=False)
class _Task:
    task_id: str
    account: str
    spec: ModelSpec
    url: str
    text_type: str
    submitted: float
    faults: JobFaults
    start: float | None = None
    end: float = math.inf
    canceled: float | None = None
    result_path: str | None = None
    tokens: int = 0
    failure: tuple[str, str] | None = None

    def status(self, now: float) -> str:
        if self.canceled is not None:
            return "CANCELED"
        if self.start is None:
            return "PENDING"
        if now < self.end:
            return "RUNNING"
        return "FAILED" if self.failure else "SUCCEEDED"

    def finished_at(self) -> float | None:
        return self.canceled if self.canceled is not None else (self.end if self.start is not None else None)


@dataclass
class _Account:
    tasks: list[_Task] = field(default_factory=list)
    free_slots: list[float] = field(default_factory=list)
    """Min-heap of the times at which running slots became free."""
    last_submit: float = -math.inf


class TaskService:
    """Every task of every account. Thread-safe; evaluated lazily against the runtime's clock."""

    def __init__(self, runtime: JobRuntime) -> None:
        self.runtime = runtime
        self._tasks: dict[str, _Task] = {}
        self._accounts: dict[str, _Account] = {}
        self._lock = threading.Lock()

    # --- the schedule --------------------------------------------------------------------------------------------

    def _account(self, key: str) -> _Account:
        account = self._accounts.get(key)
        if account is None:
            account = self._accounts[key] = _Account(free_slots=[-math.inf] * self.runtime.timing.running_tasks)
        return account

    def _advance(self, account: _Account, now: float) -> None:
        """Start every task that could have started by `now`: first come, first served, at most `running_tasks`
        at once; a task takes the slot freed earliest, at the later of its ready time and that slot's release."""
        queued = self.runtime.timing.queued
        for task in account.tasks:
            if task.start is not None or task.canceled is not None:
                continue
            start = max(task.submitted + queued, account.free_slots[0])
            if start > now:
                return  # the tasks behind it were submitted later: they wait too
            self._begin(task, start)
            heapq.heapreplace(account.free_slots, task.end)

    def _begin(self, task: _Task, start: float) -> None:
        """Read and embed the task's file now; its timeline (end, outcome) is fixed from here on."""
        runtime = self.runtime
        task.start = start
        lines: list[str] = []
        try:
            if task.faults.fail is not None:
                raise JobFailure(*task.faults.fail)
            lines = self._lines(task)
            tokens = [runtime.count_tokens(line) for line in lines]
            for number, count in enumerate(tokens, 1):
                if not 1 <= count <= task.spec.max_tokens:
                    refusal = ServiceError.input_length(task.spec.max_tokens)
                    raise JobFailure(refusal.code, f"{refusal.message}: line {number}")
        except JobFailure as failure:
            task.failure = (failure.code, failure.message)
            lines, tokens = [], []
        task.end = math.inf if task.faults.stall else start + runtime.timing.running_time(len(lines))
        if task.failure is None and math.isfinite(task.end):
            task.tokens = sum(tokens)
            task.result_path = self._write_result(task, lines, tokens)

    def _lines(self, task: _Task) -> list[str]:
        path = urllib.parse.unquote(urllib.parse.urlsplit(task.url).path)
        if not path.lower().endswith(".txt"):
            raise JobFailure("InvalidFile.TypeNotTxt", "File type should be txt")
        data = self.runtime.fetch(task.url)
        if len(data) > MAX_FILE_BYTES:
            raise JobFailure("InvalidFile.ExceedLimit", "File size should not exceed 200MB")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise JobFailure("InvalidFile.Encoding", "File should be encoded in UTF-8") from None
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        if not lines:
            raise JobFailure("InvalidFile.Empty", "File should not be empty")
        if len(lines) > MAX_LINES:
            raise JobFailure("InvalidFile.ExceedLimit", f"The number of lines should not exceed {MAX_LINES}")
        return lines

    def _write_result(self, task: _Task, lines: list[str], tokens: list[int]) -> str:
        runtime = self.runtime
        twin = interactive_twin(task.spec.name)
        dimension = task.spec.default_dimension or 1536
        vectors = runtime.dense.encode(lines, Variant(twin, dimension, task.text_type))
        order = list(range(len(lines)))
        if task.faults.shuffle_results:
            order = shuffled_order(len(lines), random.Random(task.task_id).getrandbits(32))
        body = b"".join(
            orjson.dumps(
                {
                    "output": {"text_index": i, "embedding": orjson.Fragment(vectors[i].json)},
                    "usage": {"total_tokens": tokens[i]},
                }
            )
            + b"\n"
            for i in order
        )
        end_ms = int(runtime.clock.wall(task.end) * 1000)
        day = service_time(end_ms / 1000)[:10].replace("-", "")
        path = f"{RESULTS_PATH}{task.task_id}/{day}/{uuid.uuid4()}_output_{end_ms}.txt.gz"
        runtime.store.put(path, gzip_bytes(body))
        return path

    def _visible(self, task_id: str, account: str, now: float) -> _Task | None:
        """The task if this account may see it: its own, and not past the 24 h retention."""
        task = self._tasks.get(task_id)
        if task is None or task.account != account:
            return None
        self._advance(self._accounts[account], now)
        finished = task.finished_at()
        over = finished is not None and now > finished + self.runtime.timing.result_ttl
        return None if over and task.status(now) not in ("PENDING", "RUNNING") else task

    # --- the API -------------------------------------------------------------------------------------------------

    def submit(self, spec: ModelSpec, payload: dict[str, Any], account: str, request_id: str) -> bytes:
        raw_input = payload.get("input")
        if not isinstance(raw_input, dict):
            raise ServiceError.body_invalid()
        url = raw_input.get("url")
        if url is None or url == "":
            raise ServiceError.empty_input()
        if not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ServiceError.invalid_url()
        params = payload.get("parameters")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ServiceError.body_invalid()
        text_type = params.get("text_type", "document")  # the synchronous endpoint's default
        if text_type not in TEXT_TYPES:
            raise ServiceError.not_one_of("parameters.text_type", TEXT_TYPES)
        timing, now = self.runtime.timing, self.runtime.clock.now()
        with self._lock:
            state = self._account(account)
            self._advance(state, now)
            wait = state.last_submit + timing.submit_interval - now
            if wait > 0:
                raise ServiceError.throttled(max(1, math.ceil(wait)))
            live = sum(t.status(now) in ("PENDING", "RUNNING") for t in state.tasks)
            if live >= timing.queued_tasks:
                raise ServiceError.too_many_tasks(timing.queued_tasks)
            task = _Task(str(uuid.uuid4()), account, spec, url, text_type, now, self.runtime.faults)
            state.last_submit = now
            state.tasks.append(task)
            self._tasks[task.task_id] = task
            self._advance(state, now)
        return orjson.dumps({"output": {"task_status": "PENDING", "task_id": task.task_id}, "request_id": request_id})

    def status_body(self, task_id: str, account: str, request_id: str, host: str) -> dict[str, Any]:
        clock = self.runtime.clock
        now = clock.now()
        with self._lock:
            task = self._visible(task_id, account, now)
            if task is None:
                return {"request_id": request_id, "output": {"task_id": task_id, "task_status": "UNKNOWN"}}
            status = task.status(now)
            output: dict[str, Any] = {
                "task_id": task.task_id,
                "task_status": status,
                "submit_time": service_time(clock.wall(task.submitted)),
            }
            if task.start is not None:
                output["scheduled_time"] = service_time(clock.wall(task.start))
            finished = task.finished_at()
            if status in ("SUCCEEDED", "FAILED", "CANCELED") and finished is not None:
                output["end_time"] = service_time(clock.wall(finished))
            body: dict[str, Any] = {"request_id": request_id, "output": output}
            if status == "SUCCEEDED" and task.result_path is not None:
                expires = int(clock.wall(task.end) + self.runtime.timing.result_ttl)
                query = self.runtime.store.signed_query(task.result_path, expires)
                output["url"] = f"http://{host}{urllib.parse.quote(task.result_path)}?{query}"
                body["usage"] = {"total_tokens": task.tokens}
            elif status == "FAILED" and task.failure is not None:
                output["code"], output["message"] = task.failure
            return body

    def cancel(self, task_id: str, account: str, request_id: str) -> dict[str, Any]:
        now = self.runtime.clock.now()
        with self._lock:
            task = self._visible(task_id, account, now)
            if task is None or task.status(now) != "PENDING":
                raise ServiceError.cancel_not_pending()
            task.canceled = now
        return {"request_id": request_id}

    def list_body(self, query: Mapping[str, str], account: str, request_id: str) -> dict[str, Any]:
        """`GET /api/v1/tasks`: newest first, filtered by `status`, `model_name` and the submit-time window
        `start_time` / `end_time` (`YYYYMMDDhhmmss`, the SDK's form), paged by `page_no` / `page_size`."""
        page_no = _positive(query.get("page_no"), 1, "page_no")
        page_size = _positive(query.get("page_size"), 10, "page_size")
        clock = self.runtime.clock
        now = clock.now()
        with self._lock:
            state = self._account(account)
            self._advance(state, now)
            rows = []
            for task in reversed(state.tasks):
                if self._visible(task.task_id, account, now) is None:
                    continue
                status = task.status(now)
                submitted = service_time(clock.wall(task.submitted))
                stamp = "".join(c for c in submitted if c.isdigit())[:14]
                if query.get("status") and query["status"] != status:
                    continue
                if query.get("model_name") and query["model_name"] != task.spec.name:
                    continue
                if query.get("start_time") and stamp < query["start_time"]:
                    continue
                if query.get("end_time") and stamp > query["end_time"]:
                    continue
                finished = task.finished_at()
                rows.append(
                    {
                        "task_id": task.task_id,
                        "status": status,
                        "model_name": task.spec.name,
                        "region": REGION,
                        "submit_time": submitted,
                        "end_time": service_time(clock.wall(finished))
                        if finished is not None and status not in ("PENDING", "RUNNING")
                        else None,
                    }
                )
        first = (page_no - 1) * page_size
        return {
            "request_id": request_id,
            "data": rows[first : first + page_size],
            "total": len(rows),
            "total_page": max(1, math.ceil(len(rows) / page_size)),
            "page_no": page_no,
            "page_size": page_size,
        }

    def expected_status(self, task_id: str) -> str:
        """The task's status now, for tests (UNKNOWN if there is no such task)."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return "UNKNOWN"
            now = self.runtime.clock.now()
            self._advance(self._accounts[task.account], now)
            return task.status(now)


def _positive(raw: str | None, default: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ServiceError.not_an_integer(name)
    return int(raw)


class TaskSubmitEndpoint:
    """The text-embedding path: with `X-DashScope-Async: enable` it submits tasks, without it the synchronous
    endpoint answers exactly as before (which refuses async models with 403 "...does not support synchronous
    calls.")."""

    style: ErrorStyle = "native"

    def __init__(self, synchronous: Endpoint, tasks: TaskService) -> None:
        self.synchronous = synchronous
        self.path = synchronous.path
        self.tasks = tasks

    def respond(self, payload: Any, headers: Mapping[str, str], ctx: Context) -> Answer:
        if headers.get("x-dashscope-async", "").strip().lower() != "enable":
            return self.synchronous.respond(payload, headers, ctx)
        name, _ = model_and_input(payload, "input")
        spec = ctx.models.resolve(name)
        if spec.kind == "multimodal":
            raise ServiceError.wrong_endpoint()
        if spec.kind != "batch":
            raise ServiceError.async_not_supported()
        ctx.admit(0)
        return Answer(self.tasks.submit(spec, payload, account_of(headers), ctx.request_id), 0)


class TasksResource:
    """`/api/v1/tasks`: GET the list, GET one task, POST `/{id}/cancel`."""

    prefix: str = TASKS_PATH
    style: ErrorStyle = "native"
    authenticated: bool = True

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    def serve(self, request: HttpRequest) -> HttpAnswer:
        parts = [p for p in request.path[len(TASKS_PATH) :].split("/") if p]
        method, rid, account = request.method, request.request_id, request.account
        if not parts:
            if method != "GET":
                raise ServiceError.method_not_allowed(method)
            return HttpAnswer.json(self.tasks.list_body(request.query, account, rid))
        if len(parts) == 1:
            if method != "GET":
                raise ServiceError.method_not_allowed(method)
            return HttpAnswer.json(self.tasks.status_body(parts[0], account, rid, request.host))
        if len(parts) == 2 and parts[1] == "cancel":
            if method != "POST":
                raise ServiceError.method_not_allowed(method)
            return HttpAnswer.json(self.tasks.cancel(parts[0], account, rid))
        raise ServiceError.not_found(request.path)
