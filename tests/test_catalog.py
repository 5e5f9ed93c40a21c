"""The catalog, pinned number by number against the reference docs (D003 = newest English page, D002 = old page)."""

from __future__ import annotations

import warnings

import pytest

from dashscope_embeddings.catalog import MODELS, UNKNOWN_TEXT_BATCH, UNKNOWN_TEXT_TOKENS, get_model, text_models

# model, dimensions (default first in the docs' bold), default, batch, tokens per text, text_type, instruct, sparse
TEXT_TABLE = [
    ("text-embedding-v4", (2048, 1536, 1024, 768, 512, 256, 128, 64), 1024, 10, 8192, True, True, True),
    ("text-embedding-v3", (1024, 768, 512), 1024, 10, 8192, True, False, True),
    ("text-embedding-v2", (1536,), 1536, 25, 2048, True, False, False),
    ("text-embedding-v1", (1536,), 1536, 25, 2048, True, False, False),
]


@pytest.mark.parametrize(("name", "dims", "default", "batch", "tokens", "text_type", "instruct", "sparse"), TEXT_TABLE)
def test_text_model_limits(
    name: str,
    dims: tuple[int, ...],
    default: int,
    batch: int,
    tokens: int,
    text_type: bool,
    instruct: bool,
    sparse: bool,
) -> None:
    spec = MODELS[name]
    assert spec.kind == "text"
    assert spec.dimensions == dims
    assert spec.default_dimension == default
    assert spec.max_batch == batch
    assert spec.max_tokens == tokens
    assert (spec.text_type, spec.instruct, spec.sparse) == (text_type, instruct, sparse)


def test_only_v3_and_v4_take_a_dimension_parameter() -> None:
    assert {s.name for s in text_models() if s.dimension_parameter} == {"text-embedding-v4", "text-embedding-v3"}


@pytest.mark.parametrize("name", ["text-embedding-async-v1", "text-embedding-async-v2"])
def test_async_models_are_batch_only(name: str) -> None:
    spec = MODELS[name]
    assert spec.kind == "batch"
    assert (spec.dimensions, spec.max_batch, spec.max_tokens) == ((1536,), 100_000, 2048)
    assert spec not in text_models()


@pytest.mark.parametrize(
    ("name", "regions"),
    [
        ("text-embedding-v4", {"singapore", "beijing", "hongkong"}),
        ("text-embedding-v3", {"singapore", "beijing"}),
        ("text-embedding-v2", {"beijing"}),
        ("text-embedding-v1", {"beijing"}),
        ("text-embedding-async-v2", {"beijing"}),
        ("text-embedding-async-v1", {"beijing"}),
    ],
)
def test_regions(name: str, regions: set[str]) -> None:
    assert MODELS[name].regions == regions


@pytest.mark.parametrize(
    ("name", "region", "amount", "currency"),
    [
        ("text-embedding-v4", "singapore", 0.07, "USD"),
        ("text-embedding-v4", "beijing", 0.072, "USD"),
        ("text-embedding-v4", "hongkong", 0.07, "USD"),
        ("text-embedding-v3", "singapore", 0.07, "USD"),
        ("text-embedding-v3", "beijing", 0.7, "CNY"),
        ("text-embedding-v2", "beijing", 0.7, "CNY"),
        ("text-embedding-v1", "beijing", 0.7, "CNY"),
    ],
)
def test_prices_per_million_tokens(name: str, region: str, amount: float, currency: str) -> None:
    price = MODELS[name].price_in(region)
    assert price is not None
    assert (price.per_million, price.currency) == (amount, currency)


@pytest.mark.parametrize(
    ("name", "region", "amount", "currency"),
    [
        # api-facts §5: the Batch API bills 50 % of the real-time price (v4: CNY 0.00025 vs 0.0005 per 1K tokens).
        ("text-embedding-v4", "singapore", 0.035, "USD"),
        ("text-embedding-v4", "beijing", 0.036, "USD"),
        ("text-embedding-v4", "hongkong", 0.035, "USD"),
        ("text-embedding-v3", "singapore", 0.035, "USD"),
        ("text-embedding-v3", "beijing", 0.35, "CNY"),
        ("text-embedding-v2", "beijing", 0.35, "CNY"),
        ("text-embedding-v1", "beijing", 0.35, "CNY"),
    ],
)
def test_batch_api_prices_are_half(name: str, region: str, amount: float, currency: str) -> None:
    price = MODELS[name].price_in(region, batch_api=True)
    assert price is not None
    assert (price.per_million, price.currency) == (amount, currency)
    assert price.note.startswith("Batch API: 50% of the real-time price")


@pytest.mark.parametrize(
    ("name", "region"),
    [
        ("text-embedding-async-v2", "beijing"),  # tasks, not the Batch API
        ("text-embedding-async-v1", "beijing"),
        ("qwen3-vl-embedding", "beijing"),
        ("tongyi-embedding-vision-plus", "singapore"),
        ("text-embedding-v2", "singapore"),  # served by the Batch API, but no price listed in Singapore
    ],
)
def test_no_batch_api_price(name: str, region: str) -> None:
    assert MODELS[name].price_in(region, batch_api=True) is None


def test_the_batch_api_serves_v1_to_v4() -> None:
    served = {name for name, spec in MODELS.items() if spec.batch_api}
    assert served == {"text-embedding-v1", "text-embedding-v2", "text-embedding-v3", "text-embedding-v4"}


def test_free_quotas() -> None:
    assert MODELS["text-embedding-v4"].free_quota_tokens == {"singapore": 1_000_000}
    assert MODELS["text-embedding-v3"].free_quota_tokens == {"singapore": 500_000}


@pytest.mark.parametrize(
    ("name", "dims", "default"),
    [
        ("tongyi-embedding-vision-plus", (1152, 1024, 512, 256, 128, 64), 1152),
        ("tongyi-embedding-vision-flash", (768, 512, 256, 128, 64), 768),
        ("qwen3-vl-embedding", (2560, 2048, 1536, 1024, 768, 512, 256), 2560),
        ("qwen2.5-vl-embedding", (2048, 1024, 768, 512), 1024),
        ("multimodal-embedding-v1", (1024,), 1024),
    ],
)
def test_multimodal_models_are_known_by_name(name: str, dims: tuple[int, ...], default: int) -> None:
    spec = MODELS[name]
    assert spec.kind == "multimodal"
    assert (spec.dimensions, spec.default_dimension) == (dims, default)


def test_unknown_model_gets_conservative_limits_and_exactly_one_warning() -> None:
    with pytest.warns(UserWarning, match="qwen3.7-text-embedding") as caught:
        spec = get_model("qwen3.7-text-embedding")
    assert len(caught) == 1
    assert (spec.kind, spec.known, spec.max_batch, spec.max_tokens) == ("text", False, 10, 2048)
    assert (UNKNOWN_TEXT_BATCH, UNKNOWN_TEXT_TOKENS) == (10, 2048)
    assert spec.dimensions == ()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert get_model("qwen3.7-text-embedding").max_batch == 10  # second lookup: no warning


def test_known_model_lookup_never_warns() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert get_model("text-embedding-v4") is MODELS["text-embedding-v4"]


MB = 1024 * 1024
BASIC = {"jpeg", "png", "bmp"}
QWEN_VL_IMAGES = {"jpeg", "png", "webp", "bmp", "tiff", "ico", "dib", "icns", "sgi"}
VISION_VIDEOS = {"mp4", "mpeg", "avi", "mov", "mpg", "webm", "flv", "mkv"}

# model, elements, images, videos, image MB, video MB, text tokens, fusion, per-request fusion, image formats,
# video formats, dimension parameter, instruct — reference docs §1.5–1.7 and catalog.MULTIMODAL_CHOICES
MEDIA_TABLE = [
    ("tongyi-embedding-vision-plus", 20, 8, 1, 3, 10, 1024, "independent", False, BASIC, VISION_VIDEOS, True, False),
    ("tongyi-embedding-vision-flash", 20, 8, 1, 3, 10, 1024, "independent", False, BASIC, VISION_VIDEOS, True, False),
    (
        "tongyi-embedding-vision-plus-2026-03-06",
        20,
        64,
        8,
        3,
        10,
        1024,
        "both",
        False,
        BASIC,
        VISION_VIDEOS,
        True,
        False,
    ),
    (
        "tongyi-embedding-vision-flash-2026-03-06",
        20,
        64,
        8,
        3,
        10,
        1024,
        "both",
        False,
        BASIC,
        VISION_VIDEOS,
        True,
        False,
    ),
    ("qwen3-vl-embedding", 20, 5, 1, 5, 50, 32_000, "both", True, QWEN_VL_IMAGES, {"mp4", "avi", "mov"}, True, True),
    (
        "qwen2.5-vl-embedding",
        3,
        1,
        1,
        5,
        50,
        32_000,
        "fused",
        False,
        QWEN_VL_IMAGES,
        {"mp4", "avi", "mov"},
        True,
        False,
    ),
    ("multimodal-embedding-v1", 20, 1, 1, 3, 10, 512, "independent", False, BASIC, VISION_VIDEOS, False, False),
]


@pytest.mark.parametrize(
    (
        "name",
        "elements",
        "images",
        "videos",
        "image_mb",
        "video_mb",
        "tokens",
        "fusion",
        "per_request",
        "image_formats",
        "video_formats",
        "dimension_parameter",
        "instruct",
    ),
    MEDIA_TABLE,
)
def test_multimodal_limits(
    name: str,
    elements: int,
    images: int,
    videos: int,
    image_mb: int,
    video_mb: int,
    tokens: int,
    fusion: str,
    per_request: bool,
    image_formats: set[str],
    video_formats: set[str],
    dimension_parameter: bool,
    instruct: bool,
) -> None:
    spec = MODELS[name]
    media = spec.media
    assert media is not None
    assert (spec.max_batch, spec.max_tokens) == (elements, tokens)
    assert (media.max_images, media.max_videos, media.max_images_per_item) == (images, videos, 1)
    assert (media.image_bytes, media.video_bytes) == (image_mb * MB, video_mb * MB)
    assert (media.fusion, media.fusion_per_request) == (fusion, per_request)
    assert media.image_formats == image_formats
    assert media.video_formats == video_formats
    assert (spec.dimension_parameter, spec.instruct) == (dimension_parameter, instruct)


def test_only_the_snapshots_take_res_level_and_max_video_frames() -> None:
    takes = {
        name for name, spec in MODELS.items() if spec.media and spec.media.res_level and spec.media.max_video_frames
    }
    assert takes == {"tongyi-embedding-vision-plus-2026-03-06", "tongyi-embedding-vision-flash-2026-03-06"}


def test_only_multimodal_embedding_v1_truncates_text() -> None:
    assert {name for name, spec in MODELS.items() if spec.media and spec.media.truncates_text} == {
        "multimodal-embedding-v1"
    }


def test_unknown_multimodal_model_gets_the_strictest_media_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from dashscope_embeddings import catalog

    monkeypatch.setattr(catalog, "_warned", set())
    with pytest.warns(UserWarning, match="qwen4-vl-embedding"):
        spec = get_model("qwen4-vl-embedding", "multimodal")
    assert spec.kind == "multimodal"
    assert spec.media is not None
    assert (spec.max_batch, spec.media.max_images, spec.media.max_videos, spec.media.image_bytes) == (20, 1, 1, 3 * MB)


def test_the_recorded_choices_cover_every_conflict() -> None:
    from dashscope_embeddings.catalog import MULTIMODAL_CHOICES

    for topic in (
        "images per request",
        "dimension",
        "qwen3-vl-embedding, images",
        "enable_fusion",
        "qwen2.5-vl",
        "truncated",
    ):
        assert topic in MULTIMODAL_CHOICES
