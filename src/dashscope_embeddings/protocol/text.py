"""The native text-embedding endpoint: request body in, checked and ordered vectors out.

Wire format (reference docs §2.5–2.6, api-facts §4):
request  `{"model", "input": {"texts": [...]}, "parameters": {"text_type", "dimension", "output_type", "instruct"}}`
response `{"output": {"embeddings": [{"text_index", "embedding", "sparse_embedding"}]}, "usage": {"total_tokens"},
"request_id"}`. The service does not promise that `embeddings` come back in input order, so every vector is placed by
its `text_index`, and an answer that does not account for every input exactly once is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ResponseValidationError
from ..types import OutputType, SparseVector, TextType, Usage
from .answers import BatchOutput, by_position, dense_vector, int_field, read_answer

EMPTY_SPARSE = SparseVector(indices=(), values=())

TEXT_EMBEDDING_PATH = "/services/embeddings/text-embedding/text-embedding"


@dataclass(frozen=True, slots=True)
class TextParameters:
    """The per-call settings after validation: exactly what goes under `parameters` (None = not sent)."""

    model: str
    text_type: TextType | None = None
    dimension: int | None = None
    output_type: OutputType = "dense"
    instruct: str | None = None

    @property
    def wants_dense(self) -> bool:
        return self.output_type != "sparse"

    @property
    def wants_sparse(self) -> bool:
        return self.output_type != "dense"


def build_text_body(params: TextParameters, texts: Sequence[str]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    if params.text_type is not None:
        parameters["text_type"] = params.text_type
    if params.dimension is not None:
        parameters["dimension"] = params.dimension
    if params.output_type != "dense":
        parameters["output_type"] = params.output_type
    if params.instruct is not None:
        parameters["instruct"] = params.instruct
    body: dict[str, Any] = {"model": params.model, "input": {"texts": list(texts)}}
    if parameters:
        body["parameters"] = parameters
    return body


def parse_text_body(
    raw: bytes,
    *,
    count: int,
    dimension: int | None,
    dense: bool,
    sparse: bool,
    request_id: str | None = None,
) -> BatchOutput:
    """Parse one answer for `count` texts. `dimension=None` (an uncatalogued model) only requires equal lengths.

    Raises the APIError a 200 body may carry, or ResponseValidationError for anything that could misalign results.
    """
    answer = read_answer(raw, count=count, request_id=request_id, noun="texts")
    vectors: list[list[float]] = [[]] * count if dense else []
    sparse_vectors: list[SparseVector] = [EMPTY_SPARSE] * count if sparse else []
    width = dimension
    for index, item in by_position(answer, key="text_index"):
        label = f"text_index {index}"
        if dense:
            vectors[index] = dense_vector(item, label=label, width=width, request_id=answer.request_id)
            width = len(vectors[index])
        if sparse:
            entries = item.get("sparse_embedding")
            if not isinstance(entries, list):
                raise ResponseValidationError(f"{label} has no sparse embedding", request_id=answer.request_id)
            try:
                sparse_vectors[index] = SparseVector.from_entries(entries)
            except (TypeError, KeyError, AttributeError) as exc:
                raise ResponseValidationError(
                    f"{label} has a malformed sparse embedding: {exc}", request_id=answer.request_id
                ) from None
    # Every slot is filled: `read_answer` checked the count and `by_position` that each index appears once.
    return BatchOutput(
        embeddings=vectors,
        sparse=sparse_vectors,
        usage=Usage(total_tokens=int_field(answer.usage, "total_tokens")),
        request_id=answer.request_id,
    )
