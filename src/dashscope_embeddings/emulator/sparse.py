"""Sparse (lexical) vectors, in the wire form `[{"index": int, "value": float, "token": str}, ...]`.

The entry shape comes from the service's own response (api-facts §4, the Java SDK's `TextEmbeddingSparseEmbedding`:
index, value, token). How the service picks indices and weights is not documented; the doc example's index 246351
is larger than the Qwen vocabulary, so indices are not BPE ids. The emulator therefore uses a plain keyword model:

- one entry per distinct lower-cased word (`vectors.words`: letter/digit runs, every CJK character on its own), in
  order of first appearance;
- `index` = CRC-32 of the word's UTF-8 bytes modulo 250,000 (stable everywhere; two words may share an index, as the
  service's vectors can, and `types.SparseVector.from_entries` sums such repeats);
- `value` = (1 + ln tf) for a `document`, 1 for a `query` (a query states what it wants once), times 0.1 for very
  common function words, rounded to 4 decimals.

So a keyword query such as the SKU "XJ-9000" (words `xj`, `9000`) scores highest, by sparse dot product, against the
document that contains it.
"""

from __future__ import annotations

import functools
import math
import zlib
from typing import Final

import orjson

from .vectors import words

__all__ = ["SPARSE_VOCABULARY", "sparse_entries", "sparse_json"]

SPARSE_VOCABULARY: Final = 250_000

_STOPWORD_LIST = (
    "a an and are as at be but by for from has have in is it its of on or that the this to was were will with "
    "what which who how do does did not no i you he she we they me my your our their "
    "的 了 是 在 和 与 也 就 都 而 及 着 或 之 吗 呢 吧 啊 这 那"
)
_STOPWORDS: Final = frozenset(_STOPWORD_LIST.split())
_STOPWORD_WEIGHT = 0.1


def sparse_entries(text: str, text_type: str = "document") -> list[dict[str, object]]:
    """The sparse embedding of `text` as the emulator serves it."""
    counts: dict[str, int] = {}
    for word in words(text):
        counts[word] = counts.get(word, 0) + 1
    entries: list[dict[str, object]] = []
    for word, tf in counts.items():
        weight = 1.0 if text_type == "query" else 1.0 + math.log(tf)
        if word in _STOPWORDS:
            weight *= _STOPWORD_WEIGHT
        entries.append(
            {
                "index": zlib.crc32(word.encode("utf-8", "surrogatepass")) % SPARSE_VOCABULARY,
                "value": round(weight, 4),
                "token": word,
            }
        )
    return entries


def sparse_json(text: str, text_type: str = "document") -> bytes:
    """`sparse_entries` serialised as served (cached for texts up to 2,000 characters: the same texts come back
    again and again)."""
    if len(text) <= 2000:
        return _sparse_json_cached(text, text_type)
    return orjson.dumps(sparse_entries(text, text_type))


@functools.lru_cache(maxsize=4096)
def _sparse_json_cached(text: str, text_type: str) -> bytes:
    return orjson.dumps(sparse_entries(text, text_type))
