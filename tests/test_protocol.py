"""The sans-IO protocol: request bodies, response validation, error mapping."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashscope_embeddings.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ContentInspectionError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from dashscope_embeddings.protocol.errors import error_from_response, error_in_body
from dashscope_embeddings.protocol.text import TextParameters, build_text_body, parse_text_body
from dashscope_embeddings.types import SparseVector, Usage


def body(embeddings: list[dict[str, object]], tokens: int = 7, request_id: str = "rid") -> bytes:
    return json.dumps(
        {"output": {"embeddings": embeddings}, "usage": {"total_tokens": tokens}, "request_id": request_id}
    ).encode()


class TestBuildBody:
    def test_parameters_are_placed_under_parameters(self) -> None:
        params = TextParameters(
            model="text-embedding-v4", text_type="query", dimension=512, output_type="dense&sparse", instruct="Find"
        )
        assert build_text_body(params, ["a", "b"]) == {
            "model": "text-embedding-v4",
            "input": {"texts": ["a", "b"]},
            "parameters": {"text_type": "query", "dimension": 512, "output_type": "dense&sparse", "instruct": "Find"},
        }

    def test_defaults_send_no_parameters(self) -> None:
        assert build_text_body(TextParameters(model="text-embedding-v2"), ["a"]) == {
            "model": "text-embedding-v2",
            "input": {"texts": ["a"]},
        }


class TestParse:
    def test_orders_by_text_index_and_reads_usage(self) -> None:
        out = parse_text_body(
            body([{"text_index": 1, "embedding": [0.5, 0.5]}, {"text_index": 0, "embedding": [1.0, 0.0]}]),
            count=2,
            dimension=2,
            dense=True,
            sparse=False,
        )
        assert out.embeddings == [[1.0, 0.0], [0.5, 0.5]]
        assert out.usage == Usage(total_tokens=7)
        assert out.request_id == "rid"
        assert out.sparse == []

    def test_sparse_entries_become_sparse_vectors(self) -> None:
        raw = body(
            [
                {
                    "text_index": 0,
                    "embedding": [1.0],
                    "sparse_embedding": [
                        {"index": 9, "value": 0.5, "token": "b"},
                        {"index": 2, "value": 1.5, "token": "a"},
                    ],
                }
            ]
        )
        out = parse_text_body(raw, count=1, dimension=1, dense=True, sparse=True)
        assert out.sparse == [SparseVector(indices=(2, 9), values=(1.5, 0.5), tokens=("a", "b"))]

    def test_sparse_only_has_no_dense(self) -> None:
        raw = body([{"text_index": 0, "sparse_embedding": [{"index": 1, "value": 1.0, "token": "x"}]}])
        out = parse_text_body(raw, count=1, dimension=1024, dense=False, sparse=True)
        assert out.embeddings == []
        assert out.sparse[0].to_dict() == {1: 1.0}

    def test_whole_number_components_become_floats(self) -> None:
        out = parse_text_body(
            body([{"text_index": 0, "embedding": [0, 1]}]), count=1, dimension=2, dense=True, sparse=False
        )
        assert out.embeddings == [[0.0, 1.0]]
        assert all(type(x) is float for x in out.embeddings[0])

    @pytest.mark.parametrize(
        ("embeddings", "message"),
        [
            ([{"text_index": 0, "embedding": [1.0, 0.0]}], "1 embeddings for 2 texts"),
            ([{"text_index": 0, "embedding": [1.0, 0.0]}] * 2, "repeats text_index 0"),
            ([{"text_index": 0, "embedding": [1.0, 0.0]}, {"text_index": 2, "embedding": [1.0, 0.0]}], "text_index 2"),
            (
                [{"text_index": 0, "embedding": [1.0, 0.0]}, {"text_index": -1, "embedding": [1.0, 0.0]}],
                "text_index -1",
            ),
            ([{"text_index": 0, "embedding": [1.0, 0.0]}, {"embedding": [1.0, 0.0]}], "text_index None"),
            ([{"text_index": 0, "embedding": [1.0, 0.0]}, {"text_index": True, "embedding": [1.0, 0.0]}], "True"),
            ([{"text_index": 0, "embedding": [1.0, 0.0]}, {"text_index": 1, "embedding": [1.0]}], "1 dimensions"),
            ([{"text_index": 0, "embedding": [1.0, 0.0]}, {"text_index": 1}], "no dense embedding"),
            ([{"text_index": 0, "embedding": [1.0, 0.0]}, {"text_index": 1, "embedding": [1.0, "x"]}], "non-numeric"),
            ([{"text_index": 0, "embedding": [1.0, 0.0]}, {"text_index": 1, "embedding": [None, 0.0]}], "non-numeric"),
        ],
    )
    def test_inconsistent_answers_are_refused(self, embeddings: list[dict[str, object]], message: str) -> None:
        with pytest.raises(ResponseValidationError, match=message):
            parse_text_body(body(embeddings), count=2, dimension=2, dense=True, sparse=False)

    def test_wrong_dimension_against_the_request(self) -> None:
        with pytest.raises(ResponseValidationError, match="has 3 dimensions, expected 2"):
            parse_text_body(
                body([{"text_index": 0, "embedding": [1.0, 0.0, 0.0]}]), count=1, dimension=2, dense=True, sparse=False
            )

    @pytest.mark.parametrize(
        "raw",
        [
            b'{"output": {"embeddings": [{"text_index": 0, "embedding": [NaN]}]}}',
            b'{"output": {"embeddings": [{"text_index": 0, "embedding": [1e999]}]}}',
            b'{"output": {"embeddings": [{"text_index": 0, "embedding": [Infinity]}]}}',
            b'{"output": ',
            b"<html>502</html>",
        ],
    )
    def test_non_finite_numbers_and_broken_json_are_refused(self, raw: bytes) -> None:
        with pytest.raises(ResponseValidationError):
            parse_text_body(raw, count=1, dimension=1, dense=True, sparse=False, request_id="hdr")

    def test_missing_output_is_refused_with_request_id(self) -> None:
        with pytest.raises(ResponseValidationError, match=r"no output.embeddings list \(request_id=r9\)"):
            parse_text_body(b'{"request_id": "r9"}', count=1, dimension=1, dense=True, sparse=False)

    def test_business_error_inside_http_200_is_that_error(self) -> None:
        raw = b'{"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded", "request_id": "r1"}'
        with pytest.raises(RateLimitError) as info:
            parse_text_body(raw, count=1, dimension=1, dense=True, sparse=False)
        assert (info.value.code, info.value.request_id, info.value.status_code) == ("Throttling.RateQuota", "r1", 200)

    def test_empty_code_on_success_is_not_an_error(self) -> None:
        raw = b'{"code": "", "message": "", "output": {"embeddings": [{"text_index": 0, "embedding": [1.0]}]}}'
        assert parse_text_body(raw, count=1, dimension=1, dense=True, sparse=False).embeddings == [[1.0]]

    @given(st.integers(min_value=1, max_value=30), st.randoms(use_true_random=False))
    def test_any_response_order_reassembles_in_input_order(self, count: int, rnd: random.Random) -> None:
        items = [{"text_index": i, "embedding": [float(i), 1.0]} for i in range(count)]
        rnd.shuffle(items)
        out = parse_text_body(body(items), count=count, dimension=2, dense=True, sparse=False)
        assert out.embeddings == [[float(i), 1.0] for i in range(count)]


class TestErrors:
    @pytest.mark.parametrize(
        ("status", "payload", "cls", "code"),
        [
            (
                400,
                {"code": "InvalidParameter", "message": "<400> InternalError.Algo.InvalidParameter: x"},
                BadRequestError,
                "InvalidParameter",
            ),
            (
                401,
                {"code": "InvalidApiKey", "message": "Invalid API-key provided."},
                AuthenticationError,
                "InvalidApiKey",
            ),
            (
                403,
                {"code": "AccessDenied.Unpurchased", "message": "Access to model denied."},
                PermissionDeniedError,
                "AccessDenied.Unpurchased",
            ),
            (404, {"code": "ModelNotFound", "message": "Model can not be found."}, NotFoundError, "ModelNotFound"),
            (
                429,
                {"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded"},
                RateLimitError,
                "Throttling.RateQuota",
            ),
            (500, {"code": "InternalError", "message": "An internal error has occured"}, ServerError, "InternalError"),
            (503, {"code": "ModelUnavailable", "message": "Model is unavailable"}, ServerError, "ModelUnavailable"),
            (
                400,
                {"code": "DataInspectionFailed", "message": "Input data may contain inappropriate content."},
                ContentInspectionError,
                "DataInspectionFailed",
            ),
            (
                400,
                {"code": "InvalidParameter", "message": "<400> InternalError.Algo.DataInspectionFailed: Input image"},
                ContentInspectionError,
                "InvalidParameter",
            ),
            (418, {"code": "Teapot", "message": "short and stout"}, APIError, "Teapot"),
        ],
    )
    def test_native_bodies(self, status: int, payload: dict[str, str], cls: type[APIError], code: str) -> None:
        error = error_from_response(status, json.dumps({**payload, "request_id": "req-1"}).encode())
        assert type(error) is cls
        assert (error.status_code, error.code, error.message, error.request_id) == (
            status,
            code,
            payload["message"],
            "req-1",
        )

    def test_compatible_body(self) -> None:
        raw = json.dumps(
            {
                "error": {
                    "message": "<400> InternalError.Algo.InvalidParameter: Value error, batch size is invalid, "
                    "it should not be larger than 10.: input.contents",
                    "type": "InvalidParameter",
                    "param": None,
                    "code": "InvalidParameter",
                },
                "id": "318cff27",
                "request_id": "318cff27",
            }
        ).encode()
        error = error_from_response(400, raw)
        assert type(error) is BadRequestError
        assert error.code == "InvalidParameter"
        assert error.request_id == "318cff27"
        assert "should not be larger than 10" in error.message

    def test_compatible_body_without_code_uses_type(self) -> None:
        raw = b'{"error": {"message": "Incorrect API key provided. ", "type": "invalid_request_error", "param": null}}'
        error = error_from_response(401, raw)
        assert (type(error), error.code) == (AuthenticationError, "invalid_request_error")

    def test_non_json_body_keeps_the_text_and_header_request_id(self) -> None:
        error = error_from_response(502, b"<html>Bad Gateway</html>", request_id="hdr-1", reason="Bad Gateway")
        assert type(error) is ServerError
        assert (error.message, error.code, error.request_id) == ("<html>Bad Gateway</html>", None, "hdr-1")
        assert str(error) == "<html>Bad Gateway</html> (HTTP 502, request_id=hdr-1)"

    def test_empty_body_uses_the_reason(self) -> None:
        assert error_from_response(504, b"", reason="Gateway Timeout").message == "Gateway Timeout"

    def test_str_shows_code_status_and_request_id(self) -> None:
        error = error_from_response(
            429, b'{"code": "Throttling", "message": "Requests throttling triggered.", "request_id": "r"}'
        )
        assert str(error) == "Throttling: Requests throttling triggered. (HTTP 429, request_id=r)"

    @pytest.mark.parametrize(
        ("code", "cls"),
        [
            ("Throttling.AllocationQuota", RateLimitError),
            ("InvalidApiKey", AuthenticationError),
            ("Arrearage", PermissionDeniedError),
            ("Model.NotExist", NotFoundError),
            ("InternalError.Algo", ServerError),
            ("InvalidParameter", BadRequestError),
            ("DataInspectionFailed", ContentInspectionError),
        ],
    )
    def test_http_200_business_errors_follow_their_code(self, code: str, cls: type[APIError]) -> None:
        error = error_in_body({"code": code, "message": "m", "request_id": "r"})
        assert type(error) is cls
        assert error is not None
        assert error.status_code == 200

    def test_http_200_without_code_is_no_error(self) -> None:
        assert error_in_body({"output": {}, "code": "", "message": ""}) is None
        assert error_in_body({"output": {}}) is None
        assert error_in_body([1, 2]) is None


def test_result_repr_is_a_short_summary() -> None:
    from dashscope_embeddings import EmbeddingResult

    result = EmbeddingResult(
        model="text-embedding-v4",
        embeddings=[[0.5] * 1024] * 3000,
        dimension=1024,
        usage=Usage(total_tokens=9),
        request_ids=["a", "b"],
    )
    assert repr(result) == (
        "EmbeddingResult(model='text-embedding-v4', dense=3000×1024, sparse=0, usage=Usage(total_tokens=9, "
        "input_tokens=0, image_tokens=0, image_count=0, duration=0.0), requests=2)"
    )
