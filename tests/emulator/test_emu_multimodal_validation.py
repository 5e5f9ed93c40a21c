"""Every refusal of the multimodal endpoint (exact status, code and message), and every limit at its edge: exactly
at the cap passes, one over fails."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import httpx
import pytest

from dashscope_embeddings.catalog import MODELS
from dashscope_embeddings.emulator import Emulator

from .conftest import AUTH
from .test_emu_multimodal import (
    CAR_URL,
    CAR_VIDEO,
    FLASH,
    MULTIMODAL,
    PLUS,
    PLUS_SNAPSHOT,
    QWEN3,
    QWEN25,
    V1,
    data_uri,
    jpeg,
    mm_body,
    png,
    post,
)

ALGO = "<400> InternalError.Algo.InvalidParameter: "
BODY_INVALID = "Required body invalid, please check the request body format."
EMPTY_INPUT = "Required input parameter missing from request."
NOT_A_MODAL = ALGO + "The item of content should be a message of a certain modal."
BAD_URL = ALGO + "The provided URL does not appear to be valid. Ensure it is correctly formatted."
FORMAT = ALGO + "The media format is not supported or incorrect for the data inspection."
UNDECODABLE = ALGO + "Failed to decode the image during the data inspection."
PLUS_DIMENSIONS = (
    ALGO
    + "Value error, dimension is invalid, its value should be in [64, 128, 256, 512, 1024, 1152].: parameters.dimension"
)

GIF = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 20
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 " + b"\x00" * 18


def images(n: int) -> list[dict[str, str]]:
    return [{"image": f"https://cdn.example.com/photo_{i}.jpg"} for i in range(n)]


def videos(n: int) -> list[dict[str, str]]:
    return [{"video": f"https://cdn.example.com/clip_{i}.mp4"} for i in range(n)]


def sized_png(size: int) -> str:
    return data_uri(b"\x89PNG\r\n\x1a\n" + b"\x00" * (size - 8))


CASES = [
    # gateway and routing
    pytest.param(["a"], 400, "InvalidParameter", BODY_INVALID, id="body not an object"),
    pytest.param(
        {"input": {"contents": ["a"]}},
        400,
        "BadRequest.EmptyModel",
        'Required parameter "model" missing from request.',
        id="no model",
    ),
    pytest.param({"model": PLUS}, 400, "BadRequest.EmptyInput", EMPTY_INPUT, id="no input"),
    pytest.param({"model": PLUS, "input": "a"}, 400, "InvalidParameter", BODY_INVALID, id="input not an object"),
    pytest.param({"model": PLUS, "input": {}}, 400, "BadRequest.EmptyInput", EMPTY_INPUT, id="no contents"),
    pytest.param(mm_body([]), 400, "BadRequest.EmptyInput", EMPTY_INPUT, id="empty contents"),
    pytest.param(
        mm_body("a red car"),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid list: input.contents",
        id="contents not a list",
    ),
    pytest.param(mm_body(["a"], "qwen9-vl-embedding"), 400, "InvalidParameter", "Model not exist.", id="unknown model"),
    pytest.param(
        mm_body(["a"], "text-embedding-v4"), 400, "InvalidParameter", "url error, please check url！", id="text model"
    ),
    pytest.param(
        mm_body(["a"], "text-embedding-async-v2"),
        400,
        "InvalidParameter",
        "url error, please check url！",
        id="batch model",
    ),
    pytest.param(
        {"model": PLUS, "input": {"contents": ["a"]}, "parameters": [1]},
        400,
        "InvalidParameter",
        BODY_INVALID,
        id="parameters not an object",
    ),
    # content items
    pytest.param(
        mm_body(["a"] * 21),
        400,
        "InvalidParameter",
        ALGO + "Value error, batch size is invalid, it should not be larger than 20.: input.contents",
        id="21 items",
    ),
    pytest.param(
        mm_body(["a", CAR_URL, CAR_VIDEO, "b"], QWEN25),
        400,
        "InvalidParameter",
        ALGO + "Value error, batch size is invalid, it should not be larger than 3.: input.contents",
        id="qwen2.5 4 items",
    ),
    pytest.param(mm_body([5]), 400, "InvalidParameter", NOT_A_MODAL, id="item a number"),
    pytest.param(mm_body([["a"]]), 400, "InvalidParameter", NOT_A_MODAL, id="item a list"),
    pytest.param(mm_body([{}]), 400, "InvalidParameter", NOT_A_MODAL, id="empty item"),
    pytest.param(mm_body([{"factor": 1}]), 400, "InvalidParameter", NOT_A_MODAL, id="factor alone"),
    pytest.param(mm_body([{"audio": "https://x/a.mp3"}]), 400, "InvalidParameter", NOT_A_MODAL, id="audio"),
    pytest.param(mm_body([{"multi_images": [CAR_URL]}]), 400, "InvalidParameter", NOT_A_MODAL, id="multi_images"),
    pytest.param(
        mm_body([{"text": "a", "caption": "b"}]), 400, "InvalidParameter", NOT_A_MODAL, id="unknown key beside text"
    ),
    pytest.param(
        mm_body([{"text": 5}]),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid string: input.contents.0.text",
        id="text not a string",
    ),
    pytest.param(
        mm_body(["a", {"image": None}]),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid string: input.contents.1.image",
        id="image null",
    ),
    pytest.param(
        mm_body([{"video": [CAR_VIDEO]}]),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid string: input.contents.0.video",
        id="video frames list",
    ),
    pytest.param(
        mm_body([{"text": "a", "factor": "x"}]),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid number: input.contents.0.factor",
        id="factor not a number",
    ),
    # parameters
    pytest.param(
        mm_body(["a"], output_type="sparse"),
        400,
        "InvalidParameter",
        ALGO + "Input should be 'dense': parameters.output_type",
        id="output_type",
    ),
    pytest.param(
        mm_body(["a"], dimension="512"),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid integer: parameters.dimension",
        id="dimension a string",
    ),
    pytest.param(mm_body(["a"], dimension=768), 400, "InvalidParameter", PLUS_DIMENSIONS, id="dimension not offered"),
    pytest.param(
        mm_body(["a"], FLASH, dimension=1024),
        400,
        "InvalidParameter",
        ALGO
        + "Value error, dimension is invalid, its value should be in [64, 128, 256, 512, 768].: parameters.dimension",
        id="flash 1024",
    ),
    pytest.param(
        mm_body(["a"], V1, dimension=1024),
        400,
        "InvalidParameter",
        ALGO + "Value error, dimension is not supported by multimodal-embedding-v1.: parameters.dimension",
        id="v1 fixed size",
    ),
    pytest.param(
        mm_body(["a"], QWEN3, enable_fusion="true"),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid boolean: parameters.enable_fusion",
        id="enable_fusion a string",
    ),
    pytest.param(
        mm_body(["a"], enable_fusion=True),
        400,
        "InvalidParameter",
        ALGO + "Value error, enable_fusion is not supported by tongyi-embedding-vision-plus.: parameters.enable_fusion",
        id="enable_fusion off qwen3-vl",
    ),
    pytest.param(
        mm_body(["a"], PLUS_SNAPSHOT, enable_fusion=False),
        400,
        "InvalidParameter",
        ALGO
        + "Value error, enable_fusion is not supported by tongyi-embedding-vision-plus-2026-03-06.: parameters.enable_fusion",
        id="enable_fusion false on a snapshot",
    ),
    pytest.param(
        mm_body(["a"], res_level=1),
        400,
        "InvalidParameter",
        ALGO + "Value error, res_level is not supported by tongyi-embedding-vision-plus.: parameters.res_level",
        id="res_level off snapshots",
    ),
    pytest.param(
        mm_body(["a"], PLUS_SNAPSHOT, res_level=4),
        400,
        "InvalidParameter",
        ALGO + "Range of res_level should be [0, 3]",
        id="res_level 4",
    ),
    pytest.param(
        mm_body(["a"], PLUS_SNAPSHOT, res_level=-1),
        400,
        "InvalidParameter",
        ALGO + "Range of res_level should be [0, 3]",
        id="res_level -1",
    ),
    pytest.param(
        mm_body(["a"], PLUS_SNAPSHOT, res_level=1.0),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid integer: parameters.res_level",
        id="res_level a float",
    ),
    pytest.param(
        mm_body(["a"], QWEN3, max_video_frames=8),
        400,
        "InvalidParameter",
        ALGO + "Value error, max_video_frames is not supported by qwen3-vl-embedding.: parameters.max_video_frames",
        id="max_video_frames off snapshots",
    ),
    pytest.param(
        mm_body(["a"], PLUS_SNAPSHOT, max_video_frames=0),
        400,
        "InvalidParameter",
        ALGO + "Range of max_video_frames should be [1, 64]",
        id="max_video_frames 0",
    ),
    pytest.param(
        mm_body(["a"], PLUS_SNAPSHOT, max_video_frames=65),
        400,
        "InvalidParameter",
        ALGO + "Range of max_video_frames should be [1, 64]",
        id="max_video_frames 65",
    ),
    pytest.param(
        mm_body(["a"], fps=0.5),
        400,
        "InvalidParameter",
        ALGO + "Value error, fps is not supported by tongyi-embedding-vision-plus.: parameters.fps",
        id="fps off qwen-vl",
    ),
    pytest.param(
        mm_body(["a"], QWEN3, fps=1.01), 400, "InvalidParameter", ALGO + "Range of fps should be [0, 1]", id="fps 1.01"
    ),
    pytest.param(
        mm_body(["a"], QWEN25, fps=-0.1), 400, "InvalidParameter", ALGO + "Range of fps should be [0, 1]", id="fps -0.1"
    ),
    pytest.param(
        mm_body(["a"], QWEN3, fps=True),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid number: parameters.fps",
        id="fps a bool",
    ),
    pytest.param(
        mm_body(["a"], instruct="Find it"),
        400,
        "InvalidParameter",
        ALGO + "Value error, instruct is not supported by tongyi-embedding-vision-plus.: parameters.instruct",
        id="instruct off qwen3-vl",
    ),
    pytest.param(
        mm_body(["a"], QWEN3, instruct=5),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid string: parameters.instruct",
        id="instruct not a string",
    ),
    # counts and fusion
    pytest.param(
        mm_body(images(9)),
        400,
        "InvalidParameter",
        ALGO + "Value error, the number of images is invalid, it should not be larger than 8.: input.contents",
        id="vision 9 images",
    ),
    pytest.param(
        mm_body(images(6), QWEN3),
        400,
        "InvalidParameter",
        ALGO + "Value error, the number of images is invalid, it should not be larger than 5.: input.contents",
        id="qwen3-vl 6 images",
    ),
    pytest.param(
        mm_body(images(2), V1),
        400,
        "InvalidParameter",
        ALGO + "Value error, the number of images is invalid, it should not be larger than 1.: input.contents",
        id="v1 2 images",
    ),
    pytest.param(
        mm_body(images(2), QWEN25),
        400,
        "InvalidParameter",
        ALGO + "Value error, the number of images is invalid, it should not be larger than 1.: input.contents",
        id="qwen2.5 2 images",
    ),
    pytest.param(
        mm_body(videos(2)),
        400,
        "InvalidParameter",
        ALGO + "Value error, the number of videos is invalid, it should not be larger than 1.: input.contents",
        id="vision 2 videos",
    ),
    pytest.param(
        mm_body(videos(9), PLUS_SNAPSHOT),
        400,
        "InvalidParameter",
        ALGO + "Value error, the number of videos is invalid, it should not be larger than 8.: input.contents",
        id="snapshot 9 videos",
    ),
    pytest.param(
        mm_body(videos(2), QWEN3),
        400,
        "InvalidParameter",
        ALGO + "Value error, the number of videos is invalid, it should not be larger than 1.: input.contents",
        id="qwen3-vl 2 videos",
    ),
    pytest.param(
        mm_body([{"text": "a", "image": CAR_URL}]),
        400,
        "InvalidParameter",
        ALGO
        + "Value error, tongyi-embedding-vision-plus does not support fused input; put text, image and video in separate content items.: input.contents",
        id="vision fused item",
    ),
    pytest.param(
        mm_body([{"text": "a", "video": CAR_VIDEO}], V1),
        400,
        "InvalidParameter",
        ALGO
        + "Value error, multimodal-embedding-v1 does not support fused input; put text, image and video in separate content items.: input.contents",
        id="v1 fused item",
    ),
    pytest.param(
        mm_body(["a", "b"], QWEN25),
        400,
        "InvalidParameter",
        ALGO
        + "Value error, qwen2.5-vl-embedding accepts each of text, image and video at most once per request.: input.contents",
        id="qwen2.5 two texts",
    ),
    # text
    pytest.param(
        mm_body([""]), 400, "InvalidParameter", ALGO + "Range of input length should be [1, 1024]", id="empty text"
    ),
    pytest.param(
        mm_body(["hello" + " hello" * 1024]),
        400,
        "InvalidParameter",
        ALGO + "Range of input length should be [1, 1024]",
        id="1025 tokens",
    ),
    pytest.param(
        mm_body([{"text": ""}], V1),
        400,
        "InvalidParameter",
        ALGO + "Range of input length should be [1, 512]",
        id="v1 empty text",
    ),
    # image values
    pytest.param(mm_body([{"image": "cat.png"}]), 400, "InvalidParameter", BAD_URL, id="relative path"),
    pytest.param(mm_body([{"image": "file:///tmp/cat.png"}]), 400, "InvalidParameter", BAD_URL, id="file URL"),
    pytest.param(mm_body([{"image": "oss://bucket/cat.png"}]), 400, "InvalidParameter", BAD_URL, id="oss URL"),
    pytest.param(mm_body([{"image": "ftp://x.com/cat.png"}]), 400, "InvalidParameter", BAD_URL, id="ftp URL"),
    pytest.param(mm_body([{"image": "https:///cat.png"}]), 400, "InvalidParameter", BAD_URL, id="no host"),
    pytest.param(mm_body([{"image": "https://x.com/a cat.png"}]), 400, "InvalidParameter", BAD_URL, id="space in URL"),
    pytest.param(
        mm_body([{"image": base64.b64encode(png()).decode()}]), 400, "InvalidParameter", BAD_URL, id="bare base64"
    ),
    pytest.param(
        mm_body([{"image": "data:image/png," + base64.b64encode(png()).decode()}]),
        400,
        "InvalidParameter",
        BAD_URL,
        id="data URI without base64",
    ),
    pytest.param(
        mm_body([{"image": "data:text/plain;base64,aGk="}]),
        400,
        "InvalidParameter",
        BAD_URL,
        id="data URI not an image",
    ),
    pytest.param(
        mm_body([{"image": "data:image/png;base64,iVBO@@=="}]), 400, "InvalidParameter", BAD_URL, id="invalid base64"
    ),
    pytest.param(
        mm_body([{"image": "data:image/png;base64,iVBORw0KGgo"}]),
        400,
        "InvalidParameter",
        BAD_URL,
        id="base64 without padding",
    ),
    pytest.param(mm_body([{"image": data_uri(GIF, "gif")}]), 400, "InvalidParameter", FORMAT, id="declared gif"),
    pytest.param(
        mm_body([{"image": data_uri(GIF, "png")}]), 400, "InvalidParameter", FORMAT, id="gif bytes declared png"
    ),
    pytest.param(
        mm_body([{"image": data_uri(jpeg(), "png")}]), 400, "InvalidParameter", FORMAT, id="jpeg bytes declared png"
    ),
    pytest.param(
        mm_body([{"image": data_uri(WEBP, "webp")}]), 400, "InvalidParameter", FORMAT, id="webp off the vision models"
    ),
    pytest.param(
        mm_body([{"image": data_uri(b"hello world", "png")}]), 400, "InvalidParameter", UNDECODABLE, id="not an image"
    ),
    pytest.param(mm_body([{"image": data_uri(b"", "png")}]), 400, "InvalidParameter", UNDECODABLE, id="empty data"),
    pytest.param(mm_body([{"image": "https://x.com/cat.gif"}]), 400, "InvalidParameter", FORMAT, id="gif URL"),
    pytest.param(
        mm_body([{"image": "https://x.com/cat.webp"}]), 400, "InvalidParameter", FORMAT, id="webp URL on vision"
    ),
    pytest.param(mm_body([{"image": "https://x.com/render.php?id=3"}]), 400, "InvalidParameter", FORMAT, id="php URL"),
    # video values
    pytest.param(
        mm_body([{"video": "data:video/mp4;base64,AAAA"}]),
        400,
        "InvalidParameter",
        ALGO
        + "Value error, video must be an http or https URL; local and Base64 videos are not supported.: input.contents.0.video",
        id="base64 video",
    ),
    pytest.param(
        mm_body(["a", {"video": "/home/me/clip.mp4"}]),
        400,
        "InvalidParameter",
        ALGO
        + "Value error, video must be an http or https URL; local and Base64 videos are not supported.: input.contents.1.video",
        id="local video",
    ),
    pytest.param(mm_body([{"video": "https://x.com/clip.gif"}]), 400, "InvalidParameter", FORMAT, id="gif video URL"),
    pytest.param(
        mm_body([{"video": "https://x.com/clip.webm"}], QWEN3), 400, "InvalidParameter", FORMAT, id="webm on qwen3-vl"
    ),
]


@pytest.mark.parametrize(("body", "status", "code", "message"), CASES)
def test_refusals(client: httpx.Client, body: Any, status: int, code: str, message: str) -> None:
    r = client.post(MULTIMODAL, json=body)
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (status, code, message)
    assert list(r.json()) == ["code", "message", "request_id"]
    assert r.json()["request_id"] == r.headers["x-request-id"]


def test_async_header_is_refused(client: httpx.Client) -> None:
    r = client.post(MULTIMODAL, json=mm_body(["a"]), headers={"X-DashScope-Async": "enable"})
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (
        403,
        "AccessDenied",
        "Current user api does not support asynchronous calls.",
    )


def test_auth_and_json_are_checked_first() -> None:
    emu = Emulator(api_keys={"sk-good"})
    with httpx.Client(transport=emu.transport(), base_url="http://e") as client:
        r = client.post(MULTIMODAL, json=mm_body(["a"]))
        assert (r.status_code, r.json()["message"]) == (401, "No API-key provided.")
        r = client.post(MULTIMODAL, json=mm_body(["a"]), headers=AUTH)
        assert (r.status_code, r.json()["message"]) == (401, "Invalid API-key provided.")
        r = client.post(MULTIMODAL, content=b"{not json", headers={"Authorization": "Bearer sk-good"})
        assert (r.status_code, r.json()["code"]) == (400, "BadRequest.IllegalInput")


# --- limits at their edges: exactly at the cap passes ---------------------------------------------------------------

PASSES = [
    pytest.param(mm_body(["a"] * 20), id="20 items"),
    pytest.param(mm_body(["a", {"image": CAR_URL}, {"video": CAR_VIDEO}], QWEN25), id="qwen2.5 3 items, one of each"),
    pytest.param(mm_body(images(8)), id="vision 8 images"),
    pytest.param(mm_body(images(5), QWEN3), id="qwen3-vl 5 images"),
    pytest.param(mm_body(images(1), V1), id="v1 1 image"),
    pytest.param(mm_body(videos(1)), id="vision 1 video"),
    pytest.param(mm_body(videos(8), PLUS_SNAPSHOT), id="snapshot 8 videos"),
    pytest.param(mm_body(["hello" + " hello" * 1023]), id="1024 tokens"),
    pytest.param(mm_body(["a"], PLUS_SNAPSHOT, res_level=0), id="res_level 0"),
    pytest.param(mm_body(["a"], PLUS_SNAPSHOT, res_level=3), id="res_level 3"),
    pytest.param(mm_body(["a"], PLUS_SNAPSHOT, max_video_frames=1), id="max_video_frames 1"),
    pytest.param(mm_body(["a"], PLUS_SNAPSHOT, max_video_frames=64), id="max_video_frames 64"),
    pytest.param(mm_body(["a"], QWEN3, fps=0), id="fps 0"),
    pytest.param(mm_body(["a"], QWEN25, fps=1), id="fps 1"),
    pytest.param(mm_body(["a"], QWEN3, enable_fusion=False, instruct=""), id="enable_fusion false, empty instruct"),
    pytest.param(mm_body(["a"], output_type="dense"), id="output_type dense"),
    pytest.param(mm_body([{"image": "https://x.com/photo"}]), id="URL without extension"),
    pytest.param(mm_body([{"image": "HTTPS://x.com/Photo.JPG?w=1#top"}]), id="upper-case scheme and extension"),
    pytest.param(mm_body([{"image": "https://x.com/cat.webp"}], QWEN3), id="webp URL on qwen3-vl"),
    pytest.param(mm_body([{"image": data_uri(WEBP, "webp")}], QWEN3), id="webp data on qwen3-vl"),
    pytest.param(mm_body([{"image": data_uri(b"BM" + b"\x00" * 30, "dib")}], QWEN25), id="dib is bmp"),
    pytest.param(mm_body([{"image": data_uri(jpeg(), "jpg")}]), id="jpg alias"),
    pytest.param(mm_body([{"image": data_uri(b"\x00\x00\x01\x00" + b"\x00" * 20, "x-icon")}], QWEN3), id="x-icon"),
    pytest.param(mm_body([{"video": "https://x.com/clip.webm"}]), id="webm on vision"),
    pytest.param(mm_body([{"video": "https://x.com/stream"}], QWEN3), id="video URL without extension"),
]


@pytest.mark.parametrize("body", PASSES)
def test_at_the_cap_passes(client: httpx.Client, body: Any) -> None:
    r = client.post(MULTIMODAL, json=body)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("model", "dimension"),
    [(name, d) for name in (PLUS, FLASH, PLUS_SNAPSHOT, QWEN3, QWEN25) for d in MODELS[name].dimensions],
)
def test_every_offered_dimension(client: httpx.Client, model: str, dimension: int) -> None:
    r = post(client, ["a red car"], model, dimension=dimension)
    assert r.status_code == 200
    assert len(r.json()["output"]["embeddings"][0]["embedding"]) == dimension


@pytest.mark.parametrize(("model", "limit"), [(PLUS, 3 * 1024 * 1024), (QWEN3, 5 * 1024 * 1024)])
def test_image_size_at_the_cap(client: httpx.Client, model: str, limit: int) -> None:
    assert post(client, [{"image": sized_png(limit)}], model).status_code == 200
    r = post(client, [{"image": sized_png(limit + 1)}], model)
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (
        400,
        "BadRequest.TooLarge",
        f"Exceeded limit on max bytes per data-uri item : {limit}",
    )


def test_images_per_item_cap() -> None:
    # Every catalog model takes 1 image per item, which one JSON object cannot exceed; a model that takes none shows
    # the check at its edge.
    spec = MODELS[PLUS]
    assert spec.media is not None
    blind = replace(spec, name="blind-vision", media=replace(spec.media, max_images_per_item=0))
    emu = Emulator(extra_models=[blind])
    with httpx.Client(transport=emu.transport(), base_url="http://e", headers=AUTH) as client:
        assert post(client, ["a"], "blind-vision").status_code == 200
        r = post(client, [{"image": CAR_URL}], "blind-vision")
        assert r.json()["message"] == (
            ALGO + "Value error, the number of images in one content item should not be larger than 0.: input.contents"
        )


def test_counts_are_checked_before_images_are_decoded(client: httpx.Client) -> None:
    r = post(client, [{"image": "data:image/png;base64,@@@"}] * 9)
    assert r.json()["message"].endswith("it should not be larger than 8.: input.contents")
