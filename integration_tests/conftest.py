"""Integration tests run over real sockets: against a served emulator always, and the real API with `--live`.

`backend` yields (base_url, api_key, emulator-or-None). Exact-vector assertions apply only to the emulator, the
service's vectors are not known in advance; structure, order and error handling are asserted on both. The real-API
case is marked `live` and skipped unless pytest runs with `--live` (and DASHSCOPE_API_KEY set): a key in the
environment alone never makes a test run spend tokens. See integration_tests/README.md.
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


LIVE_SKIP = "live: talks to the real DashScope API and spends tokens; run with --live and DASHSCOPE_API_KEY set"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--live",
        action="store_true",
        default=False,
        help="also run the tests marked `live` against the real DashScope API (needs DASHSCOPE_API_KEY; costs tokens)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    live = [item for item in items if item.get_closest_marker("live") is not None]
    if not config.getoption("--live"):
        for item in live:
            item.add_marker(pytest.mark.skip(reason=LIVE_SKIP))
    elif live and not os.environ.get("DASHSCOPE_API_KEY"):
        raise pytest.UsageError("--live needs DASHSCOPE_API_KEY (a key of the region the tests should use)")


@pytest.fixture(scope="session")
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator() as server:
        yield server


@pytest.fixture
def emulator(served: ServedEmulator) -> Emulator:
    served.emulator.reset()
    return served.emulator


@pytest.fixture(params=["emulator", pytest.param("real", marks=pytest.mark.live)])
def backend(request: pytest.FixtureRequest, served: ServedEmulator) -> Backend:
    if request.param == "real":
        return Backend("real", None, os.environ["DASHSCOPE_API_KEY"], None)
    served.emulator.reset()
    return Backend("emulator", served.base_url, "sk-integration", served.emulator)
