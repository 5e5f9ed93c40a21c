"""The multimodal endpoint: `POST /api/v1/services/embeddings/multimodal-embedding/multimodal-embedding`.

Request (seed spec §2.7, api-facts §4): `{"model", "input": {"contents": [{"text"} | {"image"} | {"video"} | several
keys in one object | a bare string]}, "parameters": {"dimension", "enable_fusion", "res_level", "max_video_frames",
"fps", "instruct", "output_type"}}`; checks in `multimodal_validation`.

Answer shape (seed spec §2.8, api-facts §4):
`{"output": {"embeddings": [{"index": i, "embedding": [...], "type": "text"|"image"|"video"|"vl"|"fusion"|"fused"}]},
"usage": {...}, "request_id": "..."}`, `usage` in the model family's shape (`multimodal_usage`). `index` is the
position of the item in `contents` (0 for a request fused into one vector), so a client must place vectors by it:
the `missing_rate` and `shuffle` faults remove or reorder entries of `embeddings` as on the text endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from .endpoint import Answer, Context, ErrorStyle
from .multimodal_usage import usage_body
from .multimodal_validation import MultimodalJob, validate_multimodal
from .multimodal_vectors import MultimodalEncoder
from .vectors import DenseEncoder, Vector

__all__ = ["MULTIMODAL_EMBEDDING_PATH", "MultimodalEmbeddingEndpoint", "job_vectors"]

MULTIMODAL_EMBEDDING_PATH: Final = "/api/v1/services/embeddings/multimodal-embedding/multimodal-embedding"


def job_vectors(job: MultimodalJob, dense: DenseEncoder) -> list[Vector]:
    """The vectors of a valid request, one per output in `index` order (the server and the oracle share this)."""
    return MultimodalEncoder(dense).encode(
        [output.parts for output in job.outputs],
        model=job.spec.name,
        full_dimension=job.full_dimension,
        dimension=job.parameters.dimension,
        instruct=job.parameters.instruct,
    )


class MultimodalEmbeddingEndpoint:
    path: str = MULTIMODAL_EMBEDDING_PATH
    style: ErrorStyle = "native"

    def respond(self, payload: Any, headers: Mapping[str, str], ctx: Context) -> Answer:
        job = validate_multimodal(payload, headers, ctx.models, ctx.count_tokens)
        ctx.admit(job.billing.total_tokens)
        vectors = job_vectors(job, ctx.dense)
        items = [
            {"index": i, "embedding": orjson.Fragment(vectors[i].json), "type": job.outputs[i].type}
            for i in ctx.order(len(job.outputs))
        ]
        body = orjson.dumps(
            {
                "output": {"embeddings": items},
                "usage": usage_body(job.spec, job.billing),
                "request_id": ctx.request_id,
            }
        )
        return Answer(body, job.billing.total_tokens)
