"""Sparse and hybrid retrieval end to end in Qdrant local mode (in memory, no server, no sockets).

A product catalogue where one document names the SKU "XJ-9000", a near miss names "XJ-9001" and another only
"9000": the keyword query "XJ-9000" must rank the SKU document first (reference docs §3.4: sparse vectors give
"exact keyword match", for "product SKU search"). The emulator's request log proves what each setup costs.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_qdrant import QdrantVectorStore, RetrievalMode
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQueryMode
from llama_index.vector_stores.qdrant import QdrantVectorStore as LlamaQdrantVectorStore
from qdrant_client import QdrantClient, models

from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.langchain import DashScopeEmbeddings
from dashscope_embeddings.llama_index import DashScopeEmbedding, DashScopeSparseEmbedding
from dashscope_embeddings.qdrant import DashScopeHybridEmbeddings, DashScopeSparseEmbeddings
from dashscope_embeddings.types import SparseVector, TextType
from emulated import connection

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect in the local Qdrant")

V4 = "text-embedding-v4"
SKU = "XJ-9000"
PRODUCTS = [
    "The XJ-9000 cordless drill has a 20 V battery and two speeds.",
    "The XJ-9001 impact driver ships with a belt clip.",
    "Our 9000-series routers support Wi-Fi 6.",
    "A cordless drill for every job: compact, light and quiet.",
    "Return policy: unused tools may be returned within 30 days.",
]
CATALOGUE = PRODUCTS + [
    f"Catalogue page {i}: garden hoses, rakes and watering cans, aisle {i + 40}." for i in range(20)
]


@pytest.fixture
def emu() -> Emulator:
    return Emulator(faults=Faults(shuffle=True))


def sparse(emu: Emulator, text: str, text_type: TextType = "document") -> SparseVector:
    return SparseVector.from_entries(emu.expected_sparse(text, model=V4, text_type=text_type))


def dot(a: SparseVector, b: SparseVector) -> float:
    weights = a.to_dict()
    return sum(weights.get(i, 0.0) * v for i, v in zip(b.indices, b.values, strict=True))


def expected_sparse_ranking(emu: Emulator, query: str, texts: list[str]) -> dict[str, float]:
    """Every text with a non-zero sparse score for `query`, and the score (Qdrant's sparse score is the dot product)."""
    q = sparse(emu, query, "query")
    scores = {text: dot(q, sparse(emu, text)) for text in texts}
    return {text: score for text, score in scores.items() if score}


def sent(emu: Emulator) -> list[tuple[str, str]]:
    return [(r.body["parameters"]["text_type"], r.body["parameters"].get("output_type", "dense")) for r in emu.requests]


def stored_sparse(client: QdrantClient, collection: str, name: str) -> dict[str, models.SparseVector]:
    """The sparse vector Qdrant holds for each point, by text (LangChain's payload) or point id (LlamaIndex's)."""
    points, _ = client.scroll(collection, limit=100, with_vectors=True, with_payload=True)
    out: dict[str, models.SparseVector] = {}
    for point in points:
        assert point.payload is not None
        assert isinstance(point.vector, dict)
        vector = point.vector[name]
        assert isinstance(vector, models.SparseVector)
        out[point.payload.get("page_content") or str(point.id)] = vector
    return out


def as_qdrant(vector: SparseVector) -> models.SparseVector:
    return models.SparseVector(indices=list(vector.indices), values=list(vector.values))


# == LangChain: langchain_qdrant.QdrantVectorStore ================================================================


def test_langchain_sparse_mode(emu: Emulator) -> None:
    store = QdrantVectorStore.from_texts(
        CATALOGUE,
        embedding=None,
        sparse_embedding=DashScopeSparseEmbeddings(**connection(emu)),
        retrieval_mode=RetrievalMode.SPARSE,
        location=":memory:",
        collection_name="sparse",
    )
    assert sent(emu) == [("document", "sparse")] * 3  # 25 texts, 10 per request
    assert stored_sparse(store.client, "sparse", store.sparse_vector_name) == {
        t: as_qdrant(sparse(emu, t)) for t in CATALOGUE
    }

    hits = store.similarity_search_with_score(SKU, k=5)
    assert hits[0][0].page_content == PRODUCTS[0]
    assert {doc.page_content: score for doc, score in hits} == expected_sparse_ranking(emu, SKU, CATALOGUE)
    assert hits[0][1] == 2.0  # "xj" and "9000", weight 1 each in query and document
    assert sent(emu)[3:] == [("query", "sparse")]


def test_langchain_hybrid_mode_costs_one_request_per_batch(emu: Emulator) -> None:
    h = DashScopeHybridEmbeddings(dimension=256, **connection(emu))
    store = QdrantVectorStore.from_texts(
        CATALOGUE,
        embedding=h.dense,
        sparse_embedding=h.sparse,
        retrieval_mode=RetrievalMode.HYBRID,
        location=":memory:",
        collection_name="hybrid",
    )
    # from_texts embeds "dummy_text" to size the collection, then the 25 texts: 1 + 3 requests for both kinds.
    assert emu.requests[0].body["input"]["texts"] == ["dummy_text"]
    assert sorted(t for r in emu.requests[1:] for t in r.body["input"]["texts"]) == sorted(CATALOGUE)
    assert sent(emu) == [("document", "dense&sparse")] * 4
    assert stored_sparse(store.client, "hybrid", store.sparse_vector_name) == {
        t: as_qdrant(sparse(emu, t)) for t in CATALOGUE
    }

    emu.reset()
    hits = store.similarity_search(SKU, k=3)
    assert hits[0].page_content == PRODUCTS[0]
    assert sent(emu) == [("query", "dense&sparse")]  # one request for the query's dense and sparse vectors
    assert emu.requests[0].body["input"]["texts"] == [SKU]


def test_langchain_hybrid_with_two_separate_objects_costs_twice(emu: Emulator) -> None:
    """The comparison point: a dense and a sparse object that do not share requests pay for each kind."""
    store = QdrantVectorStore.from_texts(
        CATALOGUE,
        embedding=DashScopeEmbeddings(dimension=256, **connection(emu)),
        sparse_embedding=DashScopeSparseEmbeddings(**connection(emu)),
        retrieval_mode=RetrievalMode.HYBRID,
        location=":memory:",
        collection_name="twice",
    )
    assert len(emu.requests) == 1 + 3 + 3
    emu.reset()
    assert store.similarity_search(SKU, k=3)[0].page_content == PRODUCTS[0]
    assert sent(emu) == [("query", "dense"), ("query", "sparse")]


def test_langchain_hybrid_over_an_existing_collection(emu: Emulator) -> None:
    client = QdrantClient(":memory:")
    client.create_collection(
        "products",
        vectors_config={"": models.VectorParams(size=256, distance=models.Distance.COSINE)},
        sparse_vectors_config={"langchain-sparse": models.SparseVectorParams()},
    )
    h = DashScopeHybridEmbeddings(dimension=256, **connection(emu))
    store = QdrantVectorStore(
        client,
        "products",
        embedding=h.dense,
        sparse_embedding=h.sparse,
        retrieval_mode=RetrievalMode.HYBRID,
        validate_collection_config=False,
    )
    store.add_texts(PRODUCTS)
    assert len(emu.requests) == 1
    assert [doc.page_content for doc in store.similarity_search(SKU, k=1)] == [PRODUCTS[0]]
    assert len(emu.requests) == 2


# == LlamaIndex: llama_index.vector_stores.qdrant.QdrantVectorStore =================================================


def node_id(i: int) -> str:
    return str(uuid.UUID(int=i + 1))  # Qdrant point ids are UUIDs or integers


def llama_index_store(emu: Emulator, **kwargs: Any) -> tuple[VectorStoreIndex, LlamaQdrantVectorStore]:
    sparse_model = DashScopeSparseEmbedding(**connection(emu))
    store = LlamaQdrantVectorStore(
        "products",
        client=QdrantClient(":memory:"),
        enable_hybrid=True,
        sparse_doc_fn=sparse_model.qdrant_doc_fn,
        sparse_query_fn=sparse_model.qdrant_query_fn,
        **kwargs,
    )
    nodes = [TextNode(text=t, id_=node_id(i)) for i, t in enumerate(CATALOGUE)]
    index = VectorStoreIndex(
        nodes,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=DashScopeEmbedding(dimension=256, **connection(emu)),
    )
    return index, store


def test_llama_index_hybrid_query_mode(emu: Emulator) -> None:
    index, store = llama_index_store(emu)
    # Dense vectors come from DashScopeEmbedding, sparse ones from the store's sparse_doc_fn: 3 + 3 requests.
    assert sorted(sent(emu)) == [("document", "dense")] * 3 + [("document", "sparse")] * 3
    assert stored_sparse(store.client, "products", store.sparse_vector_name) == {
        node_id(i): as_qdrant(sparse(emu, t)) for i, t in enumerate(CATALOGUE)
    }

    emu.reset()
    hits = index.as_retriever(vector_store_query_mode=VectorStoreQueryMode.HYBRID, similarity_top_k=3).retrieve(SKU)
    assert hits[0].node.get_content() == PRODUCTS[0]
    assert sent(emu) == [("query", "dense"), ("query", "sparse")]
    assert all(r.body["input"]["texts"] == [SKU] for r in emu.requests)


def test_llama_index_sparse_query_mode_scores(emu: Emulator) -> None:
    index, _ = llama_index_store(emu)
    hits = index.as_retriever(vector_store_query_mode=VectorStoreQueryMode.SPARSE, sparse_top_k=5).retrieve(SKU)
    assert hits[0].node.get_content() == PRODUCTS[0]
    assert {hit.node.get_content(): hit.score for hit in hits} == expected_sparse_ranking(emu, SKU, CATALOGUE)
