"""How long a corpus takes and what it costs, each way it can be embedded, from the catalog and the account's limits.

Time for the interactive endpoint is the slowest of three rates (docs/bulk.md): concurrency over latency, the
account's RPM and TPM, and client CPU (about 400 requests per second per process at 1024 dimensions, measured in
docs/performance.md). More processes or machines (Ray) raise only the last. Batch jobs have no published speed:
the service promises a completion window, not a rate, so their time is that window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..catalog import MODELS, get_model

__all__ = ["CPU_REQUESTS_PER_SECOND", "Way", "estimate"]

CPU_REQUESTS_PER_SECOND = 400.0
"""Requests one client process handles per second, by CPU alone (1024 dimensions; docs/performance.md, P3)."""
BATCH_API_WINDOW = 24 * 3600.0
"""The Batch API's completion window (`completion_window="24h"`, api-facts §5)."""
TASK_LINES = 100_000
"""Lines per text-embedding-async-v* task; at most 3 tasks run at once per account (api-facts §3)."""


@dataclass(frozen=True, slots=True)
class Way:
    """One way to embed the corpus: its model, estimated cost and time, and what bounds the time."""

    way: str
    model: str
    region: str
    cost: float | None
    """In `currency`; None when the catalog has no price for the model in the region."""
    currency: str
    seconds: float | None
    """A lower bound for the interactive ways; the service's promised maximum for batch jobs."""
    bound_by: str


def estimate(
    texts: int,
    tokens: int,
    *,
    model: str = "text-embedding-v4",
    region: str = "singapore",
    rpm: int | None = None,
    tpm: int | None = None,
    concurrency: int = 16,
    latency: float = 0.1,
    processes: int = 1,
) -> list[Way]:
    """The ways to embed `texts` texts of `tokens` tokens in total with `model` (or its async twin).

    `rpm` / `tpm`: the account's limits for the model (the console shows them; None: not a bound). `latency`:
    seconds per request (100–300 ms is typical). `processes`: client processes or Ray actors, each running
    `concurrency` requests.
    """
    if texts < 1 or tokens < 0:
        raise ValueError("texts must be >= 1 and tokens >= 0")
    spec = get_model(model, "text")
    requests = math.ceil(texts / spec.max_batch)
    rates = {
        f"concurrency ({processes * concurrency} in flight at {latency * 1000:.0f} ms)": processes
        * concurrency
        / latency,
        f"client CPU ({processes} process{'es' if processes > 1 else ''})": processes * CPU_REQUESTS_PER_SECOND,
    }
    if rpm:
        rates[f"the account's {rpm:,} RPM"] = rpm / 60
    if tpm and tokens:
        rates[f"the account's {tpm:,} TPM"] = tpm / 60 / (tokens / requests)
    bound, rate = min(rates.items(), key=lambda item: item[1])
    way = "interactive (TextEmbedder, `embed` CLI)" if processes == 1 else f"interactive on {processes} Ray actors"
    ways = [_way(way, model, region, tokens, requests / rate, bound, batch_api=False)]
    batch_price = spec.price_in(region, batch_api=True)
    if batch_price is not None:
        ways.append(
            _way("Batch API (`job batch`)", model, region, tokens, BATCH_API_WINDOW, "the 24 h completion window", True)
        )
    twin = model.replace("text-embedding-", "text-embedding-async-")
    if twin in MODELS:  # the same vectors as a task (v1, v2 only), at the Beijing price
        tasks = math.ceil(texts / TASK_LINES)
        way = f"async task (`job submit`, {tasks} task{'s' if tasks > 1 else ''})"
        ways.append(_way(way, twin, "beijing", tokens, None, "no published speed; 3 tasks run at once", False))
    return ways


def _way(way: str, model: str, region: str, tokens: int, seconds: float | None, bound: str, batch_api: bool) -> Way:
    price = get_model(model).price_in(region, batch_api=batch_api)
    cost = None if price is None else tokens / 1e6 * price.per_million
    return Way(way, model, region, cost, price.currency if price else "", seconds, bound)
