"""The emulator itself: one framework-free request handler, plus the oracle tests compare against.

`Emulator.handle(method, path, headers, body, query)` returns a `Reply`: status, headers and body, plus what the caller
must do besides answering (wait `delay` seconds first, or drop the connection, or never answer). The wrappers only
enact that: the httpx transports (`transports.py`), the ASGI app (`app.py`) and the server (`server.py`). So the
same request gets the same answer however it arrives, and only the wrappers know how to sleep.

Order of processing (each step can end the request):

1. draw its faults; network faults first: hang, drop;
2. route by path (any host): an embedding endpoint (POST only), else a resource (any method) by path prefix;
3. authentication (`Authorization: Bearer <key>`), then the injected 429 and the RPM limit (resources that need
   no key, the object storage under `/emulator/oss/`, skip this step and the injected 500);
4. the endpoint validates the JSON body, then the TPM limit and the injected 500 apply, then it answers
   (a resource: the injected 500 applies before it acts, so a refused request changes nothing);
5. body faults: malformed, missing and shuffled embeddings (inside the endpoint);
6. log the request with its answer (request log, `X-DashScope-WorkSpace`, stats).

Jobs (`tasks`, `batches`, `files`, `object_store`) keep state between requests; their timelines run on the
injectable `clock` (`job_settings`).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import orjson

from dashscope_embeddings.catalog import ModelSpec
from dashscope_embeddings.types import TEXT_TYPES

from .batches import BatchesResource, BatchService
from .compatible_endpoint import CompatibleEmbeddingsEndpoint
from .endpoint import Context, Endpoint
from .errors import ServiceError
from .faults import FaultEngine, Faults, Rolls
from .files import FilesResource, FileStore
from .job_runtime import JobRuntime
from .job_settings import JobClock, JobFaults, JobTiming
from .models import ModelRegistry
from .multimodal_endpoint import MultimodalEmbeddingEndpoint, job_vectors
from .multimodal_validation import validate_multimodal
from .object_store import ObjectStore, ObjectStoreResource
from .records import RecordedRequest, Recorder, Stats
from .resource import HttpAnswer, HttpRequest, Resource
from .sparse import sparse_json
from .tasks import TaskService, TasksResource, TaskSubmitEndpoint, interactive_twin
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
    - `job_timing`, `job_faults`, `clock`: how long jobs take, how they fail, and the monotonic clock their
      timelines run on (see `job_settings`); the defaults finish a small job in a few hundredths of a second.
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
        job_timing: JobTiming | None = None,
        job_faults: JobFaults | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._engine = FaultEngine(faults or Faults())
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.models = ModelRegistry(extra_models, accept_unknown_models=accept_unknown_models)
        self._dense = DenseEncoder(cache_size)
        self._recorder = Recorder(max_records)
        timing, job_faults = job_timing or JobTiming(), job_faults or JobFaults()
        self.jobs = JobRuntime(self.models, self._dense, JobClock(clock), timing, job_faults, count_tokens)
        self.tasks = TaskService(self.jobs)
        self.batches = BatchService(self.jobs, FileStore())
        self._endpoints: dict[str, Endpoint] = {}
        text = TaskSubmitEndpoint(TextEmbeddingEndpoint(), self.tasks)
        for endpoint in (text, CompatibleEmbeddingsEndpoint(), MultimodalEmbeddingEndpoint()):
            self.add_endpoint(endpoint)
        self._resources: list[Resource] = [
            TasksResource(self.tasks),
            FilesResource(self.batches.files, self.jobs.clock.wall, self.jobs.take_download_failure),
            BatchesResource(self.batches),
            ObjectStoreResource(self.jobs.store, self.jobs.clock.wall, self.jobs.take_download_failure),
        ]
        self._app: Starlette | None = None
        self._app_lock = threading.Lock()

    def add_endpoint(self, endpoint: Endpoint) -> None:
        """Serve `endpoint` at `endpoint.path` (replacing any endpoint there)."""
        self._endpoints[endpoint.path] = endpoint

    def _resource(self, path: str) -> Resource | None:
        for resource in self._resources:
            if path == resource.prefix or path.startswith(resource.prefix + "/"):
                return resource
        return None

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

    # --- jobs ----------------------------------------------------------------------------------------------------

    @property
    def job_faults(self) -> JobFaults:
        return self.jobs.faults

    @job_faults.setter
    def job_faults(self, faults: JobFaults) -> None:
        """New job faults apply to jobs created from now on; `download_failures` counts from now."""
        self.jobs.faults = faults

    def put_object(self, name: str, data: bytes | str, *, root: str = "http://127.0.0.1") -> str:
        """Store `data` as input object `name` and return its URL under `root` (any host reaches it: a task reads
        it by path). Text is stored as UTF-8. `ServedEmulator.put_object` gives a URL with the served address."""
        path = ObjectStore.input_path(name)
        self.jobs.store.put(path, data.encode("utf-8") if isinstance(data, str) else data)
        return root.rstrip("/") + urllib.parse.quote(path)

    # --- handling ------------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes, query: str = "") -> Reply:
        """Answer one request. `path` excludes the query string (`query`, without the `?`); header names may have
        any case."""
        engine = self._engine
        rolls = engine.roll()
        request_id = str(uuid.uuid4())
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            payload: Any = orjson.loads(body)
            parsed = True
        except orjson.JSONDecodeError:
            payload, parsed = None, False
        record = RecordedRequest(
            method, path, lower, payload, lower.get("x-dashscope-workspace"), request_id, query=query
        )
        if rolls.hang or rolls.drop:
            fate: Fate = "hang" if rolls.hang else "drop"
            self._recorder.record(record, fate=fate)
            return Reply(0, (), b"", rolls.delay, fate)

        endpoint = self._endpoints.get(path) or self._endpoints.get(path.rstrip("/"))
        resource = self._resource(path) if endpoint is None else None
        style = endpoint.style if endpoint else resource.style if resource else None
        compatible = style == "compatible" if style else path.startswith("/compatible-mode/")
        headers_out: tuple[tuple[str, str], ...] = (_JSON, ("x-request-id", request_id))
        tokens = 0
        try:
            if resource is not None:
                served = self._serve(resource, method, path, query, lower, body, request_id, rolls)
                status, out, tokens = served.status, served.body, served.tokens
                headers_out = (("content-type", served.content_type), ("x-request-id", request_id), *served.headers)
                self._recorder.record(replace(record, status=status, response=out), tokens=tokens)
                return Reply(status, headers_out, out, rolls.delay)
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

    def _serve(
        self,
        resource: Resource,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        request_id: str,
        rolls: Rolls,
    ) -> HttpAnswer:
        account = ""
        if resource.authenticated:
            account = self._authenticate(headers)
            self._engine.admit_request(rolls)
            if rolls.error:
                raise ServiceError.internal()
        params: dict[str, str] = {}
        for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            params.setdefault(name, value)
        request = HttpRequest(method.upper(), path, params, headers, body, request_id, account)
        return resource.serve(request)

    def _authenticate(self, headers: Mapping[str, str]) -> str:
        """The request's API key, or the 401 the service answers."""
        scheme, _, key = headers.get("authorization", "").strip().partition(" ")
        key = key.strip()
        if not scheme or (scheme.lower() == "bearer" and not key):
            raise ServiceError.no_api_key()
        if scheme.lower() != "bearer" or (self.api_keys is not None and key not in self.api_keys):
            raise ServiceError.invalid_api_key()
        return key

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

    def expected_task_embedding(
        self, text: str, *, model: str = "text-embedding-async-v2", text_type: str = "document"
    ) -> list[float]:
        """Exactly the `output.embedding` a text-embedding-async task's result file holds for the line `text`: the
        synchronous vector of the model's interactive twin (async-v2 → text-embedding-v2), 1,536 dimensions."""
        spec = self.models.get(model)
        if spec is None or spec.kind != "batch":
            raise ValueError(f"{model!r} is not a text-embedding-async model")
        return self.expected_embedding(text, model=interactive_twin(model), text_type=text_type)

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
