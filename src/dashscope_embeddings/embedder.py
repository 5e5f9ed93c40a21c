"""What every embedder shares: model lookup, connection settings, the transport, running planned requests, closing.

`TextEmbedder` and `MultimodalEmbedder` differ in what they validate, how they plan requests and how they parse
answers; everything here is the same for both, and sync and async differ only in the runner that waits.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import SecretStr
from typing_extensions import Self

from .batching import AdaptiveConcurrency, arun_ordered, run_ordered
from .catalog import ModelSpec, get_model
from .errors import InputError
from .regions import Endpoint, resolve_endpoint
from .transport import DEFAULT_TIMEOUT, RetryPolicy, Transport

if TYPE_CHECKING:
    import httpx

__all__ = ["CONNECTION_SETTINGS", "DEFAULT_MAX_CONCURRENCY", "BaseEmbedder"]

CONNECTION_SETTINGS = (
    "dimension",
    "api_key",
    "region",
    "workspace",
    "base_url",
    "timeout",
    "max_retries",
    "max_concurrency",
    "http_client",
    "http_async_client",
    "allow_insecure_http",
)
"""Keyword settings every embedder takes; framework adapters expose them as fields of the same names."""

J = TypeVar("J")
R = TypeVar("R")
Request = tuple[dict[str, Any], Callable[[bytes, str | None], R]]
"""A request body and the function that parses its answer."""

DEFAULT_MAX_CONCURRENCY = 16
"""Requests in flight per call. With the service's typical 100–300 ms per request this is 50–160 requests/s, in the
range one account's rate limit admits (429s beyond it are absorbed by the retry layer). Measured on the emulator at
100 ms per request (integration_tests/benchmarks/latency_bound.py): 2,000 texts in 1.45 s, 1.11× the ideal 1.3 s
and 14.5× a sequential loop."""


def resolve_api_key(api_key: str | SecretStr | None) -> SecretStr:
    if isinstance(api_key, SecretStr):
        key = api_key.get_secret_value()
    else:
        key = api_key if api_key is not None else os.environ.get("DASHSCOPE_API_KEY", "")
    if not key or not key.strip():
        raise InputError(
            "No DashScope API key: pass api_key=... or set DASHSCOPE_API_KEY. Keys are per region; create one "
            "at https://www.alibabacloud.com/help/en/model-studio/get-api-key"
        )
    return SecretStr(key.strip())


def warn_if_region_lacks(spec: ModelSpec, endpoint: Endpoint) -> None:
    if spec.known and endpoint.region is not None and endpoint.region.name not in spec.regions:
        listed = ", ".join(sorted(spec.regions)) or "none"
        warnings.warn(
            f"{spec.name} is not listed for {endpoint.region.label} (listed: {listed}). The request is sent anyway "
            f"(the list may lag the service); if it fails with ModelNotFound, pick a region that offers the model.",
            UserWarning,
            stacklevel=4,
        )


class BaseEmbedder:
    """Model, connection and lifecycle. Subclasses set `kind` and add validation, planning and parsing."""

    kind: Literal["text", "multimodal"]

    def __init__(
        self,
        model: str,
        *,
        dimension: int | None,
        api_key: str | SecretStr | None,
        region: str | None,
        workspace: str | None,
        base_url: str | None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int,
        retry: RetryPolicy | None,
        max_concurrency: int,
        http_client: httpx.Client | None,
        http_async_client: httpx.AsyncClient | None,
        allow_insecure_http: bool,
    ) -> None:
        self.spec = get_model(model, self.kind)
        self._check_kind(model)
        if max_concurrency < 1:
            raise InputError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.model = model
        self.dimension = self._check_dimension(dimension)
        self.max_concurrency = max_concurrency
        self.endpoint = resolve_endpoint(
            region=region, workspace=workspace, base_url=base_url, allow_insecure_http=allow_insecure_http
        )
        warn_if_region_lacks(self.spec, self.endpoint)
        self._adaptive = AdaptiveConcurrency(max_concurrency)
        self._transport = Transport(
            self.endpoint,
            resolve_api_key(api_key),
            timeout=timeout,
            retry=retry or RetryPolicy(max_retries=max_retries),
            pool_size=max(100, max_concurrency),
            http_client=http_client,
            http_async_client=http_async_client,
            adaptive=self._adaptive,
        )

    def _check_kind(self, name: str) -> None:
        kind = self.spec.kind
        if kind == "batch":
            raise InputError(
                f"{name} runs only as an asynchronous batch job, not on the synchronous text endpoint. Use "
                f"dashscope_embeddings.jobs for batch jobs, or text-embedding-v2 for the same vectors interactively."
            )
        if kind != self.kind:
            other = "MultimodalEmbedder" if kind == "multimodal" else "TextEmbedder"
            raise InputError(
                f"{name} is a {kind} model; {type(self).__name__} serves {self.kind} models. Use {other} for {name}."
            )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self.model!r}, dimension={self.dimension!r}, "
            f"endpoint={self.endpoint.base_url!r})"
        )

    def _check_dimension(self, dimension: int | None) -> int | None:
        if dimension is None:
            return None
        if not isinstance(dimension, int) or isinstance(dimension, bool):
            raise InputError(f"dimension must be an int, got {type(dimension).__name__} {dimension!r}")
        offered = self.spec.dimensions
        if offered and dimension not in offered:
            raise InputError(
                f"dimension {dimension} is not offered by {self.model}; choose one of "
                f"{', '.join(map(str, offered))} (default {self.spec.default_dimension})."
            )
        if not offered and dimension < 1:
            raise InputError(f"dimension must be positive, got {dimension}")
        return dimension

    # -- running planned requests: the only place sync and async differ ------------------------------------------

    def _run(self, path: str, jobs: Sequence[J], request: Callable[[J], Request[R]]) -> list[R]:
        return list(
            run_ordered(
                jobs,
                lambda job: self._transport.send(path, *request(job)),
                concurrency=self.max_concurrency,
                adaptive=self._adaptive,
            )
        )

    async def _arun(self, path: str, jobs: Sequence[J], request: Callable[[J], Request[R]]) -> list[R]:
        async def send(job: J) -> R:
            return await self._transport.asend(path, *request(job))

        runner = arun_ordered(jobs, send, concurrency=self.max_concurrency, adaptive=self._adaptive)
        return [result async for result in runner]

    def _stream(self, path: str, jobs: Iterable[J], request: Callable[[J], Request[R]]) -> Iterator[R]:
        """Like `_run`, but jobs are drawn lazily and at most 2 × max_concurrency are in flight or unconsumed."""
        return run_ordered(
            jobs,
            lambda job: self._transport.send(path, *request(job)),
            concurrency=self.max_concurrency,
            window=2 * self.max_concurrency,
            adaptive=self._adaptive,
        )

    async def _astream(self, path: str, jobs: Iterable[J], request: Callable[[J], Request[R]]) -> AsyncIterator[R]:
        async def send(job: J) -> R:
            return await self._transport.asend(path, *request(job))

        runner = arun_ordered(
            jobs, send, concurrency=self.max_concurrency, window=2 * self.max_concurrency, adaptive=self._adaptive
        )
        async for result in runner:
            yield result

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP connections this embedder opened (injected clients are left to their owner)."""
        self._transport.close()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
