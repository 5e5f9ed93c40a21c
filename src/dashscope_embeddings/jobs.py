"""Bulk embedding jobs: text-embedding-async tasks and the OpenAI-compatible Batch API.

Both run on the service for minutes to hours and are billed differently from `TextEmbedder` calls:

- `TextEmbeddingTasks`: text-embedding-async-v1/-v2 (Beijing). The input is a `.txt` file at a URL the service can
  read (one text per line, ≤ 100,000 lines, ≤ 2,048 tokens per line, ≤ 200 MB); the vectors are text-embedding-v2's
  (or v1's), 1,536 dimensions, returned as a gzip file behind a signed URL that lives 24 h.
- `BatchJobs`: text-embedding-v1…v4 through `/compatible-mode/v1/files` and `/batches` at half the real-time price
  (≤ 50,000 requests, ≤ 500 MB, ≤ 6 MB per line, one model per batch). The input is your texts (or a text file);
  this module writes the JSONL, uploads it, creates the batch, waits and puts the vectors back in input order.

Every step is a method, so a job can be left and resumed by its id from another process: `status`, `cancel`,
`poll_until_done` (raises `JobTimeoutError` at the deadline, naming the id to resume with) and `fetch`. Each has an
`a`-prefixed async twin. The steps are written once, as generators that yield the HTTP calls and sleeps they need;
`_run` (blocking) and `_arun` (asyncio) are the only code that differs between sync and async.

Results are checked like synchronous answers: one vector per input, each index once, the right width
(`ResponseValidationError` otherwise). A job that ends without every vector raises `JobError`, whose `partial`
keeps what it did produce and `failed_indices` what to send again.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pydantic import SecretStr
from typing_extensions import Self

from .catalog import MODELS, ModelSpec, get_model
from .embedder import resolve_api_key, warn_if_region_lacks
from .errors import (
    DashScopeError,
    InputError,
    JobError,
    JobTimeoutError,
    PermissionDeniedError,
    ResponseValidationError,
)
from .protocol.jobs import (
    BATCHES_PATH,
    FILES_PATH,
    TASKS_PATH,
    BatchLimits,
    BatchStatus,
    FileObject,
    LineError,
    PollSchedule,
    TaskStatus,
    batch_line,
    build_task_body,
    compatible_root,
    multipart_body,
    parse_batch,
    parse_batch_files,
    parse_file,
    parse_task,
    parse_task_result,
    split_lines,
)
from .protocol.json import dumps
from .protocol.text import TEXT_EMBEDDING_PATH
from .regions import resolve_endpoint
from .tokens import get_token_counter, surely_within
from .transport import DEFAULT_TIMEOUT, RetryPolicy, Transport
from .types import TEXT_TYPES, EmbeddingResult, PartialResult, TextType, Usage

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_DEADLINE",
    "BatchJobs",
    "BatchLimits",
    "BatchStatus",
    "LineError",
    "PollSchedule",
    "TaskStatus",
    "TextEmbeddingTasks",
]

T = TypeVar("T")

DEFAULT_DEADLINE: Final = 24 * 3600.0
"""How long `poll_until_done` / `fetch` wait by default: a day, the life of a task's data and of the Batch API's
default completion window. Pass `deadline=` for less (the job keeps running; resume by id)."""


@dataclass(frozen=True, slots=True)
class _Call:
    """One HTTP exchange a step needs (see `Transport.request`)."""

    method: str
    url: str
    parse: Callable[[bytes, str | None], Any]
    content: bytes = b""
    content_type: str | None = None
    headers: Mapping[str, str] | None = None
    authenticated: bool = True
    idempotent: bool = True


@dataclass(frozen=True, slots=True)
class _Sleep:
    seconds: float


Steps = Generator[_Call | _Sleep, Any, T]
"""A job step: yields calls (answered with their parsed result) and sleeps, returns its value."""


def _raw(raw: bytes, request_id: str | None) -> bytes:
    return raw


def _ignore(raw: bytes, request_id: str | None) -> None:
    return None


class _JobClient:
    """Connection settings, the transport, the poll loop, and the two drivers. Same settings as `TextEmbedder`."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | SecretStr | None,
        region: str | None,
        workspace: str | None,
        base_url: str | None,
        timeout: float,
        max_retries: int,
        retry: RetryPolicy | None,
        http_client: httpx.Client | None,
        http_async_client: httpx.AsyncClient | None,
        allow_insecure_http: bool,
        poll: PollSchedule | None,
        deadline: float | None,
    ) -> None:
        api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key  # no plain key in any frame
        self.model = model
        self.spec: ModelSpec = get_model(model)
        self.poll = poll or PollSchedule()
        self.deadline = _check_deadline(deadline)
        self.endpoint = resolve_endpoint(
            region=region, workspace=workspace, base_url=base_url, allow_insecure_http=allow_insecure_http
        )
        self.compatible_url = compatible_root(self.endpoint.base_url)
        self._transport = Transport(
            self.endpoint,
            resolve_api_key(api_key),
            timeout=timeout,
            retry=retry or RetryPolicy(max_retries=max_retries),
            pool_size=10,
            http_client=http_client,
            http_async_client=http_async_client,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, endpoint={self.endpoint.base_url!r})"

    # -- the drivers: the only place sync and async differ ------------------------------------------------------

    def _run(self, steps: Steps[T]) -> T:
        reply: Any = None
        error: DashScopeError | None = None
        while True:
            try:
                step = steps.throw(error) if error is not None else steps.send(reply)
            except StopIteration as stop:
                result: T = stop.value
                return result
            reply, error = None, None
            try:
                if isinstance(step, _Sleep):
                    time.sleep(step.seconds)
                else:
                    reply = self._transport.request(
                        step.method,
                        step.url,
                        step.parse,
                        content=step.content,
                        content_type=step.content_type,
                        headers=step.headers,
                        authenticated=step.authenticated,
                        idempotent=step.idempotent,
                    )
            except DashScopeError as exc:
                error = exc

    async def _arun(self, steps: Steps[T]) -> T:
        reply: Any = None
        error: DashScopeError | None = None
        while True:
            try:
                step = steps.throw(error) if error is not None else steps.send(reply)
            except StopIteration as stop:
                result: T = stop.value
                return result
            reply, error = None, None
            try:
                if isinstance(step, _Sleep):
                    await asyncio.sleep(step.seconds)
                else:
                    reply = await self._transport.arequest(
                        step.method,
                        step.url,
                        step.parse,
                        content=step.content,
                        content_type=step.content_type,
                        headers=step.headers,
                        authenticated=step.authenticated,
                        idempotent=step.idempotent,
                    )
            except DashScopeError as exc:
                error = exc

    # -- shared steps --------------------------------------------------------------------------------------------

    def _poll(
        self, call: _Call, deadline: float | None, job: str, job_id: str, resume: str
    ) -> Generator[_Call | _Sleep, Any, Any]:
        """Poll `call` until its status is finished, sleeping per the schedule; `JobTimeoutError` at the deadline."""
        limit = self.deadline if deadline is None else _check_deadline(deadline)
        started = time.monotonic()
        polls = 0
        while True:
            status = yield call
            if status.finished:
                return status
            elapsed = time.monotonic() - started
            if limit is not None and elapsed >= limit:
                raise JobTimeoutError(
                    f"{job} {job_id} is still {status.status} after {elapsed:.1f} s (deadline {limit:g} s). It keeps "
                    f"running on the service: resume with {resume}, or run `dashscope-embeddings job wait {job_id}`.",
                    job_id=job_id,
                    status=status.status,
                )
            delay = self.poll.delay(polls)
            polls += 1
            yield _Sleep(delay if limit is None else min(delay, limit - elapsed))

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def close(self) -> None:
        self._transport.close()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _check_deadline(deadline: float | None) -> float | None:
    if deadline is not None and (isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or deadline < 0):
        raise InputError(f"deadline must be a number of seconds >= 0 (or None to wait without limit), got {deadline!r}")
    return None if deadline is None else float(deadline)


# --- text-embedding-async tasks -----------------------------------------------------------------------------------


class TextEmbeddingTasks(_JobClient):
    """text-embedding-async-v1/-v2 tasks: embed a text file at a URL, one vector per line.

    ```python
    tasks = TextEmbeddingTasks(region="beijing")                       # key from DASHSCOPE_API_KEY
    result = tasks.embed_url("https://bucket.oss-cn-beijing.aliyuncs.com/lines.txt", text_type="document")
    # or step by step, resumable from another process:
    task = tasks.submit(url)                 # PENDING, task.task_id
    tasks.poll_until_done(task.task_id, deadline=600)
    result = tasks.fetch(task.task_id, expected_count=n_lines)
    ```

    The vectors are those of the interactive twin (async-v2 → text-embedding-v2) with the same `text_type`. The
    models are listed in Beijing only, so pass `region="beijing"` (with a Beijing key).
    """

    def __init__(
        self,
        model: str = "text-embedding-async-v2",
        *,
        api_key: str | SecretStr | None = None,
        region: str | None = None,
        workspace: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        allow_insecure_http: bool = False,
        poll: PollSchedule | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
    ) -> None:
        api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        super().__init__(
            model,
            api_key=api_key,
            region=region,
            workspace=workspace,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            http_client=http_client,
            http_async_client=http_async_client,
            allow_insecure_http=allow_insecure_http,
            poll=poll,
            deadline=deadline,
        )
        if self.spec.known and self.spec.kind != "batch":
            raise InputError(
                f"{model} is not a text-embedding-async model: tasks run text-embedding-async-v1/-v2 only. Use "
                f"BatchJobs(model={model!r}) for the Batch API, or TextEmbedder for synchronous calls."
            )
        warn_if_region_lacks(self.spec, self.endpoint)
        self.dimension = self.spec.default_dimension or 1536

    def _task_url(self, task_id: str, suffix: str = "") -> str:
        if not isinstance(task_id, str) or not task_id or "/" in task_id:
            raise InputError(f"task_id must be the id a submission returned, got {task_id!r}")
        return f"{self.endpoint.base_url}{TASKS_PATH}/{task_id}{suffix}"

    # -- steps ---------------------------------------------------------------------------------------------------

    def _submit(self, url: str, text_type: TextType | None) -> Steps[TaskStatus]:
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise InputError(
                f"url must be an http(s) URL of a .txt file the service can download, got {url!r}. Upload the file "
                f"to OSS (or any public host) first, or use BatchJobs to send texts directly."
            )
        if text_type is not None and text_type not in TEXT_TYPES:
            raise InputError(f"text_type must be 'query' or 'document' (or None), got {text_type!r}")
        status: TaskStatus = yield _Call(
            "POST",
            self.endpoint.base_url + TEXT_EMBEDDING_PATH,
            parse_task,
            content=dumps(build_task_body(self.model, url, text_type)),
            content_type="application/json",
            headers={"X-DashScope-Async": "enable"},
            idempotent=False,
        )
        return status

    def _status(self, task_id: str) -> Steps[TaskStatus]:
        status: TaskStatus = yield _Call("GET", self._task_url(task_id), parse_task)
        return status

    def _cancel(self, task_id: str) -> Steps[TaskStatus]:
        yield _Call("POST", self._task_url(task_id, "/cancel"), _ignore)
        return (yield from self._status(task_id))

    def _wait(self, task_id: str, deadline: float | None) -> Steps[TaskStatus]:
        call = _Call("GET", self._task_url(task_id), parse_task)
        resume = f"TextEmbeddingTasks(...).poll_until_done({task_id!r}) or .fetch({task_id!r})"
        status: TaskStatus = yield from self._poll(call, deadline, "task", task_id, resume)
        return status

    def _fetch(
        self, task: str | TaskStatus, expected_count: int | None, deadline: float | None
    ) -> Steps[EmbeddingResult]:
        if expected_count is not None and (not isinstance(expected_count, int) or expected_count < 1):
            raise InputError(f"expected_count must be a positive int (the input's lines) or None, got {expected_count}")
        task_id = task.task_id if isinstance(task, TaskStatus) else task
        if isinstance(task, TaskStatus) and task.finished:
            status = task
        else:
            status = yield from self._wait(task_id, deadline)
        if status.status != "SUCCEEDED" or status.url is None:
            raise _task_error(status)
        try:
            data: bytes = yield _Call("GET", status.url, _raw, authenticated=False)
        except PermissionDeniedError as exc:
            raise PermissionDeniedError(
                f"The result URL of task {task_id} was refused ({exc.message[:120]}). Result URLs are signed and "
                f"expire 24 h after the task ends; fetch again to get a fresh status, or resubmit the task.",
                status_code=exc.status_code,
                code=exc.code,
                request_id=exc.request_id,
            ) from None
        vectors = parse_task_result(data, task_id=task_id, width=self.dimension, expected=expected_count)
        return EmbeddingResult(
            model=self.model,
            embeddings=vectors,
            usage=Usage(total_tokens=status.total_tokens),
            dimension=self.dimension,
            request_ids=[task_id],
        )

    def _embed_url(
        self, url: str, text_type: TextType | None, expected_count: int | None, deadline: float | None
    ) -> Steps[EmbeddingResult]:
        status = yield from self._submit(url, text_type)
        return (yield from self._fetch(status.task_id, expected_count, deadline))

    # -- the API -------------------------------------------------------------------------------------------------

    def submit(self, url: str, *, text_type: TextType | None = "document") -> TaskStatus:
        """Start a task embedding every line of the `.txt` file at `url`; returns its first status (PENDING).

        The submission is never sent twice on an ambiguous failure (it would start, and bill, a second task)."""
        return self._run(self._submit(url, text_type))

    async def asubmit(self, url: str, *, text_type: TextType | None = "document") -> TaskStatus:
        return await self._arun(self._submit(url, text_type))

    def status(self, task_id: str) -> TaskStatus:
        """One look at the task (UNKNOWN: no such task for this key and region, or older than 24 h)."""
        return self._run(self._status(task_id))

    async def astatus(self, task_id: str) -> TaskStatus:
        return await self._arun(self._status(task_id))

    def cancel(self, task_id: str) -> TaskStatus:
        """Cancel a PENDING task (the service refuses others: PermissionDenied/BadRequest); returns its status."""
        return self._run(self._cancel(task_id))

    async def acancel(self, task_id: str) -> TaskStatus:
        return await self._arun(self._cancel(task_id))

    def poll_until_done(self, task_id: str, *, deadline: float | None = None) -> TaskStatus:
        """Poll until the task is SUCCEEDED, FAILED, CANCELED or UNKNOWN, and return that status.

        `deadline` (seconds; default the client's) bounds the wait: `JobTimeoutError` then names the task to resume.
        """
        return self._run(self._wait(task_id, deadline))

    async def apoll_until_done(self, task_id: str, *, deadline: float | None = None) -> TaskStatus:
        return await self._arun(self._wait(task_id, deadline))

    def fetch(
        self, task: str | TaskStatus, *, expected_count: int | None = None, deadline: float | None = None
    ) -> EmbeddingResult:
        """The task's vectors in line order, waiting for it first if needed. `expected_count`: the input's line
        count, checked when given. Raises JobError if the task did not succeed."""
        return self._run(self._fetch(task, expected_count, deadline))

    async def afetch(
        self, task: str | TaskStatus, *, expected_count: int | None = None, deadline: float | None = None
    ) -> EmbeddingResult:
        return await self._arun(self._fetch(task, expected_count, deadline))

    def embed_url(
        self,
        url: str,
        *,
        text_type: TextType | None = "document",
        expected_count: int | None = None,
        deadline: float | None = None,
    ) -> EmbeddingResult:
        """Submit, wait and fetch in one call. On `JobTimeoutError`, `error.job_id` is the task to resume."""
        return self._run(self._embed_url(url, text_type, expected_count, deadline))

    async def aembed_url(
        self,
        url: str,
        *,
        text_type: TextType | None = "document",
        expected_count: int | None = None,
        deadline: float | None = None,
    ) -> EmbeddingResult:
        return await self._arun(self._embed_url(url, text_type, expected_count, deadline))


def _task_error(status: TaskStatus) -> JobError:
    if status.status == "FAILED":
        reason = f"{status.message or 'no message'}"
    elif status.status == "UNKNOWN":
        reason = "no such task for this key and region (task ids are per account and region, and live 24 h)"
    else:
        reason = f"the task is {status.status}"
    return JobError(
        f"task {status.task_id} ended {status.status}: {reason}",
        job_id=status.task_id,
        status=status.status,
        code=status.code or status.status,
        request_id=status.request_id,
    )


# --- the Batch API ------------------------------------------------------------------------------------------------


class BatchJobs(_JobClient):
    """The OpenAI-compatible Batch API for text-embedding-v1…v4, at half the real-time price.

    ```python
    jobs = BatchJobs(model="text-embedding-v4", dimension=1024)
    result = jobs.embed(texts)                       # upload, create, wait, download; vectors in input order
    # or step by step, resumable from another process:
    batch = jobs.submit(texts)                        # batch.id
    result = jobs.fetch(batch.id, deadline=3600)
    ```

    Each text is one request (`custom_id` = its position), so at most 50,000 texts per batch; every documented
    limit is checked before anything is sent. Requests that fail are never dropped: `fetch` raises `JobError` with
    `line_errors`, `failed_indices` and the vectors of the rest in `partial`.
    """

    def __init__(
        self,
        model: str = "text-embedding-v4",
        *,
        dimension: int | None = None,
        completion_window: str = "24h",
        api_key: str | SecretStr | None = None,
        region: str | None = None,
        workspace: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        allow_insecure_http: bool = False,
        poll: PollSchedule | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
        limits: BatchLimits | None = None,
    ) -> None:
        api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        super().__init__(
            model,
            api_key=api_key,
            region=region,
            workspace=workspace,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            http_client=http_client,
            http_async_client=http_async_client,
            allow_insecure_http=allow_insecure_http,
            poll=poll,
            deadline=deadline,
        )
        spec = self.spec
        if spec.known and not spec.batch_api:
            served = ", ".join(name for name, s in _batch_models().items() if s)
            raise InputError(
                f"The Batch API does not serve {model} (it serves {served}). "
                + (
                    "Use TextEmbeddingTasks for text-embedding-async models."
                    if spec.kind == "batch"
                    else "Use one of those models."
                )
            )
        self.dimension = _batch_dimension(spec, dimension)
        # Answers are checked against an explicit dimension; without one (e.g. resuming a batch made elsewhere)
        # only against the widths the model offers, all rows alike.
        self._check_width = self.dimension if dimension is not None else None
        self.completion_window = completion_window
        self.limits = limits or BatchLimits()

    # -- the input -----------------------------------------------------------------------------------------------

    def _texts(self, source: Sequence[str] | str | os.PathLike[str]) -> tuple[list[str], str]:
        """The texts of `source` (a sequence, or the path of a UTF-8 text file, one text per line) and its name."""
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            try:
                return split_lines(path.read_text(encoding="utf-8")), f"{path.name}:line "
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"cannot read {str(path)!r} as a UTF-8 text file: {exc}") from None
        if not isinstance(source, Sequence):
            raise InputError(f"texts must be a sequence of str or a file path, got {type(source).__name__}")
        return list(source), "texts["

    def _input_file(self, source: Sequence[str] | str | os.PathLike[str]) -> bytes:
        """The batch's JSONL, after checking every documented limit (InputError names the input and the limit)."""
        texts, where = self._texts(source)
        limits, spec = self.limits, self.spec

        def name(i: int) -> str:
            return f"{where}{i + 1}" if where.endswith("line ") else f"{where}{i}]"

        if not texts:
            raise InputError("there is nothing to embed: the input has no texts")
        if len(texts) > limits.requests:
            raise InputError(
                f"{len(texts):,} texts is over the Batch API's {limits.requests:,} requests per batch (one text per "
                f"request). Split the input into batches of at most {limits.requests:,}.",
            )
        counter = None
        lines: list[bytes] = []
        size = 0
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"{name(i)} is empty or not a str; every input must be non-empty text.", index=i)
            if not surely_within(text, spec.max_tokens):
                counter = counter or get_token_counter()
                count = counter.count(text)
                if count > spec.max_tokens:
                    raise InputError(
                        f"{name(i)} has {count:,} tokens, over {self.model}'s limit of {spec.max_tokens:,} per text. "
                        f"Split it into smaller chunks.",
                        index=i,
                    )
            line = batch_line(i, self.model, text, self.dimension if spec.dimension_parameter else None)
            if len(line) > limits.line_bytes:
                raise InputError(
                    f"{name(i)} makes a request line of {len(line):,} bytes, over the Batch API's "
                    f"{limits.line_bytes:,} bytes per line. Split it into smaller chunks.",
                    index=i,
                )
            size += len(line) + 1
            lines.append(line)
        if size > limits.file_bytes:
            raise InputError(
                f"the batch input file would be {size:,} bytes, over the Batch API's {limits.file_bytes:,}. "
                f"Split the input into several batches."
            )
        return b"\n".join(lines) + b"\n"

    # -- steps ---------------------------------------------------------------------------------------------------

    def _submit(
        self, source: Sequence[str] | str | os.PathLike[str], metadata: Mapping[str, str] | None
    ) -> Steps[BatchStatus]:
        data = self._input_file(source)
        body, content_type = multipart_body({"purpose": "batch"}, "batch_input.jsonl", data, uuid.uuid4().hex)
        uploaded: FileObject = yield _Call(
            "POST",
            self.compatible_url + FILES_PATH,
            parse_file,
            content=body,
            content_type=content_type,
            idempotent=False,
        )
        request: dict[str, Any] = {
            "input_file_id": uploaded.id,
            "endpoint": "/v1/embeddings",
            "completion_window": self.completion_window,
        }
        if metadata:
            request["metadata"] = dict(metadata)
        status: BatchStatus = yield _Call(
            "POST",
            self.compatible_url + BATCHES_PATH,
            parse_batch,
            content=dumps(request),
            content_type="application/json",
            idempotent=False,
        )
        return status

    def _batch_url(self, batch_id: str, suffix: str = "") -> str:
        if not isinstance(batch_id, str) or not batch_id or "/" in batch_id:
            raise InputError(f"batch_id must be the id submit() returned (batch_...), got {batch_id!r}")
        return f"{self.compatible_url}{BATCHES_PATH}/{batch_id}{suffix}"

    def _status(self, batch_id: str) -> Steps[BatchStatus]:
        status: BatchStatus = yield _Call("GET", self._batch_url(batch_id), parse_batch)
        return status

    def _cancel(self, batch_id: str) -> Steps[BatchStatus]:
        status: BatchStatus = yield _Call("POST", self._batch_url(batch_id, "/cancel"), parse_batch)
        return status

    def _wait(self, batch_id: str, deadline: float | None) -> Steps[BatchStatus]:
        call = _Call("GET", self._batch_url(batch_id), parse_batch)
        resume = f"BatchJobs(...).poll_until_done({batch_id!r}) or .fetch({batch_id!r})"
        status: BatchStatus = yield from self._poll(call, deadline, "batch", batch_id, resume)
        return status

    def _download(self, file_id: str | None) -> Steps[bytes]:
        if file_id is None:
            return b""
        data: bytes = yield _Call("GET", f"{self.compatible_url}{FILES_PATH}/{file_id}/content", _raw)
        return data

    def _fetch(self, batch: str | BatchStatus, deadline: float | None) -> Steps[EmbeddingResult]:
        batch_id = batch.id if isinstance(batch, BatchStatus) else batch
        status = (
            batch if isinstance(batch, BatchStatus) and batch.finished else (yield from self._wait(batch_id, deadline))
        )
        if status.status == "failed" or status.total == 0:
            raise _batch_failed(status)
        output = yield from self._download(status.output_file_id)
        errors = yield from self._download(status.error_file_id)
        outputs = parse_batch_files(
            output, errors, total=status.total, width=self._check_width, allowed_widths=self.spec.dimensions
        )
        width = outputs.width if outputs.width is not None else self.dimension
        done = sorted(outputs.vectors)
        missing = [i for i in range(status.total) if i not in outputs.vectors]
        unanswered = sorted(set(missing) - {e.index for e in outputs.errors})
        if status.status == "completed" and unanswered:
            raise _unaccounted(batch_id, unanswered)
        result = EmbeddingResult(
            model=self.model,
            embeddings=[outputs.vectors[i] for i in done],
            usage=Usage(total_tokens=outputs.total_tokens),
            dimension=width,
            request_ids=outputs.request_ids,
        )
        if not missing:
            return result
        raise _partial_failure(status, outputs.errors, unanswered, PartialResult(status.total, tuple(done), result))

    def _embed(
        self,
        source: Sequence[str] | str | os.PathLike[str],
        metadata: Mapping[str, str] | None,
        deadline: float | None,
    ) -> Steps[EmbeddingResult]:
        status = yield from self._submit(source, metadata)
        return (yield from self._fetch(status.id, deadline))

    def _delete(self, file_ids: Sequence[str | None]) -> Steps[None]:
        for file_id in file_ids:
            if file_id:
                yield _Call("DELETE", f"{self.compatible_url}{FILES_PATH}/{file_id}", _ignore)

    # -- the API -------------------------------------------------------------------------------------------------

    def submit(
        self, texts: Sequence[str] | str | os.PathLike[str], *, metadata: Mapping[str, str] | None = None
    ) -> BatchStatus:
        """Check the input, upload it and create the batch; returns its first status (`validating`).

        `texts`: a sequence of texts, or the path of a UTF-8 text file with one text per line."""
        return self._run(self._submit(texts, metadata))

    async def asubmit(
        self, texts: Sequence[str] | str | os.PathLike[str], *, metadata: Mapping[str, str] | None = None
    ) -> BatchStatus:
        return await self._arun(self._submit(texts, metadata))

    def status(self, batch_id: str) -> BatchStatus:
        return self._run(self._status(batch_id))

    async def astatus(self, batch_id: str) -> BatchStatus:
        return await self._arun(self._status(batch_id))

    def cancel(self, batch_id: str) -> BatchStatus:
        """Ask the service to stop the batch (`cancelling`, then `cancelled`); finished requests keep their output."""
        return self._run(self._cancel(batch_id))

    async def acancel(self, batch_id: str) -> BatchStatus:
        return await self._arun(self._cancel(batch_id))

    def poll_until_done(self, batch_id: str, *, deadline: float | None = None) -> BatchStatus:
        """Poll until the batch is completed, failed, expired or cancelled; `JobTimeoutError` at the deadline."""
        return self._run(self._wait(batch_id, deadline))

    async def apoll_until_done(self, batch_id: str, *, deadline: float | None = None) -> BatchStatus:
        return await self._arun(self._wait(batch_id, deadline))

    def fetch(self, batch: str | BatchStatus, *, deadline: float | None = None) -> EmbeddingResult:
        """The batch's vectors in input order, waiting for it first if needed. Raises JobError (with `partial`)
        unless every request succeeded."""
        return self._run(self._fetch(batch, deadline))

    async def afetch(self, batch: str | BatchStatus, *, deadline: float | None = None) -> EmbeddingResult:
        return await self._arun(self._fetch(batch, deadline))

    def embed(
        self,
        texts: Sequence[str] | str | os.PathLike[str],
        *,
        metadata: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> EmbeddingResult:
        """Submit, wait and fetch in one call. On `JobTimeoutError`, `error.job_id` is the batch to resume."""
        return self._run(self._embed(texts, metadata, deadline))

    async def aembed(
        self,
        texts: Sequence[str] | str | os.PathLike[str],
        *,
        metadata: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> EmbeddingResult:
        return await self._arun(self._embed(texts, metadata, deadline))

    def delete_files(self, status: BatchStatus) -> None:
        """Delete a finished batch's input, output and error files from the service's file storage."""
        self._run(self._delete([status.input_file_id, status.output_file_id, status.error_file_id]))

    async def adelete_files(self, status: BatchStatus) -> None:
        await self._arun(self._delete([status.input_file_id, status.output_file_id, status.error_file_id]))


def _batch_models() -> dict[str, bool]:
    return {name: spec.batch_api for name, spec in MODELS.items()}


def _batch_dimension(spec: ModelSpec, dimension: int | None) -> int | None:
    """The width to request and check: the given one if the model offers it, else the model's default."""
    if dimension is None:
        return spec.default_dimension
    if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
        raise InputError(f"dimension must be a positive int or None, got {dimension!r}")
    if spec.dimensions and dimension not in spec.dimensions:
        raise InputError(
            f"dimension {dimension} is not offered by {spec.name}; choose one of "
            f"{', '.join(map(str, spec.dimensions))} (default {spec.default_dimension})."
        )
    return dimension


def _batch_failed(status: BatchStatus) -> JobError:
    first = status.errors[0] if status.errors else None
    listed = "; ".join(
        f"line {e.line}: {e.code}: {e.message}" if e.line else f"{e.code}: {e.message}" for e in status.errors[:5]
    )
    reason = listed or ("it holds no requests" if status.total == 0 else "no reason given")
    return JobError(
        f"batch {status.id} ended {status.status}: {reason}",
        job_id=status.id,
        status=status.status,
        code=first.code if first else status.status,
        request_id=status.request_id,
        line_errors=status.errors,
    )


def _unaccounted(batch_id: str, indices: list[int]) -> DashScopeError:
    return ResponseValidationError(
        f"batch {batch_id} completed but its output and error files have no line for inputs {indices[:10]}"
        + (f" (and {len(indices) - 10} more)" if len(indices) > 10 else "")
    )


def _partial_failure(
    status: BatchStatus, errors: list[LineError], unanswered: list[int], partial: PartialResult
) -> JobError:
    failed = partial.failed_indices
    first = errors[0] if errors else None
    if errors:
        shown = "; ".join(f"[{e.index}] {e.code}: {e.message}" for e in errors[:3])
        reason = f"{len(errors)} request(s) failed ({shown})"
    else:
        reason = f"it ended {status.status} before {len(unanswered)} request(s) ran"
    error = JobError(
        f"batch {status.id} gave {len(partial.indices)} of {partial.total} vectors: {reason}. error.partial holds "
        f"the vectors it did produce and error.failed_indices the {len(failed)} inputs to send again.",
        job_id=status.id,
        status=status.status,
        code=first.code if first else status.status,
        request_id=status.request_id,
        line_errors=tuple(errors),
    )
    error.failed_indices = failed
    error.partial = partial
    return error
