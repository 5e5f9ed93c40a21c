"""The multimodal endpoint over a real socket, called by the dashscope SDK: it gets the oracle vectors, the SDK's own
item classes are accepted, and a refusal reaches the SDK as the service's status, code and message."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from dashscope_embeddings.emulator import Emulator, ServedEmulator

MULTIMODAL = "/api/v1/services/embeddings/multimodal-embedding/multimodal-embedding"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
CONTENTS: list[dict[str, Any]] = [
    {"text": "a red car"},
    {"image": "https://cdn.example.com/red_car.png"},
    {"image": "data:image/png;base64," + base64.b64encode(PNG).decode("ascii")},
    {"video": "https://cdn.example.com/red_car.mp4"},
]


@pytest.fixture
def dashscope(served: ServedEmulator, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    sdk = pytest.importorskip("dashscope")
    monkeypatch.setattr(sdk, "base_http_api_url", served.base_url)
    return sdk


def test_sdk_gets_the_oracle_vectors(dashscope: Any, emulator: Emulator) -> None:
    resp = dashscope.MultiModalEmbedding.call(
        model="tongyi-embedding-vision-plus",
        input=[dict(c) for c in CONTENTS],
        api_key="sk-test",
        dimension=512,
        workspace="ws-mm",
    )
    assert resp.status_code == 200
    expected = emulator.expected_multimodal_embedding(CONTENTS, model="tongyi-embedding-vision-plus", dimension=512)
    items = resp.output["embeddings"]
    assert [(item["index"], item["type"]) for item in items] == [(0, "text"), (1, "image"), (2, "image"), (3, "video")]
    assert [item["embedding"] for item in items] == expected
    assert resp.usage["input_tokens_details"] == {"image_tokens": 2 * 402 + 8 * 402, "text_tokens": 3}
    record = emulator.requests[-1]
    assert (record.path, record.workspace) == (MULTIMODAL, "ws-mm")
    assert record.body["input"] == {"contents": CONTENTS}
    assert record.body["parameters"] == {"dimension": 512}


def test_sdk_fusion_and_instruct(dashscope: Any, emulator: Emulator) -> None:
    resp = dashscope.MultiModalEmbedding.call(
        model="qwen3-vl-embedding",
        input=[dict(c) for c in CONTENTS],
        api_key="sk-test",
        enable_fusion=True,
        instruct="Find the product",
    )
    assert resp.status_code == 200
    (item,) = resp.output["embeddings"]
    assert (item["index"], item["type"], len(item["embedding"])) == (0, "fusion", 2560)
    assert [item["embedding"]] == emulator.expected_multimodal_embedding(
        CONTENTS, model="qwen3-vl-embedding", enable_fusion=True, instruct="Find the product"
    )
    assert resp.usage == {"input_tokens": 3, "image_tokens": 2 * 402 + 8 * 402, "total_tokens": 3 + 10 * 402}


def test_sdk_item_classes_are_accepted(dashscope: Any, emulator: Emulator) -> None:
    from dashscope.embeddings.multimodal_embedding import MultiModalEmbeddingItemImage, MultiModalEmbeddingItemText

    items = [MultiModalEmbeddingItemText("a red car", 1.0), MultiModalEmbeddingItemImage(CONTENTS[1]["image"], 1.0)]
    resp = dashscope.MultiModalEmbedding.call(model="multimodal-embedding-v1", input=items, api_key="sk-test")
    assert resp.status_code == 200
    assert [e["embedding"] for e in resp.output["embeddings"]] == emulator.expected_multimodal_embedding(
        CONTENTS[:2], model="multimodal-embedding-v1"
    )
    assert emulator.requests[-1].body["input"]["contents"][0] == {"factor": 1.0, "text": "a red car"}


def test_refusals_reach_the_sdk(dashscope: Any) -> None:
    resp = dashscope.MultiModalEmbedding.call(
        model="tongyi-embedding-vision-flash", input=[{"text": "a", "image": CONTENTS[1]["image"]}], api_key="sk-test"
    )
    assert (resp.status_code, resp.code) == (400, "InvalidParameter")
    assert resp.message.endswith(
        "does not support fused input; put text, image and video in separate content items.: input.contents"
    )
    resp = dashscope.MultiModalEmbedding.call(model="text-embedding-v4", input=[{"text": "a"}], api_key="sk-test")
    assert (resp.status_code, resp.code, resp.message) == (400, "InvalidParameter", "url error, please check url！")
