"""What every tool embeds: deterministic texts of about 40 words, and the arithmetic of a workload.

Texts are made on the fly from their index, so a worker process can produce the same inputs as every other worker
without receiving them, and a streaming run never holds the whole list.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["MODEL", "Workload", "iter_texts", "text"]

MODEL = "text-embedding-v4"

_WORDS = (
    "embedding vector search retrieval language model region batch request latency token query document index "
    "similarity cosine matryoshka dimension sparse dense hybrid chunk passage corpus ranking recall precision "
    "throughput concurrency pipeline service endpoint gateway workspace tenant quota limit retry backoff "
    "timeout network socket stream memory buffer cache payload schema field record table column store cluster "
    "shard replica graph node edge answer question context prompt summary"
)
_VOCABULARY = tuple(_WORDS.split())
WORDS_PER_TEXT = 40


def text(i: int) -> str:
    """Text number `i`: 40 words from a 64-word vocabulary in an order that depends on `i`, and its number."""
    size = len(_VOCABULARY)
    words = (_VOCABULARY[(i * 31 + j * j * 7 + j * 3) % size] for j in range(WORDS_PER_TEXT))
    return " ".join(words) + f" #{i}"


def iter_texts(count: int) -> Iterator[str]:
    return (text(i) for i in range(count))


@dataclass(frozen=True, slots=True)
class Workload:
    """`texts` texts of `MODEL` at `dimension`, sent `batch` per request."""

    texts: int
    dimension: int = 1024
    batch: int = 10

    @property
    def requests(self) -> int:
        return math.ceil(self.texts / self.batch)

    def ideal_seconds(self, concurrency: int, latency: float) -> float:
        """Rounds of `concurrency` requests, each taking exactly `latency`: no client or server cost at all."""
        return math.ceil(self.requests / concurrency) * latency
