"""Unit tests run offline and ignore the developer's DashScope settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

_SETTINGS = ("DASHSCOPE_API_KEY", "DASHSCOPE_HTTP_BASE_URL", "DASHSCOPE_API_REGION", "DASHSCOPE_WORKSPACE_ID")


@pytest.fixture(autouse=True)
def _no_dashscope_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _offline() -> Iterator[None]:
    """No network sockets in unit tests (asyncio's own socketpair is a unix socket and stays allowed)."""
    import pytest_socket

    pytest_socket.disable_socket(allow_unix_socket=True)
    yield
    pytest_socket.enable_socket()
