"""Multimodal vectors: text, images and videos in one lexical space, so cross-modal search works offline.

Every content part is reduced to a *feature text* (done by the validation, `multimodal_validation`):

- a text is itself;
- an image or video given by URL is the words of its URL path, extension dropped (`https://x/red_car.png` ->
  "red car"), so text-to-image search finds it by the words in its name;
- an image given as a data URI is the hex BLAKE2b digest of its decoded bytes: identical bytes give identical
  vectors, different images nearly orthogonal ones (the emulator does not look at pixels).

Each feature text goes through the text endpoint's `DenseEncoder` under a salt made from the multimodal model's
name (with `instruct` as on the text endpoint), always at the model's *largest* dimension. An image or video part
adds the same feature text under a second, per-modality salt with weight 3/10 of the first, so it is close to, but
not the same as, the text with the same words:

- cos(text "red car", image `.../red_car.png`) = 10/sqrt(109) ~ 0.958 (the same for a video);
- cos(image `.../red_car.png`, video `.../red_car.mp4`) = 100/109 ~ 0.917;
- a fused item (or a fused request) is the sum of its parts' unit vectors.

The served vector of size `d` is the first `d` coordinates of that full-size sum divided by their norm, so a
smaller dimension is exactly the re-normalised prefix of the largest one (Matryoshka) for fused vectors too. Norms
are `math.fsum` sums and every other step is element-wise IEEE arithmetic, so the floats are the same on every
machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import orjson

from .vectors import DenseEncoder, Variant, Vector

__all__ = ["MODALITY_WEIGHT", "Modality", "MultimodalEncoder", "PartKey"]

Modality = Literal["text", "image", "video"]
PartKey = tuple[Modality, str]
"""One content part as the encoder sees it: its modality and its feature text."""

_BASE_WEIGHT: Final = 10.0
MODALITY_WEIGHT: Final = 3.0
"""Weight of the per-modality component of an image or video part, against 10 for the shared lexical part."""

_F64 = npt.NDArray[np.float64]


def _unit(x: _F64) -> _F64:
    norm = math.sqrt(math.fsum((x * x).tolist()))
    if norm == 0.0:  # cannot happen for real features; stay a unit vector anyway
        out = np.zeros_like(x)
        out[0] = 1.0
        return out
    return x / norm


class MultimodalEncoder:
    """Builds served vectors from content parts, sharing the text endpoint's encoder (and its cache)."""

    def __init__(self, dense: DenseEncoder) -> None:
        self._dense = dense

    def encode(
        self,
        outputs: Sequence[Sequence[PartKey]],
        *,
        model: str,
        full_dimension: int,
        dimension: int,
        instruct: str | None = None,
    ) -> list[Vector]:
        """One vector per output; an output with several parts is their fusion."""
        unique = list(dict.fromkeys(part for parts in outputs for part in parts))
        lexical = self._dense.encode([text for _, text in unique], Variant(model, full_dimension, instruct=instruct))
        vectors: dict[PartKey, _F64] = {}
        for (modality, text), base in zip(unique, lexical, strict=True):
            vectors[(modality, text)] = base.values.astype(np.float64)
        for modality in ("image", "video"):
            keys = [key for key in unique if key[0] == modality]
            if not keys:
                continue
            salted = self._dense.encode([text for _, text in keys], Variant(f"{model}\x1f{modality}", full_dimension))
            for key, extra in zip(keys, salted, strict=True):
                vectors[key] = _unit(_BASE_WEIGHT * vectors[key] + MODALITY_WEIGHT * extra.values.astype(np.float64))
        served: list[Vector] = []
        for parts in outputs:
            total = vectors[parts[0]].copy()
            for part in parts[1:]:
                total += vectors[part]
            values = _unit(total[:dimension]).astype(np.float32)
            served.append(Vector(values, orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)))
        return served
