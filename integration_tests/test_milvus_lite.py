"""langchain-milvus over Milvus Lite with DashScope sparse vectors, alone and beside dense ones (hybrid search).

Milvus Lite serves each database file over gRPC on a loopback port, hence an integration test. The SKU query must
rank the document that contains it first on both backends; against the emulator the request bodies, the request
count (one per batch for both kinds when they share requests) and the stored vectors and scores are exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_milvus import Milvus
from pymilvus import Function, FunctionType

from dashscope_embeddings import SparseVector
from dashscope_embeddings.emulator import Emulator
from dashscope_embeddings.milvus import DashScopeMilvusHybridEmbeddings, DashScopeMilvusSparseEmbeddings

from .conftest import Backend

milvus_lite = pytest.importorskip("milvus_lite", reason="Milvus Lite is not installed (pip install milvus-lite)")

V4 = "text-embedding-v4"
SKU = "XJ-9000"
SKU_DOCUMENT = "Order XJ-9000 shipped to Berlin on Monday"
CATALOGUE = [
    "The XJ-900 and XJ-910 chargers are sold out until June",
    SKU_DOCUMENT,
    "Our 9000-series routers ship worldwide",
    "JX-90 cables come in three lengths",
    *(f"Product note {i}: model {100 + i} is available in {('red', 'blue', 'green')[i % 3]}" for i in range(21)),
]
SPARSE_INDEX = {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "IP"}
# Milvus Lite accepts only drop_ratio_build=0, which langchain-milvus's default sparse search params do not set.
SPARSE_SEARCH = {"metric_type": "IP", "params": {}}


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def uri(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "milvus.db")
    yield path
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(path)


def connection(backend: Backend) -> dict[str, Any]:
    return {"api_key": backend.api_key, "base_url": backend.base_url}


def expected(emu: Emulator, text: str, text_type: str = "document") -> dict[int, float]:
    return SparseVector.from_entries(emu.expected_sparse(text, model=V4, text_type=text_type)).to_dict()


def dot(a: dict[int, float], b: dict[int, float]) -> float:
    return math.fsum(value * b.get(index, 0.0) for index, value in a.items())


async def add(store: Milvus, texts: list[str], mode: str) -> None:
    if mode == "sync":
        store.add_texts(texts)
    else:
        await store.aadd_texts(texts)


async def search(store: Milvus, query: str, mode: str, **kwargs: Any) -> list[tuple[str, float]]:
    if mode == "sync":
        hits = store.similarity_search_with_score(query, k=3, **kwargs)
    else:
        hits = await store.asimilarity_search_with_score(query, k=3, **kwargs)
    return [(doc.page_content, score) for doc, score in hits]


async def test_sparse_store_finds_the_sku_first(backend: Backend, mode: str, uri: str) -> None:
    sparse = DashScopeMilvusSparseEmbeddings(**connection(backend))
    store = Milvus(
        embedding_function=sparse,
        connection_args={"uri": uri},
        auto_id=True,
        index_params=SPARSE_INDEX,
        search_params=SPARSE_SEARCH,
    )
    await add(store, CATALOGUE, mode)
    hits = await search(store, SKU, mode)
    assert hits[0][0] == SKU_DOCUMENT

    if (emu := backend.emulator) is not None:
        query = expected(emu, SKU, "query")
        ranked = sorted(CATALOGUE, key=lambda text: -dot(query, expected(emu, text)))[:3]
        assert [text for text, _ in hits] == ranked
        assert [score for _, score in hits] == pytest.approx([dot(query, expected(emu, t)) for t in ranked], rel=1e-6)
        assert sorted(len(r.body["input"]["texts"]) for r in emu.requests) == [1, 5, 10, 10]
        assert {(r.body["parameters"]["output_type"], r.body["parameters"]["text_type"]) for r in emu.requests} == {
            ("sparse", "document"),
            ("sparse", "query"),
        }
        rows = store.client.query(store.collection_name, filter="pk >= 0", output_fields=["text", "vector"])
        assert len(rows) == len(CATALOGUE)
        for row in rows:  # Milvus keeps float32 weights
            want = expected(emu, row["text"])
            assert row["vector"].keys() == want.keys()
            assert list(row["vector"].values()) == pytest.approx(list(want.values()), rel=1e-7)


async def test_hybrid_store_shares_one_request_per_batch(backend: Backend, mode: str, uri: str) -> None:
    hybrid = DashScopeMilvusHybridEmbeddings(dimension=256, **connection(backend))
    store = Milvus(
        embedding_function=[hybrid.dense, hybrid.sparse],
        vector_field=["dense", "sparse"],
        connection_args={"uri": uri},
        auto_id=True,
        index_params=[{"index_type": "FLAT", "metric_type": "COSINE"}, SPARSE_INDEX],
        search_params=[{"metric_type": "COSINE", "params": {}}, SPARSE_SEARCH],
    )
    await add(store, CATALOGUE, mode)
    emu = backend.emulator
    if emu is not None:  # 25 texts, 3 requests for both kinds instead of 6
        assert emu.stats.requests == 3
        assert {r.body["parameters"]["output_type"] for r in emu.requests} == {"dense&sparse"}

    weighted = Function(
        name="favour_keywords",
        input_field_names=[],
        function_type=FunctionType.RERANK,
        params={"reranker": "weighted", "weights": [0.3, 0.7], "norm_score": True},
    )
    hits = await search(store, SKU, mode, reranker=weighted)
    assert hits[0][0] == SKU_DOCUMENT
    if emu is not None:  # the query's dense and sparse vectors: one request too
        assert emu.stats.requests == 4
        query = {"text_type": "query", "dimension": 256, "output_type": "dense&sparse"}
        assert emu.requests[-1].body["parameters"] == query
