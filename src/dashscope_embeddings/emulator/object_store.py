"""The emulator's own object storage, standing in for the OSS buckets that jobs read from and write to.

Two kinds of object, both served under `/emulator/oss/` on whatever host reached the emulator:

- **Inputs** (`/emulator/oss/objects/{name}`): what a text-embedding-async task reads from `input.url`. Put them
  with `Emulator.put_object(name, data)` (or `PUT` over HTTP); anyone may `GET` them, like a public-read bucket.
  A task whose URL has this path reads the object directly, in-process or over sockets, whatever the host.
- **Results** (`/emulator/oss/results/{task}/{date}/{uuid}_output_{ms}.txt.gz`): a task's gzip JSONL result, handed
  out as a signed URL `...?Expires=<unix>&OSSAccessKeyId=<id>&Signature=<sig>` (api-facts §5 quotes this form).
  Like OSS, the signature is the authorisation, so a request needs no `Authorization` header; an expired or
  tampered URL answers 403 with an OSS XML error body, an unknown object 404 `NoSuchKey`.

The signature is OSS's V1 scheme (base64 HMAC-SHA1 over `GET\\n\\n\\n{Expires}\\n{path}`) with a secret of this
emulator's, so a client cannot forge one and any edit of the URL is caught.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import urllib.parse
from collections.abc import Callable
from typing import Final
from xml.sax.saxutils import escape

from .endpoint import ErrorStyle
from .resource import HttpAnswer, HttpRequest

__all__ = ["OBJECTS_PATH", "OSS_PREFIX", "RESULTS_PATH", "ObjectStore", "ObjectStoreResource", "oss_error"]

OSS_PREFIX: Final = "/emulator/oss"
OBJECTS_PATH: Final = f"{OSS_PREFIX}/objects/"
RESULTS_PATH: Final = f"{OSS_PREFIX}/results/"
ACCESS_KEY_ID: Final = "LTAI5tEmulatorResults"
"""The OSSAccessKeyId the signed URLs carry (fake; OSS puts the signer's AccessKey id there)."""


def oss_error(status: int, code: str, message: str, request_id: str) -> HttpAnswer:
    """An error as OSS words it: an XML `<Error>` document, not a DashScope JSON body."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
        f"  <Code>{escape(code)}</Code>\n  <Message>{escape(message)}</Message>\n"
        f"  <RequestId>{escape(request_id)}</RequestId>\n  <HostId>emulator.oss</HostId>\n</Error>\n"
    )
    headers = (("x-oss-request-id", request_id),)
    return HttpAnswer(status, body.encode(), content_type="application/xml", headers=headers)


class ObjectStore:
    """In-memory objects by path. Thread-safe."""

    def __init__(self) -> None:
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._secret = secrets.token_bytes(32)

    def put(self, path: str, data: bytes) -> None:
        with self._lock:
            self._objects[path] = bytes(data)

    def get(self, path: str) -> bytes | None:
        with self._lock:
            return self._objects.get(path)

    def delete(self, path: str) -> None:
        with self._lock:
            self._objects.pop(path, None)

    @staticmethod
    def input_path(name: str) -> str:
        """The path (decoded, as requests arrive) of input object `name`, a relative name such as `a/lines.txt`."""
        if not name or any(part in ("", ".", "..") for part in name.split("/")):
            raise ValueError(f"object name {name!r} must be a relative path without empty, '.' or '..' parts")
        return OBJECTS_PATH + name

    def signature(self, path: str, expires: int) -> str:
        digest = hmac.new(self._secret, f"GET\n\n\n{expires}\n{path}".encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode("ascii")

    def signed_query(self, path: str, expires: int) -> str:
        return urllib.parse.urlencode(
            {"Expires": str(expires), "OSSAccessKeyId": ACCESS_KEY_ID, "Signature": self.signature(path, expires)}
        )


class ObjectStoreResource:
    """Serves `ObjectStore` under `/emulator/oss`. `now` gives the wall-clock time URLs expire against;
    `fail_download` says whether to answer this download with an injected 500."""

    prefix: str = OSS_PREFIX
    style: ErrorStyle = "native"
    authenticated: bool = False

    def __init__(self, store: ObjectStore, now: Callable[[], float], fail_download: Callable[[], bool]) -> None:
        self.store = store
        self._now = now
        self._fail_download = fail_download

    def serve(self, request: HttpRequest) -> HttpAnswer:
        path, rid = request.path, request.request_id
        if path.startswith(OBJECTS_PATH) and request.method == "PUT":
            self.store.put(path, request.body)
            return HttpAnswer(200, b"", content_type="text/plain", headers=(("etag", _etag(request.body)),))
        if request.method not in ("GET", "HEAD"):
            return oss_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.", rid)
        if path.startswith(RESULTS_PATH):
            refused = self._check_signature(request)
            if refused is not None:
                return refused
        elif not path.startswith(OBJECTS_PATH):
            return oss_error(404, "NoSuchKey", "The specified key does not exist.", rid)
        data = self.store.get(path)
        if data is None:
            return oss_error(404, "NoSuchKey", "The specified key does not exist.", rid)
        if path.startswith(RESULTS_PATH) and self._fail_download():
            return oss_error(500, "InternalError", "We encountered an internal error. Please try again.", rid)
        content_type = "application/octet-stream" if path.endswith(".gz") else "text/plain"
        return HttpAnswer(200, data, content_type=content_type, headers=(("etag", _etag(data)),))

    def _check_signature(self, request: HttpRequest) -> HttpAnswer | None:
        rid, query = request.request_id, request.query
        expires, signature = query.get("Expires", ""), query.get("Signature", "")
        if not expires or not signature or "OSSAccessKeyId" not in query:
            return oss_error(403, "AccessDenied", "You have no right to access this object because of bucket acl.", rid)
        expected = self.store.signature(request.path, int(expires)) if expires.isdigit() else ""
        if not expected or not hmac.compare_digest(signature, expected):
            return oss_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                rid,
            )
        if self._now() > int(expires):
            return oss_error(403, "AccessDenied", "Request has expired.", rid)
        return None


def _etag(data: bytes) -> str:
    return '"' + hashlib.md5(data, usedforsecurity=False).hexdigest().upper() + '"'
