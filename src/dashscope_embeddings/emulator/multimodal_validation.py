"""Request checks for the multimodal endpoint, and what a valid request asks for (`MultimodalJob`).

The catalog (`ModelSpec.media`, `max_batch`, `max_tokens`, `dimensions`, `instruct`, `dimension_parameter`) is the
judge of every limit; see `catalog.MULTIMODAL_CHOICES` for where each number comes from. Checks run in this order,
the first failure answers:

1. gateway: JSON object, `model`, `input` (shared with the text endpoints);
2. routing: unknown model -> "Model not exist."; a text model -> "url error, please check url！" (observed for a
   text model posted here, api-facts §2); `X-DashScope-Async: enable` -> 403 (synchronous only);
3. `input.contents`: a non-empty list of at most `max_batch` items; each item a string (text, api-facts §4) or an
   object whose keys are `text`, `image`, `video` with string values. `factor`, which the dashscope SDK's
   `MultiModalEmbeddingItem*` classes always add, is accepted and ignored; any other key (`audio`,
   `multi_images`, ...) is refused;
4. `parameters` (unknown names are ignored, as on the text endpoint; a documented parameter the model does not
   take is refused, even at its default value);
5. counts and fusion: images per item and per request, videos per request; a multi-key item on an
   independent-only model; a repeated modality on qwen2.5-vl-embedding;
6. each value: text length (truncated instead on `truncates_text` models), image URL / data URI (form, base64,
   size, format), video URL (form, format). Counting comes before decoding so an over-full request is refused
   without decoding its images.

What becomes a vector (api-facts §4 `type` values):

- independent models: one vector per item, typed by its modality (`text`, `image`, `video`);
- -2026-03-06 snapshots (`fusion="both"`): a single-key item as above, a multi-key item one `fused` vector;
- qwen3-vl-embedding (`fusion_per_request`): `enable_fusion=true` fuses the whole request into one `fusion`
  vector; otherwise a single-key item gives `vl`, a multi-key item `fusion`;
- qwen2.5-vl-embedding (`fusion="fused"`): the whole request is one `fusion` vector.

A fused request answers one vector with `index` 0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from dashscope_embeddings.catalog import MediaLimits, ModelSpec

from . import multimodal_errors as errors
from .errors import ServiceError
from .media import (
    decode_base64,
    is_http_url,
    parse_data_uri,
    same_format,
    sniff_image_format,
    url_extension,
    url_path,
)
from .models import ModelRegistry
from .multimodal_usage import Billing, image_tokens, video_tokens
from .multimodal_vectors import Modality, PartKey
from .validation import is_int, model_and_input
from .vectors import MAX_DIMENSION, words

__all__ = ["MODALITIES", "MultimodalJob", "Output", "Parameters", "validate_multimodal"]

MODALITIES: Final[tuple[Modality, ...]] = ("text", "image", "video")
_IGNORED_KEYS: Final = frozenset({"factor"})
RES_LEVELS: Final = (0, 3)
MAX_VIDEO_FRAMES: Final = (1, 64)
FPS: Final = (0, 1)


@dataclass(frozen=True, slots=True)
class Parameters:
    """The `parameters` a multimodal request may carry, checked against the model."""

    dimension: int
    enable_fusion: bool = False
    res_level: int | None = None
    max_video_frames: int | None = None
    fps: float | None = None
    instruct: str | None = None


@dataclass(frozen=True, slots=True)
class Output:
    """One vector to serve: its `type` and the parts it is made of (several when fused)."""

    type: str
    parts: tuple[PartKey, ...]


@dataclass(frozen=True, slots=True)
class MultimodalJob:
    """A valid multimodal request, ready to compute."""

    spec: ModelSpec
    outputs: tuple[Output, ...]
    parameters: Parameters
    full_dimension: int
    billing: Billing


def _media(spec: ModelSpec) -> MediaLimits:
    assert spec.media is not None
    return spec.media


def _route(spec: ModelSpec, headers: Mapping[str, str]) -> None:
    if spec.kind != "multimodal" or spec.media is None:
        raise ServiceError.wrong_endpoint()
    if headers.get("x-dashscope-async", "").strip().lower() == "enable":
        raise ServiceError.async_not_supported()


def _item(raw: object, index: int) -> dict[str, str]:
    """One content item as `{modality: value}`, in the order the client wrote the keys."""
    if isinstance(raw, str):
        return {"text": raw}
    if not isinstance(raw, dict):
        raise errors.not_a_modal()
    keys = [key for key in raw if key not in _IGNORED_KEYS]
    if not keys or any(key not in MODALITIES for key in keys):
        raise errors.not_a_modal()
    factor = raw.get("factor")
    if "factor" in raw and (not isinstance(factor, (int, float)) or isinstance(factor, bool)):
        raise errors.not_a_number(f"input.contents.{index}.factor")
    item: dict[str, str] = {}
    for key in keys:
        value = raw[key]
        if not isinstance(value, str):
            raise ServiceError.not_a_string(f"input.contents.{index}.{key}")
        item[key] = value
    return item


def _contents(raw_input: object, spec: ModelSpec) -> list[dict[str, str]]:
    if not isinstance(raw_input, dict):
        raise ServiceError.body_invalid()
    raw = raw_input.get("contents")
    if raw is None:
        raise ServiceError.empty_input()
    if not isinstance(raw, list):
        raise errors.contents_not_a_list()
    if not raw:
        raise ServiceError.empty_input()  # as an empty `texts` list on the text endpoint
    if len(raw) > spec.max_batch:
        # The text endpoint's quoted message; its field is literally `input.contents` here too.
        raise ServiceError.batch_too_large(spec.max_batch)
    return [_item(entry, i) for i, entry in enumerate(raw)]


def _dimension(spec: ModelSpec, raw: object) -> int:
    if raw is None:
        return ModelRegistry.default_dimension(spec)
    if not is_int(raw):
        raise ServiceError.not_an_integer("parameters.dimension")
    assert isinstance(raw, int)
    if not spec.dimension_parameter:
        # multimodal-embedding-v1 is fixed at 1024 and takes no `dimension`, not even 1024 (MULTIMODAL_CHOICES;
        # a zh doc copy), as text-embedding-v1/v2 take none on the text endpoint.
        raise ServiceError.dimension_not_supported(spec.name)
    if spec.dimensions:
        if raw not in spec.dimensions:
            raise errors.dimension_invalid(sorted(spec.dimensions))
    elif not 1 <= raw <= MAX_DIMENSION:
        raise errors.dimension_invalid((1, MAX_DIMENSION))
    return raw


def _integer(params: Mapping[str, Any], name: str, supported: bool, model: str, bounds: tuple[int, int]) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not is_int(raw):
        raise ServiceError.not_an_integer(f"parameters.{name}")
    if not supported:
        raise errors.parameter_not_supported(name, model)
    assert isinstance(raw, int)
    if not bounds[0] <= raw <= bounds[1]:
        raise errors.out_of_range(name, *bounds)
    return raw


def _parameters(raw: object, spec: ModelSpec) -> Parameters:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ServiceError.body_invalid()
    media = _media(spec)

    output_type = raw.get("output_type")
    if output_type is not None and output_type != "dense":
        # SDK docstring: 'Output vector format, currently only "dense" is supported.'
        raise ServiceError.not_one_of("parameters.output_type", ("dense",))

    dimension = _dimension(spec, raw.get("dimension"))

    enable_fusion = raw.get("enable_fusion")
    if enable_fusion is not None:
        if not isinstance(enable_fusion, bool):
            raise errors.not_a_boolean("parameters.enable_fusion")
        if not media.fusion_per_request:  # "applies only to qwen3-vl-embedding" (api-facts §4)
            raise errors.parameter_not_supported("enable_fusion", spec.name)

    # "res_level 0/1/2/3", "max_video_frames <= 64", "Only for snapshot models" (api-facts §4, SDK docstrings).
    res_level = _integer(raw, "res_level", media.res_level, spec.name, RES_LEVELS)
    max_frames = _integer(raw, "max_video_frames", media.max_video_frames, spec.name, MAX_VIDEO_FRAMES)

    fps = raw.get("fps")
    if fps is not None:
        if not isinstance(fps, (int, float)) or isinstance(fps, bool):
            raise errors.not_a_number("parameters.fps")
        if not media.fps:
            raise errors.parameter_not_supported("fps", spec.name)
        if not FPS[0] <= fps <= FPS[1]:  # "Video frame extraction ratio in range [0,1]" (SDK docstring)
            raise errors.out_of_range("fps", *FPS)

    instruct = raw.get("instruct")
    if instruct is not None:
        if not isinstance(instruct, str):
            raise ServiceError.not_a_string("parameters.instruct")
        if not spec.instruct:
            raise ServiceError.instruct_not_supported(spec.name)
        instruct = instruct or None  # an empty instruction instructs nothing

    return Parameters(
        dimension=dimension,
        enable_fusion=bool(enable_fusion),
        res_level=res_level,
        max_video_frames=max_frames,
        fps=None if fps is None else float(fps),
        instruct=instruct,
    )


def _counts(items: list[dict[str, str]], spec: ModelSpec) -> tuple[int, int]:
    media = _media(spec)
    for item in items:
        if int("image" in item) > media.max_images_per_item:
            raise errors.too_many_images_in_item(media.max_images_per_item)
    images = sum("image" in item for item in items)
    videos = sum("video" in item for item in items)
    if images > media.max_images:
        raise errors.too_many_images(media.max_images)
    if videos > media.max_videos:
        raise errors.too_many_videos(media.max_videos)
    if media.fusion == "independent" and any(len(item) > 1 for item in items):
        raise errors.fusion_not_supported(spec.name)
    if media.fusion == "fused" and any(sum(m in item for item in items) > 1 for m in MODALITIES):
        raise errors.modality_repeated(spec.name)
    return images, videos


def _truncate(text: str, limit: int, count: Callable[[str], int]) -> str:
    """The longest prefix (found by bisection on characters) that counts at most `limit` tokens."""
    low, high = 0, len(text)  # count(text[:low]) <= limit < count(text[:high])
    while high - low > 1:
        middle = (low + high) // 2
        if count(text[:middle]) <= limit:
            low = middle
        else:
            high = middle
    return text[:low]


def _text(text: str, spec: ModelSpec, count: Callable[[str], int]) -> tuple[str, int]:
    tokens = count(text)
    if tokens > spec.max_tokens and _media(spec).truncates_text and text:
        # multimodal-embedding-v1: "Text longer than 512 tokens is truncated" (D002, seed spec §1.5).
        text = _truncate(text, spec.max_tokens, count)
        tokens = count(text)
    if not 1 <= tokens <= spec.max_tokens:
        raise ServiceError.input_length(spec.max_tokens)
    return text, tokens


def _url_feature_text(url: str) -> str:
    """The words of the URL's path without its extension; the host's words when the path has none."""
    path = url_path(url)
    if url_extension(url) is not None:
        path = path[: path.rfind(".")]
    found = words(path) or words(urlsplit(url).hostname or "")
    return " ".join(found) if found else url.lower()


def _image(value: str, media: MediaLimits) -> str:
    if is_http_url(value):
        extension = url_extension(value)
        if extension is not None and extension not in media.image_formats:
            raise errors.unsupported_format()
        return _url_feature_text(value)
    uri = parse_data_uri(value)
    if uri is None:
        raise errors.invalid_url()
    if uri.declared not in media.image_formats:
        raise errors.unsupported_format()
    data = decode_base64(uri.payload)
    if data is None:
        raise errors.invalid_url()
    if len(data) > media.image_bytes:
        raise errors.image_too_large(media.image_bytes)
    sniffed = sniff_image_format(data)
    if sniffed is None:
        raise errors.undecodable_image()
    if sniffed not in media.image_formats or not same_format(sniffed, uri.declared):
        raise errors.unsupported_format()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _video(value: str, media: MediaLimits, location: str) -> str:
    if not is_http_url(value):
        raise errors.video_url_only(location)
    extension = url_extension(value)
    if extension is not None and extension not in media.video_formats:
        raise errors.unsupported_format()
    return _url_feature_text(value)


def _outputs(items: list[tuple[PartKey, ...]], spec: ModelSpec, enable_fusion: bool) -> tuple[Output, ...]:
    media = _media(spec)
    if media.fusion == "fused" or (media.fusion_per_request and enable_fusion):
        return (Output("fusion", tuple(part for parts in items for part in parts)),)
    if media.fusion_per_request:
        return tuple(Output("vl" if len(parts) == 1 else "fusion", parts) for parts in items)
    return tuple(Output(parts[0][0] if len(parts) == 1 else "fused", parts) for parts in items)


def validate_multimodal(
    payload: object, headers: Mapping[str, str], models: ModelRegistry, count: Callable[[str], int]
) -> MultimodalJob:
    """`POST /api/v1/services/embeddings/multimodal-embedding/multimodal-embedding` (seed spec §2.7, api-facts §4).

    `headers` has lower-case names. Raises `ServiceError` for what the service would refuse.
    """
    name, raw_input = model_and_input(payload, "input")
    spec = models.resolve(name)
    _route(spec, headers)
    media = _media(spec)
    items = _contents(raw_input, spec)
    assert isinstance(payload, dict)
    params = _parameters(payload.get("parameters"), spec)
    images, videos = _counts(items, spec)

    text_tokens = 0
    parts: list[tuple[PartKey, ...]] = []
    for index, item in enumerate(items):
        keys: list[PartKey] = []
        for modality, value in item.items():
            if modality == "text":
                text, tokens = _text(value, spec, count)
                text_tokens += tokens
                keys.append(("text", text))
            elif modality == "image":
                keys.append(("image", _image(value, media)))
            else:
                keys.append(("video", _video(value, media, f"input.contents.{index}.video")))
        parts.append(tuple(keys))

    billing = Billing(
        text_tokens=text_tokens,
        image_tokens=images * image_tokens(spec, params.res_level)
        + videos * video_tokens(spec, params.res_level, params.max_video_frames),
        images=images,
        videos=videos,
    )
    # Vectors are built at the model's largest size and cut down, so every smaller size is a Matryoshka prefix.
    full = max(*spec.dimensions, params.dimension) if spec.dimensions else MAX_DIMENSION
    outputs = _outputs(parts, spec, params.enable_fusion)
    return MultimodalJob(spec, outputs, params, full, billing)
