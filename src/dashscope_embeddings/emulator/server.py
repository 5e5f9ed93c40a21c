"""Serving the emulator over HTTP with uvicorn: in the foreground (`serve`) or in a background thread
(`ServedEmulator`, for tests and for clients that insist on a real URL, such as the dashscope and openai SDKs).

Both bind 127.0.0.1 by default: the emulator accepts any key unless told otherwise, so it should not face a network.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from .app import EmulatorASGI, create_app
from .core import Emulator
from .faults import Faults

__all__ = ["ServedEmulator", "serve"]


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _config(app: Any, *, log_level: str, access_log: bool) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=access_log,
        lifespan="off",
        timeout_graceful_shutdown=1,
        server_header=False,
    )


def serve(
    emulator: Emulator | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    access_log: bool = False,
    **faults: Any,
) -> None:
    """Serve until interrupted. Keyword arguments other than the above are `Faults` fields (they replace the
    emulator's faults when given), e.g. `serve(port=8000, latency=0.05, error_rate=0.01)`."""
    emulator = emulator or Emulator(max_records=1000)  # a long-running server: keep the log small
    if faults:
        emulator.faults = Faults(**faults)
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    root = f"http://{_url_host(host)}:{bound}"
    print(f"DashScope emulator: {root}/api/v1 (OpenAI-compatible: {root}/compatible-mode/v1)", flush=True)
    server = uvicorn.Server(_config(emulator.app, log_level=log_level, access_log=access_log))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class ServedEmulator:
    """An emulator served on a free local port in a background thread.

    ```python
    with ServedEmulator() as served:
        dashscope.base_http_api_url = served.base_url        # http://127.0.0.1:PORT/api/v1
        OpenAI(base_url=served.compatible_base_url, api_key="sk-test")
        served.emulator.requests                              # what was received
    ```
    """

    def __init__(
        self,
        emulator: Emulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.emulator = emulator or Emulator()
        self.host = host
        self._port = port
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._handler: EmulatorASGI | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the emulator is not running")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def root_url(self) -> str:
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def base_url(self) -> str:
        """The native API root, e.g. for `dashscope.base_http_api_url`."""
        return f"{self.root_url}/api/v1"

    @property
    def compatible_base_url(self) -> str:
        """The OpenAI-compatible root, e.g. for `OpenAI(base_url=...)`."""
        return f"{self.root_url}/compatible-mode/v1"

    def put_object(self, name: str, data: bytes | str) -> str:
        """Store an input object (see `Emulator.put_object`) and return its URL on this server."""
        return self.emulator.put_object(name, data, root=self.root_url)

    def start(self) -> ServedEmulator:
        if self._thread is not None:
            raise RuntimeError("already started")
        app = create_app(self.emulator)
        self._handler = app.state.emulator_asgi
        self._socket = _bind(self.host, self._port)
        self._server = uvicorn.Server(_config(app, log_level=self._log_level, access_log=False))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="dashscope-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving: hanging requests are dropped, open connections closed; returns within about a second."""
        if self._handler is not None:
            self._handler.release()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
        self._thread = None
        self._server = None

    def __enter__(self) -> ServedEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
