"""Connection settings that point an embedder or adapter at an in-process emulator."""

from __future__ import annotations

from typing import Any

import httpx

from dashscope_embeddings.emulator import Emulator

BASE_URL = "http://127.0.0.1/api/v1"
KEY = "sk-test-key-0123456789"


def connection(emu: Emulator, **overrides: Any) -> dict[str, Any]:
    return {
        "api_key": KEY,
        "base_url": BASE_URL,
        "http_client": httpx.Client(transport=emu.transport()),
        "http_async_client": httpx.AsyncClient(transport=emu.async_transport()),
        **overrides,
    }
