"""Which way to embed a corpus: time and cost of each, computed from the catalog and the account's limits.

One million texts of 50 tokens on text-embedding-v4 in Singapore, for an account allowed 6,000 requests and
1,000,000 tokens a minute (read yours in the Model Studio console), then the same on text-embedding-v2 in Beijing,
which can also run as an async task.
"""

from dashscope_embeddings.bulk import Way, estimate


def show(ways: list[Way]) -> None:
    for way in ways:
        cost = f"{way.cost:,.2f} {way.currency}" if way.cost is not None else "no price"
        if way.seconds is None:
            time = "unknown"
        else:
            time = f"{way.seconds / 60:,.0f} min" if way.seconds < 86_400 else "up to 24 h"
        print(f"  {way.way:<42} {way.model:<24} {cost:>10}  {time:>10}  {way.bound_by}")


print("1,000,000 texts × 50 tokens, text-embedding-v4, Singapore:")
show(estimate(1_000_000, 50_000_000, model="text-embedding-v4", region="singapore", rpm=6_000, tpm=1_000_000))
print("The same account's limits, with 4 Ray actors:")
show(estimate(1_000_000, 50_000_000, rpm=6_000, tpm=1_000_000, processes=4)[:1])
print("Without an RPM/TPM bound, 4 Ray actors at 64 requests each:")
show(estimate(1_000_000, 50_000_000, concurrency=64, processes=4)[:1])
print("text-embedding-v2, Beijing:")
show(estimate(1_000_000, 50_000_000, model="text-embedding-v2", region="beijing", rpm=6_000))
