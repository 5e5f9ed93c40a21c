"""What a benchmarked tool is: a name, the distribution it comes from, and a factory for its embed call.

A factory receives a `Target` (where the emulator is and what to ask for) and returns the call the worker times:
`texts -> Outcome` for a sync tool, `texts -> Awaitable[Outcome]` for an async one (built and awaited on the loop
that runs the timed work). Factories import their library themselves, so a worker imports only the tool it runs.
A factory raises `Unavailable` when the API it needs does not exist in the installed version.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "AsyncEmbed",
    "Outcome",
    "SyncEmbed",
    "Target",
    "Tool",
    "Unavailable",
    "count_vectors",
]


class Unavailable(Exception):
    """The tool's API is missing from the installed package (reported as "not available", not as a failure)."""


@dataclass(frozen=True, slots=True)
class Target:
    native_url: str
    """`http://host:port/api/v1`."""
    compatible_url: str
    """`http://host:port/compatible-mode/v1`."""
    model: str
    dimension: int
    api_key: str = "bench"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came back: `vectors` of the right width, `failed` texts without one (None, empty, wrong width)."""

    vectors: int
    failed: int = 0

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(self.vectors + other.vectors, self.failed + other.failed)


SyncEmbed: TypeAlias = Callable[[Iterable[str]], Outcome]
AsyncEmbed: TypeAlias = Callable[[Iterable[str]], Awaitable[Outcome]]
Mode = Literal["sync", "async"]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    distribution: str
    """The PyPI distribution whose version the report names."""
    mode: Mode
    build: Callable[[Target], SyncEmbed] | Callable[[Target], AsyncEmbed]
    streaming: bool = False
    """Takes a lazy iterator of texts (the others get a list)."""


def count_vectors(vectors: Sequence[Sequence[float] | None], dimension: int) -> Outcome:
    good = sum(1 for vector in vectors if vector is not None and len(vector) == dimension)
    return Outcome(vectors=good, failed=len(vectors) - good)
