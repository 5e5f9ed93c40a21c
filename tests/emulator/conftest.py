"""Fixtures for the emulator's own tests: plain httpx against the emulator, never the client package."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from dashscope_embeddings.emulator import Emulator

NATIVE = "/api/v1/services/embeddings/text-embedding/text-embedding"
COMPATIBLE = "/compatible-mode/v1/embeddings"
AUTH = {"Authorization": "Bearer sk-test"}


def native_body(texts: Any, model: str = "text-embedding-v4", **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": {"texts": texts}}
    if parameters:
        body["parameters"] = parameters
    return body


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emu.transport(), base_url="http://emulator", headers=AUTH) as c:
        yield c


@pytest.fixture
async def aclient(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=emu.async_transport(), base_url="http://emulator", headers=AUTH) as c:
        yield c
