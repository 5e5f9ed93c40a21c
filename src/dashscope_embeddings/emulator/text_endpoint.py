"""The native text endpoint: `POST /api/v1/services/embeddings/text-embedding/text-embedding`.

Answer shape (api-facts §4, the Java SDK test's wire body):
`{"output": {"embeddings": [{"sparse_embedding": [...], "embedding": [...], "text_index": i}]},
"usage": {"total_tokens": N}, "request_id": "..."}`. `embedding` is present only when dense output was asked for
(`output_type` dense, the default, or dense&sparse) and `sparse_embedding` only when sparse output was.
`status_code`, `code` and `message` are added by the Python SDK, not sent on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from .endpoint import Answer, Context, ErrorStyle
from .sparse import sparse_json
from .validation import validate_native
from .vectors import Variant

__all__ = ["TEXT_EMBEDDING_PATH", "TextEmbeddingEndpoint"]

TEXT_EMBEDDING_PATH: Final = "/api/v1/services/embeddings/text-embedding/text-embedding"


class TextEmbeddingEndpoint:
    path: str = TEXT_EMBEDDING_PATH
    style: ErrorStyle = "native"

    def respond(self, payload: Any, headers: Mapping[str, str], ctx: Context) -> Answer:
        job = validate_native(payload, headers, ctx.models, ctx.count_tokens)
        ctx.admit(job.total_tokens)
        dense = (
            ctx.dense.encode(job.texts, Variant(job.spec.name, job.dimension, job.text_type, job.instruct))
            if job.dense
            else []
        )
        items: list[dict[str, object]] = []
        for i in ctx.order(len(job.texts)):
            item: dict[str, object] = {}
            if job.sparse:
                item["sparse_embedding"] = orjson.Fragment(sparse_json(job.texts[i], job.text_type))
            if job.dense:
                item["embedding"] = orjson.Fragment(dense[i].json)
            item["text_index"] = i
            items.append(item)
        body = orjson.dumps(
            {
                "output": {"embeddings": items},
                "usage": {"total_tokens": job.total_tokens},
                "request_id": ctx.request_id,
            }
        )
        return Answer(body, job.total_tokens)
