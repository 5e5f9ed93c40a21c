"""The one retry layer, headers and error mapping, for the sync and the async path alike."""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from dashscope_embeddings import transport as transport_module
from dashscope_embeddings.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from dashscope_embeddings.regions import resolve_endpoint
from dashscope_embeddings.transport import RetryPolicy, Transport, environment_proxy, parse_retry_after

OK = {"output": {"ok": True}, "request_id": "r-ok"}


def ok(payload: dict[str, Any] = OK, **kwargs: Any) -> httpx.Response:
    return httpx.Response(200, json=payload, **kwargs)


def err(status: int, code: str = "X", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, json={"code": code, "message": f"m{status}", "request_id": f"r{status}"}, headers=headers
    )


class Script:
    """Answers each request with the next step: a Response, or an exception to raise."""

    def __init__(self, *steps: httpx.Response | Exception) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def parse_json(raw: bytes, request_id: str | None) -> Any:
    from dashscope_embeddings.protocol.json import JSONDecodeError, loads

    try:
        return loads(raw)
    except JSONDecodeError as exc:
        raise ResponseValidationError(str(exc)) from None


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record every back-off wait instead of sleeping."""
    waited: list[float] = []

    async def fake_async_sleep(delay: float) -> None:
        waited.append(delay)

    monkeypatch.setattr(transport_module.time, "sleep", waited.append)
    monkeypatch.setattr(transport_module.asyncio, "sleep", fake_async_sleep)
    return waited


Sender = Callable[[Script], Any]


def make_transport(
    script: Script, *, workspace: str | None = None, region: str | None = None, **retry: Any
) -> Transport:
    base_url = None if region else "http://127.0.0.1:9/api/v1"
    return Transport(
        resolve_endpoint(base_url=base_url, region=region, workspace=workspace, env={}),
        SecretStr("sk-test-123"),
        retry=RetryPolicy(**retry),
        http_client=httpx.Client(transport=httpx.MockTransport(script)),
        http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(script)),
    )


@pytest.fixture(params=["sync", "async"])
def send(request: pytest.FixtureRequest) -> Callable[..., Any]:
    def run(script: Script, **kwargs: Any) -> Any:
        transport = make_transport(script, **kwargs)
        if request.param == "sync":
            return transport.send("/p", {"a": 1}, parse_json)
        return asyncio.run(transport.asend("/p", {"a": 1}, parse_json))

    return run


def test_success_first_time(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(ok())
    assert send(script) == OK
    assert len(script.requests) == 1
    assert sleeps == []


def test_429_honours_retry_after_seconds(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(err(429, "Throttling.RateQuota", {"Retry-After": "2"}), ok())
    assert send(script) == OK
    assert sleeps == [2.0]
    assert len(script.requests) == 2


def test_429_honours_retry_after_ms(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(err(429, "Throttling", {"retry-after-ms": "1500", "Retry-After": "9"}), ok())
    send(script)
    assert sleeps == [1.5]


def test_500s_back_off_exponentially_with_jitter(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(err(500, "InternalError"), err(503, "ModelUnavailable"), ok())
    assert send(script) == OK
    assert len(sleeps) == 2
    assert 0.375 <= sleeps[0] <= 0.5
    assert 0.75 <= sleeps[1] <= 1.0


def test_500s_exhaust_max_retries(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(err(500, "InternalError"), err(500, "InternalError"), err(500, "InternalError"), ok())
    with pytest.raises(ServerError) as info:
        send(script)
    assert len(script.requests) == 3  # the first attempt and max_retries=2 retries
    assert (info.value.code, info.value.status_code, info.value.request_id) == ("InternalError", 500, "r500")
    assert len(sleeps) == 2


def test_max_retries_zero_means_one_attempt(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(err(500), ok())
    with pytest.raises(ServerError):
        send(script, max_retries=0)
    assert len(script.requests) == 1


def test_429s_have_their_own_larger_budget(send: Callable[..., Any], sleeps: list[float]) -> None:
    throttled = [err(429, "Throttling.RateQuota") for _ in range(4)]
    script = Script(*throttled, ok())
    with pytest.raises(RateLimitError):
        send(script, max_rate_limit_retries=3)
    assert len(script.requests) == 4
    script = Script(*[err(429, "Throttling.RateQuota") for _ in range(5)], ok())
    assert send(script) == OK  # default budget (10) absorbs five throttles while max_retries stays 2


def test_dropped_connection_is_retried(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(httpx.RemoteProtocolError("Server disconnected without sending a response."), ok())
    assert send(script) == OK
    assert len(script.requests) == 2


def test_connection_errors_exhaust_into_api_connection_error(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(*[httpx.ConnectError("refused") for _ in range(3)])
    with pytest.raises(APIConnectionError, match="ConnectError") as info:
        send(script)
    assert not isinstance(info.value, APITimeoutError)
    assert len(script.requests) == 3


def test_timeouts_exhaust_into_api_timeout_error(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(*[httpx.ReadTimeout("slow") for _ in range(3)])
    with pytest.raises(APITimeoutError):
        send(script)
    assert len(script.requests) == 3


@pytest.mark.parametrize("status", [408, 409])
def test_408_and_409_are_retried(send: Callable[..., Any], sleeps: list[float], status: int) -> None:
    script = Script(err(status), ok())
    assert send(script) == OK


@pytest.mark.parametrize(("status", "cls"), [(400, BadRequestError), (403, APIError), (404, APIError), (422, APIError)])
def test_other_4xx_are_never_retried(send: Callable[..., Any], sleeps: list[float], status: int, cls: type) -> None:
    script = Script(err(status, "InvalidParameter"), ok())
    with pytest.raises(cls):
        send(script)
    assert len(script.requests) == 1
    assert sleeps == []


def test_x_should_retry_overrides(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(err(500, headers={"x-should-retry": "false"}), ok())
    with pytest.raises(ServerError):
        send(script)
    script = Script(err(400, headers={"x-should-retry": "true"}), ok())
    assert send(script) == OK


def test_retry_after_longer_than_the_cap_is_not_waited(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(err(429, "Throttling", {"Retry-After": "3600"}), ok())
    with pytest.raises(RateLimitError):
        send(script)
    assert sleeps == []


def test_malformed_200_is_retried(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(httpx.Response(200, content=b'{"output": '), ok())
    assert send(script) == OK
    assert len(script.requests) == 2


def test_malformed_200_exhausts_into_response_validation_error(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(*[httpx.Response(200, content=b"nope") for _ in range(3)])
    with pytest.raises(ResponseValidationError):
        send(script)


def test_401_names_the_region_and_host(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(err(401, "InvalidApiKey"))
    with pytest.raises(AuthenticationError) as info:
        send(script, region="beijing")
    message = str(info.value)
    assert "API keys are per region" in message
    assert "China (Beijing) (dashscope.aliyuncs.com)" in message
    assert info.value.code == "InvalidApiKey"
    assert len(script.requests) == 1


def test_headers(send: Callable[..., Any]) -> None:
    script = Script(ok())
    send(script, workspace="ws-9")
    request = script.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "http://127.0.0.1:9/api/v1/p"
    assert request.headers["authorization"] == "Bearer sk-test-123"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-dashscope-workspace"] == "ws-9"
    assert request.headers["user-agent"].startswith("dashscope-embeddings/")
    assert json.loads(request.content) == {"a": 1}


def test_no_workspace_header_without_workspace(send: Callable[..., Any]) -> None:
    script = Script(ok())
    send(script)
    assert "x-dashscope-workspace" not in script.requests[0].headers


def test_redirects_are_not_followed(send: Callable[..., Any], sleeps: list[float]) -> None:
    script = Script(httpx.Response(307, headers={"location": "https://evil.example/steal"}), ok())
    with pytest.raises(APIError) as info:
        send(script)
    assert info.value.status_code == 307
    assert len(script.requests) == 1


def test_close_leaves_injected_clients_open() -> None:
    client = httpx.Client(transport=httpx.MockTransport(Script(ok())))
    transport = Transport(resolve_endpoint(env={}), SecretStr("k"), http_client=client)
    transport.close()
    assert not client.is_closed


class _Recorded:
    """Stands in for an httpx pool class: records the settings each pool was made with and whether it was closed."""

    def __init__(self, real: type[Any]) -> None:
        self.real = real
        self.made: list[tuple[dict[str, Any], Any]] = []
        self.closed: list[Any] = []

    def __call__(self, **settings: Any) -> Any:
        pool = self.real(**settings)
        self.made.append((settings, pool))
        recorder = self
        original_close = pool.close if hasattr(pool, "handle_request") else None
        original_aclose = getattr(pool, "aclose", None)
        if original_close is not None:

            def close() -> None:
                recorder.closed.append(pool)
                original_close()

            pool.close = close
        elif original_aclose is not None:

            async def aclose() -> None:
                recorder.closed.append(pool)
                await original_aclose()

            pool.aclose = aclose
        return pool


@pytest.fixture
def sync_pools(monkeypatch: pytest.MonkeyPatch) -> _Recorded:
    recorded = _Recorded(httpx.HTTPTransport)
    monkeypatch.setattr(httpx, "HTTPTransport", recorded)
    return recorded


@pytest.fixture
def async_pools(monkeypatch: pytest.MonkeyPatch) -> _Recorded:
    recorded = _Recorded(httpx.AsyncHTTPTransport)
    monkeypatch.setattr(httpx, "AsyncHTTPTransport", recorded)
    return recorded


def test_owned_pool_is_created_lazily_and_closed(sync_pools: _Recorded) -> None:
    transport = Transport(resolve_endpoint(env={}), SecretStr("k"))
    assert sync_pools.made == []
    pool = transport._sync_pool()
    assert transport._sync_pool() is pool
    transport.close()
    assert sync_pools.closed == [pool]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"HTTPS_PROXY": "http://proxy.corp:3128"}, "http://proxy.corp:3128"),
        ({"https_proxy": "proxy.corp:3128"}, "http://proxy.corp:3128"),
        ({"ALL_PROXY": "socks5://proxy.corp:1080"}, "socks5://proxy.corp:1080"),
        ({"HTTP_PROXY": "http://plain.corp:80"}, None),  # an https endpoint takes only an https or all proxy
        ({"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "aliyuncs.com"}, None),
        ({"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "*"}, None),
    ],
)
def test_owned_pools_take_the_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, sync_pools: _Recorded, env: dict[str, str], expected: str | None
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert environment_proxy("https://dashscope-intl.aliyuncs.com/api/v1") == expected
    if expected is None or expected.startswith("http"):
        Transport(resolve_endpoint(env={}), SecretStr("k"))._sync_pool()
        settings = sync_pools.made[-1][0]
        assert settings["proxy"] == expected
        assert settings["trust_env"] is True  # SSL_CERT_FILE / SSL_CERT_DIR, as httpx.Client honours them


def test_repr_hides_the_key() -> None:
    transport = Transport(resolve_endpoint(env={}), SecretStr("sk-secret-value"))
    transport._headers()  # the prebuilt headers carry the key; httpx.Headers masks it in its repr
    assert "sk-secret" not in repr(transport)
    assert "sk-secret" not in repr(vars(transport))


class TestPolicy:
    def test_backoff_doubles_to_the_cap(self) -> None:
        policy = RetryPolicy(jitter=0.0)
        rng = random.Random(0)
        assert [policy.backoff(n, rng) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]

    def test_jitter_only_shortens(self) -> None:
        policy = RetryPolicy()
        rng = random.Random(1)
        for n in range(6):
            base = min(0.5 * 2**n, 8.0)
            assert 0.75 * base <= policy.backoff(n, rng) <= base

    def test_negative_counts_are_refused(self) -> None:
        with pytest.raises(ValueError, match=">= 0"):
            RetryPolicy(max_retries=-1)

    @pytest.mark.parametrize(
        ("headers", "expected"),
        [
            ({"retry-after-ms": "250"}, 0.25),
            ({"retry-after": "3"}, 3.0),
            ({"retry-after": "1.5"}, 1.5),
            ({"retry-after": "soon"}, None),
            ({}, None),
            ({"retry-after-ms": "bad", "retry-after": "2"}, 2.0),
        ],
    )
    def test_parse_retry_after(self, headers: dict[str, str], expected: float | None) -> None:
        assert parse_retry_after(httpx.Headers(headers)) == expected

    def test_parse_retry_after_http_date(self) -> None:
        date = email.utils.formatdate(time.time() + 30, usegmt=True)
        value = parse_retry_after(httpx.Headers({"retry-after": date}))
        assert value is not None
        assert 28 <= value <= 31


def test_owned_async_pool_is_closed_when_its_event_loop_ends(async_pools: _Recorded) -> None:
    transport = Transport(resolve_endpoint(base_url="http://127.0.0.1:9/api/v1", env={}), SecretStr("k"))
    seen: list[httpx.AsyncHTTPTransport] = []

    async def one_call() -> None:
        seen.append(await transport._apool())
        assert seen[-1] not in async_pools.closed

    asyncio.run(one_call())
    asyncio.run(one_call())
    assert len(seen) == 2
    assert seen[0] is not seen[1]  # a new loop gets a new pool…
    assert async_pools.closed == seen  # …and each loop closed its own on the way out


def test_same_loop_reuses_the_async_pool() -> None:
    transport = Transport(resolve_endpoint(env={}), SecretStr("k"))

    async def twice() -> tuple[httpx.AsyncHTTPTransport, httpx.AsyncHTTPTransport]:
        return await transport._apool(), await transport._apool()

    first, second = asyncio.run(twice())
    assert first is second


def test_concurrent_first_requests_share_one_async_pool() -> None:
    transport = Transport(resolve_endpoint(env={}), SecretStr("k"))

    async def many() -> set[int]:
        clients = await asyncio.gather(*(transport._apool() for _ in range(16)))
        return {id(c) for c in clients}

    assert len(asyncio.run(many())) == 1
