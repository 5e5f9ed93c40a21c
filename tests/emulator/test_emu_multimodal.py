"""The multimodal endpoint: answer shape, `type` per model and fusion mode, usage per model, oracle equality,
vectors (Matryoshka, cross-modal closeness, determinism), and faults, the request log and stats."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import httpx
import numpy as np
import pytest

from dashscope_embeddings.emulator import Emulator, Faults

from .conftest import AUTH

MULTIMODAL = "/api/v1/services/embeddings/multimodal-embedding/multimodal-embedding"
PLUS = "tongyi-embedding-vision-plus"
FLASH = "tongyi-embedding-vision-flash"
PLUS_SNAPSHOT = "tongyi-embedding-vision-plus-2026-03-06"
FLASH_SNAPSHOT = "tongyi-embedding-vision-flash-2026-03-06"
QWEN3 = "qwen3-vl-embedding"
QWEN25 = "qwen2.5-vl-embedding"
V1 = "multimodal-embedding-v1"

CAR_URL = "https://cdn.example.com/red_car.png"
CAR_VIDEO = "https://cdn.example.com/red_car.mp4"


def png(seed: int = 0) -> bytes:
    """A valid 1x1 RGB PNG whose pixel depends on `seed` (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixel = bytes([0, seed % 256, (seed // 256) % 256, 7])
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixel)) + chunk(b"IEND", b"")


def jpeg(seed: int = 0) -> bytes:
    """Bytes with a JPEG signature (SOI, APP0 JFIF) and an end marker: all the emulator looks at."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes([seed % 256]) * 32 + b"\xff\xd9"


def data_uri(data: bytes, fmt: str = "png") -> str:
    return f"data:image/{fmt};base64," + base64.b64encode(data).decode("ascii")


def mm_body(contents: Any, model: str = PLUS, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": {"contents": contents}}
    if parameters:
        body["parameters"] = parameters
    return body


def post(client: httpx.Client, contents: Any, model: str = PLUS, **parameters: Any) -> httpx.Response:
    return client.post(MULTIMODAL, json=mm_body(contents, model, **parameters))


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x)


def cos(a: list[float], b: list[float]) -> float:
    x, y = np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)
    return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))


# --- answer shape and oracle ---------------------------------------------------------------------------------------


def test_answer_shape_types_and_oracle(client: httpx.Client, emu: Emulator) -> None:
    contents: list[Any] = [{"text": "a red car"}, {"image": CAR_URL}, {"video": CAR_VIDEO}, {"image": data_uri(png())}]
    r = post(client, contents)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = json.loads(r.content)
    assert list(body) == ["output", "usage", "request_id"]
    assert body["request_id"] == r.headers["x-request-id"]
    items = body["output"]["embeddings"]
    assert [list(item) for item in items] == [["index", "embedding", "type"]] * 4
    assert [(item["index"], item["type"]) for item in items] == [(0, "text"), (1, "image"), (2, "video"), (3, "image")]
    assert all(len(item["embedding"]) == 1152 for item in items)  # vision-plus's default
    assert [item["embedding"] for item in items] == emu.expected_multimodal_embedding(contents, model=PLUS)


def test_a_bare_string_is_text(client: httpx.Client, emu: Emulator) -> None:
    r = post(client, ["a red car", {"text": "a red car"}])
    first, second = r.json()["output"]["embeddings"]
    assert first["type"] == second["type"] == "text"
    assert first["embedding"] == second["embedding"] == emu.expected_multimodal_embedding(["a red car"], model=PLUS)[0]


def test_sdk_item_factor_is_accepted_and_ignored(client: httpx.Client, emu: Emulator) -> None:
    # dashscope's MultiModalEmbeddingItemText/Image always send "factor".
    r = post(client, [{"factor": 1.0, "text": "hello"}, {"factor": 2, "image": CAR_URL}])
    assert r.status_code == 200
    got = [item["embedding"] for item in r.json()["output"]["embeddings"]]
    assert got == emu.expected_multimodal_embedding([{"text": "hello"}, {"image": CAR_URL}], model=PLUS)


def test_parameters_reach_the_oracle(client: httpx.Client, emu: Emulator) -> None:
    contents = [{"text": "a red car", "image": CAR_URL}, {"video": CAR_VIDEO}]
    params = {"dimension": 512, "instruct": "Find the product", "fps": 0.5}
    got = [item["embedding"] for item in post(client, contents, QWEN3, **params).json()["output"]["embeddings"]]
    assert got == emu.expected_multimodal_embedding(contents, model=QWEN3, **params)  # type: ignore[arg-type]
    assert len(got[0]) == 512


def test_unknown_parameters_are_ignored(client: httpx.Client, emu: Emulator) -> None:
    r = client.post(MULTIMODAL, json=mm_body(["hi"], auto_truncation=True, kwargs={"x": 1}))
    assert r.status_code == 200
    assert r.json()["output"]["embeddings"][0]["embedding"] == emu.expected_multimodal_embedding(["hi"], model=PLUS)[0]


# --- type values and fusion -----------------------------------------------------------------------------------------

MIXED = [{"text": "a red car"}, {"image": CAR_URL}, {"text": "a red car", "image": CAR_URL}]


@pytest.mark.parametrize(
    ("model", "contents", "parameters", "expected"),
    [
        pytest.param(PLUS, MIXED[:2], {}, [(0, "text"), (1, "image")], id="vision independent"),
        pytest.param(V1, [{"video": CAR_VIDEO}, {"text": "x"}], {}, [(0, "video"), (1, "text")], id="v1 independent"),
        pytest.param(
            PLUS_SNAPSHOT, MIXED, {}, [(0, "text"), (1, "image"), (2, "fused")], id="snapshot: multi-key item fused"
        ),
        pytest.param(QWEN3, MIXED, {}, [(0, "vl"), (1, "vl"), (2, "fusion")], id="qwen3-vl independent mode"),
        pytest.param(QWEN3, MIXED, {"enable_fusion": False}, [(0, "vl"), (1, "vl"), (2, "fusion")], id="fusion false"),
        pytest.param(QWEN3, MIXED, {"enable_fusion": True}, [(0, "fusion")], id="qwen3-vl fuses the request"),
        pytest.param(QWEN25, MIXED[:2], {}, [(0, "fusion")], id="qwen2.5-vl always fuses"),
        pytest.param(QWEN25, ["alone"], {}, [(0, "fusion")], id="qwen2.5-vl single text"),
    ],
)
def test_types_and_fusion(
    client: httpx.Client, emu: Emulator, model: str, contents: Any, parameters: dict[str, Any], expected: Any
) -> None:
    r = post(client, contents, model, **parameters)
    assert r.status_code == 200, r.text
    items = r.json()["output"]["embeddings"]
    assert [(item["index"], item["type"]) for item in items] == expected
    oracle = emu.expected_multimodal_embedding(
        contents, model=model, enable_fusion=bool(parameters.get("enable_fusion"))
    )
    assert [item["embedding"] for item in items] == oracle


def test_fused_vector_is_the_normalised_sum_of_its_parts(emu: Emulator) -> None:
    text, image = {"text": "a red car"}, {"image": data_uri(png(3))}
    parts = np.array(emu.expected_multimodal_embedding([text, image], model=PLUS_SNAPSHOT), dtype=np.float64)
    fused = emu.expected_multimodal_embedding([{**text, **image}], model=PLUS_SNAPSHOT)[0]
    assert np.allclose(fused, unit(parts[0] + parts[1]), rtol=0, atol=2e-7)
    request = emu.expected_multimodal_embedding([text, image], model=QWEN3, enable_fusion=True)
    element = emu.expected_multimodal_embedding([{**text, **image}], model=QWEN3)
    assert request == element  # fusing the request or one item with the same parts: the same vector


# --- usage ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "contents", "parameters", "usage"),
    [
        pytest.param(
            PLUS,
            [{"text": "a red car"}, {"image": CAR_URL}, {"video": CAR_VIDEO}],
            {},
            {
                "input_tokens": 3 + 402 + 8 * 402,
                "input_tokens_details": {"image_tokens": 402 + 8 * 402, "text_tokens": 3},
                "output_tokens": 0,
                "total_tokens": 3 + 402 + 8 * 402,
            },
            id="vision",
        ),
        pytest.param(
            FLASH_SNAPSHOT,
            [{"text": "a red car", "image": CAR_URL}, {"video": CAR_VIDEO}],
            {"res_level": 3, "max_video_frames": 4},
            {
                "input_tokens": 3 + 1026 + 4 * 1026,
                "input_tokens_details": {"image_tokens": 1026 + 4 * 1026, "text_tokens": 3},
                "output_tokens": 0,
                "total_tokens": 3 + 1026 + 4 * 1026,
            },
            id="snapshot res_level and frames",
        ),
        pytest.param(
            PLUS_SNAPSHOT,
            [{"image": CAR_URL}],
            {"res_level": 0},
            {
                "input_tokens": 127,
                "input_tokens_details": {"image_tokens": 127, "text_tokens": 0},
                "output_tokens": 0,
                "total_tokens": 127,
            },
            id="res_level 0",
        ),
        pytest.param(
            QWEN3,
            [{"text": "a red car"}, {"image": CAR_URL}, {"text": "风急天高猿啸哀"}],
            {},
            {"input_tokens": 3 + 7, "image_tokens": 402, "total_tokens": 3 + 7 + 402},
            id="qwen3-vl",
        ),
        pytest.param(
            QWEN25,
            [{"text": "a red car"}, {"video": CAR_VIDEO}],
            {},
            {"input_tokens": 3, "image_tokens": 8 * 402},
            id="qwen2.5-vl",
        ),
        pytest.param(
            V1,
            [{"text": "a red car"}, {"image": CAR_URL}, {"video": CAR_VIDEO}],
            {},
            {"input_tokens": 3, "image_tokens": 402 + 8 * 402, "image_count": 1, "duration": 10},
            id="multimodal-embedding-v1",
        ),
        pytest.param(
            V1,
            [{"image": CAR_URL}],
            {},
            {"input_tokens": 0, "image_tokens": 402, "image_count": 1, "duration": 0},
            id="v1 image only (as in the D002 sample: input_tokens 0, duration 0)",
        ),
    ],
)
def test_usage_per_model(
    client: httpx.Client, emu: Emulator, model: str, contents: Any, parameters: dict[str, Any], usage: Any
) -> None:
    r = post(client, contents, model, **parameters)
    assert r.status_code == 200, r.text
    assert r.json()["usage"] == usage
    billed = usage["total_tokens"] if "total_tokens" in usage else usage["input_tokens"] + usage["image_tokens"]
    assert emu.stats.tokens == billed


def test_multimodal_v1_truncates_long_text(client: httpx.Client, emu: Emulator) -> None:
    exact = "hello" + " hello" * 511
    long = exact + " hello world"
    assert (Emulator.count_tokens(exact), Emulator.count_tokens(long)) == (512, 514)
    r = post(client, [{"text": long}], V1)
    assert r.status_code == 200
    assert r.json()["usage"]["input_tokens"] == 512
    vector = r.json()["output"]["embeddings"][0]["embedding"]
    assert vector == emu.expected_multimodal_embedding([long], model=V1)[0]
    assert vector == emu.expected_multimodal_embedding([exact], model=V1)[0]  # the tail is cut off


# --- vectors ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dimension", [256, 512, 768, 1024, 1536, 2048])
def test_matryoshka_prefix_for_fused_vectors(emu: Emulator, dimension: int) -> None:
    contents = [{"text": "a red car", "image": CAR_URL, "video": CAR_VIDEO}]
    full = np.array(emu.expected_multimodal_embedding(contents, model=QWEN3)[0], dtype=np.float64)
    assert full.shape == (2560,)
    small = emu.expected_multimodal_embedding(contents, model=QWEN3, dimension=dimension)[0]
    assert len(small) == dimension
    assert abs(np.linalg.norm(small) - 1.0) < 1e-6
    assert np.allclose(small, unit(full[:dimension]), rtol=0, atol=1e-7)


def test_text_finds_the_image_named_after_it(emu: Emulator) -> None:
    text, image, video, other, boat = emu.expected_multimodal_embedding(
        ["red car", {"image": CAR_URL}, {"video": CAR_VIDEO}, {"image": data_uri(png())}, "blue boat"], model=PLUS
    )
    assert cos(text, image) == pytest.approx(10 / np.sqrt(109), abs=2e-3)
    assert cos(text, video) == pytest.approx(10 / np.sqrt(109), abs=2e-3)
    assert cos(image, video) == pytest.approx(100 / 109, abs=2e-3)
    assert abs(cos(text, other)) < 0.2
    assert abs(cos(boat, image)) < 0.2
    # The query string and the host do not matter, the path's words do.
    signed = emu.expected_multimodal_embedding(
        [{"image": "https://other.example.org/red_car.jpg?Signature=x"}], model=PLUS
    )
    assert signed[0] == image


def test_data_uri_images_hash_their_bytes(emu: Emulator) -> None:
    same = [{"image": data_uri(jpeg(1), "jpeg")}, {"image": data_uri(jpeg(1), "jpg")}]
    a, b = emu.expected_multimodal_embedding(same, model=PLUS)
    assert a == b  # identical bytes, whatever the declared alias
    c, d = emu.expected_multimodal_embedding([{"image": data_uri(png(1))}, {"image": data_uri(png(2))}], model=PLUS)
    assert abs(cos(c, d)) < 0.2


def test_instruct_and_model_change_the_vector(emu: Emulator) -> None:
    plain = emu.expected_multimodal_embedding(["a red car"], model=QWEN3)[0]
    instructed = emu.expected_multimodal_embedding(["a red car"], model=QWEN3, instruct="Find the product")[0]
    other = emu.expected_multimodal_embedding(["a red car"], model=QWEN3, instruct="Classify the scene")[0]
    assert plain != instructed != other
    assert cos(plain, instructed) == pytest.approx(10 / np.sqrt(109), abs=2e-3)
    plus = emu.expected_multimodal_embedding(["a red car"], model=PLUS, dimension=64)[0]
    flash = emu.expected_multimodal_embedding(["a red car"], model=FLASH, dimension=64)[0]
    assert abs(cos(plus, flash)) < 0.3


def test_deterministic_across_instances(emu: Emulator) -> None:
    contents = [{"text": "a red car", "image": data_uri(png(9))}, {"video": CAR_VIDEO}]
    fresh = Emulator(cache_size=0)
    assert emu.expected_multimodal_embedding(contents, model=QWEN3) == fresh.expected_multimodal_embedding(
        contents, model=QWEN3
    )


def test_oracle_refuses_what_the_server_refuses(emu: Emulator) -> None:
    with pytest.raises(ValueError, match=r"^url error, please check url！$"):
        emu.expected_multimodal_embedding(["a"], model="text-embedding-v4")
    with pytest.raises(ValueError, match=r"^Model not exist\.$"):
        emu.expected_multimodal_embedding(["a"], model="no-such-model")
    with pytest.raises(ValueError, match="enable_fusion is not supported by tongyi-embedding-vision-plus"):
        emu.expected_multimodal_embedding(["a"], model=PLUS, enable_fusion=True)
    with pytest.raises(ValueError, match="does not support fused input"):
        emu.expected_multimodal_embedding([{"text": "a", "image": CAR_URL}], model=PLUS)


# --- faults, request log, stats ---------------------------------------------------------------------------------------


def faulty(faults: Faults) -> tuple[Emulator, httpx.Client]:
    emu = Emulator(faults=faults)
    return emu, httpx.Client(transport=emu.transport(), base_url="http://e", headers=AUTH)


CONTENTS = [{"text": f"item {i}"} for i in range(6)]


def test_missing_removes_one_embedding() -> None:
    emu, client = faulty(Faults(missing_rate=1.0, seed=3))
    items = post(client, CONTENTS).json()["output"]["embeddings"]
    assert len(items) == 5
    expected = emu.expected_multimodal_embedding(CONTENTS, model=PLUS)
    assert all(item["embedding"] == expected[item["index"]] for item in items)


def test_shuffle_reorders_and_index_places() -> None:
    emu, client = faulty(Faults(shuffle=True, seed=5))
    items = post(client, CONTENTS).json()["output"]["embeddings"]
    indexes = [item["index"] for item in items]
    assert sorted(indexes) == list(range(6))
    assert indexes != list(range(6))
    expected = emu.expected_multimodal_embedding(CONTENTS, model=PLUS)
    assert all(item["embedding"] == expected[item["index"]] for item in items)


def test_error_malformed_and_drop_apply() -> None:
    _, client = faulty(Faults(error_rate=1.0))
    r = post(client, CONTENTS)
    assert (r.status_code, r.json()["code"]) == (500, "InternalError")
    _, client = faulty(Faults(malformed_rate=1.0))
    r = post(client, CONTENTS)
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    emu, client = faulty(Faults(drop_rate=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, CONTENTS)
    assert emu.stats.dropped == 1


def test_tpm_counts_image_tokens() -> None:
    # One image costs 402 tokens: a bucket of 600 tokens a second admits one such request, then throttles.
    emu, client = faulty(Faults(tpm=600 * 60))
    assert post(client, [{"image": CAR_URL}]).status_code == 200
    r = post(client, [{"image": CAR_URL}])
    assert (r.status_code, r.json()["code"], r.headers["retry-after"]) == (429, "Throttling.RateQuota", "1")
    assert emu.stats.throttled == 1


async def test_async_transport_and_request_log(aclient: httpx.AsyncClient, emu: Emulator) -> None:
    r = await aclient.post(
        MULTIMODAL, json=mm_body(["hi", {"image": CAR_URL}]), headers={"X-DashScope-WorkSpace": "ws-1"}
    )
    assert r.status_code == 200
    record = emu.requests[-1]
    assert (record.path, record.workspace, record.status) == (MULTIMODAL, "ws-1", 200)
    assert record.body == mm_body(["hi", {"image": CAR_URL}])
    assert record.response_body["usage"]["total_tokens"] == 1 + 402
    assert emu.stats.by_status == {200: 1}
    assert emu.stats.tokens == 1 + 402
