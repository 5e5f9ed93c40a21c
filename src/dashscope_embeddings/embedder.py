"""What every embedder shares: model lookup, connection settings, the transport, running planned requests, closing.

`TextEmbedder` and `MultimodalEmbedder` differ in what they validate, how they plan requests and how they parse
answers; everything here is the same for both, and sync and async differ only in the runner that waits.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import SecretStr
from typing_extensions import Self

from .batching import AdaptiveConcurrency, arun_as_completed, arun_ordered, run_as_completed, run_ordered
from .catalog import ModelSpec, get_model
from .errors import DashScopeError, InputError, attach_failure
from .protocol.answers import BatchOutput
from .ratelimit import RateLimit, RateLimiter, alimited_send, as_limiter, limited_send
from .regions import Endpoint, resolve_endpoint
from .transport import DEFAULT_TIMEOUT, RetryPolicy, Transport
from .types import TEXT_TYPES, EmbeddingResult, PartialResult, TextType

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
Planner = Callable[[J], Request[BatchOutput]]
"""Builds one job's request."""
Assembler = Callable[[list[BatchOutput]], EmbeddingResult]
"""Puts answers (in input order) together into a call's result."""
Outcome = BatchOutput | DashScopeError | None
"""What became of one request: its answer, the error that ended it, or None when it was never sent."""

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
    if not isinstance(key, str):
        raise InputError(
            f"api_key must be a str or a pydantic SecretStr, got {type(key).__name__}. Pass the key as text "
            f"('sk-...'), or set DASHSCOPE_API_KEY."
        )
    if not key or not key.strip():
        raise InputError(
            "No DashScope API key: pass api_key=... or set DASHSCOPE_API_KEY. Keys are per region; create one "
            "at https://www.alibabacloud.com/help/en/model-studio/get-api-key"
        )
    key = key.strip()
    # A key travels in an HTTP header, which carries printable ASCII only. A character pasted along with the key
    # (a zero-width space, a newline) would otherwise fail at the first request, in an error quoting the header.
    bad = next((i for i, char in enumerate(key) if not " " < char <= "~"), None)
    if bad is not None:
        length = len(key)
        del key  # a traceback formatted with locals must not show it
        raise InputError(
            f"The API key has a character an HTTP header cannot carry at position {bad} (of {length}): keys are "
            f"printable ASCII. Copy the key again from the Model Studio console, without spaces or line breaks."
        )
    return SecretStr(key)


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
    noun: str
    """What error messages call the inputs (`texts[3]`, `items[3]`)."""

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
        rate_limit: RateLimit | RateLimiter | None = None,
    ) -> None:
        api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key  # no plain key in any frame
        self.spec = get_model(model, self.kind)
        self._check_kind(model)
        if not isinstance(max_concurrency, int) or isinstance(max_concurrency, bool) or max_concurrency < 1:
            raise InputError(
                f"max_concurrency must be an int of at least 1, got {max_concurrency!r}. Pass how many requests may "
                f"be in flight at once (default {DEFAULT_MAX_CONCURRENCY}; 1 sends them one after another)."
            )
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
        self._use_rate_limit(rate_limit)

    def _use_rate_limit(self, rate_limit: RateLimit | RateLimiter | None) -> None:
        """Bind `_send` / `_asend`, which every request goes through: straight to the transport when there is no
        limit (no cost per request), else through the limiter (`ratelimit.limited_send`)."""
        self.rate_limiter = as_limiter(rate_limit)
        self._send: Callable[[str, dict[str, Any], Callable[[bytes, str | None], BatchOutput]], BatchOutput]
        self._asend: Callable[[str, dict[str, Any], Callable[[bytes, str | None], BatchOutput]], Awaitable[BatchOutput]]
        if self.rate_limiter is None:
            self._send, self._asend = self._transport.send, self._transport.asend
        else:
            self._send = partial(limited_send, self.rate_limiter, self._transport.send)
            self._asend = partial(alimited_send, self.rate_limiter, self._transport.asend)

    def _check_kind(self, name: str) -> None:
        kind = self.spec.kind
        if kind == "batch":
            interactive = name.replace("async-", "")
            raise InputError(
                f"{name} runs only as an asynchronous batch job, not on the synchronous text endpoint. Use "
                f"{interactive} for the same vectors interactively, or submit the job with "
                f"dashscope_embeddings.jobs.TextEmbeddingTasks (or `dashscope-embeddings job submit`)."
            )
        if kind != self.kind:
            other = "MultimodalEmbedder" if kind == "multimodal" else "TextEmbedder"
            raise InputError(
                f"{name} is a {kind} model; {type(self).__name__} serves {self.kind} models. Use {other} for {name}."
            )

    def __repr__(self) -> str:
        # getattr: a traceback formatted with locals repr()s the embedder while __init__ is still refusing a setting.
        endpoint = getattr(self, "endpoint", None)
        return (
            f"{type(self).__name__}(model={getattr(self, 'model', None)!r}, "
            f"dimension={getattr(self, 'dimension', None)!r}, endpoint={endpoint.base_url if endpoint else None!r})"
        )

    def cache_namespace(self, text_type: TextType, *, dimension: int | None = None, instruct: str | None = None) -> str:
        """A cache namespace for the vectors this embedder makes, e.g. `dashscope/text-embedding-v4/1024/query`.

        Everything that changes a vector is in it: the model, the dimension, the text type and, for queries, a hash
        of the instruct. So a query is never answered with a document's vector, nor a 256-wide vector with a
        1024-wide one. `/` separates the parts because file-based stores refuse `:` in keys.
        """
        if text_type not in TEXT_TYPES:
            raise InputError(f"text_type must be 'query' or 'document', got {text_type!r}")
        width = dimension or self.dimension or self.spec.default_dimension
        role = str(text_type)
        if instruct is not None and text_type == "query":
            role += f"-instruct-{hashlib.sha256(instruct.encode()).hexdigest()[:12]}"
        return f"dashscope/{self.model}/{width if width is not None else 'default'}/{role}"

    def _check_dimension(self, dimension: int | None) -> int | None:
        if dimension is None:
            return None
        offered = self.spec.dimensions
        if not isinstance(dimension, int) or isinstance(dimension, bool):
            choices = f"one of {', '.join(map(str, offered))}" if offered else "a positive number"
            example = self.spec.default_dimension or 1024
            raise InputError(
                f"dimension must be an int, got {type(dimension).__name__} {dimension!r}. Pass {choices} for "
                f"{self.model}, e.g. dimension={example}, or None for the model's default."
            )
        if offered and dimension not in offered:
            raise InputError(
                f"dimension {dimension} is not offered by {self.model}; choose one of "
                f"{', '.join(map(str, offered))} (default {self.spec.default_dimension})."
            )
        if not offered and dimension < 1:
            raise InputError(
                f"dimension must be positive, got {dimension}. Pass a size {self.model} offers, or None for the "
                f"model's default."
            )
        return dimension

    # -- running planned requests: the only place sync and async differ ------------------------------------------

    def _embed(
        self, path: str, jobs: Sequence[J], spans: Sequence[range], request: Planner[J], assemble: Assembler
    ) -> EmbeddingResult:
        """Send every job (`spans[i]`: the inputs job i embeds) and assemble the answers in input order."""
        guard = _StopAfterFailure()
        outcomes = run_ordered(
            jobs,
            lambda job: guard.run(lambda: self._send(path, *request(job))),
            concurrency=self.max_concurrency,
            adaptive=self._adaptive,
        )
        return _settle(list(outcomes), spans, assemble, self.noun)

    async def _aembed(
        self, path: str, jobs: Sequence[J], spans: Sequence[range], request: Planner[J], assemble: Assembler
    ) -> EmbeddingResult:
        guard = _StopAfterFailure()

        async def send(job: J) -> Outcome:
            return await guard.arun(lambda: self._asend(path, *request(job)))

        runner = arun_ordered(jobs, send, concurrency=self.max_concurrency, adaptive=self._adaptive)
        return _settle([outcome async for outcome in runner], spans, assemble, self.noun)

    def _stream(self, path: str, jobs: Iterable[tuple[range, J]], request: Planner[J]) -> Iterator[BatchOutput]:
        """Like `_embed`, but jobs are drawn lazily, at most 2 × max_concurrency are in flight or unconsumed, and each
        answer is yielded as soon as those before it have been. The first failure stops the stream."""
        outcomes = run_ordered(
            jobs,
            lambda job: (job[0], _capture(lambda: self._send(path, *request(job[1])))),
            concurrency=self.max_concurrency,
            window=2 * self.max_concurrency,
            adaptive=self._adaptive,
        )
        try:
            for span, outcome in outcomes:
                yield _delivered(span, outcome, self.noun)
        finally:
            outcomes.close()  # a failure or an early stop cancels the queued requests now

    async def _astream(
        self, path: str, jobs: Iterable[tuple[range, J]], request: Planner[J]
    ) -> AsyncIterator[BatchOutput]:
        async def send(job: tuple[range, J]) -> tuple[range, BatchOutput | DashScopeError]:
            return job[0], await _acapture(lambda: self._asend(path, *request(job[1])))

        runner = arun_ordered(
            jobs, send, concurrency=self.max_concurrency, window=2 * self.max_concurrency, adaptive=self._adaptive
        )
        try:
            async for span, outcome in runner:
                yield _delivered(span, outcome, self.noun)
        finally:
            await runner.aclose()  # a failure or an early stop cancels the in-flight requests now

    def _stream_as_completed(
        self, path: str, jobs: Iterable[tuple[range, J]], request: Planner[J]
    ) -> Iterator[tuple[range, BatchOutput]]:
        """Like `_stream`, but each answer is yielded with its span as soon as it arrives, and at most
        max_concurrency jobs are drawn ahead: nothing answered waits behind a slower request."""
        outcomes = run_as_completed(
            jobs,
            lambda job: (job[0], _capture(lambda: self._send(path, *request(job[1])))),
            concurrency=self.max_concurrency,
            adaptive=self._adaptive,
        )
        try:
            for span, outcome in outcomes:
                yield span, _delivered(span, outcome, self.noun)
        finally:
            outcomes.close()

    async def _astream_as_completed(
        self, path: str, jobs: Iterable[tuple[range, J]], request: Planner[J]
    ) -> AsyncIterator[tuple[range, BatchOutput]]:
        async def send(job: tuple[range, J]) -> tuple[range, BatchOutput | DashScopeError]:
            return job[0], await _acapture(lambda: self._asend(path, *request(job[1])))

        runner = arun_as_completed(jobs, send, concurrency=self.max_concurrency, adaptive=self._adaptive)
        try:
            async for span, outcome in runner:
                yield span, _delivered(span, outcome, self.noun)
        finally:
            await runner.aclose()

    @property
    def throttles(self) -> int:
        """How many 429 (rate limit) answers this embedder has received, retried ones included."""
        return self._adaptive.throttles

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


class _StopAfterFailure:
    """Once one request of a call has failed for good, the call's requests that have not started are not sent.

    The error is raised anyway, and the rest would be spent for nothing (after a 401 every request fails alike);
    requests already on the wire finish, and their vectors are kept in the error's `partial`.
    """

    def __init__(self) -> None:
        self.failed = False

    def run(self, send: Callable[[], BatchOutput]) -> Outcome:
        if self.failed:
            return None
        outcome = _capture(send)
        self.failed = self.failed or isinstance(outcome, DashScopeError)
        return outcome

    async def arun(self, send: Callable[[], Awaitable[BatchOutput]]) -> Outcome:
        if self.failed:
            return None
        outcome = await _acapture(send)
        self.failed = self.failed or isinstance(outcome, DashScopeError)
        return outcome


def _capture(send: Callable[[], BatchOutput]) -> BatchOutput | DashScopeError:
    try:
        return send()
    except DashScopeError as error:
        return error


async def _acapture(send: Callable[[], Awaitable[BatchOutput]]) -> BatchOutput | DashScopeError:
    try:
        return await send()
    except DashScopeError as error:
        return error


def _settle(outcomes: list[Outcome], spans: Sequence[range], assemble: Assembler, noun: str) -> EmbeddingResult:
    """The call's result, or its first failure (in input order) carrying what the other requests embedded."""
    answers = [outcome for outcome in outcomes if isinstance(outcome, BatchOutput)]
    if len(answers) == len(outcomes):
        return assemble(answers)
    done = [i for span, outcome in zip(spans, outcomes, strict=True) if isinstance(outcome, BatchOutput) for i in span]
    total = spans[-1].stop
    partial = PartialResult(total=total, indices=tuple(done), result=assemble(answers))
    span, error = next(
        (span, outcome) for span, outcome in zip(spans, outcomes, strict=True) if isinstance(outcome, DashScopeError)
    )
    raise attach_failure(
        error, span=span, noun=noun, failed_indices=partial.failed_indices, partial=partial, requests=len(spans)
    )


def _delivered(span: range, outcome: BatchOutput | DashScopeError, noun: str) -> BatchOutput:
    if isinstance(outcome, DashScopeError):
        raise attach_failure(outcome, span=span, noun=noun, failed_indices=tuple(span), partial=None, requests=2)
    return outcome
