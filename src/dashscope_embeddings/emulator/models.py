"""Which models the emulator serves, and what dimension a request gets.

The facts come from the shared catalog (`dashscope_embeddings.catalog`), the same table the client reads, so both
sides agree on every documented number. A name the catalog lacks answers "Model not exist." like the service, unless
the emulator is told about it (`extra_models`) or told to accept any name (`accept_unknown_models`), so clients can
test forward compatibility with names such as `qwen3.7-text-embedding` (listed in SDK 2.0.2, undocumented).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from dashscope_embeddings.catalog import MODELS, UNKNOWN_TEXT_BATCH, ModelSpec

from .errors import ServiceError
from .vectors import MAX_DIMENSION

__all__ = ["ModelRegistry"]

_FALLBACK_DIMENSION: Final = 1024
"""Default size for a model with no documented default: the default of text-embedding-v3 and -v4."""

_UNKNOWN_MAX_TOKENS: Final = 8192
"""Per-text limit for an accepted unknown text model: the limit of every current text model (v3/v4)."""

_DIMENSION_LISTS: Final[Mapping[str, tuple[int, ...]]] = MappingProxyType(
    {
        # Quoted from the service's error text for text-embedding-v4 (api-facts §2). It lists 3072, which v4 does not
        # offer; the emulator still rejects 3072 for v4 (the catalog is the judge) but repeats the real wording.
        "text-embedding-v4": (64, 128, 256, 512, 768, 1024, 1536, 2048, 3072),
        # The v3 variant of the same message.
        "text-embedding-v3": (64, 128, 256, 512, 768, 1024),
    }
)


def _unknown_spec(name: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        kind="text",
        dimensions=(),
        default_dimension=_FALLBACK_DIMENSION,
        max_batch=UNKNOWN_TEXT_BATCH,
        max_tokens=_UNKNOWN_MAX_TOKENS,
        text_type=True,
        instruct=True,
        sparse=True,
        dimension_parameter=True,
        known=False,
    )


class ModelRegistry:
    """Resolves model names to specs and checks requested dimensions."""

    def __init__(self, extra_models: Iterable[ModelSpec] = (), *, accept_unknown_models: bool = False) -> None:
        self._models: dict[str, ModelSpec] = dict(MODELS)
        for spec in extra_models:
            self._models[spec.name] = spec
        self.accept_unknown_models = accept_unknown_models

    def get(self, name: str) -> ModelSpec | None:
        """The spec for `name`, or None when the service would say "Model not exist."."""
        spec = self._models.get(name)
        if spec is None and self.accept_unknown_models:
            spec = _unknown_spec(name)
        return spec

    def resolve(self, name: str) -> ModelSpec:
        spec = self.get(name)
        if spec is None:
            raise ServiceError.model_not_exist()
        return spec

    @staticmethod
    def default_dimension(spec: ModelSpec) -> int:
        if spec.default_dimension is not None:
            return spec.default_dimension
        if spec.dimensions:
            return _FALLBACK_DIMENSION if _FALLBACK_DIMENSION in spec.dimensions else max(spec.dimensions)
        return _FALLBACK_DIMENSION

    @classmethod
    def dimension(cls, spec: ModelSpec, requested: int | None) -> int:
        """The dimension to serve. `requested` must already be an int (or None for the default)."""
        if requested is None:
            return cls.default_dimension(spec)
        if not spec.dimension_parameter:
            raise ServiceError.dimension_not_supported(spec.name)
        if spec.dimensions:
            if requested not in spec.dimensions:
                raise ServiceError.dimension_invalid(_DIMENSION_LISTS.get(spec.name, tuple(sorted(spec.dimensions))))
        elif not 1 <= requested <= MAX_DIMENSION:
            # No documented sizes: any size the emulator can make (its message states the range it accepts).
            raise ServiceError.dimension_invalid((1, MAX_DIMENSION))
        return requested
