"""The OpenAI-compatible Batch API for text embeddings (api-facts §5): `/compatible-mode/v1/batches`.

- `POST /batches` `{"input_file_id", "endpoint": "/v1/embeddings", "completion_window": "24h", "metadata"?}` → an
  OpenAI batch object; `GET /batches/{id}`; `POST /batches/{id}/cancel`; `GET /batches` (newest first, `limit`,
  `after`).
- Statuses (timed by `JobTiming`): `validating` → `in_progress` → `finalizing` → `completed`; `failed` when the
  input file is invalid; `cancelling` → `cancelled`; `expired` when the completion window ends first.

Validation (the batch becomes `failed` with `errors.data[{code, message, param, line}]`, OpenAI's form, lines
1-based): every line a JSON object with a unique string `custom_id` (`duplicate_custom_id`), `method` POST, `url`
the batch's endpoint, a `body` with a `model`; one model per batch (`mismatched_model`); a model the Batch API
serves, text-embedding-v1…v4 (`model_not_found`, "The provided model xxx is not supported by the Batch API.");
at most 50,000 requests and 6 MB per line. The documented codes are `mismatched_model` and `duplicate_custom_id`;
the other codes follow OpenAI's (`invalid_json_line`, `invalid_url`, ...) or are the emulator's (`line_too_large`,
`too_many_requests`).

Each request is answered like `POST /compatible-mode/v1/embeddings` with its body (same checks, same vectors).
Output lines: `{"id", "custom_id", "response": {"status_code": 200, "request_id", "body": {...}}, "error": null}`.
A request that fails goes to the error file with its status and the compatible error body under `response`, and
`error: {"code", "message"}` as well (which of the two the service fills is not documented; clients should read
either). A cancelled batch keeps the output of the requests it finished before the cancel.
"""

from __future__ import annotations

import math
import random
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from .compatible_endpoint import compatible_answer
from .endpoint import ErrorStyle
from .errors import ServiceError
from .faults import shuffled_order
from .files import FileStore
from .job_runtime import JobRuntime
from .job_settings import JobFaults
from .resource import HttpAnswer, HttpRequest
from .validation import validate_compatible

__all__ = ["BATCHES_PATH", "BatchService", "BatchesResource"]

BATCHES_PATH: Final = "/compatible-mode/v1/batches"
ENDPOINTS: Final = ("/v1/embeddings",)
MAX_REQUESTS: Final = 50_000
MAX_LINE_BYTES: Final = 6 * 1024 * 1024
MAX_ERRORS: Final = 100
"""Validation errors listed per batch (the rest are dropped, as long lists help nobody)."""
_WINDOW = re.compile(r"^(\d+)([hd])$")


@dataclass(eq=False)
class _Batch:
    id: str
    account: str
    input_file_id: str
    endpoint: str
    completion_window: str
    window: float
    metadata: dict[str, str] | None
    created: float
    faults: JobFaults
    validated: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)
    lines: list[tuple[str, bool, bytes]] = field(default_factory=list)
    """(custom_id, succeeded, output line) per request, in input order."""
    start: float = 0.0
    end: float = math.inf
    cancelled: float | None = None
    done: int | None = None
    """Requests finished when the batch stopped early (cancel); None while it may still finish them all."""
    output_file_id: str | None = None
    error_file_id: str | None = None
    written: bool = False


class BatchService:
    """Every batch of every account. Thread-safe; evaluated lazily against the runtime's clock."""

    def __init__(self, runtime: JobRuntime, files: FileStore) -> None:
        self.runtime = runtime
        self.files = files
        self._batches: dict[str, _Batch] = {}
        self._lock = threading.Lock()

    # --- the timeline --------------------------------------------------------------------------------------------

    def _status(self, batch: _Batch, now: float) -> str:
        timing = self.runtime.timing
        if batch.cancelled is not None:
            return "cancelling" if now < batch.cancelled + timing.finalizing else "cancelled"
        if now < batch.created + timing.queued:
            return "validating"
        if not batch.validated:
            self._validate(batch)
        if batch.errors:
            return "failed"
        if now >= batch.created + batch.window and now < batch.end + timing.finalizing:
            return "expired"
        if now < batch.end:
            return "in_progress"
        return "finalizing" if now < batch.end + timing.finalizing else "completed"

    def _progress(self, batch: _Batch, now: float) -> int:
        """Requests finished by `now`: they finish at an even pace over the running time."""
        if batch.done is not None:
            return batch.done
        if not batch.validated or batch.errors or now < batch.start:
            return 0
        if now >= batch.end:
            return len(batch.lines)
        if math.isinf(batch.end):
            return 0
        return min(len(batch.lines), int(len(batch.lines) * (now - batch.start) / (batch.end - batch.start)))

    def _validate(self, batch: _Batch) -> None:
        """Check the input file and answer every request (once, when validation ends)."""
        runtime = self.runtime
        batch.validated = True
        batch.start = batch.created + runtime.timing.queued
        stored = self.files.get(batch.input_file_id, batch.account)
        requests, errors = _parse_requests(stored.data if stored else b"", batch.endpoint, runtime)
        batch.errors = errors[:MAX_ERRORS]
        if errors:
            batch.end = batch.start
            return
        if batch.faults.fail is not None:
            code, message = batch.faults.fail
            batch.errors = [{"code": code, "message": message, "param": None, "line": None}]
            batch.end = batch.start
            return
        batch.lines = [self._answer(number, custom_id, body, batch.faults) for number, (custom_id, body) in requests]
        running = runtime.timing.running_time(len(batch.lines))
        batch.end = math.inf if batch.faults.stall else batch.start + running

    def _answer(self, number: int, custom_id: str, body: Any, faults: JobFaults) -> tuple[str, bool, bytes]:
        runtime, request_id = self.runtime, str(uuid.uuid4())
        line_id = f"batch_req_{uuid.uuid4().hex}"
        try:
            job = validate_compatible(body, {}, runtime.models, runtime.count_tokens)
            if number in faults.failed_lines:
                raise ServiceError.internal()
            answer = compatible_answer(job, runtime.dense, request_id, range(len(job.texts)))
        except ServiceError as error:
            failed: dict[str, object] = {
                "id": line_id,
                "custom_id": custom_id,
                "response": {
                    "status_code": error.status,
                    "request_id": request_id,
                    "body": orjson.Fragment(error.compatible_body(request_id)),
                },
                "error": {"code": error.compat_code or error.code, "message": error.compat_message or error.message},
            }
            return custom_id, False, orjson.dumps(failed)
        line: dict[str, object] = {
            "id": line_id,
            "custom_id": custom_id,
            "response": {"status_code": 200, "request_id": request_id, "body": orjson.Fragment(answer)},
            "error": None,
        }
        return custom_id, True, orjson.dumps(line)

    def _write_files(self, batch: _Batch, now: float) -> None:
        """Write the output and error files once the batch has stopped (completed, cancelled, expired)."""
        if batch.written:
            return
        batch.written = True
        finished = batch.lines[: self._progress(batch, now)]
        order = list(range(len(finished)))
        if batch.faults.shuffle_results:
            order = shuffled_order(len(finished), random.Random(batch.id).getrandbits(32))
        wall = int(self.runtime.clock.wall(now))
        good = b"".join(finished[i][2] + b"\n" for i in order if finished[i][1])
        bad = b"".join(finished[i][2] + b"\n" for i in order if not finished[i][1])
        if good:
            name = f"{batch.id}_output.jsonl"
            batch.output_file_id = self.files.add(batch.account, name, "batch_output", good, wall, "batch_output").id
        if bad:
            name = f"{batch.id}_error.jsonl"
            batch.error_file_id = self.files.add(batch.account, name, "batch_output", bad, wall, "batch_error").id

    def _object(self, batch: _Batch, now: float) -> dict[str, Any]:
        timing, wall = self.runtime.timing, self.runtime.clock.wall
        status = self._status(batch, now)
        if status == "expired" and batch.done is None:
            batch.done = self._progress(batch, batch.created + batch.window)  # what it finished in time
        if status in ("completed", "cancelled", "expired"):
            self._write_files(batch, now)
        done = self._progress(batch, now)
        ok = sum(1 for _, succeeded, _ in batch.lines[:done] if succeeded)
        began = batch.validated and not batch.errors

        def stamp(at: float | None, reached: bool) -> int | None:
            return int(wall(at)) if at is not None and reached and math.isfinite(at) else None

        stopped = batch.cancelled
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "errors": {"object": "list", "data": batch.errors} if status == "failed" else None,
            "input_file_id": batch.input_file_id,
            "completion_window": batch.completion_window,
            "status": status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "created_at": int(wall(batch.created)),
            "in_progress_at": stamp(batch.start, began and now >= batch.start and (stopped or now) >= batch.start),
            "expires_at": int(wall(batch.created + batch.window)),
            "finalizing_at": stamp(batch.end, status in ("finalizing", "completed")),
            "completed_at": stamp(batch.end + timing.finalizing, status == "completed"),
            "failed_at": stamp(batch.start, status == "failed"),
            "expired_at": stamp(batch.created + batch.window, status == "expired"),
            "cancelling_at": stamp(stopped, stopped is not None),
            "cancelled_at": stamp(stopped + timing.finalizing if stopped is not None else None, status == "cancelled"),
            "request_counts": {"total": len(batch.lines), "completed": ok, "failed": done - ok},
            "metadata": batch.metadata,
        }

    # --- the API -------------------------------------------------------------------------------------------------

    def create(self, payload: Any, account: str) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise ServiceError.invalid_request("The request body must be a JSON object.")
        file_id = payload.get("input_file_id")
        if not isinstance(file_id, str) or not file_id:
            raise ServiceError.invalid_request("Missing required parameter: 'input_file_id'.")
        endpoint = payload.get("endpoint")
        if endpoint not in ENDPOINTS:
            # The service also batches chat completions (and /v1/chat/ds-test); the emulator only embeddings.
            raise ServiceError.invalid_request(f"Invalid endpoint {endpoint!r}: the emulator batches /v1/embeddings.")
        window_text = payload.get("completion_window")
        window = _window_seconds(window_text)
        metadata = payload.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
        ):
            raise ServiceError.invalid_request("metadata must be an object of string values.")
        stored = self.files.get(file_id, account)
        if stored is None:
            raise ServiceError.invalid_request(f"No such File object: {file_id}", 404, "not_found")
        if stored.purpose != "batch":
            raise ServiceError.invalid_request(f"File {file_id} has purpose {stored.purpose!r}, not 'batch'.")
        now = self.runtime.clock.now()
        assert isinstance(window_text, str)
        batch = _Batch(
            f"batch_{uuid.uuid4()}", account, file_id, endpoint, window_text, window, metadata, now, self.runtime.faults
        )
        with self._lock:
            self._batches[batch.id] = batch
            return self._object(batch, now)

    def get(self, batch_id: str, account: str) -> dict[str, Any]:
        now = self.runtime.clock.now()
        with self._lock:
            return self._object(self._find(batch_id, account), now)

    def cancel(self, batch_id: str, account: str) -> dict[str, Any]:
        now = self.runtime.clock.now()
        with self._lock:
            batch = self._find(batch_id, account)
            status = self._status(batch, now)
            if status not in ("validating", "in_progress"):
                raise ServiceError.invalid_request(f"Cannot cancel a batch with status '{status}'.")
            batch.done = self._progress(batch, now)
            batch.cancelled = now
            return self._object(batch, now)

    def list(self, query: Mapping[str, str], account: str) -> dict[str, Any]:
        limit = int(query["limit"]) if query.get("limit", "").isdigit() else 20
        now = self.runtime.clock.now()
        with self._lock:
            mine = [b for b in reversed(self._batches.values()) if b.account == account]
            after = query.get("after")
            if after:
                ids = [b.id for b in mine]
                mine = mine[ids.index(after) + 1 :] if after in ids else []
            page = [self._object(b, now) for b in mine[: max(1, min(limit, 100))]]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(mine) > len(page),
        }

    def _find(self, batch_id: str, account: str) -> _Batch:
        batch = self._batches.get(batch_id)
        if batch is None or batch.account != account:
            raise ServiceError.invalid_request(f"No such Batch object: {batch_id}", 404, "not_found")
        return batch


def _window_seconds(value: object) -> float:
    """`completion_window`: the docs show "24h"; the Chinese Batch page allows 24 h to 336 h in `h` or `d` units
    (not in the reference notes: treated as uncertain, the emulator accepts that range)."""
    match = _WINDOW.match(value) if isinstance(value, str) else None
    hours = (int(match.group(1)) * (24 if match.group(2) == "d" else 1)) if match else 0
    if not 24 <= hours <= 336:
        raise ServiceError.invalid_request(f"Invalid completion_window {value!r}: use 24h to 336h (or 1d to 14d).")
    return hours * 3600.0


def _error(code: str, message: str, line: int | None, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}


def _parse_requests(
    data: bytes, endpoint: str, runtime: JobRuntime
) -> tuple[list[tuple[int, tuple[str, Any]]], list[dict[str, Any]]]:
    """(0-based line number, (custom_id, body)) per request, and the validation errors."""
    raw_lines = [line for line in data.split(b"\n") if line.strip()]
    errors: list[dict[str, Any]] = []
    if not raw_lines:
        return [], [_error("empty_file", "The input file has no requests.", None)]
    if len(raw_lines) > MAX_REQUESTS:
        errors.append(
            _error("too_many_requests", f"The input file has {len(raw_lines)} requests; at most {MAX_REQUESTS}.", None)
        )
    requests: list[tuple[int, tuple[str, Any]]] = []
    seen: set[str] = set()
    model: str | None = None
    for number, raw in enumerate(raw_lines):
        line = number + 1
        if len(raw) > MAX_LINE_BYTES:
            errors.append(_error("line_too_large", f"Line {line} is larger than 6 MB.", line))
            continue
        try:
            item = orjson.loads(raw)
        except orjson.JSONDecodeError:
            errors.append(_error("invalid_json_line", f"Line {line} is not valid JSON.", line))
            continue
        if not isinstance(item, dict):
            errors.append(_error("invalid_json_line", f"Line {line} is not a JSON object.", line))
            continue
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            errors.append(_error("missing_required_parameter", "Missing custom_id.", line, "custom_id"))
            continue
        if custom_id in seen:
            errors.append(
                _error(
                    "duplicate_custom_id",
                    "The custom_id for this request is a duplicate of another request. The custom_id parameter "
                    "must be unique for each request in a batch.",
                    line,
                    "custom_id",
                )
            )
            continue
        seen.add(custom_id)
        if item.get("method") != "POST":
            errors.append(_error("invalid_method", "The method must be POST.", line, "method"))
            continue
        if item.get("url") != endpoint:
            errors.append(_error("invalid_url", f"The url must be the batch's endpoint {endpoint}.", line, "url"))
            continue
        body = item.get("body")
        name = body.get("model") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            errors.append(_error("missing_required_parameter", "Missing body.model.", line, "body.model"))
            continue
        spec = runtime.models.get(name)
        if spec is None or spec.kind != "text" or not spec.batch_api:
            errors.append(
                _error("model_not_found", f"The provided model {name} is not supported by the Batch API.", line)
            )
            continue
        if model is None:
            model = name
        elif name != model:
            errors.append(
                _error(
                    "mismatched_model",
                    f"The model {name} differs from the batch's model {model}: a batch serves one model.",
                    line,
                    "body.model",
                )
            )
            continue
        requests.append((number, (custom_id, body)))
    return requests, errors


class BatchesResource:
    prefix: str = BATCHES_PATH
    style: ErrorStyle = "compatible"
    authenticated: bool = True

    def __init__(self, batches: BatchService) -> None:
        self.batches = batches

    def serve(self, request: HttpRequest) -> HttpAnswer:
        parts = [p for p in request.path[len(BATCHES_PATH) :].split("/") if p]
        method, account = request.method, request.account
        if not parts:
            if method == "POST":
                try:
                    payload = orjson.loads(request.body)
                except orjson.JSONDecodeError:
                    raise ServiceError.illegal_json() from None
                return HttpAnswer.json(self.batches.create(payload, account))
            if method == "GET":
                return HttpAnswer.json(self.batches.list(request.query, account))
            raise ServiceError.method_not_allowed(method)
        if len(parts) == 1:
            if method != "GET":
                raise ServiceError.method_not_allowed(method)
            return HttpAnswer.json(self.batches.get(parts[0], account))
        if len(parts) == 2 and parts[1] == "cancel":
            if method != "POST":
                raise ServiceError.method_not_allowed(method)
            return HttpAnswer.json(self.batches.cancel(parts[0], account))
        raise ServiceError.not_found(request.path)
