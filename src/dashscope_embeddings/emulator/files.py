"""The OpenAI-compatible Files API the Batch API reads from and writes to (api-facts §5).

- `POST /compatible-mode/v1/files`: multipart form with `file` and `purpose=batch` → an OpenAI file object
  `{"id", "object": "file", "bytes", "created_at", "filename", "purpose", "status": "processed"}`.
- `GET /files`, `GET /files/{id}`, `GET /files/{id}/content` (the raw bytes), `DELETE /files/{id}`
  (`{"id", "object": "file", "deleted": true}`).

Files belong to the account (API key) that uploaded them; another key sees 404. Uploads over 500 MB (the Batch
API's file limit) are refused. Ids: `file-batch-…` for uploads, `file-batch_output-…` / `file-batch_error-…` for
what a batch writes; the service's id scheme is not documented, these follow the same pattern.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson

from .endpoint import ErrorStyle
from .errors import ServiceError
from .resource import HttpAnswer, HttpRequest

__all__ = ["FILES_PATH", "MAX_UPLOAD_BYTES", "FileStore", "FilesResource", "StoredFile", "parse_multipart"]

FILES_PATH: Final = "/compatible-mode/v1/files"
MAX_UPLOAD_BYTES: Final = 500 * 1024 * 1024
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_PARAM = re.compile(r';\s*([A-Za-z*]+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: str
    account: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def object(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }


class FileStore:
    """Files by id. Thread-safe."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()

    def add(
        self, account: str, filename: str, purpose: str, data: bytes, created_at: int, kind: str = "batch"
    ) -> StoredFile:
        stored = StoredFile(f"file-{kind}-{uuid.uuid4()}", account, filename, purpose, data, created_at)
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def get(self, file_id: str, account: str) -> StoredFile | None:
        with self._lock:
            stored = self._files.get(file_id)
        return stored if stored is not None and stored.account == account else None

    def delete(self, file_id: str, account: str) -> bool:
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None or stored.account != account:
                return False
            del self._files[file_id]
            return True

    def list(self, account: str) -> list[StoredFile]:
        with self._lock:
            return [f for f in self._files.values() if f.account == account]


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """`multipart/form-data` fields: name → (filename or None, bytes). ValueError when it is not such a body."""
    match = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/form-data") or match is None:
        raise ValueError("not multipart/form-data")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a part has no header/body separator")
        data = data.removesuffix(b"\r\n")
        params: dict[str, str] = {}
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                params = {k.lower(): v for k, v in _PARAM.findall(value)}
        if "name" in params:
            fields[params["name"]] = (params.get("filename"), data)
    return fields


def _not_found(file_id: str) -> ServiceError:
    return ServiceError.invalid_request(f"No such File object: {file_id}", 404, "not_found")


class FilesResource:
    prefix: str = FILES_PATH
    style: ErrorStyle = "compatible"
    authenticated: bool = True

    def __init__(self, files: FileStore, wall: Callable[[], float], fail_download: Callable[[], bool]) -> None:
        self.files = files
        self._wall = wall
        self._fail_download = fail_download

    def serve(self, request: HttpRequest) -> HttpAnswer:
        parts = [p for p in request.path[len(FILES_PATH) :].split("/") if p]
        method, account = request.method, request.account
        if not parts:
            if method == "POST":
                return self._upload(request)
            if method == "GET":
                listed = [f.object() for f in self.files.list(account)]
                return HttpAnswer.json({"object": "list", "data": listed, "has_more": False})
            raise ServiceError.method_not_allowed(method)
        stored = self.files.get(parts[0], account)
        if stored is None:
            raise _not_found(parts[0])
        if len(parts) == 1 and method == "GET":
            return HttpAnswer.json(stored.object())
        if len(parts) == 1 and method == "DELETE":
            self.files.delete(stored.id, account)
            return HttpAnswer.json({"id": stored.id, "object": "file", "deleted": True})
        if len(parts) == 2 and parts[1] == "content" and method == "GET":
            if self._fail_download():
                raise ServiceError.internal()
            return HttpAnswer(200, stored.data, content_type="application/octet-stream")
        if len(parts) <= 2:
            raise ServiceError.method_not_allowed(method)
        raise ServiceError.not_found(request.path)

    def _upload(self, request: HttpRequest) -> HttpAnswer:
        try:
            fields = parse_multipart(request.headers.get("content-type", ""), request.body)
        except ValueError:
            raise ServiceError.invalid_request("The request must be multipart/form-data with a file.") from None
        purpose = fields.get("purpose", (None, b""))[1].decode("utf-8", errors="replace")
        if "file" not in fields:
            raise ServiceError.invalid_request("Missing required parameter: 'file'.")
        if purpose != "batch":
            # The service also takes other purposes (file-extract) for other features; the emulator has Batch only.
            raise ServiceError.invalid_request(f"Invalid purpose {purpose!r}: the emulator accepts purpose 'batch'.")
        filename, data = fields["file"]
        if len(data) > MAX_UPLOAD_BYTES:
            raise ServiceError.invalid_request("The file is larger than the Batch API's limit of 500 MB.")
        stored = self.files.add(request.account, filename or "upload.jsonl", purpose, data, int(self._wall()))
        return HttpAnswer(200, orjson.dumps(stored.object()))
