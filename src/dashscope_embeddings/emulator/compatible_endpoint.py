"""The OpenAI-compatible endpoint: `POST /compatible-mode/v1/embeddings`.

Answer shape (api-facts §4): `{"data": [{"embedding", "index", "object": "embedding"}], "model", "object": "list",
"usage": {"prompt_tokens", "total_tokens"}, "id"}`. Vectors are the native `document` vectors (compatible mode has no
text_type). `encoding_format="base64"`, which openai-python sends by default, returns each vector as base64 of its
little-endian float32 bytes: the form openai-python decodes (`np.frombuffer(base64.b64decode(s), dtype="float32")`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from .endpoint import Answer, Context, ErrorStyle
from .validation import TextJob, validate_compatible
from .vectors import DenseEncoder, Variant

__all__ = ["COMPATIBLE_EMBEDDINGS_PATH", "CompatibleEmbeddingsEndpoint", "compatible_answer"]

COMPATIBLE_EMBEDDINGS_PATH: Final = "/compatible-mode/v1/embeddings"


class CompatibleEmbeddingsEndpoint:
    path: str = COMPATIBLE_EMBEDDINGS_PATH
    style: ErrorStyle = "compatible"

    def respond(self, payload: Any, headers: Mapping[str, str], ctx: Context) -> Answer:
        job = validate_compatible(payload, headers, ctx.models, ctx.count_tokens)
        ctx.admit(job.total_tokens)
        body = compatible_answer(job, ctx.dense, ctx.request_id, ctx.order(len(job.texts)))
        return Answer(body, job.total_tokens)


def compatible_answer(job: TextJob, dense: DenseEncoder, request_id: str, order: Sequence[int]) -> bytes:
    """The answer body for a valid request, listing the texts at `order` (also each Batch API output line's body)."""
    vectors = dense.encode(job.texts, Variant(job.spec.name, job.dimension))
    data: list[dict[str, object]] = []
    for i in order:
        vector = vectors[i]
        embedding: object = (
            base64.b64encode(vector.values.astype("<f4", copy=False).tobytes()).decode("ascii")
            if job.encoding == "base64"
            else orjson.Fragment(vector.json)
        )
        data.append({"embedding": embedding, "index": i, "object": "embedding"})
    return orjson.dumps(
        {
            "data": data,
            "model": job.spec.name,
            "object": "list",
            "usage": {"prompt_tokens": job.total_tokens, "total_tokens": job.total_tokens},
            "id": request_id,
        }
    )
