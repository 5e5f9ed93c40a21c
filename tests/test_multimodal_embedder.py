"""MultimodalEmbedder against the in-process emulator: exact vectors, bodies, packing, order, validation, usage.

Every scenario runs on the sync and the async path (`embed` fixture).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from dashscope_embeddings import EmbeddingResult, MultimodalEmbedder, TextEmbedder
from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import InputError
from dashscope_embeddings.transport import RetryPolicy

PLUS = "tongyi-embedding-vision-plus"
QWEN3 = "qwen3-vl-embedding"
SNAPSHOT = "tongyi-embedding-vision-plus-2026-03-06"
V1 = "multimodal-embedding-v1"
CAR = "https://example.com/images/red_car.png"
CLIP = "https://example.com/videos/beach_walk.mp4"
PATH = "/api/v1/services/embeddings/multimodal-embedding/multimodal-embedding"


def make(emu: Emulator, model: str = PLUS, **kwargs: Any) -> MultimodalEmbedder:
    return MultimodalEmbedder(
        model,
        api_key="sk-test",
        base_url="http://127.0.0.1/api/v1",
        retry=RetryPolicy(initial_delay=0.001, max_delay=0.002),
        http_client=httpx.Client(transport=emu.transport()),
        http_async_client=httpx.AsyncClient(transport=emu.async_transport()),
        **kwargs,
    )


Embed = Callable[..., EmbeddingResult]


@pytest.fixture(params=["sync", "async"])
def embed(request: pytest.FixtureRequest) -> Embed:
    def run(embedder: MultimodalEmbedder, items: Any, **kwargs: Any) -> EmbeddingResult:
        if request.param == "sync":
            return embedder.embed(items, **kwargs)
        return asyncio.run(embedder.aembed(items, **kwargs))

    return run


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


def png(color: tuple[int, int, int] = (200, 30, 30), size: int = 4) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format="PNG")
    return buffer.getvalue()


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [r.body for r in emu.requests]


class TestExactVectors:
    def test_text_image_and_video_each_get_their_own_vector(self, emu: Emulator, embed: Embed) -> None:
        result = embed(make(emu), ["a red car", {"image": CAR}, {"video": CLIP}])
        assert result.embeddings == [
            *emu.expected_multimodal_embedding([{"text": "a red car"}], model=PLUS),
            *emu.expected_multimodal_embedding([{"image": CAR}], model=PLUS),
            *emu.expected_multimodal_embedding([{"video": CLIP}], model=PLUS),
        ]
        assert result.dimension == 1152
        assert bodies(emu) == [
            {"model": PLUS, "input": {"contents": [{"text": "a red car"}, {"image": CAR}, {"video": CLIP}]}}
        ]

    def test_every_image_source_becomes_the_same_data_uri(self, emu: Emulator, embed: Embed, tmp_path: Path) -> None:
        data = png()
        file = tmp_path / "red.png"
        file.write_bytes(data)
        sources: list[Any] = [
            file,
            {"image": str(file)},
            data,
            io.BytesIO(data),
            {"image": file},
            {"image": data_uri(data)},
            Image.open(io.BytesIO(data)),
        ]
        result = embed(make(emu), sources)
        sent = [content["image"] for content in bodies(emu)[0]["input"]["contents"][:6]]
        assert sent == [data_uri(data)] * 6
        expected = emu.expected_multimodal_embedding([{"image": data_uri(data)}], model=PLUS)[0]
        assert result.embeddings[:6] == [expected] * 6
        assert len(result) == 7

    def test_a_plain_string_is_always_text_even_if_it_names_a_file(
        self, emu: Emulator, embed: Embed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / "README.md").write_text("not an image")
        monkeypatch.chdir(tmp_path)
        embed(make(emu), ["README.md"])
        assert bodies(emu)[0]["input"]["contents"] == [{"text": "README.md"}]

    def test_dimension_is_sent_only_when_not_the_default(self, emu: Emulator, embed: Embed) -> None:
        embedder = make(emu, SNAPSHOT)
        embed(embedder, ["x"])
        small = embed(embedder, ["x"], dimension=256)
        assert "parameters" not in bodies(emu)[0]
        assert bodies(emu)[1]["parameters"] == {"dimension": 256}
        assert small.embeddings == emu.expected_multimodal_embedding([{"text": "x"}], model=SNAPSHOT, dimension=256)

    def test_qwen3_vl_fused_item_goes_alone_with_enable_fusion(self, emu: Emulator, embed: Embed) -> None:
        fused = {"text": "the same shirt, more youthful", "image": CAR}
        result = embed(make(emu, QWEN3), ["a shirt", fused, {"image": CAR}], instruct="Find similar clothes")
        assert sorted(bodies(emu), key=json.dumps) == sorted(
            [
                {
                    "model": QWEN3,
                    "input": {"contents": [{"text": "a shirt"}]},
                    "parameters": {"instruct": "Find similar clothes"},
                },
                {
                    "model": QWEN3,
                    "input": {"contents": [fused]},
                    "parameters": {"instruct": "Find similar clothes", "enable_fusion": True},
                },
                {
                    "model": QWEN3,
                    "input": {"contents": [{"image": CAR}]},
                    "parameters": {"instruct": "Find similar clothes"},
                },
            ],
            key=json.dumps,
        )  # the three requests run concurrently
        assert (
            result.embeddings[1]
            == emu.expected_multimodal_embedding(
                [fused], model=QWEN3, enable_fusion=True, instruct="Find similar clothes"
            )[0]
        )

    def test_snapshot_fuses_per_item_in_one_request(self, emu: Emulator, embed: Embed) -> None:
        items = [{"text": "shirt", "image": CAR}, "plain text"]
        result = embed(make(emu, SNAPSHOT), items, res_level=2, max_video_frames=16)
        assert len(emu.requests) == 1
        assert bodies(emu)[0]["parameters"] == {"res_level": 2, "max_video_frames": 16}
        assert result.embeddings == emu.expected_multimodal_embedding(
            items, model=SNAPSHOT, res_level=2, max_video_frames=16
        )


class TestPacking:
    def test_twenty_five_texts_make_two_requests(self, emu: Emulator, embed: Embed) -> None:
        texts = [f"caption {i}" for i in range(25)]
        result = embed(make(emu), texts)
        assert sorted(len(b["input"]["contents"]) for b in bodies(emu)) == [5, 20]
        assert len(result.request_ids) == 2

    def test_ten_images_on_vision_plus_make_eight_and_two(self, emu: Emulator, embed: Embed) -> None:
        embed(make(emu), [{"image": f"https://example.com/{i}.png"} for i in range(10)])
        assert sorted(len(b["input"]["contents"]) for b in bodies(emu)) == [2, 8]

    def test_multimodal_embedding_v1_one_image_and_video_per_request(self, emu: Emulator, embed: Embed) -> None:
        embed(make(emu, V1), ["t", {"image": CAR}, {"image": CAR}, {"video": CLIP}, {"video": CLIP}])
        assert sorted([next(iter(c)) for c in b["input"]["contents"]] for b in bodies(emu)) == [
            ["image", "video"],
            ["text", "image"],
            ["video"],
        ]

    def test_shuffled_answers_are_put_back_in_order(self, embed: Embed) -> None:
        emu = Emulator(faults=Faults(shuffle=True, seed=2))
        items = [f"caption number {i}" for i in range(40)]
        result = embed(make(emu), items)
        assert result.embeddings == [emu.expected_multimodal_embedding([t], model=PLUS)[0] for t in items]

    def test_empty_list_sends_nothing(self, emu: Emulator, embed: Embed) -> None:
        assert len(embed(make(emu), [])) == 0
        assert emu.requests == []

    def test_usage_is_summed(self, emu: Emulator, embed: Embed) -> None:
        result = embed(make(emu, V1), ["t", {"image": CAR}, {"image": CAR}])
        answers = [r.response_body["usage"] for r in emu.requests]
        assert result.usage.image_count == sum(u.get("image_count", 0) for u in answers) == 2
        assert result.usage.input_tokens == sum(u.get("input_tokens", 0) for u in answers)


class TestValidationBeforeSending:
    @pytest.mark.parametrize(
        ("model", "items", "kwargs", "message"),
        [
            (
                PLUS,
                [{"text": "a", "image": CAR}],
                {},
                r"items\[0\] combines text and image, but tongyi-embedding-vision-plus cannot fuse",
            ),
            (PLUS, [{}], {}, r"items\[0\] is an empty dict"),
            (PLUS, [{"audio": CAR}], {}, r"items\[0\] has unknown modality 'audio'"),
            (PLUS, ["ok", 42], {}, r"items\[1\] is int: pass text \(str\), an image"),
            (PLUS, [{"text": 5}], {}, r"items\[0\]\.text is int, not str"),
            (PLUS, [" "], {}, r"items\[0\] is empty or only whitespace"),
            (PLUS, [{"video": "/tmp/clip.mp4"}], {}, r"items\[0\]\.video .*URL"),
            (PLUS, [{"image": "/no/such/file.png"}], {}, r"items\[0\]\.image"),
            (PLUS, ["x"], {"instruct": "Find"}, r"tongyi-embedding-vision-plus does not take instruct"),
            (PLUS, ["x"], {"res_level": 1}, r"does not take res_level; it applies to the -2026-03-06 snapshots"),
            (SNAPSHOT, ["x"], {"res_level": 4}, r"res_level must be between 0 and 3, got 4"),
            (SNAPSHOT, ["x"], {"max_video_frames": 65}, r"max_video_frames must be between 1 and 64, got 65"),
            (QWEN3, ["x"], {"fps": 1.5}, r"fps must be between 0 and 1, got 1.5"),
            (PLUS, ["x"], {"dimension": 300}, r"dimension 300 is not offered by tongyi-embedding-vision-plus"),
            (V1, ["x"], {"dimension": 512}, r"dimension 512 is not offered by multimodal-embedding-v1"),
            (
                PLUS,
                ["word " * 2000],
                {},
                r"items\[0\] has \d+ tokens, over tongyi-embedding-vision-plus's limit of 1024",
            ),
        ],
    )
    def test_bad_input_is_refused_with_nothing_sent(
        self, emu: Emulator, embed: Embed, model: str, items: list[Any], kwargs: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(InputError, match=message):
            embed(make(emu, model), items, **kwargs)
        assert emu.requests == []

    def test_oversized_and_unsupported_images(self, emu: Emulator, embed: Embed) -> None:
        gif = io.BytesIO()
        Image.new("RGB", (2, 2)).save(gif, format="GIF")
        with pytest.raises(InputError, match=r"items\[1\]") as info:
            embed(make(emu), ["ok", gif.getvalue()])
        assert info.value.index == 1
        big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (3 * 1024 * 1024)
        with pytest.raises(InputError, match=r"3 MB"):
            embed(make(emu), [big])
        assert emu.requests == []

    def test_multimodal_embedding_v1_accepts_long_text_it_truncates_itself(self, emu: Emulator, embed: Embed) -> None:
        embed(make(emu, V1), ["word " * 2000])
        assert len(emu.requests) == 1

    def test_models_of_the_wrong_kind(self) -> None:
        with pytest.raises(
            InputError, match=r"text-embedding-v4 is a text model; MultimodalEmbedder serves multimodal"
        ):
            MultimodalEmbedder("text-embedding-v4", api_key="k")
        with pytest.raises(InputError, match=r"qwen3-vl-embedding is a multimodal model; TextEmbedder serves text"):
            TextEmbedder("qwen3-vl-embedding", api_key="k")


def test_repr_names_model_and_endpoint(emu: Emulator) -> None:
    assert repr(make(emu)) == (
        "MultimodalEmbedder(model='tongyi-embedding-vision-plus', dimension=None, endpoint='http://127.0.0.1/api/v1')"
    )


def test_requests_go_to_the_multimodal_path(emu: Emulator) -> None:
    make(emu).embed(["x"])
    assert emu.requests[0].path == PATH


class TestSeveralImagesInOneVector:
    """qwen3-vl-embedding fuses a whole request, so one item may list up to 5 images and 1 video."""

    def test_listed_images_are_fused_into_one_vector(self, emu: Emulator, embed: Embed) -> None:
        item = {"text": "outfit", "image": [CAR, "https://example.com/images/blue_shirt.png"], "video": CLIP}
        result = embed(make(emu, QWEN3), ["before", item, "after"])
        fused_body = next(b for b in bodies(emu) if b.get("parameters", {}).get("enable_fusion"))
        assert fused_body["input"]["contents"] == [
            {"text": "outfit"},
            {"image": CAR},
            {"image": "https://example.com/images/blue_shirt.png"},
            {"video": CLIP},
        ]
        assert len(result) == 3
        assert (
            result.embeddings[1]
            == emu.expected_multimodal_embedding(fused_body["input"]["contents"], model=QWEN3, enable_fusion=True)[0]
        )

    @pytest.mark.parametrize(
        ("model", "item", "message"),
        [
            (QWEN3, {"image": [CAR] * 6}, r"items\[0\] has 6 images, but qwen3-vl-embedding fuses at most 5 images"),
            (QWEN3, {"video": [CLIP, CLIP]}, r"items\[0\] has 2 videos, but qwen3-vl-embedding fuses at most 1 video "),
            (QWEN3, {"text": "t", "image": []}, r"items\[0\]\.image is an empty list"),
            (SNAPSHOT, {"image": [CAR, CAR]}, r"lists several images, but tongyi-embedding-vision-plus-2026-03-06"),
            (PLUS, {"image": [CAR]}, r"lists several images, but tongyi-embedding-vision-plus fuses at most one"),
            (QWEN3, {"image": [CAR, "/no/such/file.png"]}, r"items\[0\]\.image\[1\]"),
        ],
    )
    def test_over_the_model_caps_is_refused_before_sending(
        self, emu: Emulator, embed: Embed, model: str, item: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(InputError, match=message):
            embed(make(emu, model), [item])
        assert emu.requests == []
