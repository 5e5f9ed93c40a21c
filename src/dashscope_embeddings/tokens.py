"""Offline token counting, so an over-long text is caught before it is sent.

The embedding models' tokenizer is not published. text-embedding-v4 belongs to the Qwen3-Embedding series, which
uses the Qwen byte-level BPE (151,643 ranks) that ships inside the `dashscope` wheel as `resources/qwen.tiktoken`;
with `tiktoken` installed (extra `tokenizer`) we count with it exactly. Without it we fall back to
`estimate_tokens`, a rule calibrated against that BPE to *over*-count (tests pin it at ≥ the exact count and at most
about twice it on a multilingual corpus), so the fallback may reject a borderline text but never lets one through
that the service would refuse for length.

Two cheap facts keep this off the hot path: byte-level BPE never makes more tokens than UTF-8 bytes, and a
character is at most 4 bytes, so a text of at most `limit // 4` characters is within the limit without counting.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import math
import re
from pathlib import Path
from typing import Any, Protocol

__all__ = ["TokenCounter", "estimate_tokens", "get_token_counter"]

QWEN_PATTERN = (  # as in dashscope/tokenizers/qwen_tokenizer.py
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
QWEN_SPECIAL_START = 151643
QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", *(f"<|extra_{i}|>" for i in range(205)))


class TokenCounter(Protocol):
    exact: bool

    def count(self, text: str) -> int: ...

    def truncate(self, text: str, max_tokens: int) -> str: ...


class _QwenBPE:
    """Exact counts with the Qwen BPE through tiktoken. Special-token strings in user text count as plain text."""

    exact = True

    def __init__(self, encoding: Any) -> None:
        self._encoding = encoding

    def count(self, text: str) -> int:
        return len(self._encoding.encode_ordinary(text))

    def truncate(self, text: str, max_tokens: int) -> str:
        ids = self._encoding.encode_ordinary(text)
        if len(ids) <= max_tokens:
            return text
        # Cutting between tokens can split a multi-byte character; drop the partial tail rather than invent one.
        head: bytes = self._encoding.decode_bytes(ids[:max_tokens])
        return head.decode("utf-8", errors="ignore")


# Pieces of text and what each costs at most in Qwen BPE tokens (see estimate_tokens).
_ESTIMATE_PIECES = re.compile(
    r"(?P<digit>\d)"
    r"|(?P<cjk>[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f])"
    r"|(?P<latin>[A-Za-z\u00c0-\u024f]+)"
    r"|(?P<space>\s+)"
    r"|(?P<other>[^\sA-Za-z\d]+?)"
)


def estimate_tokens(text: str) -> int:
    """An upper-leaning estimate of the Qwen BPE token count, for when tiktoken is not installed.

    Qwen BPE splits every digit into its own token, gives common CJK characters about 0.7 tokens each, and most
    Latin words 1–3 tokens; we charge 1 per digit, 1 per CJK character, one per 3 letters of a Latin word, one per
    whitespace run that holds a newline or ends the text, one per other character (punctuation, scripts without
    dedicated merges) and two for characters outside the BMP (emoji).
    """
    total = 0
    for match in _ESTIMATE_PIECES.finditer(text):
        kind, piece = match.lastgroup, match.group()
        if kind == "latin":
            total += math.ceil(len(piece) / 3)
        elif kind == "other":
            total += 1 if piece <= "\uffff" else 2
        elif kind != "space" or "\n" in piece or match.end() == len(text):
            total += 1
    return max(total, 1) if text else 0


class _Estimator:
    exact = False

    def count(self, text: str) -> int:
        return estimate_tokens(text)

    def truncate(self, text: str, max_tokens: int) -> str:
        if estimate_tokens(text) <= max_tokens:
            return text
        # Binary search on a character prefix: the estimate only grows as the prefix grows.
        low, high = 0, len(text)
        while low < high:
            mid = (low + high + 1) // 2
            if estimate_tokens(text[:mid]) <= max_tokens:
                low = mid
            else:
                high = mid - 1
        return text[:low]


def _qwen_ranks_file() -> Path | None:
    # find_spec locates the installed dashscope package without importing it (its import is slow and noisy).
    spec = importlib.util.find_spec("dashscope")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "resources" / "qwen.tiktoken"
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=1)
def get_token_counter() -> TokenCounter:
    """The best counter available: exact Qwen BPE when possible, else the estimate. Loaded once (~0.3 s)."""
    ranks_file = _qwen_ranks_file()
    if ranks_file is None or importlib.util.find_spec("tiktoken") is None:
        return _Estimator()
    import tiktoken

    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in ranks_file.read_bytes().splitlines() if line)
    }
    encoding = tiktoken.Encoding(
        "qwen",
        pat_str=QWEN_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={tok: QWEN_SPECIAL_START + i for i, tok in enumerate(QWEN_SPECIALS)},
    )
    return _QwenBPE(encoding)


def surely_within(text: str, limit: int) -> bool:
    """True when `text` cannot exceed `limit` tokens, decided without tokenizing (≤ 4 bytes per character)."""
    return len(text) * 4 <= limit
