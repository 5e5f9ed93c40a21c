"""Every embedding model the reference docs describe, as one table of facts.

Pure data: no I/O, no client code. The emulator reads this table too, so the client and the server agree on the
documented numbers, and `tests/test_catalog.py` pins each number against the reference docs.

Sources (see the project's reference notes): D003 = English page, 2026-03-25 (newest); D002 = the older Chinese page,
the only one describing v1/v2 and the async models. Where the two disagree we follow the newer page and say so here.

- text-embedding-v4: dims 2048/1536/1024*/768/512/256/128/64, 10 texts per request, 8,192 tokens per text (the
  table's "max tokens per batch" column is per text, as its own note and D002 say), text_type, instruct, sparse.
  Singapore $0.07, Beijing $0.072, Hong Kong $0.07 per 1M tokens (D003).
- text-embedding-v3: dims 1024*/768/512, 10 per request (D003; D002 said 20, and the service's own error text in
  2025 said 20 — we keep the stricter, newer 10), 8,192 tokens, sparse. Singapore $0.07 (D003).
- text-embedding-v2 / -v1: 1536 dims, 25 per request, 2,048 tokens per text (D002).
- text-embedding-async-v2 / -v1: 1536 dims, batch jobs only (100,000 lines per job), 2,048 tokens per line (D002).

- Batch API (OpenAI-compatible `/compatible-mode/v1/batches`, api-facts §5): serves text-embedding-v1, v2, v3 and
  v4 at 50 % of the real-time price, with no free quota (`ModelSpec.batch_api`, `price_in(region, batch_api=True)`).
  The async models are their own batch mechanism (tasks), billed at their listed price.

Region lists: Singapore v4, v3; Beijing every text model; Hong Kong v4. Prices for the Beijing-only v3/v2/v1 and the
async models come from D002 ("0.0007 per 1K tokens", currency not stated; Beijing bills in CNY) and are marked
uncertain via `Price.note`.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

ModelKind = Literal["text", "batch", "multimodal"]
"""`text`: the synchronous text endpoint. `batch`: async batch jobs only. `multimodal`: the multimodal endpoint."""

SINGAPORE = "singapore"
BEIJING = "beijing"
HONG_KONG = "hongkong"


@dataclass(frozen=True, slots=True)
class Price:
    """Price per one million input tokens."""

    per_million: float
    currency: Literal["USD", "CNY"] = "USD"
    note: str = ""


Fusion = Literal["independent", "fused", "both"]
"""`independent`: one vector per content element. `fused`: several modalities in one element give one vector.
`both`: either, per element (the -2026-03-06 snapshots) or per request (qwen3-vl-embedding's `enable_fusion`)."""


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """What one multimodal request may carry (see MULTIMODAL_CHOICES for where each number comes from)."""

    max_images: int
    """Images per request, counted across all content elements."""
    max_videos: int
    max_images_per_item: int
    """Images in one content element (a fused item)."""
    image_bytes: int
    """Largest image, after decoding a data URI."""
    video_bytes: int
    """Largest video. Videos are URLs only, so only the service can check this."""
    image_formats: frozenset[str]
    video_formats: frozenset[str]
    fusion: Fusion
    fusion_per_request: bool = False
    """qwen3-vl-embedding: `enable_fusion=true` fuses *every* element of the request into one vector."""
    truncates_text: bool = False
    """multimodal-embedding-v1 cuts text over its token limit instead of refusing it (D002)."""
    res_level: bool = False
    max_video_frames: bool = False
    fps: bool = False


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What one model accepts. `dimensions` empty means "not configurable / unknown" (then any value passes)."""

    name: str
    kind: ModelKind
    dimensions: tuple[int, ...]
    default_dimension: int | None
    max_batch: int
    """Most inputs (texts, or multimodal content elements) in one request."""
    max_tokens: int
    """Most tokens in one text."""
    text_type: bool = False
    instruct: bool = False
    sparse: bool = False
    dimension_parameter: bool = False
    """Whether the request may carry `parameters.dimension` (v1/v2 are fixed at 1536 and take none; multimodal models
    get it only for a non-default size, see MULTIMODAL_CHOICES)."""
    regions: frozenset[str] = frozenset()
    prices: Mapping[str, Price] = field(default_factory=lambda: MappingProxyType({}))
    free_quota_tokens: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    known: bool = True
    """False for a model name the catalog does not list (see `get_model`)."""
    media: MediaLimits | None = None
    """Multimodal models only."""
    batch_api: bool = False
    """Whether the OpenAI-compatible Batch API serves this model (text-embedding-v1…v4)."""

    def price_in(self, region: str, *, batch_api: bool = False) -> Price | None:
        """The price per 1M tokens in `region`; with `batch_api=True` the Batch API's (half the real-time price),
        or None where the Batch API does not serve the model or the region has no price."""
        price = self.prices.get(region)
        if not batch_api:
            return price
        if price is None or not self.batch_api:
            return None
        note = f"Batch API: {BATCH_API_DISCOUNT:.0%} of the real-time price" + (f"; {price.note}" if price.note else "")
        return Price(price.per_million * BATCH_API_DISCOUNT, price.currency, note)


BATCH_API_DISCOUNT = 0.5
"""The Batch API bills 50 % of the real-time price, e.g. text-embedding-v4 CNY 0.00025 vs 0.0005 per 1K tokens
(api-facts §5, the Chinese sync doc's "Batch调用" prices)."""


_D002_PRICE = Price(0.7, "CNY", note="D002: 0.0007 per 1K tokens; currency not stated, Beijing bills in CNY")

TEXT_EMBEDDING_V4 = ModelSpec(
    name="text-embedding-v4",
    kind="text",
    dimensions=(2048, 1536, 1024, 768, 512, 256, 128, 64),
    default_dimension=1024,
    max_batch=10,
    max_tokens=8192,
    text_type=True,
    instruct=True,
    sparse=True,
    dimension_parameter=True,
    regions=frozenset({SINGAPORE, BEIJING, HONG_KONG}),
    prices=MappingProxyType({SINGAPORE: Price(0.07), BEIJING: Price(0.072), HONG_KONG: Price(0.07)}),
    free_quota_tokens=MappingProxyType({SINGAPORE: 1_000_000}),
    batch_api=True,
)
TEXT_EMBEDDING_V3 = ModelSpec(
    name="text-embedding-v3",
    kind="text",
    dimensions=(1024, 768, 512),
    default_dimension=1024,
    max_batch=10,
    max_tokens=8192,
    text_type=True,
    sparse=True,
    dimension_parameter=True,
    regions=frozenset({SINGAPORE, BEIJING}),
    prices=MappingProxyType({SINGAPORE: Price(0.07), BEIJING: _D002_PRICE}),
    free_quota_tokens=MappingProxyType({SINGAPORE: 500_000}),
    batch_api=True,
)
TEXT_EMBEDDING_V2 = ModelSpec(
    name="text-embedding-v2",
    kind="text",
    dimensions=(1536,),
    default_dimension=1536,
    max_batch=25,
    max_tokens=2048,
    text_type=True,
    regions=frozenset({BEIJING}),
    prices=MappingProxyType({BEIJING: _D002_PRICE}),
    batch_api=True,
)
TEXT_EMBEDDING_V1 = ModelSpec(
    name="text-embedding-v1",
    kind="text",
    dimensions=(1536,),
    default_dimension=1536,
    max_batch=25,
    max_tokens=2048,
    text_type=True,
    regions=frozenset({BEIJING}),
    prices=MappingProxyType({BEIJING: _D002_PRICE}),
    batch_api=True,
)
TEXT_EMBEDDING_ASYNC_V2 = ModelSpec(
    name="text-embedding-async-v2",
    kind="batch",
    dimensions=(1536,),
    default_dimension=1536,
    max_batch=100_000,
    max_tokens=2048,
    text_type=True,
    regions=frozenset({BEIJING}),
    prices=MappingProxyType({BEIJING: _D002_PRICE}),
)
TEXT_EMBEDDING_ASYNC_V1 = ModelSpec(
    name="text-embedding-async-v1",
    kind="batch",
    dimensions=(1536,),
    default_dimension=1536,
    max_batch=100_000,
    max_tokens=2048,
    text_type=True,
    regions=frozenset({BEIJING}),
    prices=MappingProxyType({BEIJING: _D002_PRICE}),
)


_MB = 1024 * 1024
_BASIC_IMAGES = frozenset({"jpeg", "png", "bmp"})
_QWEN_VL_IMAGES = frozenset({"jpeg", "png", "webp", "bmp", "tiff", "ico", "dib", "icns", "sgi"})
_VISION_VIDEOS = frozenset({"mp4", "mpeg", "avi", "mov", "mpg", "webm", "flv", "mkv"})
_QWEN_VL_VIDEOS = frozenset({"mp4", "avi", "mov"})

MULTIMODAL_CHOICES = """
Where the reference docs conflict or are silent on a multimodal limit, the stricter reading wins, so a request the
client sends is one every version of the docs allows. Sources: D003 (English, 2026-03-25), D000 (2026-02-07),
D001/D004 (2025-11-27), D002 (old Chinese page), api-facts (a Chinese doc copy and the SDK).

- tongyi-embedding-vision-plus/-flash, images per request: D001/D004 say at most 8; D003/D000 give no count
  ("limited by the token count"). We allow 8. Elements per request: no documented count; we allow 20, the cap of
  every other multimodal model. Videos per request: not documented; we allow 1, as for multimodal-embedding-v1.
- `dimension` on multimodal models: D003 lists 1152…64 (vision-plus) and 768…64 (vision-flash); a Chinese doc copy
  says these two (unlike their -2026-03-06 snapshots) take no `dimension`. The client therefore sends `dimension`
  to a multimodal model only when the caller asks for a size other than the default, so a default request is
  valid under both readings; multimodal-embedding-v1 is fixed at 1024 and never gets one.
- multimodal-embedding-v1, images per request: the D003/D000 size tables say "up to 8 images", their request tables
  and D001/D004 say 1. We allow 1 image and 1 video in at most 20 elements.
- qwen3-vl-embedding, images: the size table says "Max. 1 image, up to 5 MB", the request table "up to 5 images"
  (another copy: 10). We read "1 image" as per content element and allow 5 per request, 1 per element.
- qwen3-vl-embedding, fusion: `enable_fusion=true` fuses every element of the request (SDK docstring), so a fused
  item is sent alone in its request; independent items are batched without it.
- qwen2.5-vl-embedding: fused only, each modality at most once per request (api-facts): one item per request.
  Its size and format limits are not documented; we assume qwen3-vl-embedding's (same model family).
- -2026-03-06 snapshots: 20 elements, 64 images, 8 videos per request, `res_level`, `max_video_frames` (api-facts).
  Image formats and size are not documented; we assume the vision family's (JPEG, PNG, BMP; 3 MB).
- Text limits: vision models 1,024 tokens, qwen3-vl 32,000, multimodal-embedding-v1 512 (longer text is truncated by
  the service, not refused — D002 — so the client does not refuse it either).
- Videos are URLs only on every model (all docs); video size cannot be checked before sending.
"""


def _multimodal(
    name: str,
    dims: tuple[int, ...],
    default: int,
    regions: set[str],
    *,
    max_elements: int,
    max_tokens: int,
    media: MediaLimits,
    dimension_parameter: bool = True,
    instruct: bool = False,
) -> ModelSpec:
    return ModelSpec(
        name=name,
        kind="multimodal",
        dimensions=dims,
        default_dimension=default,
        max_batch=max_elements,
        max_tokens=max_tokens,
        instruct=instruct,
        dimension_parameter=dimension_parameter,
        regions=frozenset(regions),
        media=media,
    )


_VISION = MediaLimits(
    max_images=8,
    max_videos=1,
    max_images_per_item=1,
    image_bytes=3 * _MB,
    video_bytes=10 * _MB,
    image_formats=_BASIC_IMAGES,
    video_formats=_VISION_VIDEOS,
    fusion="independent",
)
_SNAPSHOT = MediaLimits(
    max_images=64,
    max_videos=8,
    max_images_per_item=1,
    image_bytes=3 * _MB,
    video_bytes=10 * _MB,
    image_formats=_BASIC_IMAGES,
    video_formats=_VISION_VIDEOS,
    fusion="both",
    res_level=True,
    max_video_frames=True,
)
_QWEN3_VL = MediaLimits(
    max_images=5,
    max_videos=1,
    max_images_per_item=1,
    image_bytes=5 * _MB,
    video_bytes=50 * _MB,
    image_formats=_QWEN_VL_IMAGES,
    video_formats=_QWEN_VL_VIDEOS,
    fusion="both",
    fusion_per_request=True,
    fps=True,
)
_QWEN25_VL = MediaLimits(
    max_images=1,
    max_videos=1,
    max_images_per_item=1,
    image_bytes=5 * _MB,
    video_bytes=50 * _MB,
    image_formats=_QWEN_VL_IMAGES,
    video_formats=_QWEN_VL_VIDEOS,
    fusion="fused",
    fps=True,
)
_MULTIMODAL_V1 = MediaLimits(
    max_images=1,
    max_videos=1,
    max_images_per_item=1,
    image_bytes=3 * _MB,
    video_bytes=10 * _MB,
    image_formats=_BASIC_IMAGES,
    video_formats=_VISION_VIDEOS,
    fusion="independent",
    truncates_text=True,
)
_PLUS_DIMS = (1152, 1024, 512, 256, 128, 64)
_FLASH_DIMS = (768, 512, 256, 128, 64)

MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            TEXT_EMBEDDING_V4,
            TEXT_EMBEDDING_V3,
            TEXT_EMBEDDING_V2,
            TEXT_EMBEDDING_V1,
            TEXT_EMBEDDING_ASYNC_V2,
            TEXT_EMBEDDING_ASYNC_V1,
            _multimodal(
                "tongyi-embedding-vision-plus",
                _PLUS_DIMS,
                1152,
                {SINGAPORE, BEIJING},
                max_elements=20,
                max_tokens=1024,
                media=_VISION,
            ),
            _multimodal(
                "tongyi-embedding-vision-flash",
                _FLASH_DIMS,
                768,
                {SINGAPORE, BEIJING},
                max_elements=20,
                max_tokens=1024,
                media=_VISION,
            ),
            _multimodal(
                "tongyi-embedding-vision-plus-2026-03-06",
                _PLUS_DIMS,
                1152,
                {BEIJING},
                max_elements=20,
                max_tokens=1024,
                media=_SNAPSHOT,
            ),
            _multimodal(
                "tongyi-embedding-vision-flash-2026-03-06",
                _FLASH_DIMS,
                768,
                {BEIJING},
                max_elements=20,
                max_tokens=1024,
                media=_SNAPSHOT,
            ),
            _multimodal(
                "qwen3-vl-embedding",
                (2560, 2048, 1536, 1024, 768, 512, 256),
                2560,
                {BEIJING},
                max_elements=20,
                max_tokens=32_000,
                media=_QWEN3_VL,
                instruct=True,
            ),
            _multimodal(
                "qwen2.5-vl-embedding",
                (2048, 1024, 768, 512),
                1024,
                {BEIJING},
                max_elements=3,
                max_tokens=32_000,
                media=_QWEN25_VL,
            ),
            _multimodal(
                "multimodal-embedding-v1",
                (1024,),
                1024,
                {BEIJING},
                max_elements=20,
                max_tokens=512,
                media=_MULTIMODAL_V1,
                dimension_parameter=False,
            ),
        )
    }
)

UNKNOWN_TEXT_BATCH = 10
UNKNOWN_MULTIMODAL_ELEMENTS = 20
UNKNOWN_TEXT_TOKENS = 2048
"""Limits assumed for a model the catalog does not list: the smallest documented batch cap and token limit, so a
request the service would accept is never split wrongly into one it rejects. Dimensions are not checked (the
service is the judge) and every optional parameter is passed through."""

_warned: set[str] = set()
_warned_lock = threading.Lock()


_UNKNOWN_MEDIA = MediaLimits(
    max_images=1,
    max_videos=1,
    max_images_per_item=1,
    image_bytes=3 * _MB,
    video_bytes=10 * _MB,
    image_formats=_BASIC_IMAGES,
    video_formats=_QWEN_VL_VIDEOS,
    fusion="both",
)
"""Assumed for an uncatalogued multimodal model: the strictest documented counts, sizes and formats; fusion is
left for the service to judge."""


def get_model(name: str, kind: Literal["text", "multimodal"] = "text") -> ModelSpec:
    """The spec for `name`; for a name the catalog lacks, conservative limits of `kind` and one warning per name.

    The service adds models faster than any client release (e.g. `qwen3.7-text-embedding`), so an unknown name must
    keep working rather than crash.
    """
    spec = MODELS.get(name)
    if spec is not None:
        return spec
    with _warned_lock:
        first = name not in _warned
        _warned.add(name)
    if kind == "multimodal":
        assumed = (
            f"at most {UNKNOWN_MULTIMODAL_ELEMENTS} elements, 1 image and 1 video per request, JPEG/PNG/BMP images "
            f"of at most 3 MB"
        )
    else:
        assumed = f"at most {UNKNOWN_TEXT_BATCH} texts per request and {UNKNOWN_TEXT_TOKENS} tokens per text"
    if first:
        warnings.warn(
            f"Model {name!r} is not in dashscope-embeddings' catalog; assuming {assumed}, and not checking "
            f"dimensions. Known models: {', '.join(sorted(MODELS))}.",
            UserWarning,
            stacklevel=3,
        )
    return ModelSpec(
        name=name,
        kind=kind,
        dimensions=(),
        default_dimension=None,
        max_batch=UNKNOWN_MULTIMODAL_ELEMENTS if kind == "multimodal" else UNKNOWN_TEXT_BATCH,
        max_tokens=UNKNOWN_TEXT_TOKENS,
        text_type=kind == "text",
        instruct=True,
        sparse=kind == "text",
        dimension_parameter=True,
        known=False,
        media=_UNKNOWN_MEDIA if kind == "multimodal" else None,
    )


def text_models() -> list[ModelSpec]:
    """Models served by the synchronous text endpoint."""
    return [spec for spec in MODELS.values() if spec.kind == "text"]
