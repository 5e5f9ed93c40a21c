"""Starting, querying and stopping the emulator process a scenario's tools share.

`EmulatorProcess` runs `emulator_server` in a child process (its own interpreter, so it never competes with a client
for a GIL), reads the URL it prints, and waits until it answers. `Control` speaks the two control routes with the
standard library only, so it costs a worker nothing to import.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

__all__ = ["REPO_ROOT", "Control", "EmulatorProcess", "EmulatorSettings", "ServerStats"]

REPO_ROOT = Path(__file__).resolve().parents[2]
_URL = re.compile(rb"(http://[\d.]+:\d+)/api/v1")


@dataclass(frozen=True, slots=True)
class EmulatorSettings:
    latency: float = 0.0
    rpm: int | None = None
    burst: int | None = None
    cache_size: int = 0
    """0: every request costs the emulator the same, whichever tool sends it first."""

    def argv(self) -> list[str]:
        args = ["--latency", str(self.latency), "--cache-size", str(self.cache_size)]
        if self.rpm is not None:
            args += ["--rpm", str(self.rpm)]
        if self.burst is not None:
            args += ["--burst", str(self.burst)]
        return args

    def describe(self) -> str:
        parts = [f"latency {self.latency * 1000:.0f} ms"]
        if self.rpm is not None:
            parts.append(f"{self.rpm} RPM (burst {self.burst or max(1, self.rpm // 60)})")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class ServerStats:
    """What the emulator counted since the last reset, and its own CPU seconds since it started."""

    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    throttled: int = 0
    cpu_seconds: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerStats:
        return cls(
            requests=int(data["requests"]),
            by_status={int(k): int(v) for k, v in data["by_status"].items()},
            throttled=int(data["throttled"]),
            cpu_seconds=float(data["cpu_seconds"]),
        )


class Control:
    """The control routes of one emulator process, at `root` (`http://host:port`)."""

    def __init__(self, root: str) -> None:
        self.root = root
        parts = urlsplit(root)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80

    @property
    def native_url(self) -> str:
        return f"{self.root}/api/v1"

    @property
    def compatible_url(self) -> str:
        return f"{self.root}/compatible-mode/v1"

    def _call(self, method: str, route: str) -> dict[str, Any]:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=10)
        try:
            connection.request(method, f"/_bench/{route}")
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"emulator control {route}: HTTP {response.status}")
            result: dict[str, Any] = json.loads(body)
            return result
        finally:
            connection.close()

    def reset(self) -> None:
        """Zero the counters and refill the rate-limit buckets."""
        self._call("POST", "reset")

    def stats(self) -> ServerStats:
        return ServerStats.from_json(self._call("GET", "stats"))

    def ready(self) -> bool:
        try:
            self.stats()
        except OSError:
            return False
        return True


class EmulatorProcess:
    """`with EmulatorProcess(settings) as control:` serves the emulator until the block ends."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Control:
        command = [sys.executable, "-m", "integration_tests.benchmarks.emulator_server", *self.settings.argv()]
        self._process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        match = _URL.search(line)
        if match is None:
            self._stop()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        control = Control(match.group(1).decode())
        deadline = time.monotonic() + 30
        while not control.ready():
            if time.monotonic() > deadline or self._process.poll() is not None:
                self._stop()
                raise RuntimeError("the emulator did not answer")
            time.sleep(0.05)
        return control

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None
