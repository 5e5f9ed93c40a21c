"""Every validation answer: exact status, code and message, in the native and the compatible-mode shape."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import COMPATIBLE, NATIVE, native_body

ALGO = "<400> InternalError.Algo.InvalidParameter: "
V4_DIMENSIONS = "[64, 128, 256, 512, 768, 1024, 1536, 2048, 3072]"
EMPTY_MODEL = 'Required parameter "model" missing from request.'
EMPTY_INPUT = "Required input parameter missing from request."
BODY_INVALID = "Required body invalid, please check the request body format."
NOT_STRINGS = ALGO + "Value error, contents is neither str nor list of str.: input.contents"
V4_DIMENSION = ALGO + "Value error, dimension for embedding v3 is invalid, its value shold be in " + V4_DIMENSIONS
RANGE_8192 = ALGO + "Range of input length should be [1, 8192]"

NATIVE_CASES = [
    pytest.param({"input": {"texts": ["a"]}}, 400, "BadRequest.EmptyModel", EMPTY_MODEL, id="empty model"),
    pytest.param(
        {"model": None, "input": {"texts": ["a"]}}, 400, "BadRequest.EmptyModel", EMPTY_MODEL, id="null model"
    ),
    pytest.param({"model": "text-embedding-v4"}, 400, "BadRequest.EmptyInput", EMPTY_INPUT, id="no input"),
    pytest.param({"model": "text-embedding-v4", "input": {}}, 400, "BadRequest.EmptyInput", EMPTY_INPUT, id="no texts"),
    pytest.param(native_body([]), 400, "BadRequest.EmptyInput", EMPTY_INPUT, id="empty texts"),
    pytest.param(["a"], 400, "InvalidParameter", BODY_INVALID, id="not an object"),
    pytest.param(
        {"model": "text-embedding-v4", "input": "a"}, 400, "InvalidParameter", BODY_INVALID, id="input not an object"
    ),
    pytest.param(
        native_body(["a"], model="text-embedding-v9"), 400, "InvalidParameter", "Model not exist.", id="unknown model"
    ),
    pytest.param(
        {"model": 4, "input": {"texts": ["a"]}}, 400, "InvalidParameter", "Model not exist.", id="non-string model"
    ),
    pytest.param(
        native_body(["a"], model="qwen3-vl-embedding"),
        400,
        "InvalidParameter",
        "url error, please check url！",
        id="multimodal model",
    ),
    pytest.param(
        native_body(["a"], model="text-embedding-async-v2"),
        403,
        "AccessDenied",
        "current user api does not support synchronous calls.",
        id="batch-only model",
    ),
    pytest.param(
        native_body(["a"] * 11),
        400,
        "InvalidParameter",
        ALGO + "Value error, batch size is invalid, it should not be larger than 10.: input.contents",
        id="too many texts",
    ),
    pytest.param(
        native_body(["a"] * 26, model="text-embedding-v2"),
        400,
        "InvalidParameter",
        ALGO + "Value error, batch size is invalid, it should not be larger than 25.: input.contents",
        id="too many texts v2",
    ),
    pytest.param(native_body(["a", 1]), 400, "InvalidParameter", NOT_STRINGS, id="non-string text"),
    pytest.param(native_body([[1, 2, 3]]), 400, "InvalidParameter", NOT_STRINGS, id="token ids"),
    pytest.param(native_body(5), 400, "InvalidParameter", NOT_STRINGS, id="texts is a number"),
    pytest.param(native_body(["a", ""]), 400, "InvalidParameter", RANGE_8192, id="empty string"),
    pytest.param(native_body(["word " * 8192]), 400, "InvalidParameter", RANGE_8192, id="too long"),
    pytest.param(
        native_body(["word " * 2048], model="text-embedding-v1"),
        400,
        "InvalidParameter",
        ALGO + "Range of input length should be [1, 2048]",
        id="too long for v1",
    ),
    pytest.param(native_body(["a"], dimension=100), 400, "InvalidParameter", V4_DIMENSION, id="dimension v4"),
    pytest.param(native_body(["a"], dimension=3072), 400, "InvalidParameter", V4_DIMENSION, id="3072 on v4"),
    pytest.param(
        native_body(["a"], model="text-embedding-v3", dimension=2048),
        400,
        "InvalidParameter",
        ALGO
        + "Value error, dimension for embedding v3 is invalid, its value shold be in [64, 128, 256, 512, 768, 1024]",
        id="dimension v3",
    ),
    pytest.param(
        native_body(["a"], model="text-embedding-v2", dimension=1536),
        400,
        "InvalidParameter",
        ALGO + "Value error, dimension is not supported by text-embedding-v2.: parameters.dimension",
        id="dimension on v2",
    ),
    pytest.param(
        native_body(["a"], dimension="1024"),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid integer: parameters.dimension",
        id="dimension string",
    ),
    pytest.param(
        native_body(["a"], dimension=True),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid integer: parameters.dimension",
        id="dimension bool",
    ),
    pytest.param(
        native_body(["a"], text_type="passage"),
        400,
        "InvalidParameter",
        ALGO + "Input should be 'query' or 'document': parameters.text_type",
        id="text_type",
    ),
    pytest.param(
        native_body(["a"], output_type="dense,sparse"),
        400,
        "InvalidParameter",
        ALGO + "Input should be 'dense', 'sparse' or 'dense&sparse': parameters.output_type",
        id="output_type",
    ),
    pytest.param(
        native_body(["a"], model="text-embedding-v2", output_type="sparse"),
        400,
        "InvalidParameter",
        ALGO + "Value error, sparse embedding is not supported by text-embedding-v2.: parameters.output_type",
        id="sparse on v2",
    ),
    pytest.param(
        native_body(["a"], model="text-embedding-v3", text_type="query", instruct="x"),
        400,
        "InvalidParameter",
        ALGO + "Value error, instruct is not supported by text-embedding-v3.: parameters.instruct",
        id="instruct on v3",
    ),
    pytest.param(
        native_body(["a"], instruct="x"),
        400,
        "InvalidParameter",
        ALGO + "Value error, instruct requires text_type to be 'query'.: parameters.instruct",
        id="instruct without query",
    ),
    pytest.param(
        native_body(["a"], text_type="document", instruct="x"),
        400,
        "InvalidParameter",
        ALGO + "Value error, instruct requires text_type to be 'query'.: parameters.instruct",
        id="instruct on a document",
    ),
    pytest.param(
        native_body(["a"], text_type="query", instruct=3),
        400,
        "InvalidParameter",
        ALGO + "Input should be a valid string: parameters.instruct",
        id="instruct not a string",
    ),
    pytest.param(
        {**native_body(["a"]), "parameters": [1]}, 400, "InvalidParameter", BODY_INVALID, id="parameters not an object"
    ),
]


@pytest.mark.parametrize(("payload", "status", "code", "message"), NATIVE_CASES)
def test_native_validation(client: httpx.Client, payload: Any, status: int, code: str, message: str) -> None:
    r = client.post(NATIVE, json=payload)
    assert r.status_code == status
    body = r.json()
    assert body == {"code": code, "message": message, "request_id": r.headers["x-request-id"]}


def test_invalid_json(client: httpx.Client) -> None:
    for raw in (b"", b"{", b'{"model": NaN}', b"\xff"):
        r = client.post(NATIVE, content=raw)
        assert r.status_code == 400
        assert r.json()["code"] == "BadRequest.IllegalInput"
        assert r.json()["message"] == "The input parameter requires json format."


def test_async_header_on_a_sync_model(client: httpx.Client) -> None:
    r = client.post(NATIVE, json=native_body(["a"]), headers={"X-DashScope-Async": "enable"})
    assert (r.status_code, r.json()["code"]) == (403, "AccessDenied")
    assert r.json()["message"] == "Current user api does not support asynchronous calls."


def test_async_header_on_an_async_model_submits_a_task(client: httpx.Client) -> None:
    # Task submission itself is pinned in test_jobs_emulator.py.
    body = {"model": "text-embedding-async-v2", "input": {"url": "https://example.com/f.txt"}}
    r = client.post(NATIVE, json=body, headers={"X-DashScope-Async": "enable"})
    assert r.status_code == 200
    assert r.json()["output"]["task_status"] == "PENDING"


def test_unknown_path_and_method(client: httpx.Client) -> None:
    r = client.post("/api/v1/services/embeddings/text-embedding/nope", json=native_body(["a"]))
    assert (r.status_code, r.json()["code"]) == (404, "NotFound")
    r = client.get(NATIVE)
    assert (r.status_code, r.json()["code"]) == (405, "MethodNotAllowed")


def test_unknown_models_can_be_accepted_but_still_checked() -> None:
    from dashscope_embeddings.emulator import Emulator

    emu = Emulator(accept_unknown_models=True)
    with httpx.Client(transport=emu.transport(), base_url="http://e", headers={"Authorization": "Bearer k"}) as c:
        r = c.post(NATIVE, json=native_body(["a"], model="qwen3.7-text-embedding", dimension=9000))
        assert (
            r.json()["message"]
            == ALGO + "Value error, dimension for embedding v3 is invalid, its value shold be in [1, 8192]"
        )
        r = c.post(NATIVE, json=native_body(["a"] * 11, model="qwen3.7-text-embedding"))
        assert r.status_code == 400


COMPATIBLE_CASES = [
    pytest.param(
        {"model": "text-embedding-v4", "input": [1, 2, 3]},
        400,
        "InvalidParameter",
        "InvalidParameter",
        NOT_STRINGS,
        id="token ids",
    ),
    pytest.param(
        {"model": "text-embedding-v4", "input": [[1, 2], [3]]},
        400,
        "InvalidParameter",
        "InvalidParameter",
        NOT_STRINGS,
        id="nested token ids",
    ),
    pytest.param(
        {"model": "text-embedding-v4", "input": ["a"] * 11},
        400,
        "InvalidParameter",
        "InvalidParameter",
        ALGO + "Value error, batch size is invalid, it should not be larger than 10.: input.contents",
        id="too many",
    ),
    pytest.param(
        {"model": "text-embedding-v4", "input": ""},
        400,
        "InvalidParameter",
        "InvalidParameter",
        RANGE_8192,
        id="empty string",
    ),
    pytest.param({"input": "a"}, 400, "BadRequest.EmptyModel", "BadRequest.EmptyModel", EMPTY_MODEL, id="no model"),
    pytest.param(
        {"model": "text-embedding-v4"},
        400,
        "BadRequest.EmptyInput",
        "BadRequest.EmptyInput",
        EMPTY_INPUT,
        id="no input",
    ),
    pytest.param(
        {"model": "gpt-embed", "input": "a"},
        400,
        "InvalidParameter",
        "InvalidParameter",
        "Model not exist.",
        id="unknown model",
    ),
    pytest.param(
        {"model": "multimodal-embedding-v1", "input": "a"},
        404,
        "invalid_request_error",
        "model_not_supported",
        "Unsupported model multimodal-embedding-v1 for OpenAI compatibility mode.",
        id="multimodal model",
    ),
    pytest.param(
        {"model": "text-embedding-v4", "input": "a", "dimensions": 10},
        400,
        "InvalidParameter",
        "InvalidParameter",
        V4_DIMENSION,
        id="dimensions",
    ),
    pytest.param(
        {"model": "text-embedding-v1", "input": "a", "dimensions": 1536},
        400,
        "InvalidParameter",
        "InvalidParameter",
        ALGO + "Value error, dimension is not supported by text-embedding-v1.: parameters.dimension",
        id="dimensions on v1",
    ),
    pytest.param(
        {"model": "text-embedding-v4", "input": "a", "encoding_format": "int8"},
        400,
        "InvalidParameter",
        "InvalidParameter",
        ALGO + "Input should be 'float' or 'base64': encoding_format",
        id="encoding",
    ),
]


@pytest.mark.parametrize(("payload", "status", "type_", "code", "message"), COMPATIBLE_CASES)
def test_compatible_validation(
    client: httpx.Client, payload: Any, status: int, type_: str, code: str, message: str
) -> None:
    r = client.post(COMPATIBLE, json=payload)
    assert r.status_code == status
    rid = r.headers["x-request-id"]
    assert r.json() == {
        "error": {"message": message, "type": type_, "param": None, "code": code},
        "id": rid,
        "request_id": rid,
    }
