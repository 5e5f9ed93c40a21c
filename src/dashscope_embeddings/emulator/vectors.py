"""Dense vectors: deterministic, lexical, Matryoshka, and bit-identical on every machine.

How a vector is made
--------------------
1. *Features.* The lower-cased text gives words (runs of letters and digits; every CJK character is its own word;
   weight 2) and character trigrams of the text padded with one space on each side (weight 1). Texts that share
   words and spellings share features, so lexically similar texts get similar vectors.
2. *Variants.* Each feature is hashed with a salt made from the model name, so two models give unrelated vectors.
   A `document` vector (the service's default, and what compatible mode returns) uses one salt. A `query` vector
   adds the same features under a second salt with weight 3/10 of the first, and an `instruct` adds them under a
   third salt (keyed by the instruction text) with weight 3/10 as well. The extra parts are nearly orthogonal to the
   document part, so cos(query, document) of one text is about 10/sqrt(109) = 0.96 (0.92 with an instruct).
3. *Blocks.* The vector is cut into blocks whose edges are every dimension the catalog offers (64, 128, 256, 512,
   768, 1024, 1152, 1280, 1536, 2048, 2560, ...); every block size is a power of two. Each feature lands, with a
   hashed sign, in one bucket of *every* block, so every block is a complete signed feature-hash of the text.
4. *Mixing.* Each block goes through a Walsh-Hadamard transform (orthogonal up to the factor sqrt(n), so cosines
   are kept; every block size is 64 times 1, 2, 4 or 8), which spreads the few hashed buckets over every
   coordinate: the result looks like a dense embedding.
5. *Normalising.* Block b is divided by sqrt(n_b * Q), where Q is the sum of squares of the hashed buckets of all
   blocks that are kept. The vector has unit L2 norm.

Why this design
---------------
- *Matryoshka.* The reference docs offer several dimensions per model (text-embedding-v4: 2048 ... 64). Blocks never
  depend on the requested dimension, so the `d`-dimensional vector is exactly the L2-renormalised prefix of the
  model's largest vector.
- *Identical everywhere.* Up to step 5 every number is an integer held exactly in float64 (far below 2**53), and
  sums of such integers do not depend on summation order, so BLAS blocking, SIMD width and FMA cannot change them.
  Step 5 does one correctly rounded IEEE square root and division per coordinate and one rounding to float32. No
  `hash()`, no random-generator stream, so a vector is the same in every process and on every machine.
- *Fast.* Work per text is linear in its length plus O(d log d) for the transforms, vectorised with NumPy over the
  whole request; recent results are cached already serialised (`LRU`).

Served values are float32 written by orjson (shortest round-trip form, like the real service's 8-digit floats).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

import numpy as np
import numpy.typing as npt
import orjson

from .cache import LRU

__all__ = ["BLOCK_EDGES", "MAX_DIMENSION", "DenseEncoder", "Variant", "Vector", "words"]

MAX_DIMENSION: Final = 8192
"""Largest dimension the emulator can make (for models not in the catalog)."""

BLOCK_EDGES: Final[tuple[int, ...]] = (
    0,
    64,
    128,
    256,
    512,
    768,
    1024,
    1152,
    1280,
    1536,
    2048,
    *range(2560, MAX_DIMENSION + 1, 512),
)
"""Block boundaries: every dimension the catalog lists (text and multimodal) is one of these."""

_SIZES: npt.NDArray[np.int64] = np.array([b - a for a, b in itertools.pairwise(BLOCK_EDGES)], dtype=np.int64)
_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = _U64(30), _U64(27), _U64(31), _U64(32)
_P1, _P2, _P3 = _U64(0x100000001B3), _U64(0xC2B2AE3D27D4EB4F), _U64(0x165667B19E3779F9)
_GRAM_TAG = _U64(0x5A5A5A5A00000000)
_WORD_TAG = _U64(0xA5A5A5A500000000)
_CJK_TAG = _U64(0x3C3C3C3C00000000)

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD_RE: Final = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")
"""A word: one CJK (Han or kana) character, or a run of other letters and digits."""
_CJK_RE: Final = re.compile(f"[{_CJK}]")

_WORD_WEIGHT = 2.0
_QUERY_WEIGHT = 3.0
_INSTRUCT_WEIGHT = 3.0
_DOC_WEIGHT_WITH_EXTRAS = 10.0


def words(text: str) -> list[str]:
    """The lower-cased words of `text` (shared with the sparse vectors)."""
    return WORD_RE.findall(text.lower())


@dataclass(frozen=True, slots=True)
class Variant:
    """Which vector of a text: the model, the dimension and the query/document/instruct flavour."""

    model: str
    dimension: int
    text_type: str = "document"
    instruct: str | None = None


@dataclass(frozen=True, slots=True)
class Vector:
    """One served embedding: its float32 values and its JSON array exactly as it goes on the wire."""

    values: npt.NDArray[np.float32]
    json: bytes


def _salt(*parts: str) -> np.uint64:
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    salt: np.uint64 = _U64(int.from_bytes(digest, "little"))
    return salt


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser, in place on a fresh array: a stable 64-bit hash of each element."""
    x += _GOLDEN
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


def _char_table(test: Callable[[str], bool]) -> npt.NDArray[np.bool_]:
    return np.fromiter((test(chr(c)) for c in range(_BMP)), dtype=np.bool_, count=_BMP)


_BMP = 0x10000
_IS_CJK = _char_table(lambda ch: _CJK_RE.match(ch) is not None)
_IS_WORD = _char_table(str.isalnum) & ~_IS_CJK


class _Powers:
    """P**i and P**-i modulo 2**64 for the rolling word hash, grown on demand (one tuple, replaced atomically, so
    concurrent readers always see a matching pair)."""

    def __init__(self) -> None:
        self._pair = self._make(1024)

    @staticmethod
    def _make(n: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        up = np.full(n, _P1, dtype=np.uint64)
        up[0] = 1
        down = np.full(n, _P1_INVERSE, dtype=np.uint64)
        down[0] = 1
        return np.cumprod(up, dtype=np.uint64), np.cumprod(down, dtype=np.uint64)

    def get(self, n: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        pair = self._pair
        if pair[0].shape[0] < n:
            pair = self._make(max(n, 2 * pair[0].shape[0]))
            self._pair = pair
        return pair[0][:n], pair[1][:n]


_P1_INVERSE = _U64(pow(int(_P1), -1, 2**64))
_POWERS = _Powers()


def _features(
    texts: Sequence[str],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Feature keys, weights and the text (row) each belongs to, for a whole request at once.

    The lower-cased texts are joined, each padded with one space on both sides, into one array of code points.
    Trigrams are the three-character windows inside one padded text. Words are maximal runs of letters and digits
    (Basic Multilingual Plane), hashed with a rolling polynomial hash; CJK characters are one word each.
    """
    lowered = [t.lower() for t in texts]
    codes32 = np.frombuffer("".join(f" {t} " for t in lowered).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    codes = codes32.astype(np.uint64)
    row_of = np.repeat(np.arange(len(texts), dtype=np.int64), [len(t) + 2 for t in lowered])

    gram_ok = row_of[:-2] == row_of[2:]
    grams = codes[:-2] * _P1
    grams += codes[1:-1] * _P2
    grams += codes[2:] * _P3
    grams ^= _GRAM_TAG

    in_bmp = codes32 < _BMP
    index = np.where(in_bmp, codes32, 0)
    cjk = _IS_CJK[index] & in_bmp
    word = _IS_WORD[index] & in_bmp
    up, down = _POWERS.get(codes.shape[0])
    prefix = np.zeros(codes.shape[0] + 1, dtype=np.uint64)
    np.cumsum(codes * up, out=prefix[1:])
    edges = np.diff(word.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # one past the last character
    word_keys = (prefix[ends] - prefix[starts]) * down[starts]
    word_keys ^= _WORD_TAG
    cjk_at = np.flatnonzero(cjk)

    keys = np.concatenate((grams[gram_ok], word_keys, codes[cjk_at] ^ _CJK_TAG))
    rows = np.concatenate((row_of[:-2][gram_ok], row_of[starts], row_of[cjk_at]))
    weights = np.full(keys.shape[0], _WORD_WEIGHT, dtype=np.float64)
    weights[: int(gram_ok.sum())] = 1.0
    return keys, weights, rows


def _hadamard(n: int) -> npt.NDArray[np.float64]:
    """The n x n Sylvester-Hadamard matrix (entries +-1), n a power of two."""
    h = np.ones((1, 1), dtype=np.float64)
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h


_H64 = _hadamard(64)
_H_OUTER = {m: _hadamard(m) for m in (2, 4, 8)}


def _mix_blocks(h: npt.NDArray[np.float64], n_blocks: int) -> npt.NDArray[np.float64]:
    """Walsh-Hadamard transform of every block of `h` (rows are texts), unnormalised.

    A block of size 64*m uses H_(64m) = H_m (x) H_64: one product with H_64 over every 64-wide slice, then H_m
    across the slices of the block. Entries are integers and every partial sum stays far below 2**53, so the
    products are exact whatever order BLAS adds in.
    """
    rows, width = h.shape
    y = (h.reshape(rows, width // 64, 64) @ _H64).reshape(rows, width)
    for b in range(n_blocks):
        start, end = BLOCK_EDGES[b], BLOCK_EDGES[b + 1]
        m = (end - start) // 64
        if m > 1:
            y[:, start:end] = (_H_OUTER[m] @ y[:, start:end].reshape(rows, m, 64)).reshape(rows, end - start)
    return y


def _blocks_for(dimension: int) -> int:
    """How many blocks cover `dimension` coordinates."""
    for i, edge in enumerate(BLOCK_EDGES):
        if edge >= dimension:
            return i
    raise ValueError(f"dimension {dimension} exceeds {MAX_DIMENSION}")


class DenseEncoder:
    """Makes (and caches) dense vectors. Thread-safe; the cache is shared by every caller."""

    def __init__(self, cache_size: int = 2048) -> None:
        self._cache: LRU[tuple[str, int, str, str | None, str], Vector] = LRU(cache_size)

    def clear_cache(self) -> None:
        self._cache.clear()

    def encode(self, texts: Sequence[str], variant: Variant) -> list[Vector]:
        """One vector per text, in order."""
        if not 1 <= variant.dimension <= MAX_DIMENSION:
            raise ValueError(f"dimension must be in [1, {MAX_DIMENSION}]")
        head = (variant.model, variant.dimension, variant.text_type, variant.instruct)
        out: list[Vector | None] = [self._cache.get((*head, t)) for t in texts]
        missing = [i for i, v in enumerate(out) if v is None]
        if missing:
            fresh = self._compute([texts[i] for i in missing], variant)
            for i, vector in zip(missing, fresh, strict=True):
                out[i] = vector
                self._cache.put((*head, texts[i]), vector)
        return [v for v in out if v is not None]

    def _salts(self, variant: Variant) -> list[tuple[np.uint64, float]]:
        document = _salt("dashscope-embeddings/emulator", variant.model, "document")
        if variant.text_type != "query" and not variant.instruct:
            return [(document, 1.0)]
        salts = [(document, _DOC_WEIGHT_WITH_EXTRAS)]
        if variant.text_type == "query":
            salts.append((_salt("dashscope-embeddings/emulator", variant.model, "query"), _QUERY_WEIGHT))
        if variant.instruct:
            salts.append(
                (_salt("dashscope-embeddings/emulator", variant.model, "instruct", variant.instruct), _INSTRUCT_WEIGHT)
            )
        return salts

    def _compute(self, texts: Sequence[str], variant: Variant) -> list[Vector]:
        dimension = variant.dimension
        n_blocks = _blocks_for(dimension)
        width = BLOCK_EDGES[n_blocks]
        starts = np.array(BLOCK_EDGES[:n_blocks], dtype=np.uint64)
        masks = (_SIZES[:n_blocks] - 1).astype(np.uint64)
        block_salts = (np.arange(n_blocks, dtype=np.uint64) + _U64(1)) * _GOLDEN

        keys, weights, rows = _features(texts)

        all_keys, all_weights = [], []
        for salt, scale in self._salts(variant):
            all_keys.append(_mix(np.bitwise_xor(keys, salt)))
            all_weights.append(weights * scale)
        k = np.concatenate(all_keys)
        w = np.concatenate(all_weights)
        r = np.tile(rows, len(all_keys)) * width

        hashed = _mix(np.bitwise_xor(k[None, :], block_salts[:, None]))
        buckets = (starts[:, None] + ((hashed >> _S32) & masks[:, None])).astype(np.int64)
        signed = np.where((hashed & _U64(1)) == 0, w[None, :], -w[None, :])
        flat = np.bincount((buckets + r[None, :]).ravel(), weights=signed.ravel(), minlength=len(texts) * width)
        h = flat.astype(np.float64, copy=False).reshape(len(texts), width)

        y = _mix_blocks(h, n_blocks)
        scale_by_col = np.repeat(_SIZES[:n_blocks].astype(np.float64), _SIZES[:n_blocks])

        last_start = BLOCK_EDGES[n_blocks - 1]
        full = h[:, :last_start] if dimension < width else h
        q = (full * full).sum(axis=1)  # integers below 2**53: exact in any order
        if dimension < width:  # a partial last block: add its share exactly, then round once
            for i in range(len(texts)):
                partial = sum(int(v) ** 2 for v in y[i, last_start:dimension])
                q[i] = float(Fraction(int(q[i])) + Fraction(partial, width - last_start))
        empty = q == 0.0  # every feature cancelled out: practically impossible, but stay a unit vector
        q[empty] = 1.0
        values = (y[:, :dimension] / np.sqrt(scale_by_col[:dimension] * q[:, None])).astype(np.float32)
        values[empty] = 0.0
        values[empty, 0] = 1.0
        return [Vector(row, orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY)) for row in values]
