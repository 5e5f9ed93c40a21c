"""Authentication and what the request log records about it."""

from __future__ import annotations

import httpx
import pytest

from dashscope_embeddings.emulator import Emulator

from .conftest import COMPATIBLE, NATIVE, native_body


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   "])
def test_missing_key(emu: Emulator, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    with httpx.Client(transport=emu.transport(), base_url="http://e") as c:
        r = c.post(NATIVE, json=native_body(["a"]), headers=headers)
    assert r.status_code == 401
    assert r.json() == {
        "code": "InvalidApiKey",
        "message": "No API-key provided.",
        "request_id": r.headers["x-request-id"],
    }


def test_only_listed_keys_are_accepted() -> None:
    emu = Emulator(api_keys={"sk-good"})
    with httpx.Client(transport=emu.transport(), base_url="http://e") as c:
        ok = c.post(NATIVE, json=native_body(["a"]), headers={"Authorization": "Bearer sk-good"})
        bad = c.post(NATIVE, json=native_body(["a"]), headers={"Authorization": "Bearer sk-bad"})
        basic = c.post(NATIVE, json=native_body(["a"]), headers={"Authorization": "Basic sk-good"})
        compat = c.post(
            COMPATIBLE, json={"model": "text-embedding-v4", "input": "a"}, headers={"Authorization": "Bearer x"}
        )
    assert ok.status_code == 200
    assert (bad.status_code, bad.json()["code"], bad.json()["message"]) == (
        401,
        "InvalidApiKey",
        "Invalid API-key provided.",
    )
    assert basic.status_code == 401
    assert compat.status_code == 401
    assert compat.json()["error"] == {
        "message": "Incorrect API key provided. ",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }


def test_auth_comes_before_body_checks(emu: Emulator) -> None:
    with httpx.Client(transport=emu.transport(), base_url="http://e") as c:
        assert c.post(NATIVE, content=b"not json").status_code == 401


def test_workspace_and_headers_are_logged(client: httpx.Client, emu: Emulator) -> None:
    body = native_body(["a"], text_type="query")
    client.post(NATIVE, json=body, headers={"X-DashScope-WorkSpace": "ws-123", "X-Custom": "v"})
    (record,) = emu.requests
    assert record.workspace == "ws-123"
    assert record.headers["x-dashscope-workspace"] == "ws-123"
    assert record.headers["authorization"] == "Bearer sk-test"
    assert record.headers["x-custom"] == "v"
    assert record.body == body
    assert (record.method, record.path) == ("POST", NATIVE)
