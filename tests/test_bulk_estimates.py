"""`bulk.estimate`: time and cost of each way to embed a corpus, from the catalog's prices and the account's limits."""

from __future__ import annotations

import pytest

from dashscope_embeddings.bulk import Way, estimate


def test_the_slowest_limit_sets_the_interactive_time_and_the_batch_api_costs_half() -> None:
    # 1M texts of 50 tokens on v4: 100,000 requests of 500 tokens. Rates: 16 / 0.1 s = 160/s, CPU 400/s,
    # 6,000 RPM = 100/s, 1M TPM / 500 = 33.3/s: the TPM bounds it, 3,000 s.
    interactive, batch = estimate(1_000_000, 50_000_000, rpm=6_000, tpm=1_000_000)
    assert interactive == Way(
        "interactive (TextEmbedder, `embed` CLI)",
        "text-embedding-v4",
        "singapore",
        pytest.approx(3.50),
        "USD",
        pytest.approx(3_000.0),
        "the account's 1,000,000 TPM",
    )
    assert (batch.model, batch.cost, batch.currency, batch.seconds) == (
        "text-embedding-v4",
        pytest.approx(1.75),
        "USD",
        24 * 3600.0,
    )


@pytest.mark.parametrize(
    ("kwargs", "seconds", "bound"),
    [
        ({}, 100_000 / 160, "concurrency (16 in flight at 100 ms)"),
        ({"rpm": 1_200}, 100_000 / 20, "the account's 1,200 RPM"),
        ({"concurrency": 64, "latency": 0.05}, 100_000 / 400, "client CPU (1 process)"),
        ({"concurrency": 64, "latency": 0.05, "processes": 4}, 100_000 / 1_600, "client CPU (4 processes)"),
    ],
)
def test_bounds(kwargs: dict[str, float], seconds: float, bound: str) -> None:
    way = estimate(1_000_000, 50_000_000, **kwargs)[0]  # type: ignore[arg-type]
    assert (way.seconds, way.bound_by) == (pytest.approx(seconds), bound)


def test_v2_can_also_run_as_an_async_task_at_the_beijing_price() -> None:
    ways = estimate(250_000, 10_000_000, model="text-embedding-v2", region="beijing")
    assert [(w.model, w.region, w.currency) for w in ways] == [
        ("text-embedding-v2", "beijing", "CNY"),
        ("text-embedding-v2", "beijing", "CNY"),
        ("text-embedding-async-v2", "beijing", "CNY"),
    ]
    assert ways[2].way == "async task (`job submit`, 3 tasks)"
    assert ways[2].cost == pytest.approx(10 * 0.7)
    assert ways[2].seconds is None


def test_no_price_in_a_region_is_none_not_zero() -> None:
    assert estimate(10, 100, model="text-embedding-v2", region="singapore")[0].cost is None


def test_nonsense_is_refused() -> None:
    with pytest.raises(ValueError, match="texts must be >= 1"):
        estimate(0, 0)
