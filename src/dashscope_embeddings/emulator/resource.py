"""What a resource is: every method under one path prefix, raw bytes in and out.

The embedding endpoints (`endpoint.Endpoint`) are POST-JSON functions of one path. Jobs need more of HTTP: GET and
DELETE, a query string (`GET /api/v1/tasks?page_no=1`), multipart uploads (`POST /compatible-mode/v1/files`) and
answers that are not JSON (a gzip result file, a JSONL output file, an OSS XML error). A `Resource` receives the
whole request as an `HttpRequest` and returns an `HttpAnswer`; the core (`core.Emulator`) still does what is common
to every request: network faults, authentication when the resource asks for it, the request log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from .endpoint import ErrorStyle

__all__ = ["HttpAnswer", "HttpRequest", "Resource"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as a resource sees it. `headers` has lower-case names; `query` keeps each name's first value."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    request_id: str
    account: str = ""
    """The API key that authenticated the request: jobs and files belong to an account (api-facts §3 counts task
    limits per account). Empty for resources that need no key (object downloads)."""

    @property
    def host(self) -> str:
        """Where the client reached us, for URLs the answer hands out (routing is by path on any host)."""
        return self.headers.get("host", "127.0.0.1")


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A resource's answer: status, body, content type, extra headers, and the tokens it bills (for the stats)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    tokens: int = 0

    @classmethod
    def json(cls, payload: Any, status: int = 200, *, tokens: int = 0) -> HttpAnswer:
        return cls(status, orjson.dumps(payload), tokens=tokens)


class Resource(Protocol):
    """Every request whose path is `prefix` or starts with `prefix + "/"`."""

    prefix: str
    style: ErrorStyle
    """How the core renders a `ServiceError` raised by `serve` (native or compatible error body)."""
    authenticated: bool
    """Whether the core checks `Authorization` (and applies the RPM limit and injected 429/500) before `serve`."""

    def serve(self, request: HttpRequest) -> HttpAnswer:
        """Answer `request`; raise `ServiceError` to refuse it."""
        ...
