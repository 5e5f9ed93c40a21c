"""The emulator over real sockets: ServedEmulator, the dashscope and openai SDKs, the CLI."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from dashscope_embeddings.emulator import Emulator, Faults, ServedEmulator

NATIVE = "/api/v1/services/embeddings/text-embedding/text-embedding"
AUTH = {"Authorization": "Bearer sk-test"}


def native_body(texts: Any, model: str = "text-embedding-v4", **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": {"texts": texts}}
    if parameters:
        body["parameters"] = parameters
    return body


@pytest.fixture
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator() as s:
        yield s


def test_urls_and_a_request(served: ServedEmulator) -> None:
    assert served.base_url == f"http://127.0.0.1:{served.port}/api/v1"
    assert served.compatible_base_url == f"http://127.0.0.1:{served.port}/compatible-mode/v1"
    r = httpx.post(
        served.base_url + "/services/embeddings/text-embedding/text-embedding", json=native_body(["hi"]), headers=AUTH
    )
    assert r.status_code == 200
    assert r.json()["output"]["embeddings"][0]["embedding"] == served.emulator.expected_embedding(
        "hi", model="text-embedding-v4"
    )
    assert served.emulator.requests[0].path == NATIVE


def test_dashscope_sdk_gets_the_oracle_vectors(served: ServedEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    dashscope = pytest.importorskip("dashscope")
    monkeypatch.setattr(dashscope, "base_http_api_url", served.base_url)
    texts = ["The quality of the clothes is excellent", "风急天高猿啸哀"]
    resp = dashscope.TextEmbedding.call(
        model="text-embedding-v4", input=texts, api_key="sk-test", dimension=512, text_type="query", workspace="ws-9"
    )
    assert resp.status_code == 200
    for item in resp.output["embeddings"]:
        expected = served.emulator.expected_embedding(
            texts[item["text_index"]], model="text-embedding-v4", dimension=512, text_type="query"
        )
        assert item["embedding"] == expected
    assert resp.usage["total_tokens"] == 14
    record = served.emulator.requests[-1]
    assert record.body == {
        "model": "text-embedding-v4",
        "parameters": {"text_type": "query", "dimension": 512},
        "input": {"texts": texts},
    }
    assert record.workspace == "ws-9"

    refused = dashscope.TextEmbedding.call(model="text-embedding-v4", input=["a"] * 11, api_key="sk-test")
    assert (refused.status_code, refused.code) == (400, "InvalidParameter")
    assert refused.message.endswith("it should not be larger than 10.: input.contents")


def test_openai_sdk_base64_round_trip(served: ServedEmulator) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=served.compatible_base_url, api_key="sk-test", max_retries=0)
    result = client.embeddings.create(model="text-embedding-v4", input=["hello", "world"], dimensions=256)
    assert served.emulator.requests[-1].body["encoding_format"] == "base64"  # openai-python's default
    for item, text in zip(result.data, ["hello", "world"], strict=True):
        expected = served.emulator.expected_embedding(text, model="text-embedding-v4", dimension=256)
        assert np.array_equal(np.array(item.embedding, dtype=np.float32), np.array(expected, dtype=np.float32))
    assert result.usage.total_tokens == 2
    as_float = client.embeddings.create(model="text-embedding-v4", input="hello", encoding_format="float")
    assert as_float.data[0].embedding == served.emulator.expected_embedding("hello", model="text-embedding-v4")
    with pytest.raises(openai.BadRequestError, match="contents is neither str nor list of str"):
        client.embeddings.create(model="text-embedding-v4", input=[[1, 2, 3]])


def test_served_drop_hang_and_latency() -> None:
    emu = Emulator()
    with ServedEmulator(emu) as served, httpx.Client(base_url=served.root_url, headers=AUTH) as client:
        emu.faults = Faults(drop_rate=1.0)
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(NATIVE, json=native_body(["a"]))
        emu.faults = Faults(hang=True)
        with pytest.raises(httpx.ReadTimeout):
            client.post(NATIVE, json=native_body(["a"]), timeout=0.2)
        emu.faults = Faults(latency=0.2)

        def one(out: list[int]) -> None:
            with httpx.Client(base_url=served.root_url, headers=AUTH) as c:
                out.append(c.post(NATIVE, json=native_body(["a"])).status_code)

        codes: list[int] = []
        threads = [threading.Thread(target=one, args=(codes,)) for _ in range(4)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert codes == [200] * 4
        assert time.monotonic() - start < 0.7  # the server awaited the four delays concurrently


def test_stop_is_quick_even_with_a_hanging_request() -> None:
    emu = Emulator(faults=Faults(hang=True))
    served = ServedEmulator(emu).start()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx.post(served.root_url + NATIVE, json=native_body(["a"]), headers=AUTH, timeout=30)
        except httpx.HTTPError as error:
            errors.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.2)
    start = time.monotonic()
    served.stop()
    thread.join(timeout=5)
    assert time.monotonic() - start < 1.5
    assert len(errors) == 1
    assert isinstance(errors[0], httpx.RemoteProtocolError)


def test_cli_serves_with_faults_and_keys() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashscope_embeddings.emulator", "--port", "0", "--api-key", "k1", "--api-key", "k2",
         "--error-rate", "1", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("DashScope emulator: http://127.0.0.1:")
        base = line.split()[2]
        assert base.endswith("/api/v1")
        url = base + "/services/embeddings/text-embedding/text-embedding"
        assert httpx.post(url, json=native_body(["a"]), headers={"Authorization": "Bearer k2"}).status_code == 500
        assert httpx.post(url, json=native_body(["a"]), headers={"Authorization": "Bearer k3"}).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
