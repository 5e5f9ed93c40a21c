"""The Milvus adapters against the in-process emulator: exact sparse dicts, exact request bodies, and the hybrid
container's two views sharing one request per batch."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langchain_milvus import Milvus
from langchain_milvus.utils.sparse import BaseSparseEmbedding
from pydantic import SecretStr, ValidationError

from dashscope_embeddings import SparseVector
from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import InputError, ServerError
from dashscope_embeddings.langchain import HybridDenseView
from dashscope_embeddings.milvus import (
    DashScopeMilvusHybridEmbeddings,
    DashScopeMilvusSparseEmbeddings,
    HybridMilvusSparseView,
)
from dashscope_embeddings.text import EMBEDDER_SETTINGS
from emulated import BASE_URL, KEY, connection

V4 = "text-embedding-v4"
INSTRUCT = "Given a web search query, retrieve relevant passages that answer the query"
SKU_DOCS = ["Order XJ-9000 shipped, XJ-9000 tracking attached", "The XJ-900 charger is sold out"]


@pytest.fixture
def emu() -> Emulator:
    return Emulator(faults=Faults(shuffle=True))


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def expected(emu: Emulator, text: str, text_type: str = "document", model: str = V4) -> dict[int, float]:
    return SparseVector.from_entries(emu.expected_sparse(text, model=model, text_type=text_type)).to_dict()


def texts_of(n: int) -> list[str]:
    return [f"item {i}: part XJ-{9000 + i} {'spare ' * (i % 3)}in stock" for i in range(n)]


async def documents(emb: BaseSparseEmbedding | Embeddings, texts: list[str], mode: str) -> list[Any]:
    return emb.embed_documents(texts) if mode == "sync" else await emb.aembed_documents(texts)


async def query(emb: BaseSparseEmbedding | Embeddings, text: str, mode: str) -> Any:
    return emb.embed_query(text) if mode == "sync" else await emb.aembed_query(text)


def hybrid(emu: Emulator, **settings: Any) -> DashScopeMilvusHybridEmbeddings:
    return DashScopeMilvusHybridEmbeddings(**connection(emu, **settings))


def views(emu: Emulator, **settings: Any) -> tuple[HybridDenseView, HybridMilvusSparseView]:
    h = hybrid(emu, **settings)
    return h.dense, h.sparse


# -- the interface Milvus checks -----------------------------------------------------------------------------------


def test_milvus_recognises_the_sparse_view_and_not_the_dense_one(emu: Emulator) -> None:
    h = hybrid(emu)
    dense, sparse = h.dense, h.sparse
    assert isinstance(sparse, BaseSparseEmbedding)
    assert Milvus._is_sparse_embedding(sparse)
    assert isinstance(dense, Embeddings)
    assert not Milvus._is_sparse_embedding(dense)
    assert dense.owner is h
    assert sparse.owner is h
    assert h.hybrid.memo_size == 4096
    standalone = DashScopeMilvusSparseEmbeddings(**connection(emu))
    assert isinstance(standalone, BaseSparseEmbedding)


def test_native_async_overrides_the_thread_pool_fallback() -> None:
    for name in ("aembed_query", "aembed_documents"):
        assert getattr(DashScopeMilvusSparseEmbeddings, name) is not getattr(BaseSparseEmbedding, name)
        assert getattr(HybridMilvusSparseView, name) is not getattr(BaseSparseEmbedding, name)
        assert getattr(HybridDenseView, name) is not getattr(Embeddings, name)


def test_a_field_for_each_embedder_setting_but_dimension() -> None:
    fields = set(DashScopeMilvusSparseEmbeddings.model_fields)
    assert set(EMBEDDER_SETTINGS) - {"dimension"} <= fields
    assert "dimension" not in fields  # a sparse vector has none
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        DashScopeMilvusSparseEmbeddings(api_key=KEY, dimension=512)
    assert set(EMBEDDER_SETTINGS) | {"memo_size", "query_instruct"} <= set(DashScopeMilvusHybridEmbeddings.model_fields)


# -- standalone: output_type="sparse" ------------------------------------------------------------------------------


async def test_documents_are_sparse_dicts_sent_as_documents(emu: Emulator, mode: str) -> None:
    sparse = DashScopeMilvusSparseEmbeddings(**connection(emu))
    vectors = await documents(sparse, SKU_DOCS, mode)
    assert vectors == [expected(emu, t) for t in SKU_DOCS]
    # "xj" and "9000" appear twice in the first document: weight 1 + ln 2, summed nowhere else.
    assert vectors[0] != expected(emu, SKU_DOCS[0], "query")
    assert all(type(i) is int and type(v) is float for vector in vectors for i, v in vector.items())
    [request] = emu.requests
    assert request.body == {
        "model": V4,
        "input": {"texts": SKU_DOCS},
        "parameters": {"text_type": "document", "dimension": 1024, "output_type": "sparse"},
    }


async def test_query_is_a_sparse_dict_sent_as_query(emu: Emulator, mode: str) -> None:
    sparse = DashScopeMilvusSparseEmbeddings(**connection(emu))
    vector = await query(sparse, "XJ-9000 XJ-9000", mode)
    assert vector == expected(emu, "XJ-9000 XJ-9000", "query")
    assert set(vector.values()) == {1.0}  # a query states each word once, however often it repeats it
    [request] = emu.requests
    assert request.body["parameters"] == {"text_type": "query", "dimension": 1024, "output_type": "sparse"}
    assert request.body["input"] == {"texts": ["XJ-9000 XJ-9000"]}


async def test_batches_of_ten_in_input_order_when_answers_are_shuffled(emu: Emulator, mode: str) -> None:
    texts = texts_of(23)
    sparse = DashScopeMilvusSparseEmbeddings(**connection(emu))
    assert await documents(sparse, texts, mode) == [expected(emu, t) for t in texts]
    sent = sorted((r.body["input"]["texts"] for r in emu.requests), key=lambda batch: texts.index(batch[0]))
    assert sent == [texts[0:10], texts[10:20], texts[20:23]]


async def test_text_embedding_v3(emu: Emulator, mode: str) -> None:
    sparse = DashScopeMilvusSparseEmbeddings(model="text-embedding-v3", **connection(emu))
    assert await documents(sparse, ["XJ-9000"], mode) == [expected(emu, "XJ-9000", model="text-embedding-v3")]
    assert emu.requests[0].body["model"] == "text-embedding-v3"


async def test_no_texts_no_request(emu: Emulator, mode: str) -> None:
    dense, shared = views(emu)
    for emb in (DashScopeMilvusSparseEmbeddings(**connection(emu)), dense, shared):
        assert await documents(emb, [], mode) == []
    assert emu.requests == []


async def test_invalid_text_is_refused_before_sending(emu: Emulator, mode: str) -> None:
    sparse = DashScopeMilvusSparseEmbeddings(**connection(emu))
    with pytest.raises(InputError, match=r"texts\[1\]"):
        await documents(sparse, ["fine", "   "], mode)
    assert emu.requests == []


async def test_service_errors_raise(mode: str) -> None:
    emu = Emulator(faults=Faults(error_rate=1.0))
    sparse = DashScopeMilvusSparseEmbeddings(max_retries=0, **connection(emu))
    with pytest.raises(ServerError):
        await documents(sparse, ["a"], mode)
    assert len(emu.requests) == 1


@pytest.mark.parametrize("model", ["text-embedding-v2", "text-embedding-v1"])
def test_models_without_sparse_vectors_are_refused(model: str) -> None:
    message = f"{model} has no sparse vectors; text-embedding-v4 and -v3 do"
    with pytest.raises(ValidationError, match=message):
        DashScopeMilvusSparseEmbeddings(api_key=KEY, model=model, region="beijing")
    with pytest.raises(ValidationError, match=message):
        DashScopeMilvusHybridEmbeddings(api_key=KEY, model=model, region="beijing")


# -- the hybrid container: output_type="dense&sparse", one request per batch for both views -------------------------


async def test_dense_then_sparse_documents_share_each_request(emu: Emulator, mode: str) -> None:
    texts = texts_of(23)
    dense, sparse = views(emu, dimension=256)
    dense_vectors = await documents(dense, texts, mode)
    sparse_vectors = await documents(sparse, texts, mode)
    assert emu.stats.requests == 3
    assert dense_vectors == [emu.expected_embedding(t, model=V4, dimension=256) for t in texts]
    assert sparse_vectors == [expected(emu, t) for t in texts]
    assert sorted(len(r.body["input"]["texts"]) for r in emu.requests) == [3, 10, 10]
    for request in emu.requests:
        assert request.body["parameters"] == {"text_type": "document", "dimension": 256, "output_type": "dense&sparse"}


async def test_sparse_first_then_dense_shares_too(emu: Emulator, mode: str) -> None:
    dense, sparse = views(emu)
    assert await documents(sparse, SKU_DOCS, mode) == [expected(emu, t) for t in SKU_DOCS]
    assert await documents(dense, SKU_DOCS, mode) == [emu.expected_embedding(t, model=V4) for t in SKU_DOCS]
    assert emu.stats.requests == 1


async def test_dense_then_sparse_query_share_one_request(emu: Emulator, mode: str) -> None:
    dense, sparse = views(emu)
    dense_query = await query(dense, "XJ-9000", mode)
    sparse_query = await query(sparse, "XJ-9000", mode)
    assert dense_query == emu.expected_embedding("XJ-9000", model=V4, text_type="query")
    assert sparse_query == expected(emu, "XJ-9000", "query")
    [request] = emu.requests
    assert request.body["parameters"] == {"text_type": "query", "dimension": 1024, "output_type": "dense&sparse"}


async def test_query_instruct_applies_to_the_dense_query_only(emu: Emulator, mode: str) -> None:
    dense, sparse = views(emu, query_instruct=INSTRUCT)
    dense_query = await query(dense, "XJ-9000", mode)
    sparse_query = await query(sparse, "XJ-9000", mode)
    assert dense_query == emu.expected_embedding("XJ-9000", model=V4, text_type="query", instruct=INSTRUCT)
    assert sparse_query == expected(emu, "XJ-9000", "query")
    assert [r.body["parameters"] for r in emu.requests] == [
        {"text_type": "query", "dimension": 1024, "instruct": INSTRUCT},
        {"text_type": "query", "dimension": 1024, "output_type": "dense&sparse"},
    ]


def test_both_views_follow_an_assigned_setting(emu: Emulator) -> None:
    h = hybrid(emu)
    dense, sparse = h.dense, h.sparse  # taken before the assignment: they read through the container
    h.dimension = 512
    assert sparse.owner.embedder is h.embedder
    assert len(dense.embed_documents(["a"])[0]) == 512
    assert sparse.embed_documents(["a"]) == [expected(emu, "a")]
    [request] = emu.requests
    assert request.body["parameters"]["dimension"] == 512


def test_the_container_settings_describe_the_embedder(emu: Emulator) -> None:
    h = hybrid(emu, model="text-embedding-v3", dimension=768, workspace="ws-1", truncate=True)
    assert (h.embedder.model, h.embedder.dimension, h.embedder.truncate) == ("text-embedding-v3", 768, True)
    assert (h.workspace, h.api_key) == ("ws-1", SecretStr(KEY))
    assert h.embedder is h.hybrid.embedder


def test_query_instruct_needs_a_model_that_takes_it() -> None:
    with pytest.raises(ValidationError, match="text-embedding-v3 does not take instruct"):
        DashScopeMilvusHybridEmbeddings(api_key=KEY, model="text-embedding-v3", query_instruct=INSTRUCT)


def test_a_rejected_model_keeps_the_embedder(emu: Emulator) -> None:
    h = hybrid(emu)
    before = h.embedder
    with pytest.raises(ValidationError, match="text-embedding-v2 has no sparse vectors"):
        h.model = "text-embedding-v2"
    assert h.model == V4
    assert h.embedder is before
    h.dense.embed_query("x")
    h.sparse.embed_query("x")
    assert emu.stats.requests == 1


def test_the_memo_is_bounded_by_memo_size(emu: Emulator) -> None:
    h = hybrid(emu, memo_size=10)
    texts = texts_of(20)
    h.dense.embed_documents(texts)
    assert len(h.hybrid) == 10
    assert h.sparse.embed_documents(texts) == [expected(emu, t) for t in texts]  # the first ten again: correct, dearer
    assert emu.stats.requests == 3


# -- keys, settings, serialisation ---------------------------------------------------------------------------------


def test_dashscope_api_key_alias_and_environment(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = connection(emu)
    del settings["api_key"]
    aliased = DashScopeMilvusSparseEmbeddings(dashscope_api_key="sk-from-alias", **settings)
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    from_env = DashScopeMilvusSparseEmbeddings(**settings)
    aliased.embed_query("a")
    from_env.embed_query("b")
    assert [r.headers["authorization"] for r in emu.requests] == ["Bearer sk-from-alias", "Bearer sk-from-env"]


def test_base_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", "http://127.0.0.1:9/api/v1")
    assert DashScopeMilvusSparseEmbeddings().embedder.endpoint.base_url == "http://127.0.0.1:9/api/v1"
    assert DashScopeMilvusHybridEmbeddings().embedder.endpoint.base_url == "http://127.0.0.1:9/api/v1"


def test_missing_key_fails_at_construction() -> None:
    with pytest.raises(ValidationError, match="DASHSCOPE_API_KEY"):
        DashScopeMilvusSparseEmbeddings()


def test_key_never_leaks(emu: Emulator) -> None:
    h = hybrid(emu, api_key="sk-very-secret-value")
    standalone = DashScopeMilvusSparseEmbeddings(**connection(emu, api_key="sk-very-secret-value"))
    for emb in (h, standalone):
        for text in (repr(emb), str(emb), str(emb.model_dump()), emb.model_dump_json()):
            assert "sk-very-secret-value" not in text
        assert b"sk-very-secret-value" not in pickle.dumps(emb)
        assert "http_client" not in emb.model_dump()
    for view in (h.dense, h.sparse):
        assert "sk-very-secret-value" not in repr(view)


def test_unpickled_copies_take_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    h = DashScopeMilvusHybridEmbeddings(api_key="sk-original", base_url=BASE_URL, dimension=256, memo_size=7)
    sparse = DashScopeMilvusSparseEmbeddings(api_key="sk-original", base_url=BASE_URL)
    hybrid_data, sparse_data = pickle.dumps(h), pickle.dumps(sparse)

    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    hybrid_copy, sparse_copy = pickle.loads(hybrid_data), pickle.loads(sparse_data)
    assert (hybrid_copy.api_key, hybrid_copy.dimension, hybrid_copy.memo_size) == (SecretStr("sk-from-env"), 256, 7)
    assert len(hybrid_copy.hybrid) == 0  # a pickle carries no memo
    assert (sparse_copy.model, sparse_copy.base_url) == (V4, BASE_URL)
    assert sparse_copy.api_key == SecretStr("sk-from-env")

    monkeypatch.delenv("DASHSCOPE_API_KEY")
    keyless_hybrid, keyless_sparse = pickle.loads(hybrid_data), pickle.loads(sparse_data)
    for keyless, embed_query in (
        (keyless_hybrid, keyless_hybrid.dense.embed_query),
        (keyless_hybrid, keyless_hybrid.sparse.embed_query),
        (keyless_sparse, keyless_sparse.embed_query),
    ):
        assert keyless.base_url == BASE_URL
        with pytest.raises(InputError, match="DASHSCOPE_API_KEY"):
            embed_query("x")
