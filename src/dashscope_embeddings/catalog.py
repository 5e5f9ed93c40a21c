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
    """Whether the request may carry `parameters.dimension` (v1/v2 are fixed at 1536 and take none)."""
    regions: frozenset[str] = frozenset()
    prices: Mapping[str, Price] = field(default_factory=lambda: MappingProxyType({}))
    free_quota_tokens: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    known: bool = True
    """False for a model name the catalog does not list (see `get_model`)."""

    def price_in(self, region: str) -> Price | None:
        return self.prices.get(region)


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


def _multimodal(
    name: str, dims: tuple[int, ...], default: int | None, regions: set[str], *, max_tokens: int
) -> ModelSpec:
    # Only what the text path needs to recognise these names and send users to the right embedder; media limits,
    # element caps and fusion rules belong to the multimodal feature.
    return ModelSpec(
        name=name,
        kind="multimodal",
        dimensions=dims,
        default_dimension=default,
        max_batch=20,
        max_tokens=max_tokens,
        regions=frozenset(regions),
    )


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
                (1152, 1024, 512, 256, 128, 64),
                1152,
                {SINGAPORE, BEIJING},
                max_tokens=1_024,
            ),
            _multimodal(
                "tongyi-embedding-vision-flash", (768, 512, 256, 128, 64), 768, {SINGAPORE, BEIJING}, max_tokens=1_024
            ),
            _multimodal(
                "tongyi-embedding-vision-plus-2026-03-06",
                (1152, 1024, 512, 256, 128, 64),
                1152,
                {BEIJING},
                max_tokens=1_024,
            ),
            _multimodal(
                "tongyi-embedding-vision-flash-2026-03-06", (768, 512, 256, 128, 64), 768, {BEIJING}, max_tokens=1_024
            ),
            _multimodal(
                "qwen3-vl-embedding", (2560, 2048, 1536, 1024, 768, 512, 256), 2560, {BEIJING}, max_tokens=32_000
            ),
            _multimodal("qwen2.5-vl-embedding", (2048, 1024, 768, 512), 1024, {BEIJING}, max_tokens=32_000),
            _multimodal("multimodal-embedding-v1", (1024,), 1024, {BEIJING}, max_tokens=512),
        )
    }
)

UNKNOWN_TEXT_BATCH = 10
UNKNOWN_TEXT_TOKENS = 2048
"""Limits assumed for a model the catalog does not list: the smallest documented batch cap and token limit, so a
request the service would accept is never split wrongly into one it rejects. Dimensions are not checked (the
service is the judge) and every optional parameter is passed through."""

_warned: set[str] = set()
_warned_lock = threading.Lock()


def get_model(name: str) -> ModelSpec:
    """The spec for `name`; for a name the catalog lacks, conservative limits and one `UserWarning` per name.

    The service adds models faster than any client release (e.g. `qwen3.7-text-embedding`), so an unknown name must
    keep working rather than crash.
    """
    spec = MODELS.get(name)
    if spec is not None:
        return spec
    with _warned_lock:
        first = name not in _warned
        _warned.add(name)
    if first:
        warnings.warn(
            f"Model {name!r} is not in dashscope-embeddings' catalog; assuming at most {UNKNOWN_TEXT_BATCH} texts "
            f"per request and {UNKNOWN_TEXT_TOKENS} tokens per text, and not checking dimensions. "
            f"Known models: {', '.join(sorted(MODELS))}.",
            UserWarning,
            stacklevel=3,
        )
    return ModelSpec(
        name=name,
        kind="text",
        dimensions=(),
        default_dimension=None,
        max_batch=UNKNOWN_TEXT_BATCH,
        max_tokens=UNKNOWN_TEXT_TOKENS,
        text_type=True,
        instruct=True,
        sparse=True,
        dimension_parameter=True,
        known=False,
    )


def text_models() -> list[ModelSpec]:
    """Models served by the synchronous text endpoint."""
    return [spec for spec in MODELS.values() if spec.kind == "text"]
