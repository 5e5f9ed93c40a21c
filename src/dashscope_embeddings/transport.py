"""HTTP for every embedder: pooled httpx clients, auth headers, timeouts, and the one retry layer.

This is the only module that imports httpx. It sends a JSON body to a path under the endpoint's API root and hands
the raw answer to a `parse` function from `protocol`; retrying happens here and nowhere else. `send` / `asend` are
the embedding fast path (one fixed POST); `request` / `arequest` serve bulk jobs: any method, absolute URLs (the
compatible-mode root, signed result URLs), raw bodies (multipart uploads) and raw answers (gzip files), with the
same retry rules, except that a request which is not idempotent (creating a task, a file or a batch) is sent again
only when the service surely did not act on it (429, or no connection made), so a lost answer never creates a job
twice. Downloads of signed URLs go without the `Authorization` header: the signature authorises them, and the key
must not leak to another host.

Requests go straight to an owned httpx connection pool (`HTTPTransport`), not through `httpx.Client`: the client's
per-request machinery (URL merging, header normalisation, cookie jars, auth and redirect hooks) cost more client CPU
than parsing the 40 KB answer, and none of it applies to one fixed endpoint with one key. The pool keeps what the
client would have taken from the environment: HTTP(S)_PROXY / ALL_PROXY / NO_PROXY and SSL_CERT_FILE / SSL_CERT_DIR.
An injected `httpx.Client` / `AsyncClient` is used as given, through its own `post`, with the embedder's timeout.

Retry rules (modelled on openai-python and the dashscope 2.x client): retry connection errors, timeouts, 408, 409,
429 and 5xx, and answers that fail validation (a truncated or inconsistent body is a transient gateway fault, and
embedding the same texts again is idempotent); never retry other 4xx. Waits grow 0.5 s · 2ⁿ up to 8 s, shortened
by up to 25 % jitter so clients that failed together do not retry together; `retry-after-ms` / `Retry-After` are
obeyed when present. `max_retries` counts retries after the first attempt; 429s draw on their own, larger budget
(`max_rate_limit_retries`) because throttling is the service asking us to slow down, not a failure.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import platform
import random
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from ._version import __version__
from .batching import AdaptiveConcurrency
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    DashScopeError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from .protocol.errors import error_from_response
from .protocol.json import dumps
from .regions import Endpoint

__all__ = ["DEFAULT_TIMEOUT", "RetryPolicy", "Transport"]

T = TypeVar("T")
logger = logging.getLogger("dashscope_embeddings")

DEFAULT_TIMEOUT = 60.0
"""Seconds to wait for an answer. Ten texts of 8,192 tokens embed in a few seconds; a minute leaves room for a busy
service without hanging a pipeline for the 300–600 s the SDKs allow."""
CONNECT_TIMEOUT = 5.0
USER_AGENT = f"dashscope-embeddings/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times and how long to retry. Pure: decisions only, no I/O."""

    max_retries: int = 2
    max_rate_limit_retries: int = 10
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    """A Retry-After longer than this is not waited out: the error is raised so the caller can decide."""
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.max_rate_limit_retries < 0:
            raise ValueError("retry counts must be >= 0")

    def backoff(self, retries_taken: int, rng: random.Random) -> float:
        base: float = min(self.initial_delay * 2.0**retries_taken, self.max_delay)
        return base * (1 - self.jitter * rng.random())


def is_retryable(error: DashScopeError) -> bool:
    if isinstance(error, (APIConnectionError, ResponseValidationError, RateLimitError, ServerError)):
        return True
    return isinstance(error, APIError) and error.status_code in (408, 409)


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(float(value) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return max(float(email.utils.mktime_tz(parsed)) - time.time(), 0.0)


class _Attempts:
    """Counts one request's retries and decides the wait before the next attempt (None = give up)."""

    def __init__(self, policy: RetryPolicy, rng: random.Random) -> None:
        self.policy = policy
        self.rng = rng
        self.retries = 0
        self.throttles = 0

    def next_delay(self, error: DashScopeError, retry_after: float | None, should_retry: bool | None) -> float | None:
        if should_retry is False or (should_retry is None and not is_retryable(error)):
            return None
        if retry_after is not None and retry_after > self.policy.max_retry_after:
            return None
        if isinstance(error, RateLimitError):
            if self.throttles >= self.policy.max_rate_limit_retries:
                return None
            self.throttles += 1
            taken = self.throttles - 1
        else:
            if self.retries >= self.policy.max_retries:
                return None
            self.retries += 1
            taken = self.retries - 1
        if retry_after is not None:
            return retry_after
        return self.policy.backoff(taken, self.rng)


@dataclass(frozen=True, slots=True)
class _Failure:
    error: DashScopeError
    retry_after: float | None = None
    should_retry: bool | None = None
    sent: bool = True
    """False when the request never reached the service (no connection was made)."""


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY), unless NO_PROXY exempts its
    host: the choice `httpx.Client(trust_env=True)` makes, for the pools that bypass the client."""
    parts = urllib.parse.urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy and "://" not in proxy:
        proxy = f"http://{proxy}"
    return proxy or None


async def _close_when_loop_ends(pool: httpx.AsyncHTTPTransport) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await pool.aclose()


class Transport:
    """Sends requests to one endpoint with one key. Owns the connection pools it creates, never injected clients.

    The async pool is created per event loop: connections belong to the loop that opened them, and callers
    (notebooks, test suites, `asyncio.run` in a loop) do switch loops.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        api_key: SecretStr,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        pool_size: int = 100,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        adaptive: AdaptiveConcurrency | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.adaptive = adaptive
        self.retry = retry or RetryPolicy()
        self._api_key = api_key
        self._timeout = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout))
        self._extensions = {"timeout": self._timeout.as_dict()}
        self._limits = httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
        self._client = http_client
        self._async_client = http_async_client
        self._pool: httpx.HTTPTransport | None = None
        self._async_pool: httpx.AsyncHTTPTransport | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._loop_closer: AsyncGenerator[None, None] | None = None
        self._lock = threading.Lock()
        self._rng = random.Random()
        self._urls: dict[str, httpx.URL] = {}
        self._request_headers: httpx.Headers | None = None

    def __repr__(self) -> str:
        return f"Transport(endpoint={self.endpoint.base_url!r})"

    # -- the shared, I/O-free part -------------------------------------------------------------------------------

    def _headers(self) -> httpx.Headers:
        """Built once: normalising headers per request is measurable at embedding rates. httpx.Headers masks the
        Authorization value in its repr."""
        if self._request_headers is None:
            headers = {
                "Authorization": f"Bearer {self._api_key.get_secret_value()}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
            if self.endpoint.workspace:
                headers["X-DashScope-WorkSpace"] = self.endpoint.workspace
            self._request_headers = httpx.Headers(headers)
        return self._request_headers

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self.endpoint.base_url + path)
        return url

    def _request(self, url: httpx.URL, content: bytes) -> httpx.Request:
        return httpx.Request("POST", url, content=content, headers=self._headers(), extensions=self._extensions)

    def _outcome(self, response: httpx.Response, parse: Callable[[bytes, str | None], T]) -> T | _Failure:
        request_id = response.headers.get("x-request-id") or response.headers.get("x-dashscope-request-id")
        should = response.headers.get("x-should-retry")
        should_retry = {"true": True, "false": False}.get(should.lower()) if should else None
        if response.is_success:
            try:
                return parse(response.content, request_id)
            except (APIError, ResponseValidationError) as exc:
                return _Failure(exc, parse_retry_after(response.headers), should_retry)
        error = error_from_response(
            response.status_code, response.content, request_id=request_id, reason=response.reason_phrase
        )
        if isinstance(error, AuthenticationError):
            error = AuthenticationError(
                f"{error.message} API keys are per region: this request went to {self.endpoint.describe()}. "
                f"A key created in another region is refused here; pass the region your key belongs to "
                f"(region='singapore' | 'beijing' | 'hongkong' | 'us', or workspace=...) or base_url.",
                status_code=error.status_code,
                code=error.code,
                request_id=error.request_id,
                body=error.body,
            )
        return _Failure(error, parse_retry_after(response.headers), should_retry)

    @staticmethod
    def _transport_failure(exc: httpx.TransportError) -> _Failure:
        if isinstance(exc, httpx.ConnectTimeout):
            return _Failure(APITimeoutError("request timed out (ConnectTimeout)"), sent=False)
        if isinstance(exc, httpx.TimeoutException):
            return _Failure(APITimeoutError(f"request timed out ({type(exc).__name__})"))
        if isinstance(exc, httpx.ConnectError):
            return _Failure(APIConnectionError(f"connection failed: ConnectError: {exc}"), sent=False)
        if isinstance(exc, httpx.LocalProtocolError):
            # The request itself could not be written: resending cannot help, and h11's message quotes the
            # offending header, which may be the Authorization header.
            return _Failure(APIConnectionError("the request could not be sent (LocalProtocolError)"), None, False)
        return _Failure(APIConnectionError(f"connection failed: {type(exc).__name__}: {exc}"))

    def _report(self, outcome: object) -> None:
        """Tell the concurrency controller how the service answered (429s shrink it, successes grow it)."""
        if self.adaptive is None:
            return
        if not isinstance(outcome, _Failure):
            self.adaptive.succeeded()
        elif isinstance(outcome.error, RateLimitError):
            self.adaptive.throttled()

    def _give_up_or_wait(self, attempts: _Attempts, failure: _Failure, path: str) -> float:
        delay = attempts.next_delay(failure.error, failure.retry_after, failure.should_retry)
        if delay is None:
            raise failure.error
        logger.info("Retrying %s in %.2f s after %s", path, delay, type(failure.error).__name__)
        return delay

    # -- where bytes move ----------------------------------------------------------------------------------------

    def _pool_settings(self) -> dict[str, Any]:
        return {"limits": self._limits, "proxy": environment_proxy(self.endpoint.base_url), "trust_env": True}

    def _sync_pool(self) -> httpx.HTTPTransport:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = httpx.HTTPTransport(**self._pool_settings())
        return self._pool

    async def _apool(self) -> httpx.AsyncHTTPTransport:
        loop = asyncio.get_running_loop()
        if self._async_pool is None or self._async_loop is not loop:
            pool = httpx.AsyncHTTPTransport(**self._pool_settings())
            # Publish before the first await, so concurrent requests on this loop share this pool.
            self._async_pool, self._async_loop = pool, loop
            # Close the pool on its own loop when that loop shuts down: `asyncio.run` finalises every live async
            # generator first, so this one's `finally` runs there, and no keep-alive connection outlives its loop.
            self._loop_closer = _close_when_loop_ends(pool)
            await self._loop_closer.__anext__()
            return pool
        return self._async_pool

    def _post(self, url: httpx.URL, content: bytes) -> httpx.Response:
        if self._client is not None:
            return self._client.post(
                url, content=content, headers=self._headers(), timeout=self._timeout, follow_redirects=False
            )
        response = self._sync_pool().handle_request(self._request(url, content))
        try:
            response.read()
        finally:
            response.close()
        return response

    async def _apost(self, url: httpx.URL, content: bytes) -> httpx.Response:
        if self._async_client is not None:
            return await self._async_client.post(
                url, content=content, headers=self._headers(), timeout=self._timeout, follow_redirects=False
            )
        pool = await self._apool()
        response = await pool.handle_async_request(self._request(url, content))
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def send(self, path: str, body: dict[str, Any], parse: Callable[[bytes, str | None], T]) -> T:
        """POST `body` to `path`, retrying per the policy; returns `parse(raw_body, request_id)`."""
        content, url = dumps(body), self._url(path)
        attempts = _Attempts(self.retry, self._rng)
        while True:
            try:
                response = self._post(url, content)
            except httpx.TransportError as exc:
                outcome: T | _Failure = self._transport_failure(exc)
            else:
                outcome = self._outcome(response, parse)
            self._report(outcome)
            if not isinstance(outcome, _Failure):
                return outcome
            time.sleep(self._give_up_or_wait(attempts, outcome, path))

    async def asend(self, path: str, body: dict[str, Any], parse: Callable[[bytes, str | None], T]) -> T:
        """Async `send`: the same rules, awaiting instead of blocking."""
        content, url = dumps(body), self._url(path)
        attempts = _Attempts(self.retry, self._rng)
        while True:
            try:
                response = await self._apost(url, content)
            except httpx.TransportError as exc:
                outcome: T | _Failure = self._transport_failure(exc)
            else:
                outcome = self._outcome(response, parse)
            self._report(outcome)
            if not isinstance(outcome, _Failure):
                return outcome
            await asyncio.sleep(self._give_up_or_wait(attempts, outcome, path))

    # -- bulk jobs: any method, any URL ---------------------------------------------------------------------------

    def _job_request(
        self,
        method: str,
        url: str,
        content: bytes,
        content_type: str | None,
        headers: Mapping[str, str] | None,
        authenticated: bool,
    ) -> httpx.Request:
        if authenticated:
            out = httpx.Headers(self._headers())
        else:
            out = httpx.Headers({"User-Agent": USER_AGENT, "Accept": "*/*"})
        if content_type is None:
            out.pop("Content-Type", None)
        else:
            out["Content-Type"] = content_type
        out.update(headers or {})
        return httpx.Request(method, url, content=content, headers=out, extensions=self._extensions)

    def _injected(
        self, client: httpx.Client | httpx.AsyncClient, request: httpx.Request, authenticated: bool
    ) -> httpx.Request:
        built = client.build_request(
            request.method, request.url, content=request.content, headers=request.headers, timeout=self._timeout
        )
        if not authenticated:
            # An injected client may carry default headers (its own Authorization): never send them to a signed URL.
            for name in ("Authorization", "X-DashScope-WorkSpace"):
                built.headers.pop(name, None)
        return built

    def _exchange(self, request: httpx.Request, authenticated: bool) -> httpx.Response:
        if self._client is not None:
            return self._client.send(self._injected(self._client, request, authenticated), follow_redirects=False)
        response = self._sync_pool().handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        return response

    async def _aexchange(self, request: httpx.Request, authenticated: bool) -> httpx.Response:
        if self._async_client is not None:
            built = self._injected(self._async_client, request, authenticated)
            return await self._async_client.send(built, follow_redirects=False)
        pool = await self._apool()
        response = await pool.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def _job_delay(self, attempts: _Attempts, failure: _Failure, idempotent: bool, label: str) -> float:
        if not idempotent and failure.sent and not isinstance(failure.error, RateLimitError):
            raise failure.error  # the service may have acted on it: sending it again could create a second job
        return self._give_up_or_wait(attempts, failure, label)

    def request(
        self,
        method: str,
        url: str,
        parse: Callable[[bytes, str | None], T],
        *,
        content: bytes = b"",
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        idempotent: bool = True,
    ) -> T:
        """`method` `url` (absolute), retrying per the policy; returns `parse(raw_body, request_id)`.

        `authenticated=False` sends neither the key nor the workspace header (signed download URLs).
        `idempotent=False`: retried only when the service cannot have acted on it (see the module docstring).
        """
        request = self._job_request(method, url, content, content_type, headers, authenticated)
        label = f"{method} {request.url.path}"
        attempts = _Attempts(self.retry, self._rng)
        while True:
            try:
                response = self._exchange(request, authenticated)
            except httpx.TransportError as exc:
                outcome: T | _Failure = self._transport_failure(exc)
            else:
                outcome = self._outcome(response, parse)
            if not isinstance(outcome, _Failure):
                return outcome
            time.sleep(self._job_delay(attempts, outcome, idempotent, label))

    async def arequest(
        self,
        method: str,
        url: str,
        parse: Callable[[bytes, str | None], T],
        *,
        content: bytes = b"",
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        idempotent: bool = True,
    ) -> T:
        """Async `request`: the same rules, awaiting instead of blocking."""
        request = self._job_request(method, url, content, content_type, headers, authenticated)
        label = f"{method} {request.url.path}"
        attempts = _Attempts(self.retry, self._rng)
        while True:
            try:
                response = await self._aexchange(request, authenticated)
            except httpx.TransportError as exc:
                outcome: T | _Failure = self._transport_failure(exc)
            else:
                outcome = self._outcome(response, parse)
            if not isinstance(outcome, _Failure):
                return outcome
            await asyncio.sleep(self._job_delay(attempts, outcome, idempotent, label))

    def close(self) -> None:
        """Close the owned sync pool (a later request opens a new one). Injected clients are left to their owner."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    async def aclose(self) -> None:
        """Close the owned async pool of the running loop."""
        if self._async_pool is not None and self._async_loop is asyncio.get_running_loop():
            await self._async_pool.aclose()
            self._async_pool = None

    def pool_connections(self) -> dict[str, int]:
        """Connections the owned pools hold open, and how many of them a request is using. Once every call has
        ended (answered, failed, timed out or cancelled) `in_use` is 0, or a connection leaked; after `close()` /
        `aclose()` nothing is open. Injected clients are their owner's and not counted."""
        pools = [pool._pool for pool in (self._pool, self._async_pool) if pool is not None]
        live = [connection for pool in pools for connection in pool.connections if not connection.is_closed()]
        return {"open": len(live), "in_use": sum(not connection.is_idle() for connection in live)}
