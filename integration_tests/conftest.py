"""Integration tests run over real sockets: against a served emulator always, and the real API when a key is set.

`backend` yields (base_url, api_key, emulator-or-None). Exact-vector assertions apply only to the emulator, the
service's vectors are not known in advance; structure, order and error handling are asserted on both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from dashscope_embeddings.emulator import Emulator, ServedEmulator


@dataclass
class Backend:
    name: str
    base_url: str | None
    api_key: str
    emulator: Emulator | None


@pytest.fixture(scope="session")
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator() as server:
        yield server


@pytest.fixture
def emulator(served: ServedEmulator) -> Emulator:
    served.emulator.reset()
    return served.emulator


def _backends() -> list[str]:
    return ["emulator", "real"] if os.environ.get("DASHSCOPE_API_KEY") else ["emulator"]


@pytest.fixture(params=_backends())
def backend(request: pytest.FixtureRequest, served: ServedEmulator) -> Backend:
    if request.param == "real":
        return Backend("real", None, os.environ["DASHSCOPE_API_KEY"], None)
    served.emulator.reset()
    return Backend("emulator", served.base_url, "sk-integration", served.emulator)
