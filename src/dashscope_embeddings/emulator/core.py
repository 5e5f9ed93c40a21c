"""The emulator itself: one framework-free request handler, plus the oracle tests compare against.

`Emulator.handle(method, path, headers, body)` returns a `Reply`: status, headers and body, plus what the caller
must do besides answering (wait `delay` seconds first, or drop the connection, or never answer). The wrappers only
enact that: the httpx transports (`transports.py`), the ASGI app (`app.py`) and the server (`server.py`). So the
same request gets the same answer however it arrives, and only the wrappers know how to sleep.

Order of processing (each step can end the request):

1. draw its faults; network faults first: hang, drop;
2. route by path (any host), POST only;
3. authentication (`Authorization: Bearer <key>`), then the injected 429 and the RPM limit;
4. the endpoint validates the JSON body, then the TPM limit and the injected 500 apply, then it answers;
5. body faults: malformed, missing and shuffled embeddings (inside the endpoint);
6. log the request with its answer (request log, `X-DashScope-WorkSpace`, stats).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import orjson

from dashscope_embeddings.catalog import ModelSpec
from dashscope_embeddings.types import TEXT_TYPES

from .compatible_endpoint import CompatibleEmbeddingsEndpoint
from .endpoint import Context, Endpoint
from .errors import ServiceError
from .faults import FaultEngine, Faults
from .models import ModelRegistry
from .multimodal_endpoint import MultimodalEmbeddingEndpoint, job_vectors
from .multimodal_validation import validate_multimodal
from .records import RecordedRequest, Recorder, Stats
from .sparse import sparse_json
from .text_endpoint import TextEmbeddingEndpoint
from .tokens import count_tokens
from .vectors import DenseEncoder, Variant

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

__all__ = ["Emulator", "Reply"]

Fate = Literal["answer", "drop", "hang"]


@dataclass(frozen=True, slots=True)
class Reply:
    """What to send back. `delay`: seconds to wait before acting; `fate`: answer, drop the connection, or hang."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    delay: float = 0.0
    fate: Fate = "answer"


_JSON = ("content-type", "application/json")


class Emulator:
    """A local DashScope embedding service.

    - `faults`: what to inject (see `Faults`); replace at runtime with `emu.faults = Faults(...)`.
    - `api_keys`: accept only these keys (any non-empty key when None).
    - `extra_models`: more models to serve (or catalog models to override).
    - `accept_unknown_models`: serve any model name as a text model (default dimension 1024, any dimension up to
      8192, 10 texts, 8,192 tokens each, every optional parameter) instead of answering "Model not exist.".
    - `cache_size`: how many recent vectors to keep, already serialised.
    - `max_records`: how many requests the log keeps (the newest; None for all). Each record holds its answer, about
      100 KB for 10 texts x 1024 dimensions, so the default keeps the log under about 1 GB.
    """

    def __init__(
        self,
        *,
        faults: Faults | None = None,
        api_keys: Iterable[str] | None = None,
        extra_models: Iterable[ModelSpec] = (),
        accept_unknown_models: bool = False,
        cache_size: int = 2048,
        max_records: int | None = 10_000,
    ) -> None:
        self._engine = FaultEngine(faults or Faults())
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.models = ModelRegistry(extra_models, accept_unknown_models=accept_unknown_models)
        self._dense = DenseEncoder(cache_size)
        self._recorder = Recorder(max_records)
        self._endpoints: dict[str, Endpoint] = {}
        for endpoint in (TextEmbeddingEndpoint(), CompatibleEmbeddingsEndpoint(), MultimodalEmbeddingEndpoint()):
            self.add_endpoint(endpoint)
        self._app: Starlette | None = None
        self._app_lock = threading.Lock()

    def add_endpoint(self, endpoint: Endpoint) -> None:
        """Serve `endpoint` at `endpoint.path` (replacing any endpoint there)."""
        self._endpoints[endpoint.path] = endpoint

    # --- faults, stats, log --------------------------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._engine.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        """New faults take effect for the next request, with a fresh random stream and full rate-limit buckets."""
        self._engine = FaultEngine(faults)

    @property
    def stats(self) -> Stats:
        return self._recorder.stats()

    @property
    def requests(self) -> list[RecordedRequest]:
        """The request log, oldest first (a copy)."""
        return self._recorder.requests()

    def reset(self) -> None:
        """Clear the stats and the request log."""
        self._recorder.reset()

    # --- handling ------------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request. `path` excludes the query string; header names may have any case."""
        engine = self._engine
        rolls = engine.roll()
        request_id = str(uuid.uuid4())
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            payload: Any = orjson.loads(body)
            parsed = True
        except orjson.JSONDecodeError:
            payload, parsed = None, False
        record = RecordedRequest(method, path, lower, payload, lower.get("x-dashscope-workspace"), request_id)
        if rolls.hang or rolls.drop:
            fate: Fate = "hang" if rolls.hang else "drop"
            self._recorder.record(record, fate=fate)
            return Reply(0, (), b"", rolls.delay, fate)

        endpoint = self._endpoints.get(path) or self._endpoints.get(path.rstrip("/"))
        compatible = endpoint.style == "compatible" if endpoint else path.startswith("/compatible-mode/")
        headers_out: tuple[tuple[str, str], ...] = (_JSON, ("x-request-id", request_id))
        tokens = 0
        try:
            if endpoint is None:
                raise ServiceError.not_found(path)
            if method.upper() != "POST":
                raise ServiceError.method_not_allowed(method)
            self._authenticate(lower)
            engine.admit_request(rolls)
            if not parsed:
                raise ServiceError.illegal_json()
            ctx = Context(request_id, rolls, self.models, self._dense, count_tokens, engine)
            answer = endpoint.respond(payload, lower, ctx)
            status, out, tokens = 200, answer.body, answer.tokens
            if rolls.malformed:
                out = out[: len(out) // 2]
        except ServiceError as error:
            status = error.status
            out = error.compatible_body(request_id) if compatible else error.native_body(request_id)
            headers_out += error.headers
        self._recorder.record(replace(record, status=status, response=out), tokens=tokens)
        return Reply(status, headers_out, out, rolls.delay)

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        scheme, _, key = headers.get("authorization", "").strip().partition(" ")
        key = key.strip()
        if not scheme or (scheme.lower() == "bearer" and not key):
            raise ServiceError.no_api_key()
        if scheme.lower() != "bearer" or (self.api_keys is not None and key not in self.api_keys):
            raise ServiceError.invalid_api_key()

    # --- oracle --------------------------------------------------------------------------------------------------

    def expected_embedding(
        self,
        text: str,
        *,
        model: str,
        dimension: int | None = None,
        text_type: str = "document",
        instruct: str | None = None,
    ) -> list[float]:
        """Exactly what a client gets from `json.loads` of the served body for this text (compatible mode: the
        `document` vector). Raises ValueError for what the emulator would refuse (model, dimension, text_type,
        instruct)."""
        spec = self.models.get(model)
        if spec is None or spec.kind != "text":
            raise ValueError(f"the emulator serves no text embeddings for model {model!r}")
        try:
            size = ModelRegistry.dimension(spec, dimension)
            if text_type not in TEXT_TYPES:
                raise ServiceError.not_one_of("parameters.text_type", TEXT_TYPES)
            if instruct and not spec.instruct:
                raise ServiceError.instruct_not_supported(spec.name)
            if instruct and text_type != "query":
                raise ServiceError.instruct_needs_query()
        except ServiceError as error:
            raise ValueError(error.message) from None
        vector = self._dense.encode([text], Variant(spec.name, size, text_type, instruct or None))[0]
        result: list[float] = json.loads(vector.json)
        return result

    def expected_multimodal_embedding(
        self,
        contents: Sequence[Mapping[str, Any] | str],
        *,
        model: str,
        dimension: int | None = None,
        enable_fusion: bool = False,
        instruct: str | None = None,
        res_level: int | None = None,
        max_video_frames: int | None = None,
        fps: float | None = None,
    ) -> list[list[float]]:
        """Exactly the `embedding` lists a client gets from `json.loads` of the multimodal answer for `contents`,
        in `index` order: one per content item, or a single vector when the request is fused (qwen2.5-vl-embedding,
        or qwen3-vl-embedding with `enable_fusion=True`). Raises ValueError, with the service's message, for what
        the emulator would refuse. Parameters left at None (and `enable_fusion=False`) are not sent."""
        parameters: dict[str, Any] = {
            "dimension": dimension,
            "enable_fusion": True if enable_fusion else None,
            "instruct": instruct,
            "res_level": res_level,
            "max_video_frames": max_video_frames,
            "fps": fps,
        }
        payload = {
            "model": model,
            "input": {"contents": [dict(c) if isinstance(c, Mapping) else c for c in contents]},
            "parameters": {k: v for k, v in parameters.items() if v is not None},
        }
        try:
            job = validate_multimodal(payload, {}, self.models, count_tokens)
        except ServiceError as error:
            raise ValueError(error.message) from None
        return [json.loads(vector.json) for vector in job_vectors(job, self._dense)]

    def expected_sparse(self, text: str, *, model: str, text_type: str = "document") -> list[dict[str, Any]]:
        """Exactly the `sparse_embedding` entries a client gets from `json.loads` of the served body."""
        spec = self.models.get(model)
        if spec is None or spec.kind != "text" or not spec.sparse:
            raise ValueError(f"the emulator serves no sparse vectors for model {model!r}")
        if text_type not in TEXT_TYPES:
            raise ValueError(ServiceError.not_one_of("parameters.text_type", TEXT_TYPES).message)
        result: list[dict[str, Any]] = json.loads(sparse_json(text, text_type))
        return result

    @staticmethod
    def count_tokens(text: str) -> int:
        """The tokens the emulator bills (and limits) for one text: Qwen BPE when available (see `tokens`)."""
        return count_tokens(text)

    # --- ways in -------------------------------------------------------------------------------------------------

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport answering in-process: `httpx.Client(transport=emu.transport(), base_url=...)`."""
        from .transports import EmulatorTransport

        return EmulatorTransport(self)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """The async twin of `transport()`, for `httpx.AsyncClient`."""
        from .transports import AsyncEmulatorTransport

        return AsyncEmulatorTransport(self)

    @property
    def app(self) -> Starlette:
        """A Starlette (ASGI) app serving this emulator; mount it anywhere or serve it with any ASGI server."""
        with self._app_lock:
            if self._app is None:
                from .app import create_app

                self._app = create_app(self)
            return self._app
