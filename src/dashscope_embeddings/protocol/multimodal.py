"""The multimodal endpoint: request body in, checked and ordered vectors out.

Wire format (reference docs §2.7–2.8, api-facts §4): request `{"model", "input": {"contents": [{"text"|"image"|
"video": str, ...}]}, "parameters": {...}}`; answer `{"output": {"embeddings": [{"index", "embedding", "type"}]},
"usage": {...}}`. One content element with several keys is a fused item (one vector); qwen3-vl-embedding's
`enable_fusion=true` instead fuses every element of the request into one vector. Usage fields differ by model:
vision models report `input_tokens_details.image_tokens`, qwen3-vl and multimodal-embedding-v1 `image_tokens`,
multimodal-embedding-v1 also `image_count` and `duration`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..types import Usage
from .answers import BatchOutput, by_position, dense_vector, int_field, read_answer

MULTIMODAL_EMBEDDING_PATH = "/services/embeddings/multimodal-embedding/multimodal-embedding"


@dataclass(frozen=True, slots=True)
class MultimodalParameters:
    """The per-call settings after validation: exactly what goes under `parameters` (None = not sent)."""

    model: str
    dimension: int | None = None
    instruct: str | None = None
    res_level: int | None = None
    max_video_frames: int | None = None
    fps: float | None = None


def build_multimodal_body(
    params: MultimodalParameters, contents: Sequence[Mapping[str, str]], *, enable_fusion: bool = False
) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        name: value
        for name, value in (
            ("dimension", params.dimension),
            ("instruct", params.instruct),
            ("res_level", params.res_level),
            ("max_video_frames", params.max_video_frames),
            ("fps", params.fps),
        )
        if value is not None
    }
    if enable_fusion:
        parameters["enable_fusion"] = True
    body: dict[str, Any] = {"model": params.model, "input": {"contents": [dict(c) for c in contents]}}
    if parameters:
        body["parameters"] = parameters
    return body


def parse_multimodal_body(
    raw: bytes, *, count: int, dimension: int | None, request_id: str | None = None
) -> BatchOutput:
    """Parse one answer that must hold `count` vectors (1 for a request fused as a whole), placed by `index`."""
    answer = read_answer(raw, count=count, request_id=request_id, noun="vectors expected")
    vectors: list[list[float]] = [[]] * count
    width = dimension
    for index, item in by_position(answer, key="index"):
        vectors[index] = dense_vector(item, label=f"index {index}", width=width, request_id=answer.request_id)
        width = len(vectors[index])
    return BatchOutput(embeddings=vectors, sparse=[], usage=_usage(answer.usage), request_id=answer.request_id)


def _usage(usage: dict[str, Any]) -> Usage:
    details = usage.get("input_tokens_details")
    image_tokens = int_field(usage, "image_tokens") or (
        int_field(details, "image_tokens") if isinstance(details, dict) else 0
    )
    input_tokens = int_field(usage, "input_tokens")
    duration = usage.get("duration", 0)
    return Usage(
        total_tokens=int_field(usage, "total_tokens") or input_tokens + image_tokens,
        input_tokens=input_tokens,
        image_tokens=image_tokens,
        image_count=int_field(usage, "image_count"),
        duration=float(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else 0.0,
    )
