"""Stats and the request log."""

from __future__ import annotations

import httpx

from dashscope_embeddings.emulator import Emulator

from .conftest import NATIVE, native_body


def test_stats_count_statuses_and_tokens(client: httpx.Client, emu: Emulator) -> None:
    client.post(NATIVE, json=native_body(["通义千问具有强大的能力。"]))
    client.post(NATIVE, json=native_body([""]))
    client.post(NATIVE, content=b"{")
    stats = emu.stats
    assert (stats.requests, dict(stats.by_status), stats.throttled, stats.tokens) == (3, {200: 1, 400: 2}, 0, 8)
    assert [r.body for r in emu.requests] == [native_body(["通义千问具有强大的能力。"]), native_body([""]), None]


def test_records_keep_the_answer(client: httpx.Client, emu: Emulator) -> None:
    r = client.post(NATIVE, json=native_body(["a"]))
    client.post(NATIVE, content=b"{")
    ok, bad = emu.requests
    assert (ok.status, ok.response, ok.request_id) == (200, r.content, r.headers["x-request-id"])
    assert ok.response_body["usage"] == {"total_tokens": 1}
    assert (bad.status, bad.response_body["code"]) == (400, "BadRequest.IllegalInput")


def test_reset_clears_both(client: httpx.Client, emu: Emulator) -> None:
    client.post(NATIVE, json=native_body(["a"]))
    emu.reset()
    assert emu.requests == []
    assert emu.stats.requests == 0
    assert dict(emu.stats.by_status) == {}


def test_the_log_is_bounded() -> None:
    emu = Emulator(max_records=3)
    with httpx.Client(transport=emu.transport(), base_url="http://e", headers={"Authorization": "Bearer k"}) as c:
        for i in range(5):
            c.post(NATIVE, json=native_body([f"t{i}"]))
    assert [r.body["input"]["texts"][0] for r in emu.requests] == ["t2", "t3", "t4"]
    assert emu.stats.requests == 5


def test_handle_is_usable_without_httpx(emu: Emulator) -> None:
    reply = emu.handle(
        "POST", NATIVE, {"Authorization": "Bearer k"}, b'{"model":"text-embedding-v4","input":{"texts":["a"]}}'
    )
    assert (reply.status, reply.fate, reply.delay) == (200, "answer", 0.0)
    assert ("content-type", "application/json") in reply.headers
