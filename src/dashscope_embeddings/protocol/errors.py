"""Turn an error answer into the typed exception of `dashscope_embeddings.errors`.

DashScope sends two error shapes: native `{"code", "message", "request_id"}` and OpenAI-compatible
`{"error": {"message", "type", "code", "param"}, "request_id"}`. The gateway may also answer HTTP 200 with a business
error in the body (the SDK 2.x notes this), so a non-empty `code` in a 200 body is an error too; its class then
follows the code (e.g. `Throttling.*` → RateLimitError) so the retry rules treat it like the status it stands for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ContentInspectionError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from .json import JSONDecodeError, loads

_BY_STATUS: Mapping[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}

# Code prefixes (native and compatible spellings) → the status they stand for, for errors inside an HTTP 200.
_CODE_STATUS: tuple[tuple[str, int], ...] = (
    ("throttling", 429),
    ("limit_requests", 429),
    ("limit_burst_rate", 429),
    ("insufficient_quota", 429),
    ("invalidapikey", 401),
    ("invalid_api_key", 401),
    ("not authorized", 401),
    ("accessdenied", 403),
    ("arrearage", 403),
    ("model.accessdenied", 403),
    ("workspace.accessdenied", 403),
    ("allocationquota.freetieronly", 403),
    ("modelnotfound", 404),
    ("model_not_found", 404),
    ("model.notexist", 404),
    ("model_not_supported", 404),
    ("internalerror", 500),
    ("internal_error", 500),
    ("systemerror", 500),
    ("requesttimeout", 500),
    ("modelservingerror", 503),
    ("modelunavailable", 503),
    ("serviceunavailable", 503),
    ("gatewaytimeout", 504),
)


def status_for_code(code: str) -> int:
    lowered = code.lower()
    for prefix, status in _CODE_STATUS:
        if lowered.startswith(prefix):
            return status
    return 400


def _fields(payload: Any) -> tuple[str | None, str | None, str | None]:
    """(code, message, request_id) from either body shape."""
    if not isinstance(payload, dict):
        return None, None, None
    request_id = payload.get("request_id") or payload.get("id")
    inner = payload.get("error")
    source = inner if isinstance(inner, dict) else payload
    code = source.get("code") or (source.get("type") if source is inner else None)
    message = source.get("message") or source.get("msg")
    return (
        str(code) if code else None,
        str(message) if message else None,
        str(request_id) if request_id else None,
    )


def _class_for(status: int, code: str | None, message: str) -> type[APIError]:
    if (code and code.lower().startswith("datainspectionfailed")) or "DataInspectionFailed" in message:
        return ContentInspectionError
    if code and code.lower() == "data_inspection_failed":
        return ContentInspectionError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return APIError


def error_from_response(status: int, body: bytes, *, request_id: str | None = None, reason: str = "") -> APIError:
    """The exception for a non-2xx answer. `request_id` is the header's, used when the body has none."""
    try:
        payload = loads(body) if body else None
    except JSONDecodeError:
        payload = None
    code, message, body_request_id = _fields(payload)
    if message is None:
        snippet = body[:200].decode("utf-8", errors="replace").strip()
        message = snippet or reason or f"HTTP {status}"
    cls = _class_for(status, code, message)
    return cls(message, status_code=status, code=code, request_id=body_request_id or request_id, body=payload)


def error_in_body(payload: Any, *, status: int = 200) -> APIError | None:
    """The business error carried by a successful-status body (non-empty `code`), if any."""
    if not isinstance(payload, dict):
        return None
    code, message, request_id = _fields(payload)
    if not code or (payload.get("error") is None and "code" not in payload):
        return None
    text = message or code
    cls = _class_for(status_for_code(code), code, text)
    return cls(text, status_code=status, code=code, request_id=request_id, body=payload)
