"""TextEmbedder over real sockets: the same scenarios as the unit tests, sync and async."""

from __future__ import annotations

import asyncio
import math

import pytest

from dashscope_embeddings import TextEmbedder
from dashscope_embeddings.emulator import Emulator, Faults, ServedEmulator
from dashscope_embeddings.errors import AuthenticationError, InputError
from dashscope_embeddings.transport import RetryPolicy

from .conftest import Backend

V4 = "text-embedding-v4"


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run(embedder: TextEmbedder, mode: str, texts: list[str], **kwargs: object):  # type: ignore[no-untyped-def]
    if mode == "sync":
        return embedder.embed(texts, **kwargs)  # type: ignore[arg-type]
    return asyncio.run(embedder.aembed(texts, **kwargs))  # type: ignore[arg-type]


def test_documents_and_queries(backend: Backend, mode: str) -> None:
    texts = [f"Document {i} is about topic {i % 4}" for i in range(23)]
    with TextEmbedder(V4, dimension=512, api_key=backend.api_key, base_url=backend.base_url) as embedder:
        docs = run(embedder, mode, texts)
        query = run(embedder, mode, ["Which document is about topic 3?"], text_type="query")
    assert len(docs) == 23
    assert all(len(v) == 512 for v in docs.embeddings)
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, rel_tol=1e-3) for v in docs.embeddings)
    assert len(docs.request_ids) == 3
    assert docs.usage.total_tokens > 0
    if backend.emulator is not None:
        assert docs.embeddings == [backend.emulator.expected_embedding(t, model=V4, dimension=512) for t in texts]
        assert query.embeddings == [
            backend.emulator.expected_embedding(
                "Which document is about topic 3?", model=V4, dimension=512, text_type="query"
            )
        ]
        assert sorted(len(r.body["input"]["texts"]) for r in backend.emulator.requests) == [1, 3, 10, 10]


def test_sparse_and_dense_in_one_request(backend: Backend, mode: str) -> None:
    with TextEmbedder(V4, api_key=backend.api_key, base_url=backend.base_url) as embedder:
        result = run(embedder, mode, ["Order XJ-9000 shipped today"], output_type="dense&sparse")
    assert len(result.embeddings) == len(result.sparse) == 1
    assert len(result.sparse[0]) > 0
    if backend.emulator is not None:
        assert len(backend.emulator.requests) == 1


def test_bad_input_never_reaches_the_server(backend: Backend, mode: str) -> None:
    with (
        TextEmbedder(V4, api_key=backend.api_key, base_url=backend.base_url) as embedder,
        pytest.raises(InputError),
    ):
        run(embedder, mode, ["fine", ""])
    if backend.emulator is not None:
        assert backend.emulator.requests == []


def test_faults_over_sockets_are_absorbed(mode: str) -> None:
    emulator = Emulator(
        faults=Faults(error_rate=0.1, drop_rate=0.05, malformed_rate=0.03, missing_rate=0.03, shuffle=True, seed=5)
    )
    texts = [f"chaos text {i}" for i in range(300)]
    with (
        ServedEmulator(emulator) as served,
        TextEmbedder(
            V4,
            api_key="k",
            base_url=served.base_url,
            retry=RetryPolicy(max_retries=6, initial_delay=0.01, max_delay=0.05),
        ) as embedder,
    ):
        result = run(embedder, mode, texts)
    assert result.embeddings == [emulator.expected_embedding(t, model=V4) for t in texts]
    assert emulator.stats.requests > 30


def test_wrong_key_is_explained(mode: str) -> None:
    with (
        ServedEmulator(Emulator(api_keys={"sk-good"})) as served,
        TextEmbedder(V4, api_key="sk-bad", base_url=served.base_url) as embedder,
        pytest.raises(AuthenticationError, match="API keys are per region"),
    ):
        run(embedder, mode, ["x"])
