"""Embed a corpus with the Batch API at half the real-time price: submit, resume by id, resend what failed.

Runs against the real service with DASHSCOPE_API_KEY (and your region), or against the emulator with
DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:8000/api/v1 (`dashscope-embeddings emulator`).
"""

from dashscope_embeddings import BatchJobs
from dashscope_embeddings.errors import JobError

texts = [
    "How do I reset my password?",
    "Where can I download my invoices?",
    "Can I change the billing currency?",
    "How long are my files kept?",
]

jobs = BatchJobs(model="text-embedding-v4", dimension=512)  # key from DASHSCOPE_API_KEY
batch = jobs.submit(texts, metadata={"corpus": "faq"})  # every limit is checked before the upload
print(f"submitted {batch.id}: {batch.status}")

# Later, possibly in another process: a batch is resumed by its id alone.
resumed = BatchJobs(model="text-embedding-v4", dimension=512)
try:
    result = resumed.fetch(batch.id, deadline=3600)  # waits; JobTimeoutError names the id if it runs out
except JobError as error:
    if error.partial is None:  # the whole batch failed: nothing to keep
        raise
    print(f"{len(error.failed_indices)} requests failed; sending them again")
    rest = resumed.embed([texts[i] for i in error.failed_indices])
    result = error.partial.complete(rest)

print(f"{len(result)} vectors of {result.dimension} dimensions, {result.usage.total_tokens} tokens")
price = jobs.spec.price_in("singapore", batch_api=True)
if price is not None:
    cost = result.usage.total_tokens * price.per_million / 1e6
    print(f"Batch API cost: {cost:.8f} {price.currency} ({price.per_million:g} per 1M tokens, half price)")
jobs.delete_files(resumed.status(batch.id))  # the input and output files count against your file storage
