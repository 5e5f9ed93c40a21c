"""The OpenAI-compatible endpoint: shape, document vectors, base64, usage."""

from __future__ import annotations

import base64

import httpx
import numpy as np

from dashscope_embeddings.emulator import Emulator

from .conftest import COMPATIBLE


def test_float_response_shape(client: httpx.Client, emu: Emulator) -> None:
    r = client.post(
        COMPATIBLE, json={"model": "text-embedding-v4", "input": ["a cat", "a dog"], "encoding_format": "float"}
    )
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["data", "model", "object", "usage", "id"]
    assert body["object"] == "list"
    assert body["model"] == "text-embedding-v4"
    assert body["id"] == r.headers["x-request-id"]
    tokens = emu.count_tokens("a cat") + emu.count_tokens("a dog")
    assert body["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}
    assert [(d["index"], d["object"]) for d in body["data"]] == [(0, "embedding"), (1, "embedding")]
    # Compatible mode has no text_type: its vectors are the native document vectors.
    assert body["data"][1]["embedding"] == emu.expected_embedding("a dog", model="text-embedding-v4")


def test_a_string_input_is_one_text(client: httpx.Client, emu: Emulator) -> None:
    r = client.post(COMPATIBLE, json={"model": "text-embedding-v3", "input": "hello", "dimensions": 512})
    (item,) = r.json()["data"]
    assert item["embedding"] == emu.expected_embedding("hello", model="text-embedding-v3", dimension=512)


def test_base64_is_little_endian_float32(client: httpx.Client, emu: Emulator) -> None:
    payload = {"model": "text-embedding-v4", "input": ["hello"], "dimensions": 256, "encoding_format": "base64"}
    r = client.post(COMPATIBLE, json=payload)
    encoded = r.json()["data"][0]["embedding"]
    assert isinstance(encoded, str)
    decoded = np.frombuffer(base64.b64decode(encoded), dtype="<f4")
    expected = np.array(emu.expected_embedding("hello", model="text-embedding-v4", dimension=256), dtype=np.float32)
    assert np.array_equal(decoded, expected)


def test_unknown_fields_are_ignored(client: httpx.Client) -> None:
    r = client.post(COMPATIBLE, json={"model": "text-embedding-v4", "input": "a", "user": "u1", "dimension": "1024"})
    assert r.status_code == 200
    assert len(r.json()["data"][0]["embedding"]) == 1024
