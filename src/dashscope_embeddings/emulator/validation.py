"""Request checks for the text endpoints, in the order the service most plausibly applies them.

First the gateway (JSON, `model`, `input`), then model routing (exists, right endpoint, sync versus async), then the
model server (texts, parameters, lengths). Every check and its answer is listed in api-facts §2; where the reference
notes are silent the choice is explained next to the check.

Parameters the emulator does not know are ignored, as the service ignores them: the dashscope SDK forwards any
extra keyword into `parameters` (LlamaIndex's integration sends `{"kwargs": {...}}` there), and openai-python can
send `user`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from dashscope_embeddings.catalog import ModelSpec
from dashscope_embeddings.types import OUTPUT_TYPES, TEXT_TYPES

from .errors import ServiceError
from .models import ModelRegistry

__all__ = ["TextJob", "is_int", "model_and_input", "parse_json", "validate_compatible", "validate_native"]

ENCODINGS: Final = ("float", "base64")


@dataclass(frozen=True, slots=True)
class TextJob:
    """A valid text-embedding request, ready to compute."""

    spec: ModelSpec
    texts: list[str]
    tokens: list[int]
    dimension: int
    text_type: str = "document"
    instruct: str | None = None
    dense: bool = True
    sparse: bool = False
    encoding: str = "float"

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens)


def parse_json(body: bytes) -> Any:
    """The parsed body, or 400 `BadRequest.IllegalInput` (also for an empty body and invalid UTF-8)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ServiceError.illegal_json() from None


def is_int(value: object) -> bool:
    """A JSON integer (`True` is a bool in Python, not an integer here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def model_and_input(payload: object, input_key: str) -> tuple[str, object]:
    """The gateway's checks, shared by every endpoint: a JSON object with a string `model` and some input."""
    if not isinstance(payload, dict):
        raise ServiceError.body_invalid()
    model = payload.get("model")
    if model is None or model == "":
        raise ServiceError.empty_model()
    raw_input = payload.get(input_key)
    if raw_input is None:
        raise ServiceError.empty_input()
    if not isinstance(model, str):
        raise ServiceError.model_not_exist()
    return model, raw_input


def _texts(raw: object, spec: ModelSpec) -> list[str]:
    """`input.contents` as the model server sees it: a str (one text) or a list of str, at most `max_batch`."""
    if isinstance(raw, str):
        return [raw]
    if not isinstance(raw, list):
        raise ServiceError.not_strings()
    if not raw:
        # An empty list: the gateway's "input missing" (the notes quote nothing for this case).
        raise ServiceError.empty_input()
    if len(raw) > spec.max_batch:
        raise ServiceError.batch_too_large(spec.max_batch)
    if not all(isinstance(t, str) for t in raw):
        # Token-id arrays ([1, 2] or [[1, 2]]) land here, as they do on the real service.
        raise ServiceError.not_strings()
    return raw


def _lengths(texts: list[str], spec: ModelSpec, count: Callable[[str], int]) -> list[int]:
    tokens = [count(t) for t in texts]
    for n in tokens:
        if not 1 <= n <= spec.max_tokens:
            raise ServiceError.input_length(spec.max_tokens)
    return tokens


def _dimension(spec: ModelSpec, raw: object, location: str) -> int:
    if raw is None:
        return ModelRegistry.dimension(spec, None)
    if not is_int(raw):
        # Strict: only JSON integers. The service's pydantic layer might coerce "1024"; the docs never send one
        # except in a compatible-mode curl that misspells the field as `dimension`, which is ignored anyway.
        raise ServiceError.not_an_integer(location)
    assert isinstance(raw, int)
    return ModelRegistry.dimension(spec, raw)


def _route(spec: ModelSpec, headers: Mapping[str, str]) -> None:
    asynchronous = headers.get("x-dashscope-async", "").strip().lower() == "enable"
    if spec.kind == "multimodal":
        raise ServiceError.wrong_endpoint()
    if spec.kind == "batch":
        # Tasks are submitted on the native path (tasks.TaskSubmitEndpoint); anywhere else an async model is
        # refused as it is without the header, and the header alone does not make a call asynchronous.
        raise ServiceError.async_not_supported() if asynchronous else ServiceError.sync_not_supported()
    if asynchronous:
        raise ServiceError.async_not_supported()


def validate_native(
    payload: object, headers: Mapping[str, str], models: ModelRegistry, count: Callable[[str], int]
) -> TextJob:
    """`POST /api/v1/services/embeddings/text-embedding/text-embedding` (api-facts §4).

    `headers` has lower-case names.
    """
    name, raw_input = model_and_input(payload, "input")
    spec = models.resolve(name)
    _route(spec, headers)
    if not isinstance(raw_input, dict):
        raise ServiceError.body_invalid()
    raw_texts = raw_input.get("texts")
    if raw_texts is None:
        raise ServiceError.empty_input()
    texts = _texts(raw_texts, spec)

    assert isinstance(payload, dict)
    params = payload.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ServiceError.body_invalid()

    text_type = params.get("text_type")
    if text_type is None:
        text_type = "document"  # the service's default (SDK docstring: "document" (default))
    elif text_type not in TEXT_TYPES:
        raise ServiceError.not_one_of("parameters.text_type", TEXT_TYPES)

    output_type = params.get("output_type")
    if output_type is None:
        output_type = "dense"  # SDK docstring: "dense" (default)
    elif output_type not in OUTPUT_TYPES:
        raise ServiceError.not_one_of("parameters.output_type", OUTPUT_TYPES)
    wants_sparse = output_type in ("sparse", "dense&sparse")
    if wants_sparse and not spec.sparse:
        raise ServiceError.sparse_not_supported(spec.name)

    dimension = _dimension(spec, params.get("dimension"), "parameters.dimension")

    instruct = params.get("instruct")
    if instruct is not None:
        if not isinstance(instruct, str):
            raise ServiceError.not_a_string("parameters.instruct")
        if not spec.instruct:
            raise ServiceError.instruct_not_supported(spec.name)
        if text_type != "query":
            # Seed spec: an instruction applies to queries only (it describes the search task).
            raise ServiceError.instruct_needs_query()
        instruct = instruct or None  # an empty instruction instructs nothing

    return TextJob(
        spec=spec,
        texts=texts,
        tokens=_lengths(texts, spec, count),
        dimension=dimension,
        text_type=text_type,
        instruct=instruct,
        dense=output_type in ("dense", "dense&sparse"),
        sparse=wants_sparse,
    )


def validate_compatible(
    payload: object, headers: Mapping[str, str], models: ModelRegistry, count: Callable[[str], int]
) -> TextJob:
    """`POST /compatible-mode/v1/embeddings` (api-facts §4): `input` is a str or list of str, `dimensions` on
    models that take a dimension, `encoding_format` float or base64. No text_type/output_type/instruct here (seed
    spec §1.8), so vectors are the native `document` vectors."""
    name, raw_input = model_and_input(payload, "input")
    spec = models.resolve(name)
    if spec.kind == "multimodal":
        raise ServiceError.not_in_compatible_mode(name)
    _route(spec, headers)
    texts = _texts(raw_input, spec)

    assert isinstance(payload, dict)
    dimension = _dimension(spec, payload.get("dimensions"), "parameters.dimension")
    encoding = payload.get("encoding_format")
    if encoding is None:
        encoding = "float"
    elif encoding not in ENCODINGS:
        raise ServiceError.not_one_of("encoding_format", ENCODINGS)

    return TextJob(
        spec=spec,
        texts=texts,
        tokens=_lengths(texts, spec, count),
        dimension=dimension,
        encoding=encoding,
    )
