"""`dashscope-embeddings job ...`: run and resume bulk embedding jobs from the shell.

```
job batch INPUT.txt -o OUT.npy [--model text-embedding-v4] [--dimension 1024]   # Batch API: upload, run, download
job submit --url URL [--model text-embedding-async-v2] [--text-type document]  # an async task on a file URL
job status ID | job wait ID [--deadline S] | job cancel ID
job fetch ID -o OUT.npy [--expected N]                                          # resume either kind by its id
```

Ids starting with `batch_` are Batch API batches, others text-embedding-async tasks. `OUT.npy` gets a float32
matrix and `OUT.ids.txt` the input position of each row; `OUT.jsonl` gets `{"index", "embedding"}` lines. When a
job gives only some vectors, those are written (with their positions) and the command exits 1, listing the rest.
The key comes from DASHSCOPE_API_KEY, the API root from `--base-url` or DASHSCOPE_HTTP_BASE_URL. Costs are
estimated from the catalog: tokens × the listed price (the Batch API's is half the real-time price).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..catalog import ModelSpec
from ..errors import DashScopeError, JobError, JobTimeoutError
from ..jobs import BatchJobs, BatchStatus, PollSchedule, TaskStatus, TextEmbeddingTasks
from ..protocol.jobs import job_kind, split_lines
from ..regions import Endpoint
from ..tokens import get_token_counter
from ..types import EmbeddingResult

if TYPE_CHECKING:
    import httpx

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="dashscope-embeddings job", description="Bulk embedding jobs.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--base-url", help="API root ending in /api/v1 (default: DASHSCOPE_HTTP_BASE_URL or region)")
    common.add_argument("--region", help="singapore (default), beijing, hongkong, ...")
    common.add_argument("--workspace", help="workspace id (workspace host and header)")
    common.add_argument("--poll-interval", type=float, default=1.0, help="first wait between polls, seconds (1)")
    commands = root.add_subparsers(dest="action", required=True)

    batch = commands.add_parser("batch", parents=[common], help="embed a text file (one text per line) as a batch")
    batch.add_argument("input", type=Path)
    batch.add_argument("-o", "--output", type=Path, required=True, help="OUT.npy or OUT.jsonl")
    batch.add_argument("--model", default="text-embedding-v4")
    batch.add_argument("--dimension", type=int)
    batch.add_argument("--deadline", type=float, help="seconds to wait before giving up (the batch keeps running)")
    batch.add_argument("--no-wait", action="store_true", help="submit only; resume with `job fetch ID`")

    submit = commands.add_parser("submit", parents=[common], help="start a text-embedding-async task on a file URL")
    submit.add_argument("--url", required=True, help="http(s) URL of a UTF-8 .txt file, one text per line")
    submit.add_argument("--model", default="text-embedding-async-v2")
    submit.add_argument("--text-type", choices=("query", "document"), default="document")

    for name, text in (("status", "show a job's status"), ("cancel", "cancel a job")):
        sub = commands.add_parser(name, parents=[common], help=text)
        sub.add_argument("id")
    wait = commands.add_parser("wait", parents=[common], help="wait until a job finishes")
    wait.add_argument("id")
    wait.add_argument("--deadline", type=float)
    fetch = commands.add_parser("fetch", parents=[common], help="wait for a job and write its vectors")
    fetch.add_argument("id")
    fetch.add_argument("-o", "--output", type=Path, required=True, help="OUT.npy or OUT.jsonl")
    fetch.add_argument("--expected", type=int, help="tasks: the input's line count, checked")
    fetch.add_argument("--model", help="batches: the batch's model (default text-embedding-v4)")
    fetch.add_argument("--dimension", type=int, help="batches: the dimension the batch asked for, checked")
    fetch.add_argument("--deadline", type=float)
    return root


def _settings(args: argparse.Namespace, http_client: httpx.Client | None) -> dict[str, Any]:
    poll = PollSchedule(initial=args.poll_interval, maximum=max(args.poll_interval, 5.0))
    return {
        "base_url": args.base_url,
        "region": args.region,
        "workspace": args.workspace,
        "http_client": http_client,
        "poll": poll,
    }


def _price_region(spec: ModelSpec, endpoint: Endpoint) -> str:
    if endpoint.region is not None:
        return endpoint.region.name
    return "singapore" if "singapore" in spec.regions else min(spec.regions, default="singapore")


def _cost(spec: ModelSpec, endpoint: Endpoint, tokens: int, *, batch_api: bool) -> str:
    region = _price_region(spec, endpoint)
    price = spec.price_in(region, batch_api=batch_api)
    if price is None:
        return f"{tokens:,} tokens (no listed price for {spec.name} in {region})"
    kind = " at the Batch API's 50 % price" if batch_api else ""
    return (
        f"{tokens:,} tokens × {price.per_million:g} {price.currency} per 1M{kind} ({region}) ≈ "
        f"{tokens * price.per_million / 1e6:.6f} {price.currency}"
    )


def _show_task(status: TaskStatus) -> None:
    times = ", ".join(
        f"{name} {value}"
        for name, value in (
            ("submitted", status.submit_time),
            ("started", status.scheduled_time),
            ("ended", status.end_time),
        )
        if value
    )
    print(f"task {status.task_id}: {status.status}" + (f" ({times})" if times else ""))
    if status.code or status.message:
        print(f"  {status.code}: {status.message}")


def _show_batch(status: BatchStatus) -> None:
    print(
        f"batch {status.id}: {status.status} ({status.completed} of {status.total} requests done, "
        f"{status.failed} failed)"
    )
    for error in status.errors[:10]:
        print(f"  line {error.line}: {error.code}: {error.message}")


def _write(result: EmbeddingResult, indices: Sequence[int], output: Path) -> None:
    """Write vectors (row i is input `indices[i]`) as .npy + .ids.txt, or as JSONL."""
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".jsonl":
        with output.open("w", encoding="utf-8") as out:
            for index, vector in zip(indices, result.embeddings, strict=True):
                out.write(json.dumps({"index": index, "embedding": vector}) + "\n")
        print(f"wrote {len(indices)} vectors to {output}")
        return
    import numpy as np

    matrix = np.asarray(result.embeddings, dtype=np.float32).reshape(len(indices), result.dimension or 0)
    np.save(output, matrix)
    ids = output.with_suffix(".ids.txt")
    ids.write_text("".join(f"{i}\n" for i in indices), encoding="utf-8")
    print(f"wrote {matrix.shape[0]}×{matrix.shape[1]} float32 to {output} (input positions in {ids})")


def _deliver(fetch: Any, output: Path, describe_cost: Any) -> int:
    """Run `fetch()`, write what it gives (all, or the partial result of a JobError) and return the exit code."""
    try:
        result: EmbeddingResult = fetch()
    except JobError as error:
        print(f"error: {error}", file=sys.stderr)
        if error.partial is not None and error.partial.indices:
            _write(error.partial.result, error.partial.indices, output)
            failed = error.partial.failed_indices
            print(f"{len(failed)} inputs have no vector: {list(failed[:20])}", file=sys.stderr)
        return 1
    _write(result, range(len(result.embeddings)), output)
    print(f"cost: {describe_cost(result.usage.total_tokens)}")
    return 0


def _batch(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    with BatchJobs(args.model, dimension=args.dimension, **settings) as jobs:
        texts = split_lines(args.input.read_text(encoding="utf-8"))
        counter = get_token_counter()
        tokens = sum(counter.count(t) for t in texts)
        estimate = _cost(jobs.spec, jobs.endpoint, tokens, batch_api=True)
        print(f"{len(texts):,} texts; estimated cost{'' if counter.exact else ' (estimated tokens)'}: {estimate}")
        status = jobs.submit(args.input)
        _show_batch(status)
        if args.no_wait:
            print(f"resume with: dashscope-embeddings job fetch {status.id} -o {args.output}")
            return 0
        return _deliver(
            lambda: jobs.fetch(status.id, deadline=args.deadline),
            args.output,
            lambda t: _cost(jobs.spec, jobs.endpoint, t, batch_api=True),
        )


def _submit(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    with TextEmbeddingTasks(args.model, **settings) as tasks:
        status = tasks.submit(args.url, text_type=args.text_type)
        _show_task(status)
        print(f"price: {_cost(tasks.spec, tasks.endpoint, 1_000_000, batch_api=False)}")
        print(f"next: dashscope-embeddings job wait {status.task_id}  (or job fetch {status.task_id} -o OUT.npy)")
        return 0


def _resume_batch(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    job_id: str = args.id
    model = getattr(args, "model", None) or "text-embedding-v4"
    with BatchJobs(model, dimension=getattr(args, "dimension", None), **settings) as jobs:
        if args.action == "fetch":
            return _deliver(
                lambda: jobs.fetch(job_id, deadline=args.deadline),
                args.output,
                lambda t: _cost(jobs.spec, jobs.endpoint, t, batch_api=True),
            )
        if args.action == "status":
            _show_batch(jobs.status(job_id))
        elif args.action == "cancel":
            _show_batch(jobs.cancel(job_id))
        else:
            _show_batch(jobs.poll_until_done(job_id, deadline=args.deadline))
        return 0


def _resume_task(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    job_id: str = args.id
    with TextEmbeddingTasks(getattr(args, "model", None) or "text-embedding-async-v2", **settings) as tasks:
        if args.action == "fetch":
            return _deliver(
                lambda: tasks.fetch(job_id, expected_count=args.expected, deadline=args.deadline),
                args.output,
                lambda t: _cost(tasks.spec, tasks.endpoint, t, batch_api=False),
            )
        if args.action == "status":
            _show_task(tasks.status(job_id))
        elif args.action == "cancel":
            _show_task(tasks.cancel(job_id))
        else:
            status = tasks.poll_until_done(job_id, deadline=args.deadline)
            _show_task(status)
            if status.status == "SUCCEEDED":
                print(f"cost: {_cost(tasks.spec, tasks.endpoint, status.total_tokens, batch_api=False)}")
        return 0


def _run(args: argparse.Namespace, http_client: httpx.Client | None) -> int:
    settings = _settings(args, http_client)
    if args.action == "batch":
        return _batch(args, settings)
    if args.action == "submit":
        return _submit(args, settings)
    return (_resume_batch if job_kind(args.id) == "batch" else _resume_task)(args, settings)


def main(argv: Sequence[str] | None = None, *, http_client: httpx.Client | None = None) -> int:
    """Run `job ...` (`argv` without the leading `job`). `http_client`: an injected client (tests)."""
    args = parser().parse_args(argv)
    if getattr(args, "deadline", None) is not None and args.deadline < 0:
        print("error: --deadline must be >= 0", file=sys.stderr)
        return 2
    try:
        return _run(args, http_client)
    except JobTimeoutError as error:
        print(f"timeout: {error}", file=sys.stderr)
        return 3
    except (DashScopeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
