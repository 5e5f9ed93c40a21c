"""`dashscope-embeddings models`: the catalog as tables (also embedded verbatim in docs/models.md)."""

from __future__ import annotations

from ..catalog import MODELS

__all__ = ["models", "models_table", "multimodal_table"]


def models_table() -> str:
    """The text and batch models as a Markdown table (printed by `models`, and embedded verbatim in docs/models.md)."""
    lines = [
        "| model | kind | dimensions (* default) | inputs per request | tokens per text | price per 1M tokens |",
        "|---|---|---|---|---|---|",
    ]
    for spec in MODELS.values():
        if spec.kind == "multimodal":
            continue
        dims = ", ".join(f"{d}*" if d == spec.default_dimension else str(d) for d in spec.dimensions)
        prices = "; ".join(
            f"{region} {price.per_million:g} {price.currency}" if (price := spec.price_in(region)) else region
            for region in sorted(spec.regions)
        )
        lines.append(f"| {spec.name} | {spec.kind} | {dims} | {spec.max_batch:,} | {spec.max_tokens:,} | {prices} |")
    return "\n".join(lines)


def multimodal_table() -> str:
    """The multimodal models' per-request limits as a Markdown table (also embedded verbatim in docs/models.md)."""
    lines = [
        "| model | dimensions (* default) | elements / images / videos per request | image size, formats | fusion |",
        "|---|---|---|---|---|",
    ]
    for spec in MODELS.values():
        media = spec.media
        if media is None:
            continue
        dims = ", ".join(f"{d}*" if d == spec.default_dimension else str(d) for d in spec.dimensions)
        formats = ", ".join(sorted(f.upper() for f in media.image_formats))
        fusion = {"independent": "no", "fused": "fused only", "both": "yes"}[media.fusion]
        if media.fusion_per_request:
            fusion += " (enable_fusion)"
        lines.append(
            f"| {spec.name} | {dims} | {spec.max_batch} / {media.max_images} / {media.max_videos} | "
            f"{media.image_bytes // (1024 * 1024)} MB, {formats} | {fusion} |"
        )
    return "\n".join(lines)


def models() -> int:
    """Print the catalog: what each model accepts and costs."""
    print(models_table())
    print()
    print(multimodal_table())
    return 0
