"""When requests fail for good, the error keeps what succeeded: only the failed inputs are sent again.

Failures are forced with the bundled emulator's fault injection (a third of all requests answer 500, no retries),
so this runs the same anywhere; against the real service the code is the same, the failures are rarer.
"""

import httpx

from dashscope_embeddings import TextEmbedder
from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import DashScopeError

emulator = Emulator(faults=Faults(error_rate=0.33, seed=7))
embedder = TextEmbedder(
    "text-embedding-v4",
    dimension=256,
    api_key="sk-example",
    base_url="http://emulator.local/api/v1",
    allow_insecure_http=True,
    max_retries=0,
    http_client=httpx.Client(transport=emulator.transport()),
)
texts = [f"Support ticket {i}: the invoice total does not match the order" for i in range(95)]

try:
    result = embedder.embed(texts)
except DashScopeError as error:
    if error.partial is None:
        raise
    print(f"{type(error).__name__}: {len(error.partial.indices)} of {len(texts)} texts embedded")
    print(f"to send again: {len(error.failed_indices)} texts, starting at index {error.failed_indices[0]}")
    emulator.faults = Faults()  # the outage is over
    rest = embedder.embed([texts[i] for i in error.partial.failed_indices])
    result = error.partial.complete(rest)

print(f"{len(result)} vectors in input order, {result.usage.total_tokens} tokens, {len(result.request_ids)} requests")
assert result.embeddings == [emulator.expected_embedding(t, model="text-embedding-v4", dimension=256) for t in texts]
