"""The native text endpoint: response shape, oracle equality, usage, accepted request forms."""

from __future__ import annotations

import json

import httpx
import pytest

from dashscope_embeddings.emulator import Emulator

from .conftest import NATIVE, native_body


def test_dense_response_shape_and_oracle(client: httpx.Client, emu: Emulator) -> None:
    texts = ["The quality of the clothes is excellent", "风急天高猿啸哀"]
    r = client.post(NATIVE, json=native_body(texts))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = json.loads(r.content)
    assert list(body) == ["output", "usage", "request_id"]
    assert body["request_id"] == r.headers["x-request-id"]
    items = body["output"]["embeddings"]
    assert [item["text_index"] for item in items] == [0, 1]
    assert all(list(item) == ["embedding", "text_index"] for item in items)
    for text, item in zip(texts, items, strict=True):
        assert len(item["embedding"]) == 1024  # v4's default dimension
        assert item["embedding"] == emu.expected_embedding(text, model="text-embedding-v4")
    assert body["usage"] == {"total_tokens": 7 + 7}  # Qwen BPE: 7 tokens each


def test_dimension_text_type_and_instruct_reach_the_oracle(client: httpx.Client, emu: Emulator) -> None:
    instruct = "Given a question, find the answer"
    body = native_body(["what is a drill?"], dimension=256, text_type="query", instruct=instruct)
    got = client.post(NATIVE, json=body).json()["output"]["embeddings"][0]["embedding"]
    assert got == emu.expected_embedding(
        "what is a drill?", model="text-embedding-v4", dimension=256, text_type="query", instruct=instruct
    )
    assert got != emu.expected_embedding("what is a drill?", model="text-embedding-v4", dimension=256)


@pytest.mark.parametrize(
    ("output_type", "keys"),
    [
        ("dense", ["embedding", "text_index"]),
        ("sparse", ["sparse_embedding", "text_index"]),
        ("dense&sparse", ["sparse_embedding", "embedding", "text_index"]),
    ],
)
def test_output_type_selects_the_fields(client: httpx.Client, output_type: str, keys: list[str]) -> None:
    r = client.post(NATIVE, json=native_body(["XJ-9000 drill"], output_type=output_type))
    assert r.status_code == 200
    assert list(r.json()["output"]["embeddings"][0]) == keys


def test_sparse_entries_match_the_oracle(client: httpx.Client, emu: Emulator) -> None:
    r = client.post(NATIVE, json=native_body(["Drill XJ-9000, drill!"], output_type="sparse", text_type="query"))
    sparse = r.json()["output"]["embeddings"][0]["sparse_embedding"]
    assert sparse == emu.expected_sparse("Drill XJ-9000, drill!", model="text-embedding-v4", text_type="query")
    assert [e["token"] for e in sparse] == ["drill", "xj", "9000"]


def test_a_single_string_in_texts_is_one_text(client: httpx.Client, emu: Emulator) -> None:
    # The service's own message ("contents is neither str nor list of str") says a bare str is accepted.
    r = client.post(NATIVE, json=native_body("hello"))
    assert r.status_code == 200
    assert r.json()["output"]["embeddings"][0]["embedding"] == emu.expected_embedding(
        "hello", model="text-embedding-v4"
    )


def test_the_sdk_body_shape_and_unknown_parameters_are_accepted(client: httpx.Client) -> None:
    # dashscope's TextEmbedding.call always sends "parameters" and forwards stray kwargs into it; LlamaIndex's
    # integration nests them under "kwargs".
    body = {
        "model": "text-embedding-v3",
        "parameters": {"kwargs": {"text_type": "query"}, "stream": False},
        "input": {"texts": ["a", "b"]},
    }
    r = client.post(NATIVE, json=body)
    assert r.status_code == 200
    assert [len(e["embedding"]) for e in r.json()["output"]["embeddings"]] == [1024, 1024]


@pytest.mark.parametrize(("model", "size"), [("text-embedding-v1", 1536), ("text-embedding-v2", 1536)])
def test_old_models_have_one_size(client: httpx.Client, model: str, size: int) -> None:
    r = client.post(NATIVE, json=native_body(["hello"], model=model, text_type="query"))
    assert r.status_code == 200
    assert len(r.json()["output"]["embeddings"][0]["embedding"]) == size


def test_max_batch_texts_are_accepted(client: httpx.Client) -> None:
    r = client.post(NATIVE, json=native_body([f"text {i}" for i in range(10)]))
    assert r.status_code == 200
    assert [e["text_index"] for e in r.json()["output"]["embeddings"]] == list(range(10))


def test_usage_is_the_sum_of_the_token_counts(client: httpx.Client, emu: Emulator) -> None:
    texts = ["通义千问具有强大的能力。", "The quality of the clothes is excellent", "<|endoftext|>"]
    r = client.post(NATIVE, json=native_body(texts))
    assert r.json()["usage"]["total_tokens"] == sum(emu.count_tokens(t) for t in texts) == 8 + 7 + 1


def test_query_strings_and_trailing_slash_are_ignored_in_routing(client: httpx.Client) -> None:
    assert client.post(NATIVE + "/?x=1", json=native_body(["a"])).status_code == 200


async def test_async_transport_gives_the_same_vectors(aclient: httpx.AsyncClient, emu: Emulator) -> None:
    r = await aclient.post(NATIVE, json=native_body(["hello"], dimension=64))
    assert r.json()["output"]["embeddings"][0]["embedding"] == emu.expected_embedding(
        "hello", model="text-embedding-v4", dimension=64
    )


def test_accept_unknown_models_serves_any_name() -> None:
    emu = Emulator(accept_unknown_models=True)
    with httpx.Client(transport=emu.transport(), base_url="http://e", headers={"Authorization": "Bearer k"}) as c:
        r = c.post(NATIVE, json=native_body(["hi"], model="qwen3.7-text-embedding", dimension=2560))
        assert r.status_code == 200
        vector = r.json()["output"]["embeddings"][0]["embedding"]
        assert len(vector) == 2560
        assert vector == emu.expected_embedding("hi", model="qwen3.7-text-embedding", dimension=2560)
        default = c.post(NATIVE, json=native_body(["hi"], model="qwen3.7-text-embedding")).json()
        assert len(default["output"]["embeddings"][0]["embedding"]) == 1024


def test_extra_models_are_served_with_their_own_limits() -> None:
    from dashscope_embeddings.catalog import ModelSpec

    spec = ModelSpec(
        name="qwen3.7-text-embedding",
        kind="text",
        dimensions=(2560, 1024, 256),
        default_dimension=1024,
        max_batch=20,
        max_tokens=131_072,
        text_type=True,
        dimension_parameter=True,
    )
    emu = Emulator(extra_models=[spec])
    with httpx.Client(transport=emu.transport(), base_url="http://e", headers={"Authorization": "Bearer k"}) as c:
        assert c.post(NATIVE, json=native_body(["x"] * 20, model=spec.name)).status_code == 200
        r = c.post(NATIVE, json=native_body(["x"], model=spec.name, dimension=512))
        assert r.status_code == 400
        assert r.json()["message"].endswith("its value shold be in [256, 1024, 2560]")
