"""What a multimodal answer bills: the `usage` object, in each model family's own shape (api-facts §4).

Shapes:

- tongyi-embedding-vision-* (and models the emulator does not know by family): `input_tokens` (text plus images),
  `input_tokens_details {image_tokens, text_tokens}`, `output_tokens` (0), `total_tokens`;
- qwen3-vl-embedding: `input_tokens`, `image_tokens`, `total_tokens = input + image`;
- qwen2.5-vl-embedding: `input_tokens`, `image_tokens`;
- multimodal-embedding-v1: `input_tokens`, `image_tokens`, `image_count`, `duration`.

The numbers are the emulator's choices, since the service's depend on pixels and seconds it never sees:

- text tokens are counted as the text endpoint counts them (`tokens.count_tokens`), after truncation;
- an image costs 127/402/578/1026 tokens at `res_level` 0/1/2/3 (api-facts §4; default 1) on the models that take
  `res_level`, and 402 (the default level's figure) on every other model;
- a video costs its frames times one image: `max_video_frames` frames (default 8, api-facts §4) where the model
  takes that parameter, 8 elsewhere. Video tokens are reported within `image_tokens` (visual tokens);
- `duration` (multimodal-embedding-v1; unit undocumented) is 10 per video; `image_count` counts images only.
- qwen3-vl-embedding's `input_tokens` is documented as "text plus template"; the emulator adds no template tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from dashscope_embeddings.catalog import ModelSpec

__all__ = [
    "DEFAULT_RES_LEVEL",
    "DEFAULT_VIDEO_FRAMES",
    "IMAGE_TOKENS_BY_RES_LEVEL",
    "VIDEO_DURATION",
    "Billing",
    "image_tokens",
    "usage_body",
    "usage_style",
    "video_tokens",
]

IMAGE_TOKENS_BY_RES_LEVEL: Final = (127, 402, 578, 1026)
DEFAULT_RES_LEVEL: Final = 1
DEFAULT_VIDEO_FRAMES: Final = 8
VIDEO_DURATION: Final = 10

UsageStyle = Literal["vision", "qwen3-vl", "qwen2.5-vl", "multimodal-v1"]

_STYLES: Final[tuple[tuple[str, UsageStyle], ...]] = (
    ("tongyi-embedding-vision", "vision"),
    ("qwen3-vl-embedding", "qwen3-vl"),
    ("qwen2.5-vl-embedding", "qwen2.5-vl"),
    ("multimodal-embedding-v1", "multimodal-v1"),
)


@dataclass(frozen=True, slots=True)
class Billing:
    """What one valid request consumed."""

    text_tokens: int = 0
    image_tokens: int = 0
    """Visual tokens: images and video frames."""
    images: int = 0
    videos: int = 0

    @property
    def total_tokens(self) -> int:
        return self.text_tokens + self.image_tokens


def usage_style(spec: ModelSpec) -> UsageStyle:
    """Which shape the model's `usage` takes, by model family (name prefix, so snapshots follow their family)."""
    for prefix, style in _STYLES:
        if spec.name.startswith(prefix):
            return style
    return "vision"


def image_tokens(spec: ModelSpec, res_level: int | None) -> int:
    """Tokens one image costs."""
    if spec.media is not None and spec.media.res_level:
        return IMAGE_TOKENS_BY_RES_LEVEL[DEFAULT_RES_LEVEL if res_level is None else res_level]
    return IMAGE_TOKENS_BY_RES_LEVEL[DEFAULT_RES_LEVEL]


def video_tokens(spec: ModelSpec, res_level: int | None, max_video_frames: int | None) -> int:
    """Tokens one video costs: its sampled frames, each priced as an image."""
    frames = DEFAULT_VIDEO_FRAMES
    if spec.media is not None and spec.media.max_video_frames and max_video_frames is not None:
        frames = max_video_frames
    return frames * image_tokens(spec, res_level)


def usage_body(spec: ModelSpec, billing: Billing) -> dict[str, object]:
    """The `usage` object of the answer."""
    text, image = billing.text_tokens, billing.image_tokens
    style = usage_style(spec)
    if style == "qwen3-vl":
        return {"input_tokens": text, "image_tokens": image, "total_tokens": text + image}
    if style == "qwen2.5-vl":
        return {"input_tokens": text, "image_tokens": image}
    if style == "multimodal-v1":
        return {
            "input_tokens": text,
            "image_tokens": image,
            "image_count": billing.images,
            "duration": billing.videos * VIDEO_DURATION,
        }
    return {
        "input_tokens": text + image,
        "input_tokens_details": {"image_tokens": image, "text_tokens": text},
        "output_tokens": 0,
        "total_tokens": text + image,
    }
