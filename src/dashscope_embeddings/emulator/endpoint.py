"""What an endpoint is: a path, an error shape, and a function from a parsed body to a 200 body.

The core (`core.Emulator`) does everything common to every endpoint (auth, request log, network faults, rate limits,
error rendering); an endpoint only validates its body and builds its answer: `text_endpoint`,
`compatible_endpoint` and `multimodal_endpoint` each add one `Endpoint`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .errors import ServiceError
from .faults import FaultEngine, Rolls, shuffled_order
from .models import ModelRegistry
from .vectors import DenseEncoder

__all__ = ["Answer", "Context", "Endpoint", "ErrorStyle"]

ErrorStyle = Literal["native", "compatible"]


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer: the JSON body and the tokens it bills."""

    body: bytes
    tokens: int


@dataclass(frozen=True, slots=True)
class Context:
    """What an endpoint may use while answering one request."""

    request_id: str
    rolls: Rolls
    models: ModelRegistry
    dense: DenseEncoder
    count_tokens: Callable[[str], int]
    faults: FaultEngine

    def admit(self, tokens: int) -> None:
        """Call once the request is valid: applies the TPM limit, then the injected 500."""
        self.faults.admit_tokens(tokens)
        if self.rolls.error:
            raise ServiceError.internal()

    def order(self, n: int) -> list[int]:
        """Which of `n` results to send, in which order: all of them in input order, unless a fault removes one
        (`missing_rate`) or shuffles them (`shuffle`)."""
        order = list(range(n))
        if self.rolls.missing and n:
            del order[random.Random(self.rolls.order_seed).randrange(n)]
        if self.faults.faults.shuffle:
            order = [order[i] for i in shuffled_order(len(order), self.rolls.order_seed)]
        return order


class Endpoint(Protocol):
    """One POST endpoint."""

    path: str
    style: ErrorStyle

    def respond(self, payload: Any, headers: Mapping[str, str], ctx: Context) -> Answer:
        """Validate `payload` (parsed JSON) and answer it; raise `ServiceError` to refuse it."""
        ...
