"""What the two job services (tasks and batches) share: clock, timing, faults, storage, vectors, and file fetching.

Reading a task's `input.url`: a URL whose path is under `/emulator/oss/objects/` is read from the emulator's own
object store whatever its host, so the same URL works in-process and over sockets; any other http(s) URL is fetched
with httpx (blocking the request that starts the task, at most `FETCH_TIMEOUT` seconds). A failed fetch fails the
task with `InvalidFile.DownloadFailed`, an emulator's code: the service's own is not documented.
"""

from __future__ import annotations

import datetime
import gzip
import threading
import urllib.parse
from collections.abc import Callable
from typing import Final

from .job_settings import JobClock, JobFaults, JobTiming
from .models import ModelRegistry
from .object_store import OBJECTS_PATH, ObjectStore
from .vectors import DenseEncoder

__all__ = ["FETCH_TIMEOUT", "JobFailure", "JobRuntime", "gzip_bytes", "service_time"]

FETCH_TIMEOUT: Final = 30.0
_BEIJING = datetime.timezone(datetime.timedelta(hours=8))


class JobFailure(Exception):
    """Ends a job as FAILED with the service's `code` and `message` (carried inside `output`, api-facts §5)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


def gzip_bytes(data: bytes) -> bytes:
    """Gzip with a fixed header time, so the same result is the same file."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def service_time(unix: float) -> str:
    """A task timestamp as the service prints it, `2025-02-20 14:37:13.328` (api-facts §5). The zone is not
    stated; the sample's hosts are in Beijing, so Beijing time (UTC+8) is assumed."""
    moment = datetime.datetime.fromtimestamp(unix, _BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


class JobRuntime:
    """Shared state of the job services. `faults` may be replaced at any time (new jobs capture it)."""

    def __init__(
        self,
        models: ModelRegistry,
        dense: DenseEncoder,
        clock: JobClock,
        timing: JobTiming,
        faults: JobFaults,
        count_tokens: Callable[[str], int],
    ) -> None:
        self.models = models
        self.dense = dense
        self.clock = clock
        self.timing = timing
        self.store = ObjectStore()
        self.count_tokens = count_tokens
        self._lock = threading.Lock()
        self._faults = faults
        self._downloads_failing = faults.download_failures

    @property
    def faults(self) -> JobFaults:
        return self._faults

    @faults.setter
    def faults(self, faults: JobFaults) -> None:
        with self._lock:
            self._faults = faults
            self._downloads_failing = faults.download_failures

    def take_download_failure(self) -> bool:
        """True (one fewer left) while injected download failures remain."""
        with self._lock:
            if self._downloads_failing <= 0:
                return False
            self._downloads_failing -= 1
            return True

    def fetch(self, url: str) -> bytes:
        """The bytes at `url` (see the module docstring), or `JobFailure`."""
        parts = urllib.parse.urlsplit(url)
        path = urllib.parse.unquote(parts.path)
        if path.startswith(OBJECTS_PATH):
            data = self.store.get(path)
            if data is None:
                raise JobFailure("InvalidFile.DownloadFailed", f"Failed to download the file from url: {url} (404)")
            return data
        import httpx  # only for URLs outside the emulator

        try:
            response = httpx.get(url, timeout=FETCH_TIMEOUT, follow_redirects=True)
        except Exception as exc:  # any failure to reach the URL (pytest-socket's refusal is a RuntimeError)
            raise JobFailure(
                "InvalidFile.DownloadFailed", f"Failed to download the file from url: {url} ({type(exc).__name__})"
            ) from None
        if response.status_code != 200:
            raise JobFailure(
                "InvalidFile.DownloadFailed", f"Failed to download the file from url: {url} ({response.status_code})"
            )
        return response.content
