"""Embed a corpus file into a .npy matrix in constant memory, resumable, with its cost from the catalog.

`embed_stream` reads the texts lazily and yields one result per request, in input order, so each result is
written to its rows at once and only `2 × max_concurrency` requests' vectors are ever held. Because results arrive
in order, the rows written so far are a prefix of the file: after an interruption, the same run skips that prefix
and continues; only the requests in flight when it stopped are sent again.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from dashscope_embeddings import TextEmbedder, get_model

MODEL, DIMENSION, PRICED_IN = "text-embedding-v4", 256, "singapore"


def lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as file:
        for line in file:
            yield line.rstrip("\n")


def embed_file(corpus: Path, out: Path, progress: Path, *, stop_after: int | None = None) -> tuple[int, int]:
    """Embed `corpus` (a text per line) into `out`; returns (rows this run wrote, their tokens)."""
    total = sum(1 for _ in lines(corpus))
    done = int(progress.read_text()) if progress.exists() else 0
    mode = "r+" if out.exists() else "w+"
    matrix = np.lib.format.open_memmap(out, mode=mode, dtype=np.float32, shape=(total, DIMENSION))
    rows = tokens = 0
    with TextEmbedder(MODEL, dimension=DIMENSION) as embedder:
        for result in embedder.embed_stream(itertools.islice(lines(corpus), done, None)):
            count = len(result.embeddings)
            matrix[done : done + count] = result.embeddings
            matrix.flush()
            done, rows, tokens = done + count, rows + count, tokens + result.usage.total_tokens
            progress.write_text(str(done))  # after the rows are on disk: never ahead of them
            if stop_after is not None and rows >= stop_after:
                break  # stands in for Ctrl-C or a lost machine
    return rows, tokens


with tempfile.TemporaryDirectory() as folder:
    corpus, out, progress = Path(folder, "corpus.txt"), Path(folder, "vectors.npy"), Path(folder, "progress")
    corpus.write_text("".join(f"Document {i}: notes on topic {i % 97} and region {i % 13}\n" for i in range(5_000)))

    first, first_tokens = embed_file(corpus, out, progress, stop_after=1_200)
    print(f"first run stopped after {first:,} rows")
    rest, rest_tokens = embed_file(corpus, out, progress)
    print(f"second run embedded the other {rest:,} rows")

    matrix = np.load(out, mmap_mode="r")
    with TextEmbedder(MODEL, dimension=DIMENSION) as check:
        probe = check.embed(["Document 4999: notes on topic 52 and region 7"]).embeddings[0]
    print(
        f"{matrix.shape[0]:,} rows × {matrix.shape[1]} dimensions; last row matches a fresh call:",
        bool(np.allclose(matrix[-1], probe, atol=1e-6)),
    )

    price = get_model(MODEL).price_in(PRICED_IN)
    tokens = first_tokens + rest_tokens
    assert price is not None
    print(f"{tokens:,} tokens ≈ {tokens / 1e6 * price.per_million:.4f} {price.currency} in {PRICED_IN}")
