"""The emulator as an ASGI application (Starlette), for uvicorn or any ASGI server.

Every path goes to one raw ASGI handler, so the emulator controls exactly what reaches the socket:

- latency: a wait that ends early if the client disconnects (the event loop keeps serving other requests);
- drop: the response head is sent and the handler returns without a body, so the server closes the connection
  mid-response and the client sees an incomplete message (httpx: `RemoteProtocolError`). uvicorn logs such an
  unfinished response as an error; a log filter silences that one line when the emulator dropped on purpose;
- hang: nothing is sent until the client disconnects or `release()` is called (the server stops), then the
  connection is dropped.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

if TYPE_CHECKING:
    from .core import Emulator

__all__ = ["EmulatorASGI", "create_app"]

_dropping: contextvars.ContextVar[bool] = contextvars.ContextVar("dashscope_emulator_dropping", default=False)
"""Set inside the request's task when the emulator leaves a response unfinished on purpose."""


class _IntentionalDropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _dropping.get()


_filter_lock = threading.Lock()


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    with _filter_lock:
        if not any(isinstance(f, _IntentionalDropFilter) for f in logger.filters):
            logger.addFilter(_IntentionalDropFilter())


class EmulatorASGI:
    """The raw ASGI handler behind `create_app`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._released = threading.Event()

    def release(self) -> None:
        """End every hanging request (dropping its connection); later hangs end at once too."""
        self._released.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        args = (scope["method"], scope["path"], headers, b"".join(chunks))
        # The query only when there is one: wrappers of `handle`'s original four arguments keep working.
        reply = self.emulator.handle(*args, query) if query else self.emulator.handle(*args)
        if reply.delay > 0 and await self._left_within(receive, reply.delay):
            return  # the client gave up (a timeout, a cancelled task): nobody is waiting for the answer
        if reply.fate == "hang" and await self._hang(receive):
            return  # the client left
        if reply.fate in ("hang", "drop"):
            _dropping.set(True)
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
            return
        raw_headers: list[tuple[bytes, bytes]] = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        raw_headers.append((b"content-length", str(len(reply.body)).encode("ascii")))
        await send({"type": "http.response.start", "status": reply.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": reply.body})

    async def _left_within(self, receive: Receive, seconds: float) -> bool:
        """Wait `seconds` (the injected latency), or until the client disconnects (True)."""
        disconnected: asyncio.Task[Any] = asyncio.ensure_future(receive())
        try:
            done, _ = await asyncio.wait({disconnected}, timeout=seconds)
            return bool(done)
        finally:
            disconnected.cancel()

    async def _hang(self, receive: Receive) -> bool:
        """Wait until the client disconnects (True) or `release()` is called (False)."""
        disconnected: asyncio.Task[Any] = asyncio.ensure_future(receive())
        try:
            while not self._released.is_set():
                done, _ = await asyncio.wait({disconnected}, timeout=0.05)
                if done:
                    return True
            return False
        finally:
            disconnected.cancel()


def create_app(emulator: Emulator) -> Starlette:
    """A Starlette app answering every path with `emulator`; `app.state.emulator_asgi` is the raw handler."""
    _install_log_filter()
    handler = EmulatorASGI(emulator)
    app = Starlette(routes=[Route("/{path:path}", handler, methods=None)])
    app.state.emulator_asgi = handler
    return app
