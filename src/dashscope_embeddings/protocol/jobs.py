"""Bulk jobs on the wire: request bodies, status and result parsing, the poll schedule. No I/O here.

Two mechanisms (api-facts §5):

- **text-embedding-async-v1/-v2 tasks**: `POST /api/v1/services/embeddings/text-embedding/text-embedding` with
  `X-DashScope-Async: enable` and `{"model", "input": {"url"}, "parameters": {"text_type"}}` answers a task id;
  `GET /api/v1/tasks/{id}` reports PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED or UNKNOWN, and on success a signed
  OSS `url` of a gzip JSONL file with one `{"output": {"text_index", "embedding"}}` per input line.
- **The OpenAI-compatible Batch API** (`/compatible-mode/v1/files` and `/batches`): a JSONL file of
  `{"custom_id", "method": "POST", "url": "/v1/embeddings", "body": {...}}` lines is uploaded and run as a batch;
  its output file has `{"custom_id", "response": {"status_code", "request_id", "body"}, "error"}` per request, and
  requests that failed are in a separate error file.

Results are checked as strictly as synchronous answers (`answers.py`): every input accounted for exactly once, by
its own index (`text_index`, or the `custom_id` we wrote: the input's position), with vectors of the right width.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from ..errors import ResponseValidationError
from .answers import dense_vector, int_field
from .errors import error_in_body
from .json import JSONDecodeError, dumps, loads

__all__ = [
    "BATCHES_PATH",
    "BATCH_ENDPOINT",
    "BATCH_FINAL",
    "FILES_PATH",
    "TASKS_PATH",
    "TASK_FINAL",
    "BatchLimits",
    "BatchOutputs",
    "BatchStatus",
    "FileObject",
    "LineError",
    "PollSchedule",
    "TaskStatus",
    "batch_line",
    "build_task_body",
    "compatible_root",
    "multipart_body",
    "parse_batch",
    "parse_batch_files",
    "parse_file",
    "parse_task",
    "parse_task_result",
    "split_lines",
]

TASKS_PATH: Final = "/tasks"
FILES_PATH: Final = "/files"
BATCHES_PATH: Final = "/batches"
BATCH_ENDPOINT: Final = "/v1/embeddings"
TASK_FINAL: Final = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"})
BATCH_FINAL: Final = frozenset({"completed", "failed", "expired", "cancelled"})
_API_PATH = "/api/v1"
_COMPATIBLE_PATH = "/compatible-mode/v1"


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """The Batch API's documented limits (api-facts §5)."""

    requests: int = 50_000
    file_bytes: int = 500 * 1024 * 1024
    line_bytes: int = 6 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PollSchedule:
    """How long to wait between two status polls. The dashscope SDK (1.x `BaseAsyncApi.wait`) starts at 1 s and
    doubles every 3 polls up to 5 s: a new job is seen soon, a long one costs a request every 5 s at most.

    `delay(n)` is the wait after the n-th unfinished poll (0-based). Tests pass a shorter schedule.
    """

    initial: float = 1.0
    factor: float = 2.0
    every: int = 3
    maximum: float = 5.0

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial or self.factor < 1 or self.every < 1:
            raise ValueError("PollSchedule needs initial > 0, maximum >= initial, factor >= 1 and every >= 1")

    def delay(self, polls: int) -> float:
        return float(min(self.initial * self.factor ** (polls // self.every), self.maximum))


def compatible_root(base_url: str) -> str:
    """The OpenAI-compatible root on the same host: `.../api/v1` → `.../compatible-mode/v1` (regions.py gives every
    client an API root ending in `/api/v1`; a proxy may put a prefix before it, which is kept)."""
    root = base_url.rstrip("/")
    if root.endswith(_API_PATH):
        return root[: -len(_API_PATH)] + _COMPATIBLE_PATH
    parts = urlsplit(root)
    return f"{parts.scheme}://{parts.netloc}{_COMPATIBLE_PATH}"


def split_lines(text: str) -> list[str]:
    """Lines of a text file as the async service counts them: split at `\\n`, a trailing newline ends the last line
    (it does not add an empty one), a `\\r` before the newline is dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _json(raw: bytes, request_id: str | None, what: str) -> dict[str, Any]:
    try:
        payload = loads(raw)
    except JSONDecodeError as exc:
        raise ResponseValidationError(f"{what} is not valid JSON: {exc}", request_id=request_id) from None
    business_error = error_in_body(payload)
    if business_error is not None:
        raise business_error
    if not isinstance(payload, dict):
        raise ResponseValidationError(f"{what} is not a JSON object", request_id=request_id)
    return payload


def _str(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) and value else None


# --- text-embedding-async tasks -------------------------------------------------------------------------------------


def build_task_body(model: str, url: str, text_type: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": {"url": url}}
    if text_type is not None:
        body["parameters"] = {"text_type": text_type}
    return body


@dataclass(frozen=True, slots=True)
class TaskStatus:
    """One look at a task. `url` (SUCCEEDED) is the signed result URL; `code` / `message` say why a task FAILED."""

    task_id: str
    status: str
    submit_time: str | None = None
    scheduled_time: str | None = None
    end_time: str | None = None
    url: str | None = None
    code: str | None = None
    message: str | None = None
    total_tokens: int = 0
    request_id: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in TASK_FINAL


def parse_task(raw: bytes, request_id: str | None = None) -> TaskStatus:
    """A submission answer or `GET /tasks/{id}`: `{"output": {"task_id", "task_status", ...}, "usage"?}`."""
    payload = _json(raw, request_id, "task answer")
    request_id = _str(payload, "request_id") or request_id
    output = payload.get("output")
    if not isinstance(output, dict):
        raise ResponseValidationError("task answer has no output object", request_id=request_id)
    task_id, status = _str(output, "task_id"), _str(output, "task_status")
    if task_id is None or status is None:
        raise ResponseValidationError("task answer has no output.task_id / output.task_status", request_id=request_id)
    usage = payload.get("usage")
    return TaskStatus(
        task_id=task_id,
        status=status,
        submit_time=_str(output, "submit_time"),
        scheduled_time=_str(output, "scheduled_time"),
        end_time=_str(output, "end_time"),
        url=_str(output, "url"),
        code=_str(output, "code"),
        message=_str(output, "message"),
        total_tokens=int_field(usage, "total_tokens") if isinstance(usage, dict) else 0,
        request_id=request_id,
    )


def _gunzip_lines(data: bytes, what: str) -> Iterator[bytes]:
    """The lines of a gzip file (or of a plain one: a proxy may have decompressed it on the way)."""
    stream: Any = gzip.GzipFile(fileobj=io.BytesIO(data)) if data[:2] == b"\x1f\x8b" else io.BytesIO(data)
    try:
        for line in stream:
            if line.strip():
                yield line
    except (OSError, EOFError, zlib.error) as exc:
        raise ResponseValidationError(f"{what} is not a valid gzip file: {exc}") from None


def parse_task_result(
    data: bytes, *, task_id: str, width: int | None, expected: int | None = None
) -> list[list[float]]:
    """The vectors of a task's result file, in input order (by `output.text_index`).

    `expected`: how many lines the input had, when the caller knows. Without it the indices must still be exactly
    0..n-1, each once, so no line can go missing unnoticed except trailing ones.
    """
    what = f"result file of task {task_id}"
    found: dict[int, list[float]] = {}
    for number, line in enumerate(_gunzip_lines(data, what), 1):
        try:
            item = loads(line)
        except JSONDecodeError as exc:
            raise ResponseValidationError(f"{what}, line {number}: not valid JSON ({exc})") from None
        output = item.get("output") if isinstance(item, dict) else None
        index = output.get("text_index") if isinstance(output, dict) else None
        if not isinstance(output, dict) or not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ResponseValidationError(f"{what}, line {number}: no output.text_index")
        if index in found:
            raise ResponseValidationError(f"{what} repeats text_index {index}")
        found[index] = dense_vector(output, label=f"{what}, text_index {index}", width=width, request_id=None)
        width = len(found[index])
    count = expected if expected is not None else (max(found) + 1 if found else 0)
    beyond = sorted(i for i in found if i >= count)
    if beyond:
        raise ResponseValidationError(f"{what} has text_index {beyond[:10]} beyond its {count} input lines")
    missing = [i for i in range(count) if i not in found]
    if missing or not count:
        raise ResponseValidationError(
            f"{what} has {len(found)} vectors for {count} input lines; none for text_index {missing[:10]}"
        )
    return [found[i] for i in range(count)]


# --- the Batch API ----------------------------------------------------------------------------------------------------


def batch_line(index: int, model: str, text: str, dimension: int | None) -> bytes:
    """One request of a batch input file; `custom_id` is the input's position, so results can be put back in order
    (also by a later process resuming with only the batch id)."""
    body: dict[str, Any] = {"model": model, "input": text}
    if dimension is not None:
        body["dimensions"] = dimension
    return dumps({"custom_id": str(index), "method": "POST", "url": BATCH_ENDPOINT, "body": body})


def multipart_body(fields: Mapping[str, str], filename: str, data: bytes, boundary: str) -> tuple[bytes, str]:
    """A `multipart/form-data` body with text `fields` and one `file` part, and its Content-Type."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: application/jsonl\r\n\r\n"
    ).encode()
    body = b"".join([*parts, head, data, f"\r\n--{boundary}--\r\n".encode()])
    return body, f"multipart/form-data; boundary={boundary}"


@dataclass(frozen=True, slots=True)
class FileObject:
    id: str
    bytes: int = 0
    filename: str | None = None
    purpose: str | None = None


def parse_file(raw: bytes, request_id: str | None = None) -> FileObject:
    payload = _json(raw, request_id, "file answer")
    file_id = _str(payload, "id")
    if file_id is None:
        raise ResponseValidationError("file answer has no id", request_id=request_id)
    return FileObject(file_id, int_field(payload, "bytes"), _str(payload, "filename"), _str(payload, "purpose"))


@dataclass(frozen=True, slots=True)
class BatchStatus:
    """One look at a batch (OpenAI's batch object). `errors` lists why a batch `failed` validation."""

    id: str
    status: str
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    errors: tuple[LineError, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    request_id: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in BATCH_FINAL


def parse_batch(raw: bytes, request_id: str | None = None) -> BatchStatus:
    payload = _json(raw, request_id, "batch answer")
    request_id = _str(payload, "request_id") or request_id
    batch_id, status = _str(payload, "id"), _str(payload, "status")
    if batch_id is None or status is None:
        raise ResponseValidationError("batch answer has no id / status", request_id=request_id)
    counts = payload.get("request_counts")
    counts = counts if isinstance(counts, dict) else {}
    errors = payload.get("errors")
    listed = errors.get("data") if isinstance(errors, dict) else None
    metadata = payload.get("metadata")
    return BatchStatus(
        id=batch_id,
        status=status,
        input_file_id=_str(payload, "input_file_id"),
        output_file_id=_str(payload, "output_file_id"),
        error_file_id=_str(payload, "error_file_id"),
        total=int_field(counts, "total"),
        completed=int_field(counts, "completed"),
        failed=int_field(counts, "failed"),
        errors=tuple(_validation_error(e) for e in listed or () if isinstance(e, dict)),
        metadata={str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {},
        request_id=request_id,
    )


@dataclass(frozen=True, slots=True)
class LineError:
    """Why one request of a batch failed. `index` is the input position (None for a file-level error), `line` the
    1-based line of the input file when the service names one."""

    index: int | None
    code: str | None
    message: str
    status_code: int | None = None
    line: int | None = None


def _validation_error(entry: Mapping[str, Any]) -> LineError:
    line = entry.get("line")
    line = line if isinstance(line, int) and not isinstance(line, bool) else None
    return LineError(
        index=line - 1 if line is not None and line >= 1 else None,
        code=_str(entry, "code"),
        message=_str(entry, "message") or "",
        line=line,
    )


@dataclass(frozen=True, slots=True)
class BatchOutputs:
    """What a batch's output and error files hold: vectors by input index, failed requests, usage, request ids."""

    vectors: dict[int, list[float]]
    errors: list[LineError]
    total_tokens: int
    request_ids: list[str]
    width: int | None


def _index(custom_id: object, total: int, what: str) -> int:
    if not isinstance(custom_id, str) or not custom_id.isdigit() or int(custom_id) >= total:
        raise ResponseValidationError(f"{what} has custom_id {custom_id!r}, not an input position 0..{total - 1}")
    return int(custom_id)


def parse_batch_files(
    output: bytes, errors: bytes, *, total: int, width: int | None, allowed_widths: Sequence[int] = ()
) -> BatchOutputs:
    """Read the output and error files of a batch of `total` requests written by `batch_line`.

    Every custom_id must be one of ours and appear once across both files; a request may be missing only if the
    batch stopped early (the caller decides, from the batch status, whether that is an error).
    """
    vectors: dict[int, list[float]] = {}
    failures: list[LineError] = []
    seen: set[int] = set()
    tokens = 0
    request_ids: list[str] = []
    for source, what in ((output, "batch output file"), (errors, "batch error file")):
        for number, line in enumerate(_lines(source), 1):
            where = f"{what}, line {number}"
            try:
                item = loads(line)
            except JSONDecodeError as exc:
                raise ResponseValidationError(f"{where}: not valid JSON ({exc})") from None
            if not isinstance(item, dict):
                raise ResponseValidationError(f"{where}: not a JSON object")
            index = _index(item.get("custom_id"), total, where)
            if index in seen:
                raise ResponseValidationError(f"{what} repeats custom_id {index}")
            seen.add(index)
            response = item.get("response")
            response = response if isinstance(response, dict) else {}
            status = response.get("status_code")
            body = response.get("body")
            if status == 200 and item.get("error") is None and isinstance(body, dict):
                vector, used = _body_vector(body, where, width)
                if width is None:
                    if allowed_widths and len(vector) not in allowed_widths:
                        raise ResponseValidationError(f"{where}: {len(vector)} dimensions, not one the model offers")
                    width = len(vector)
                vectors[index] = vector
                tokens += used
                rid = response.get("request_id")
                if isinstance(rid, str) and rid:
                    request_ids.append(rid)
            else:
                failures.append(_line_failure(index, item, response, status))
    return BatchOutputs(vectors, sorted(failures, key=lambda e: e.index or 0), tokens, request_ids, width)


def _lines(data: bytes) -> Iterable[bytes]:
    return (line for line in data.split(b"\n") if line.strip())


def _body_vector(body: Mapping[str, Any], where: str, width: int | None) -> tuple[list[float], int]:
    data = body.get("data")
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
        raise ResponseValidationError(f"{where}: the response body should hold exactly one embedding")
    vector = dense_vector(data[0], label=where, width=width, request_id=None)
    usage = body.get("usage")
    return vector, int_field(usage, "total_tokens") if isinstance(usage, dict) else 0


def _line_failure(index: int, item: Mapping[str, Any], response: Mapping[str, Any], status: object) -> LineError:
    """Where the service put the reason: `error` or `response.body.error` (either may be filled)."""
    error = item.get("error")
    body = response.get("body")
    inner = body.get("error") if isinstance(body, dict) else None
    source = error if isinstance(error, dict) else inner if isinstance(inner, dict) else {}
    code = _str(source, "code") or _str(source, "type")
    message = _str(source, "message") or f"request failed with HTTP {status}"
    status_code = status if isinstance(status, int) and not isinstance(status, bool) else None
    return LineError(index=index, code=code, message=message, status_code=status_code, line=index + 1)


ApiKind = Literal["tasks", "batch"]


def job_kind(job_id: str) -> ApiKind:
    """Which API an id belongs to: Batch API ids start with `batch_`, task ids are UUIDs."""
    return "batch" if job_id.startswith("batch_") else "tasks"
