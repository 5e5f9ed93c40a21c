"""Packing multimodal items into requests: within every cap, in order, fused items where the model needs them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashscope_embeddings.catalog import MODELS
from dashscope_embeddings.multimodal import _Element, _Request, plan_requests

TEXT = _Element(({"text": "t"},))
IMAGE = _Element(({"image": "https://example.com/a.png"},))
VIDEO = _Element(({"video": "https://example.com/a.mp4"},))
FUSED = _Element(({"text": "t", "image": "https://example.com/a.png"},))


def shape(requests: list[_Request]) -> list[tuple[list[int], bool]]:
    return [(list(r.items), r.fused_whole) for r in requests]


def test_element_cap() -> None:
    assert shape(plan_requests([TEXT] * 25, MODELS["tongyi-embedding-vision-plus"])) == [
        (list(range(20)), False),
        (list(range(20, 25)), False),
    ]


def test_image_cap_of_the_vision_models() -> None:
    requests = plan_requests([IMAGE] * 10, MODELS["tongyi-embedding-vision-flash"])
    assert shape(requests) == [(list(range(8)), False), ([8, 9], False)]


def test_one_image_and_one_video_per_request_on_multimodal_embedding_v1() -> None:
    requests = plan_requests([TEXT, IMAGE, IMAGE, VIDEO, VIDEO], MODELS["multimodal-embedding-v1"])
    assert shape(requests) == [([0, 1], False), ([2, 3], False), ([4], False)]


def test_qwen3_vl_sends_a_fused_item_alone_with_enable_fusion() -> None:
    requests = plan_requests([TEXT, FUSED, TEXT, TEXT, FUSED], MODELS["qwen3-vl-embedding"])
    assert shape(requests) == [([0], False), ([1], True), ([2, 3], False), ([4], True)]


def test_qwen3_vl_image_cap_is_five() -> None:
    assert [len(r.items) for r in plan_requests([IMAGE] * 11, MODELS["qwen3-vl-embedding"])] == [5, 5, 1]


def test_qwen25_vl_fuses_each_request_so_every_item_goes_alone() -> None:
    requests = plan_requests([TEXT, FUSED, IMAGE], MODELS["qwen2.5-vl-embedding"])
    assert shape(requests) == [([0], True), ([1], True), ([2], True)]


def test_snapshots_fuse_per_element_so_fused_items_share_requests() -> None:
    requests = plan_requests([FUSED, FUSED, TEXT, VIDEO], MODELS["tongyi-embedding-vision-plus-2026-03-06"])
    assert shape(requests) == [([0, 1, 2, 3], False)]


def test_snapshot_video_cap_is_eight() -> None:
    requests = plan_requests([VIDEO] * 9, MODELS["tongyi-embedding-vision-flash-2026-03-06"])
    assert [len(r.items) for r in requests] == [8, 1]


def test_nothing_to_plan() -> None:
    assert plan_requests([], MODELS["qwen3-vl-embedding"]) == []


MULTIMODAL = sorted(name for name, spec in MODELS.items() if spec.kind == "multimodal")


@given(st.sampled_from(MULTIMODAL), st.lists(st.sampled_from([TEXT, IMAGE, VIDEO, FUSED]), max_size=80))
def test_every_plan_covers_each_item_once_in_order_within_the_caps(model: str, elements: list[_Element]) -> None:
    spec = MODELS[model]
    media = spec.media
    assert media is not None
    if media.fusion == "independent":
        elements = [e for e in elements if not e.fused]
    requests = plan_requests(elements, spec)
    assert [i for r in requests for i in r.items] == list(range(len(elements)))
    for request in requests:
        chosen = [elements[i] for i in request.items]
        assert 1 <= len(chosen) <= spec.max_batch
        assert sum(e.images for e in chosen) <= media.max_images
        assert sum(e.videos for e in chosen) <= media.max_videos
        if request.fused_whole:
            assert len(chosen) == 1
        if media.fusion_per_request:
            assert request.fused_whole == chosen[0].fused


@pytest.mark.parametrize("model", MULTIMODAL)
def test_every_multimodal_model_has_media_limits(model: str) -> None:
    media = MODELS[model].media
    assert media is not None
    assert media.max_images >= 1
    assert media.max_videos >= 1
    assert media.image_formats
    assert media.video_formats
