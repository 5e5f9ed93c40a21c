"""Embed a Ray dataset's text column with 2 actors that share one account's rate limit.

Each actor holds one TextEmbedder (one connection pool) and sends up to `max_concurrency` requests at a time; with
`rpm` set, all of them lease request slots from one ledger actor, so the account sees at most `rpm` requests a
minute however many actors run. The key and endpoint come from DASHSCOPE_API_KEY / DASHSCOPE_HTTP_BASE_URL in the
workers' environment (a local Ray inherits the driver's), so the key is not pickled into the job.
"""

import numpy as np
import ray

from dashscope_embeddings.ray import DashScopeEmbedder

ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="error")
context = ray.data.DataContext.get_current()
context.enable_progress_bars = False
context.execution_options.preserve_order = True  # rows come back in input order

reviews = [
    f"review {i}: the battery lasts {i % 7 + 1} days and the screen is {'bright' if i % 2 else 'dim'}"
    for i in range(200)
]
ds = ray.data.from_items([{"id": i, "text": text} for i, text in enumerate(reviews)])

embedded = ds.map_batches(
    DashScopeEmbedder,
    fn_constructor_kwargs={
        "model": "text-embedding-v4",
        "dimension": 256,
        "text_type": "document",
        "id_column": "id",  # errors name the failing rows by id
        "max_concurrency": 4,  # requests in flight per actor
        "rpm": 1200,  # the account's limit, shared by both actors
    },
    compute=ray.data.ActorPoolStrategy(size=2),  # actors (`concurrency=2` before Ray 2.51)
    batch_size=50,  # rows per call: 5 requests of 10 texts
    num_cpus=0.25,  # the actors wait on the network, not the CPU
)

rows = embedded.take_all()
matrix = np.stack([row["embedding"] for row in rows])
print(f"{matrix.shape[0]} rows embedded: {matrix.shape} {matrix.dtype}")
print(f"row 0: {rows[0]['text']!r} -> [{', '.join(f'{x:.4f}' for x in matrix[0, :4])}, ...]")
print(f"cosine(row 0, row 14) = {float(matrix[0] @ matrix[14]):.4f}")  # same battery life, same screen

ray.shutdown()
