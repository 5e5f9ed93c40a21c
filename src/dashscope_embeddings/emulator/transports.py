"""In-process httpx transports: a client talks to the emulator with no socket and no server thread.

httpx leaves timeouts to the transport, so these honour the request's read timeout themselves: a `hang`, or a
`latency` longer than the read timeout, ends in `httpx.ReadTimeout` after that timeout, as it would over a socket.
A dropped connection raises `httpx.RemoteProtocolError`, what httpx raises when a server closes the connection
without a complete response. The sync transport sleeps the calling thread (`time.sleep`); the async one awaits
(`asyncio.sleep`) and never blocks the event loop on a delay.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from .core import Emulator, Reply

__all__ = ["AsyncEmulatorTransport", "EmulatorTransport"]

_DROPPED = "Server disconnected without sending a response."


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict):
        value = timeout.get("read")
        return float(value) if value is not None else None
    return None


def _handle(emulator: Emulator, request: httpx.Request, body: bytes) -> Reply:
    """`emulator.handle`, passing the query string only when there is one: tests replace `handle` with wrappers of
    its original four arguments, and those keep working for every request without a query."""
    query = request.url.query.decode("ascii", errors="replace")
    if query:
        return emulator.handle(request.method, request.url.path, request.headers, body, query)
    return emulator.handle(request.method, request.url.path, request.headers, body)


def _response(reply: Reply) -> httpx.Response:
    return httpx.Response(reply.status, headers=list(reply.headers), content=reply.body)


class EmulatorTransport(httpx.BaseTransport):
    """Synchronous transport; safe to use from many threads at once."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        reply = _handle(self.emulator, request, body)
        limit = _read_timeout(request)
        wait = float("inf") if reply.fate == "hang" else reply.delay
        if limit is not None and wait > limit:
            time.sleep(limit)
            raise httpx.ReadTimeout("timed out", request=request)
        if reply.fate == "hang":
            while True:  # no read timeout: hang for good, like a server that never answers
                time.sleep(3600)
        if wait > 0:
            time.sleep(wait)
        if reply.fate == "drop":
            raise httpx.RemoteProtocolError(_DROPPED, request=request)
        return _response(reply)


class AsyncEmulatorTransport(httpx.AsyncBaseTransport):
    """Asynchronous transport: delays are awaited, the handler itself runs inline (it does not await)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        reply = _handle(self.emulator, request, body)
        limit = _read_timeout(request)
        wait = float("inf") if reply.fate == "hang" else reply.delay
        if limit is not None and wait > limit:
            await asyncio.sleep(limit)
            raise httpx.ReadTimeout("timed out", request=request)
        if reply.fate == "hang":
            await asyncio.Event().wait()  # never set: hang until the caller cancels
        if wait > 0:
            await asyncio.sleep(wait)
        if reply.fate == "drop":
            raise httpx.RemoteProtocolError(_DROPPED, request=request)
        return _response(reply)
