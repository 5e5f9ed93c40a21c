"""Value types shared by the embedders, the adapters and the emulator.

They are plain frozen dataclasses (no pydantic) because they are built on the hot path, once per batch, and because
the emulator may import this module without pulling in any client code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Literal, TypeVar

T = TypeVar("T")

TextType = Literal["query", "document"]
"""`query` for what a user asks, `document` for what is stored (the service's default)."""

OutputType = Literal["dense", "sparse", "dense&sparse"]
"""DashScope's `output_type`: `dense&sparse` costs the same as one kind (reference docs, §3.4)."""

TEXT_TYPES: tuple[TextType, ...] = ("query", "document")
OUTPUT_TYPES: tuple[OutputType, ...] = ("dense", "sparse", "dense&sparse")


@dataclass(frozen=True, slots=True)
class SparseVector:
    """A lexical (keyword-weight) vector: parallel `indices`, `values` and, when the service sent them, `tokens`.

    Indices are sorted and unique. The service can repeat an index within one vector (two surface tokens that map to
    one vocabulary id); `from_entries` merges repeats by *summing* their values, which keeps every dot product with
    this vector exactly what it was before the merge, and keeps the first token seen for that index.
    """

    indices: tuple[int, ...]
    values: tuple[float, ...]
    tokens: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.indices) != len(self.values):
            raise ValueError("SparseVector needs as many values as indices")
        if self.tokens is not None and len(self.tokens) != len(self.indices):
            raise ValueError("SparseVector needs as many tokens as indices")

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, object]]) -> SparseVector:
        """Build from the wire form `[{"index": int, "value": float, "token": str}, ...]`."""
        merged: dict[int, float] = {}
        tokens: dict[int, str] = {}
        has_tokens = True
        for entry in entries:
            index = entry["index"]
            value = entry["value"]
            if not isinstance(index, int) or isinstance(index, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"sparse entry {entry!r} needs an integer index and a numeric value")
            merged[index] = merged.get(index, 0.0) + float(value)
            token = entry.get("token")
            if isinstance(token, str):
                tokens.setdefault(index, token)
            else:
                has_tokens = False
        order = sorted(merged)
        return cls(
            indices=tuple(order),
            values=tuple(merged[i] for i in order),
            tokens=tuple(tokens[i] for i in order) if has_tokens and order else None,
        )

    def to_dict(self) -> dict[int, float]:
        """`{index: value}`, the form Milvus and LlamaIndex sparse embeddings use."""
        return dict(zip(self.indices, self.values, strict=True))

    def __len__(self) -> int:
        return len(self.indices)


@dataclass(frozen=True, slots=True)
class Usage:
    """Billable usage summed over every request of one call.

    Text endpoints report only `total_tokens`; the multimodal fields stay 0 for text.
    """

    total_tokens: int = 0
    input_tokens: int = 0
    image_tokens: int = 0
    image_count: int = 0
    duration: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            total_tokens=self.total_tokens + other.total_tokens,
            input_tokens=self.input_tokens + other.input_tokens,
            image_tokens=self.image_tokens + other.image_tokens,
            image_count=self.image_count + other.image_count,
            duration=self.duration + other.duration,
        )


@dataclass(frozen=True, slots=True, repr=False)
class EmbeddingResult:
    """Vectors for every input, in input order, plus what the call cost.

    `embeddings[i]` (dense) and `sparse[i]` belong to input `i`. A list is empty when its kind was not requested
    (`output_type="sparse"` leaves `embeddings` empty; `"dense"` leaves `sparse` empty); it is never padded with None.
    """

    model: str
    embeddings: list[list[float]] = field(default_factory=list)
    sparse: list[SparseVector] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    dimension: int | None = None
    request_ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return max(len(self.embeddings), len(self.sparse))

    def __repr__(self) -> str:
        # A summary, not millions of floats: printing a result must stay cheap (asyncio even repr()s a finished
        # task's result when asyncio.run checks its SIGINT handler on Python 3.11).
        dense = f"{len(self.embeddings)}×{self.dimension}" if self.embeddings else "none"
        return (
            f"EmbeddingResult(model={self.model!r}, dense={dense}, sparse={len(self.sparse)}, "
            f"usage={self.usage!r}, requests={len(self.request_ids)})"
        )


@dataclass(frozen=True, slots=True, repr=False)
class PartialResult:
    """What a call that failed did embed: every request that completed is kept, so nothing paid for is lost.

    `result` holds the vectors of the inputs at `indices` (ascending), in that order, with their usage and request
    ids. Embed the inputs at `failed_indices` again (only those: no succeeded batch is sent twice) and `complete`
    puts both together in input order:

    ```python
    try:
        result = embedder.embed(texts)
    except DashScopeError as error:
        if error.partial is None:
            raise
        rest = embedder.embed([texts[i] for i in error.partial.failed_indices])
        result = error.partial.complete(rest)
    ```
    """

    total: int
    """How many inputs the call had."""
    indices: tuple[int, ...]
    result: EmbeddingResult

    @property
    def failed_indices(self) -> tuple[int, ...]:
        """The inputs without a vector: those of the failed requests and of the requests never started."""
        have = set(self.indices)
        return tuple(i for i in range(self.total) if i not in have)

    def complete(self, rest: EmbeddingResult) -> EmbeddingResult:
        """The whole call's result: these vectors plus `rest`, the result for the inputs at `failed_indices`."""
        missing = self.failed_indices
        if len(rest) != len(missing):
            raise ValueError(f"rest has {len(rest)} results for {len(missing)} failed inputs")
        ours = self.result
        return EmbeddingResult(
            model=ours.model,
            embeddings=_interleave(self.indices, ours.embeddings, missing, rest.embeddings),
            sparse=_interleave(self.indices, ours.sparse, missing, rest.sparse),
            usage=ours.usage + rest.usage,
            dimension=ours.dimension if ours.dimension is not None else rest.dimension,
            request_ids=[*ours.request_ids, *rest.request_ids],
        )

    def __repr__(self) -> str:
        return f"PartialResult(total={self.total}, embedded={len(self.indices)}, result={self.result!r})"


def _interleave(first: Sequence[int], a: Sequence[T], second: Sequence[int], b: Sequence[T]) -> list[T]:
    """`a` (at positions `first`) and `b` (at `second`) as one list in position order; empty if neither has any."""
    if not a and not b:
        return []
    if len(a) != len(first) or len(b) != len(second):
        raise ValueError("both results must hold the same kinds of vectors (dense, sparse) for every input")
    return [
        value for _, value in sorted([*zip(first, a, strict=True), *zip(second, b, strict=True)], key=itemgetter(0))
    ]
