"""The injected plain 429 (`Faults.throttle_rate`): its rate, its bodies, no Retry-After, and where it applies."""

from __future__ import annotations

import httpx
import pytest

from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.emulator import server as emulator_server
from dashscope_embeddings.emulator.__main__ import build_parser, main
from dashscope_embeddings.emulator.errors import ServiceError
from dashscope_embeddings.emulator.faults import FaultEngine

from .conftest import AUTH, COMPATIBLE, NATIVE, native_body

MULTIMODAL = "/api/v1/services/embeddings/multimodal-embedding/multimodal-embedding"
MESSAGE = "Requests throttling triggered."


def make(faults: Faults) -> tuple[Emulator, httpx.Client]:
    emu = Emulator(faults=faults)
    return emu, httpx.Client(transport=emu.transport(), base_url="http://e", headers=AUTH)


def statuses(client: httpx.Client, n: int) -> list[int]:
    return [client.post(NATIVE, json=native_body(["a"])).status_code for _ in range(n)]


def test_throttle_rate_fires_at_the_seeded_rate() -> None:
    emu, client = make(Faults(throttle_rate=0.3, seed=7))
    seen = statuses(client, 400)
    assert set(seen) == {200, 429}
    assert 90 <= seen.count(429) <= 150
    stats = emu.stats
    assert dict(stats.by_status) == {200: seen.count(200), 429: seen.count(429)}
    assert stats.throttled == seen.count(429)
    _, again = make(Faults(throttle_rate=0.3, seed=7))
    assert statuses(again, 400) == seen  # same seed, same sequence


def test_native_body_and_no_retry_after() -> None:
    emu, client = make(Faults(throttle_rate=1.0))
    r = client.post(NATIVE, json=native_body(["a"]))
    assert r.status_code == 429
    assert r.json() == {"code": "Throttling", "message": MESSAGE, "request_id": r.headers["x-request-id"]}
    assert "retry-after" not in r.headers
    assert "retry-after-ms" not in r.headers
    assert (emu.stats.requests, emu.stats.throttled, emu.stats.tokens) == (1, 1, 0)
    assert emu.requests[0].status == 429


def test_compatible_and_multimodal_bodies() -> None:
    _, client = make(Faults(throttle_rate=1.0))
    r = client.post(COMPATIBLE, json={"model": "text-embedding-v4", "input": "a"})
    assert r.status_code == 429
    assert r.json()["error"] == {"message": MESSAGE, "type": "Throttling", "param": None, "code": "Throttling"}
    assert "retry-after" not in r.headers
    body = {"model": "tongyi-embedding-vision-plus", "input": {"contents": [{"text": "a"}]}}
    r = client.post(MULTIMODAL, json=body)
    assert r.status_code == 429
    assert r.json() == {"code": "Throttling", "message": MESSAGE, "request_id": r.headers["x-request-id"]}
    assert "retry-after" not in r.headers


def test_applies_after_authentication_and_before_validation() -> None:
    emu = Emulator(faults=Faults(throttle_rate=1.0))
    client = httpx.Client(transport=emu.transport(), base_url="http://e")
    assert client.post(NATIVE, json=native_body(["a"])).status_code == 401  # no key: refused before the 429
    assert client.post(NATIVE, json=native_body([""]), headers=AUTH).status_code == 429  # invalid body: 429 first


def test_takes_nothing_from_the_request_bucket() -> None:
    engine = FaultEngine(Faults(rpm=60, throttle_rate=1.0), clock=lambda: 0.0)
    rolls = engine.roll()
    assert rolls.throttle is True
    for _ in range(3):
        with pytest.raises(ServiceError) as info:
            engine.admit_request(rolls)
        assert (info.value.status, info.value.code, info.value.message, info.value.headers) == (
            429,
            "Throttling",
            MESSAGE,
            (),
        )
    engine.admit_request()  # the one-request bucket is still full


def test_draws_stay_seven_per_request_whatever_the_rates() -> None:
    """Each fault's draw has a fixed place in the stream, so turning one fault on leaves the others' dice alone."""
    quiet = FaultEngine(Faults(error_rate=0.5, seed=3))
    loud = FaultEngine(Faults(error_rate=0.5, throttle_rate=0.5, seed=3))
    quiet_rolls = [quiet.roll() for _ in range(50)]
    loud_rolls = [loud.roll() for _ in range(50)]
    assert [r.error for r in quiet_rolls] == [r.error for r in loud_rolls]
    assert [r.order_seed for r in quiet_rolls] == [r.order_seed for r in loud_rolls]
    assert not any(r.throttle for r in quiet_rolls)
    assert 15 <= sum(r.throttle for r in loud_rolls) <= 35


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_invalid_rate_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="throttle_rate must be in \\[0, 1\\]"):
        Faults(throttle_rate=rate)


def test_cli_flag_reaches_the_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert build_parser().parse_args([]).throttle_rate == 0.0
    assert build_parser().parse_args(["--throttle-rate", "0.05"]).throttle_rate == 0.05
    served: list[Emulator] = []
    monkeypatch.setattr(emulator_server, "serve", lambda emulator, **kwargs: served.append(emulator))
    assert main(["--throttle-rate", "0.05", "--error-rate", "0.1", "--seed", "9"]) == 0
    assert served[0].faults == Faults(throttle_rate=0.05, error_rate=0.1, seed=9)


def test_cli_refuses_a_bad_rate() -> None:
    with pytest.raises(SystemExit) as info:
        main(["--throttle-rate", "2"])
    assert info.value.code == 2
