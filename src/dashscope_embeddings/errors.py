"""The exception tree. Every error this package raises is a `DashScopeError`:

```
DashScopeError
├── InputError (also ValueError)       rejected before sending; names the input index, the limit and the fix
├── APIError                           the service answered with an error (code, message, request_id, status)
│   ├── BadRequestError (400)
│   │   └── ContentInspectionError     DataInspectionFailed: the content moderation refused an input
│   ├── AuthenticationError (401)      says which region and host were used: keys are per region
│   ├── PermissionDeniedError (403)
│   ├── NotFoundError (404)
│   ├── RateLimitError (429)
│   ├── ServerError (5xx)
│   └── JobError                       a batch job ended without every vector (FAILED, cancelled, failed requests)
├── APIConnectionError                 no usable HTTP answer (refused, reset, dropped)
│   └── APITimeoutError
├── JobTimeoutError (also TimeoutError) a job was still running at the caller's deadline; it keeps running
└── ResponseValidationError            an answer we cannot trust: bad JSON, wrong count, missing/duplicate index…
```

`APIError` keeps DashScope's own `code` (e.g. `InvalidParameter`, `Throttling.RateQuota`), `message`, `request_id`
and the HTTP `status_code`, so callers can branch on the service's codes and quote the request id to support.

An error that stops a call of several requests keeps its type, and says which inputs it cost: `failed_indices`
lists the inputs left without a vector, and `partial` (a `types.PartialResult`) holds the vectors of every request
that did complete, so a retry sends only what failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .types import PartialResult

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ContentInspectionError",
    "DashScopeError",
    "InputError",
    "JobError",
    "JobTimeoutError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
]


class DashScopeError(Exception):
    """Base class of every error raised by dashscope-embeddings."""

    failed_indices: tuple[int, ...] = ()
    """The inputs this error left without a vector (set by the embedders once a request was sent)."""
    partial: PartialResult | None = None
    """What the failed call did embed (`embed` / `aembed`); None for streams, which yielded it already."""
    _note: str = ""

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} [{self._note}]" if self._note else message


def attach_failure(
    error: DashScopeError,
    *,
    span: range,
    noun: str,
    failed_indices: tuple[int, ...],
    partial: PartialResult | None,
    requests: int,
) -> DashScopeError:
    """Record on `error` which inputs it cost the call; worded for calls of more than one request."""
    error.failed_indices = failed_indices
    error.partial = partial
    where = f"{noun}[{span.start}:{span.stop}]"
    if partial is not None and requests > 1:
        error._note = (
            f"{where} failed; {len(partial.indices)} of {partial.total} {noun} were embedded before the call "
            f"stopped: error.partial holds them, and error.failed_indices lists the {len(failed_indices)} to send again"
        )
    elif partial is None:
        error._note = f"{where} failed; every result before {noun}[{span.start}] was yielded: resume from there"
    return error


class InputError(DashScopeError, ValueError):
    """An input or setting was rejected before anything was sent.

    `index` is the position of the offending input in the caller's list (None for call-level settings).
    """

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class APIError(DashScopeError):
    """The service answered with an error."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        body: object = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.body = body
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"{self.code}: {self.message}" if self.code else self.message]
        if self.status_code is not None:
            parts.append(f"(HTTP {self.status_code}")
            parts[-1] += f", request_id={self.request_id})" if self.request_id else ")"
        elif self.request_id:
            parts.append(f"(request_id={self.request_id})")
        return " ".join(parts)


class BadRequestError(APIError):
    """HTTP 400: the request was invalid (`InvalidParameter`, `BadRequest.*`, …)."""


class ContentInspectionError(BadRequestError):
    """`DataInspectionFailed`: the service's content moderation refused an input. Retrying will not help."""


class AuthenticationError(APIError):
    """HTTP 401. DashScope keys are per region: a Singapore key is refused in Beijing and vice versa."""


class PermissionDeniedError(APIError):
    """HTTP 403: the account, workspace or key may not use this model or API (`AccessDenied*`, `Arrearage`)."""


class NotFoundError(APIError):
    """HTTP 404: unknown model or path."""


class RateLimitError(APIError):
    """HTTP 429: `Throttling`, `Throttling.RateQuota`, `Throttling.AllocationQuota`, …"""


class ServerError(APIError):
    """HTTP 5xx: `InternalError*`, `ModelServingError`, `ModelUnavailable`, …"""


class JobError(APIError):
    """A batch job (`dashscope_embeddings.jobs`) ended without a vector for every input: the task FAILED, was
    CANCELED or is UNKNOWN, or the batch failed validation, expired, was cancelled, or some of its requests failed.

    `code` / `message` are the service's (for a failed task, from its `output`). `job_id` and `status` name the job.
    `line_errors` lists the failed requests of a batch (`protocol.jobs.LineError`: input index, code, message);
    `failed_indices` and `partial` work as for any call: `partial` holds every vector the job did produce.
    """

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        status: str,
        code: str | None = None,
        request_id: str | None = None,
        line_errors: tuple[object, ...] = (),
    ) -> None:
        self.job_id = job_id
        self.status = status
        self.line_errors = line_errors
        super().__init__(message, code=code, request_id=request_id)


class JobTimeoutError(DashScopeError, TimeoutError):
    """A job was still unfinished at the caller's deadline. The job itself keeps running on the service: wait for
    it again (or fetch its result) by `job_id`; the message says how."""

    def __init__(self, message: str, *, job_id: str, status: str) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.status = status


class APIConnectionError(DashScopeError):
    """No usable HTTP answer: connection refused or reset, or the server closed the connection mid-response."""


class APITimeoutError(APIConnectionError):
    """The request did not complete within the configured timeout."""


class ResponseValidationError(DashScopeError):
    """The answer could not be trusted: malformed JSON, a missing/duplicated/out-of-range index, a wrong count or
    dimension, or non-finite numbers. Raised instead of returning a possibly misaligned result."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message + (f" (request_id={request_id})" if request_id else ""))
        self.request_id = request_id
