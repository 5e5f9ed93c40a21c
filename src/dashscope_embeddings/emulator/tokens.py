"""The emulator's own token count: it fills `usage.total_tokens` and drives the "Range of input length" check.

Which tokenizer the embedding models use is not documented (api-facts §7). text-embedding-v4 belongs to the
Qwen3-Embedding series, which uses the Qwen BPE, and the `dashscope` wheel ships those ranks as
`dashscope/resources/qwen.tiktoken` (151,643 ranks; "通义千问具有强大的能力。" encodes to 8 tokens, as in the official
billing example). So when `tiktoken` is importable and the `dashscope` package is installed, the count is exact Qwen
BPE, built the way `dashscope/tokenizers/qwen_tokenizer.py` builds it: same split pattern, same special tokens
(allowed in the text, as the SDK's `encode` allows them), NFC-normalised input. The SDK itself is not imported (it
pulls in requests and aiohttp); only its data file is located.

Without those packages the count falls back to `approximate_tokens`, a documented estimate from the billing docs' rule
of thumb (one token is about 1.5 Chinese characters or 0.75 English words).
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import math
import re
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["approximate_tokens", "count_tokens", "qwen_bpe_available"]

_PAT_STR = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
    r"""\s*[\r\n]+|\s+(?!\S)|\s+"""
)
_SPECIAL_START_ID = 151643
_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", *(f"<|extra_{i}|>" for i in range(205)))
_CHUNK = 100_000
"""tiktoken's recursive merge can overflow the stack on huge inputs; the SDK encodes in chunks below this size."""

_lock = threading.Lock()
_encoder: Any = None
_loaded = False


def _qwen_ranks_path() -> Path | None:
    spec = importlib.util.find_spec("dashscope")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "resources" / "qwen.tiktoken"
    return path if path.is_file() else None


def _load_encoder() -> Any:
    global _encoder, _loaded
    if _loaded:
        return _encoder
    with _lock:
        if not _loaded:
            _encoder = _build_encoder()
            _loaded = True
    return _encoder


def _build_encoder() -> Any:
    try:
        import tiktoken
    except ImportError:
        return None
    path = _qwen_ranks_path()
    if path is None:
        return None
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in path.read_bytes().splitlines() if line)
    }
    specials = {token: _SPECIAL_START_ID + i for i, token in enumerate(_SPECIALS)}
    return tiktoken.Encoding("Qwen", pat_str=_PAT_STR, mergeable_ranks=ranks, special_tokens=specials)


def qwen_bpe_available() -> bool:
    """Whether counts are exact Qwen BPE (True) or the `approximate_tokens` fallback (False)."""
    return _load_encoder() is not None


_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
_PIECE = re.compile(r"\d|[^\W\d_]+|[^\w\s]+")


def approximate_tokens(text: str) -> int:
    """Fallback estimate: CJK runs at 1.5 characters per token, one token per digit, one per started 10 letters of a
    word, one per punctuation run, and at least one for any non-empty text (whitespace alone still costs a token)."""
    total = 0
    for run in _CJK_RUN.findall(text):
        total += math.ceil(len(run) / 1.5)
    for piece in _PIECE.findall(_CJK_RUN.sub(" ", text)):
        total += math.ceil(len(piece) / 10) if piece[0].isalpha() else 1
    return max(total, 1 if text else 0)


def _split(text: str) -> list[str]:
    """Cut at newlines, then at `_CHUNK`, exactly as the SDK does before encoding a long text."""
    parts: list[str] = []
    for i, line in enumerate(text.split("\n")):
        piece = line if i == 0 else "\n" + line
        parts.extend(piece[j : j + _CHUNK] for j in range(0, max(len(piece), 1), _CHUNK))
    chunks: list[str] = []
    current = ""
    for part in parts:
        if current and len(current) + len(part) > _CHUNK:
            chunks.append(current)
            current = part
        else:
            current += part
    if current:
        chunks.append(current)
    return chunks


_CACHED_LENGTH = 2000
"""Counts of texts up to this many characters are cached (the same short texts come back again and again); longer
ones are counted afresh, so the cache never holds megabytes of text."""


def count_tokens(text: str) -> int:
    """Tokens in one text, as the emulator bills and limits them."""
    return _count_cached(text) if len(text) <= _CACHED_LENGTH else _count(text)


@functools.lru_cache(maxsize=16384)
def _count_cached(text: str) -> int:
    return _count(text)


def _count(text: str) -> int:
    encoder = _load_encoder()
    if encoder is None:
        return approximate_tokens(text)
    text = unicodedata.normalize("NFC", text)
    if "<|" in text:  # may hold a special token, which counts as one token (the SDK allows them in text)
        encode: Callable[[str], list[int]] = functools.partial(
            encoder.encode, allowed_special="all", disallowed_special=()
        )
    else:  # same result, several times faster
        encode = encoder.encode_ordinary
    if len(text) <= _CHUNK:
        return len(encode(text))
    return sum(len(encode(chunk)) for chunk in _split(text))
