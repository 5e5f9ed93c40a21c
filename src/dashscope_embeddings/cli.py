"""The `dashscope-embeddings` command: `demo`, `models`, `emulator`."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Iterator, Sequence

from .catalog import MODELS

DEMO_DOCUMENTS = [
    "Artificial intelligence is a branch of computer science",
    "Machine learning is an important method for achieving artificial intelligence",
    "Deep learning is a subfield of machine learning",
]
DEMO_QUERY = "What is AI?"


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def _print_ranking(title: str, query: list[float], documents: list[list[float]]) -> None:
    print(f"\n{title}")
    ranked = sorted(zip(DEMO_DOCUMENTS, documents, strict=True), key=lambda p: _cosine(query, p[1]), reverse=True)
    for rank, (text, vector) in enumerate(ranked, 1):
        print(f"  {rank}. similarity {_cosine(query, vector):.3f}  {text}")


@contextlib.contextmanager
def _backend() -> Iterator[str]:
    """The real API when DASHSCOPE_API_KEY is set, else the bundled emulator on loopback (via the SDK's env vars)."""
    if os.environ.get("DASHSCOPE_API_KEY"):
        region = os.environ.get("DASHSCOPE_API_REGION", "singapore")
        yield f"the real DashScope API ({os.environ.get('DASHSCOPE_HTTP_BASE_URL') or region})"
        return
    from .emulator import ServedEmulator

    with ServedEmulator() as served:
        saved = {name: os.environ.get(name) for name in ("DASHSCOPE_API_KEY", "DASHSCOPE_HTTP_BASE_URL")}
        os.environ["DASHSCOPE_API_KEY"] = "emulator-key"
        os.environ["DASHSCOPE_HTTP_BASE_URL"] = served.base_url
        try:
            yield (
                f"the bundled emulator at {served.base_url} (deterministic, lexical vectors; set DASHSCOPE_API_KEY "
                f"to use the real API)"
            )
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def demo(model: str = "text-embedding-v4", dimension: int = 1024) -> int:
    """The reference docs' semantic-search example, through LangChain and through LlamaIndex."""
    from .langchain import DashScopeEmbeddings
    from .llama_index import DashScopeEmbedding

    with _backend() as where:
        print(f"Backend: {where}")
        print(f"Model: {model}, {dimension} dimensions. Query: {DEMO_QUERY!r}")

        lc = DashScopeEmbeddings(model=model, dimension=dimension)
        _print_ranking(
            "LangChain DashScopeEmbeddings (embed_query → text_type=query, embed_documents → document):",
            lc.embed_query(DEMO_QUERY),
            lc.embed_documents(DEMO_DOCUMENTS),
        )

        li = DashScopeEmbedding(model_name=model, dimension=dimension)
        _print_ranking(
            "LlamaIndex DashScopeEmbedding (get_query_embedding → query, get_text_embedding_batch → document):",
            li.get_query_embedding(DEMO_QUERY),
            li.get_text_embedding_batch(DEMO_DOCUMENTS),
        )
    return 0


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dashscope-embeddings", description="Alibaba Cloud Model Studio (DashScope) embeddings."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="semantic search through LangChain and LlamaIndex")
    demo_parser.add_argument("--model", default="text-embedding-v4")
    demo_parser.add_argument("--dimension", type=int, default=1024)
    commands.add_parser("models", help="list the models, their limits and prices")
    commands.add_parser("emulator", help="serve the local DashScope emulator (see --help)", add_help=False)

    args, rest = parser.parse_known_args(argv)
    if args.command == "emulator":
        from .emulator.__main__ import main as emulator_main

        return emulator_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "demo":
        return demo(args.model, args.dimension)
    return models()


if __name__ == "__main__":
    sys.exit(main())
