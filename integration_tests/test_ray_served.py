"""Ray Data over a served emulator: actors in other processes reach the emulator (in this process) over its socket.

One local Ray (2 CPUs, no dashboard) serves the whole module. Each test uses its own API key, so each gets its own
rate-limit ledger (ledgers are per account) and the emulator's log can be told apart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from dashscope_embeddings.emulator import Emulator, Faults, ServedEmulator

ray = pytest.importorskip("ray", reason="Ray Data tests need ray: pip install 'dashscope-embeddings[ray]'")
pytest.importorskip("ray.data", reason="Ray Data tests need ray[data]: pip install 'dashscope-embeddings[ray]'")

from dashscope_embeddings.ray import DashScopeEmbedder, ledger_name  # noqa: E402

V4 = "text-embedding-v4"
RPM = 600
"""The emulator's limit in the rate-limit tests: 10 requests/s, a bucket of 10."""


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator(Emulator()) as server:
        yield server


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="error")
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture
def emulator(served: ServedEmulator, local_ray: None) -> Emulator:
    served.emulator.faults = Faults()
    served.emulator.reset()
    return served.emulator


def embed(served: ServedEmulator, rows: list[dict[str, Any]], *, actors: int, **kwargs: Any) -> list[dict[str, Any]]:
    settings = {"base_url": served.base_url, "max_concurrency": 4, **kwargs}
    ds = ray.data.from_items(rows, override_num_blocks=4).map_batches(
        DashScopeEmbedder,
        fn_constructor_kwargs=settings,
        compute=ray.data.ActorPoolStrategy(size=actors),
        batch_size=20,
        num_cpus=0.5,
    )
    result: list[dict[str, Any]] = ds.take_all()
    return result


def test_exact_vectors_in_input_order_over_several_blocks(served: ServedEmulator, emulator: Emulator) -> None:
    rows = [{"id": i, "text": f"row number {i} of the ray dataset"} for i in range(80)]
    out = embed(served, rows, actors=2, api_key="sk-ray-exact", dimension=256, text_type="query")
    assert [row["id"] for row in out] == list(range(80))
    assert [row["text"] for row in out] == [row["text"] for row in rows]
    for row in out:
        vector = row["embedding"]
        assert (vector.dtype, vector.shape) == (np.float32, (256,))
        expected = emulator.expected_embedding(row["text"], model=V4, dimension=256, text_type="query")
        assert vector.tolist() == np.asarray(expected, dtype=np.float32).tolist()
    assert emulator.stats.requests == 8  # 4 blocks of one batch of 20 rows: 2 requests each


def _run_at_the_limit(served: ServedEmulator, emulator: Emulator, key: str, **kwargs: Any) -> tuple[int, int, float]:
    emulator.faults = Faults(rpm=RPM)
    emulator.reset()
    rows = [{"id": i, "text": f"paced row {i}"} for i in range(240)]  # 4 blocks × 3 batches × 2 requests
    started = time.monotonic()
    out = embed(served, rows, actors=3, api_key=key, dimension=64, max_concurrency=8, **kwargs)
    elapsed = time.monotonic() - started
    assert [row["id"] for row in out] == list(range(240))
    assert (
        out[123]["embedding"].tolist()
        == np.asarray(emulator.expected_embedding("paced row 123", model=V4, dimension=64), dtype=np.float32).tolist()
    )
    return emulator.stats.requests, emulator.stats.throttled, elapsed


def test_a_shared_limit_gives_zero_429s_where_unshared_actors_are_throttled(
    served: ServedEmulator, emulator: Emulator
) -> None:
    requests, throttled, _ = _run_at_the_limit(served, emulator, "sk-ray-unpaced")
    assert throttled > 0  # 3 actors × 8 requests in flight outrun a bucket of 10
    assert requests == 24 + throttled

    requests, throttled, elapsed = _run_at_the_limit(served, emulator, "sk-ray-paced", rpm=RPM)
    assert (requests, throttled) == (24, 0)
    assert elapsed >= 2.3  # 24 requests, 100 ms apart, across all three actors

    name = ledger_name(served.base_url, None, V4, _secret("sk-ray-paced"))
    stats = ray.get(ray.get_actor(name, namespace="dashscope-embeddings").stats.remote())
    assert stats["leases"] <= 16  # leases of 3 slots (a quarter second at 10/s), not one round trip per request


def test_errors_name_the_rows(served: ServedEmulator, emulator: Emulator) -> None:
    rows = [{"id": 1000 + i, "text": "" if i == 7 else f"text {i}"} for i in range(20)]
    with pytest.raises(Exception) as info:  # noqa: PT011 - Ray wraps the actor's error in its own class
        embed(served, rows, actors=1, api_key="sk-ray-errors", id_column="id")
    message = str(info.value)
    assert "1 of 20 rows got no embedding (column 'text'; id 1007): InputError: texts[7] is empty" in message


def _secret(key: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(key)
