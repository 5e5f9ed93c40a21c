"""The `dashscope-embeddings` command: `demo`, `models`, `emulator`.

Each subcommand lives in its own module and is imported only when it runs, so `models` needs neither LangChain nor
LlamaIndex installed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import embed
from .demo import DEMO_DOCUMENTS, DEMO_QUERY, demo
from .models import models, models_table, multimodal_table

__all__ = ["DEMO_DOCUMENTS", "DEMO_QUERY", "demo", "main", "models", "models_table", "multimodal_table"]


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
    commands.add_parser("job", help="bulk jobs: Batch API batches and async tasks (see job --help)", add_help=False)
    embed.add_parser(commands)

    args, rest = parser.parse_known_args(argv)
    if args.command == "emulator":
        from ..emulator.__main__ import main as emulator_main

        return emulator_main(rest)
    if args.command == "job":
        from .job import main as job_main

        return job_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "demo":
        return demo(args.model, args.dimension)
    if args.command == "embed":
        return embed.run(args)
    return models()


if __name__ == "__main__":
    sys.exit(main())
