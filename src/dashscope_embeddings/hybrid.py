"""Dense and sparse vectors from one request, for hybrid search engines that ask for them separately.

text-embedding-v4 and -v3 return both kinds in one call (`output_type="dense&sparse"`), at the price of one (the
reference docs: "the generation cost is the same"). Vector stores, though, take two objects — a dense embedding and
a sparse one — and call them one after the other with the same texts (langchain-qdrant's `add_texts`, its hybrid
`similarity_search`, LlamaIndex's hybrid Qdrant store). `HybridEmbedder` fetches both kinds for whichever view asks
first and keeps them in a small bounded memo, keyed by (text, text_type, model, dimension), that the other view
reads: one request per batch instead of two.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TypeAlias

from .text import TextEmbedder
from .types import SparseVector, TextType

__all__ = ["DEFAULT_MEMO_SIZE", "HybridEmbedder"]

DEFAULT_MEMO_SIZE = 4096
"""Texts remembered. A vector store asks for the second kind right after the first, batch by batch (langchain-qdrant
sends 64 texts at a time), so a few thousand entries cover it with room to spare: ~4,096 × 1,024 floats ≈ 35 MB as
Python floats at the largest, far less at typical sizes."""

Key: TypeAlias = tuple[str, str | None, str, int | None]
Both: TypeAlias = tuple[list[float], SparseVector]


class HybridEmbedder:
    """Both kinds of vector for each text, one request per batch, shared by a dense and a sparse view."""

    def __init__(self, embedder: TextEmbedder, *, memo_size: int = DEFAULT_MEMO_SIZE) -> None:
        if not embedder.spec.sparse:
            raise ValueError(f"{embedder.model} has no sparse vectors; text-embedding-v4 and -v3 do.")
        if memo_size < 1:
            raise ValueError("memo_size must be at least 1")
        self.embedder = embedder
        self.memo_size = memo_size
        self._memo: OrderedDict[Key, Both] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, text: str, text_type: TextType | None) -> Key:
        return (text, text_type, self.embedder.model, self.embedder.dimension)

    def _split(self, texts: Sequence[str], text_type: TextType | None) -> tuple[list[Both | None], list[str]]:
        """What the memo already has (in order, None where missing) and the distinct texts still to fetch."""
        with self._lock:
            found: list[Both | None] = []
            for text in texts:
                key = self._key(text, text_type)
                hit = self._memo.get(key)
                if hit is not None:
                    self._memo.move_to_end(key)
                found.append(hit)
        missing = list(dict.fromkeys(text for text, hit in zip(texts, found, strict=True) if hit is None))
        return found, missing

    def _remember(
        self, texts: list[str], text_type: TextType | None, dense: list[list[float]], sparse: list[SparseVector]
    ) -> dict[str, Both]:
        fetched = {text: (d, s) for text, d, s in zip(texts, dense, sparse, strict=True)}
        with self._lock:
            for text, both in fetched.items():
                self._memo[self._key(text, text_type)] = both
                self._memo.move_to_end(self._key(text, text_type))
            while len(self._memo) > self.memo_size:
                self._memo.popitem(last=False)
        return fetched

    @staticmethod
    def _merge(texts: Sequence[str], found: list[Both | None], fetched: dict[str, Both]) -> list[Both]:
        return [hit if hit is not None else fetched[text] for text, hit in zip(texts, found, strict=True)]

    def _checked(self, texts: Sequence[str]) -> list[str]:
        # Checked here, over the whole list, so an error names the caller's index (not a position among the texts the
        # memo lacks), and so truncated texts are remembered as sent.
        return self.embedder._checked(texts, 0, self.embedder.truncate)

    def embed(self, texts: Sequence[str], *, text_type: TextType | None = "document") -> list[Both]:
        """(dense, sparse) for each text, in order; only texts the memo lacks are sent, once each."""
        texts = self._checked(texts)
        found, missing = self._split(texts, text_type)
        fetched: dict[str, Both] = {}
        if missing:
            result = self.embedder.embed(missing, text_type=text_type, output_type="dense&sparse")
            fetched = self._remember(missing, text_type, result.embeddings, result.sparse)
        return self._merge(texts, found, fetched)

    async def aembed(self, texts: Sequence[str], *, text_type: TextType | None = "document") -> list[Both]:
        """Async `embed`."""
        texts = self._checked(texts)
        found, missing = self._split(texts, text_type)
        fetched: dict[str, Both] = {}
        if missing:
            result = await self.embedder.aembed(missing, text_type=text_type, output_type="dense&sparse")
            fetched = self._remember(missing, text_type, result.embeddings, result.sparse)
        return self._merge(texts, found, fetched)

    def clear(self) -> None:
        with self._lock:
            self._memo.clear()

    def __len__(self) -> int:
        return len(self._memo)
