"""What the emulator saw: counters (`Stats`) and the request log (`RecordedRequest`).

Client tests assert on both: the exact bodies a client sent (batching, parameters, headers such as
`X-DashScope-WorkSpace`), how many calls a retry policy made, and how many of them were throttled.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

__all__ = ["RecordedRequest", "Recorder", "Stats"]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request and the emulator's answer.

    `headers` has lower-case names; `body` is the parsed JSON (None if it was not JSON); `workspace` is the
    `X-DashScope-WorkSpace` header, if any. `status` and `response` are what was answered (None and b"" for a
    dropped or hung request); `response_body` parses `response` on access (None if it is not JSON).
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    workspace: str | None
    request_id: str
    status: int | None = None
    response: bytes = b""
    query: str = ""
    """The query string, without the `?`."""

    @property
    def response_body(self) -> Any:
        try:
            return orjson.loads(self.response)
        except orjson.JSONDecodeError:
            return None


@dataclass(frozen=True, slots=True)
class Stats:
    """Counters since the emulator started (or since `reset()`).

    `requests` counts every request received, `by_status` every answer sent, by HTTP status (a 200 with a malformed
    body counts as 200); dropped and hung requests have no status. `throttled` is the number of 429 answers and
    `tokens` the tokens billed in successful answers.
    """

    requests: int = 0
    by_status: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    throttled: int = 0
    dropped: int = 0
    hung: int = 0
    tokens: int = 0


class Recorder:
    """Thread-safe counters and a bounded request log (the newest `max_records` requests)."""

    def __init__(self, max_records: int | None = 10_000) -> None:
        self._lock = threading.Lock()
        self._log: deque[RecordedRequest] = deque(maxlen=max_records)
        self._reset_counters()

    def _reset_counters(self) -> None:
        self._requests = 0
        self._by_status: dict[int, int] = {}
        self._dropped = 0
        self._hung = 0
        self._tokens = 0

    def record(self, record: RecordedRequest, *, tokens: int = 0, fate: str = "answer") -> None:
        """Log one handled request: answered (counted by status), or "drop" / "hang"."""
        with self._lock:
            self._requests += 1
            self._log.append(record)
            if fate == "drop":
                self._dropped += 1
            elif fate == "hang":
                self._hung += 1
            elif record.status is not None:
                self._by_status[record.status] = self._by_status.get(record.status, 0) + 1
                self._tokens += tokens

    def stats(self) -> Stats:
        with self._lock:
            return Stats(
                requests=self._requests,
                by_status=MappingProxyType(dict(self._by_status)),
                throttled=self._by_status.get(429, 0),
                dropped=self._dropped,
                hung=self._hung,
                tokens=self._tokens,
            )

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._log)

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
            self._reset_counters()
