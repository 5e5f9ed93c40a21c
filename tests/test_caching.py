"""Caching recipes against the in-process emulator: langchain-classic's `CacheBackedEmbeddings` and LlamaIndex's
`embeddings_cache`, with a namespace of model, dimension and text type (docs/caching.md).

Asserted from the request log: a repeated call sends nothing, the same text as a query and as a document is two
entries with two vectors, and another dimension or model is another namespace.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import pickle
from typing import Any

import pytest
from langchain_classic.embeddings import CacheBackedEmbeddings
from langchain_classic.storage import InMemoryByteStore, LocalFileStore
from langchain_core.stores import ByteStore
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.storage.kvstore import SimpleKVStore

from dashscope_embeddings.emulator import Emulator
from dashscope_embeddings.langchain import DashScopeEmbeddings
from dashscope_embeddings.llama_index import DashScopeEmbedding, DashScopeMultiModalEmbedding
from dashscope_embeddings.llama_index_cache import NamespacedKVStore
from emulated import connection

V4 = "text-embedding-v4"
INSTRUCT = "Given a web search query, retrieve relevant passages that answer the query"
TEXTS = ["The cat sat on the mat", "Paris is the capital of France", "Deep learning is a subfield of machine learning"]


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def namespace(model: str, dimension: int, text_type: str, instruct: str | None = None) -> str:
    """The namespace docs/caching.md builds: everything that changes a vector, and no ':' (LocalFileStore refuses it)."""
    kind = text_type
    if text_type == "query" and instruct:
        kind += "-instruct-" + hashlib.sha256(instruct.encode()).hexdigest()[:12]
    return f"dashscope/{model}/{dimension}/{kind}"


def expected(emu: Emulator, text: str, **kwargs: Any) -> list[float]:
    kwargs.setdefault("model", V4)
    return emu.expected_embedding(text, **kwargs)


# -- LangChain: CacheBackedEmbeddings, one store, a namespace per text type -----------------------------------------


def cached(embeddings: DashScopeEmbeddings, store: ByteStore) -> CacheBackedEmbeddings:
    """docs/examples/cache_langchain.py's recipe."""
    dimension = embeddings.dimension or embeddings.embedder.spec.default_dimension
    assert dimension is not None
    document_ns = namespace(embeddings.model, dimension, "document")
    query_ns = namespace(embeddings.model, dimension, "query", embeddings.query_instruct)
    documents = CacheBackedEmbeddings.from_bytes_store(
        embeddings, store, namespace=document_ns + "/", key_encoder="sha256"
    )
    queries = CacheBackedEmbeddings.from_bytes_store(embeddings, store, namespace=query_ns + "/", key_encoder="sha256")
    return CacheBackedEmbeddings(
        embeddings, documents.document_embedding_store, query_embedding_store=queries.document_embedding_store
    )


def namespaces_in(store: ByteStore) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in store.yield_keys():
        prefix = key.rsplit("/", 1)[0]
        counts[prefix] = counts.get(prefix, 0) + 1
    return counts


async def lc_documents(emb: CacheBackedEmbeddings, texts: list[str], mode: str) -> list[list[float]]:
    return emb.embed_documents(texts) if mode == "sync" else await emb.aembed_documents(texts)


async def lc_query(emb: CacheBackedEmbeddings, text: str, mode: str) -> list[float]:
    return emb.embed_query(text) if mode == "sync" else await emb.aembed_query(text)


async def test_langchain_second_call_is_served_from_the_cache(emu: Emulator, mode: str) -> None:
    emb = cached(DashScopeEmbeddings(dimension=256, **connection(emu)), InMemoryByteStore())
    first = await lc_documents(emb, TEXTS, mode)
    assert len(emu.requests) == 1
    assert await lc_documents(emb, TEXTS, mode) == first
    assert await lc_documents(emb, [TEXTS[1], "a new text"], mode) == [
        first[1],
        expected(emu, "a new text", dimension=256),
    ]
    assert [r.body["input"]["texts"] for r in emu.requests] == [TEXTS, ["a new text"]]

    query = await lc_query(emb, "where is Paris?", mode)
    assert await lc_query(emb, "where is Paris?", mode) == query
    assert len(emu.requests) == 3


async def test_langchain_query_and_document_of_one_text_are_two_entries(emu: Emulator, mode: str) -> None:
    store = InMemoryByteStore()
    emb = cached(DashScopeEmbeddings(dimension=256, **connection(emu)), store)
    [document] = await lc_documents(emb, [TEXTS[0]], mode)
    query = await lc_query(emb, TEXTS[0], mode)
    assert document == expected(emu, TEXTS[0], dimension=256, text_type="document")
    assert query == expected(emu, TEXTS[0], dimension=256, text_type="query")
    assert query != document
    assert [r.body["parameters"]["text_type"] for r in emu.requests] == ["document", "query"]
    assert namespaces_in(store) == {
        "dashscope/text-embedding-v4/256/document": 1,
        "dashscope/text-embedding-v4/256/query": 1,
    }
    # Each is served from its own entry.
    assert await lc_query(emb, TEXTS[0], mode) == query
    assert await lc_documents(emb, [TEXTS[0]], mode) == [document]
    assert len(emu.requests) == 2


@pytest.mark.parametrize(
    ("settings", "changed"),
    [
        ({"dimension": 512}, "dashscope/text-embedding-v4/512/document"),
        ({"model": "text-embedding-v3"}, "dashscope/text-embedding-v3/1024/document"),
        ({"model": "text-embedding-v2"}, "dashscope/text-embedding-v2/1536/document"),
    ],
)
def test_langchain_model_and_dimension_are_in_the_namespace(
    emu: Emulator, settings: dict[str, Any], changed: str
) -> None:
    store = InMemoryByteStore()
    [default] = cached(DashScopeEmbeddings(**connection(emu)), store).embed_documents([TEXTS[0]])
    [other] = cached(DashScopeEmbeddings(**settings, **connection(emu)), store).embed_documents([TEXTS[0]])
    assert len(emu.requests) == 2
    model = settings.get("model", V4)
    assert other == expected(emu, TEXTS[0], model=model, dimension=settings.get("dimension"))
    assert other[:8] != default[:8]
    assert namespaces_in(store) == {"dashscope/text-embedding-v4/1024/document": 1, changed: 1}


def test_langchain_query_instruct_is_in_the_query_namespace(emu: Emulator) -> None:
    store = InMemoryByteStore()
    plain = cached(DashScopeEmbeddings(**connection(emu)), store).embed_query(TEXTS[0])
    instructed = cached(DashScopeEmbeddings(query_instruct=INSTRUCT, **connection(emu)), store).embed_query(TEXTS[0])
    assert instructed == expected(emu, TEXTS[0], text_type="query", instruct=INSTRUCT)
    assert instructed != plain
    suffix = hashlib.sha256(INSTRUCT.encode()).hexdigest()[:12]
    assert set(namespaces_in(store)) == {
        "dashscope/text-embedding-v4/1024/query",
        f"dashscope/text-embedding-v4/1024/query-instruct-{suffix}",
    }


def test_langchain_namespace_works_with_a_local_file_store(emu: Emulator, tmp_path: Any) -> None:
    """LocalFileStore refuses ':' in keys; the '/' namespace becomes a folder per model, dimension and text type."""
    vectors = cached(DashScopeEmbeddings(**connection(emu)), LocalFileStore(tmp_path)).embed_documents(TEXTS)
    reopened = cached(DashScopeEmbeddings(**connection(emu)), LocalFileStore(tmp_path))
    assert reopened.embed_documents(TEXTS) == vectors
    assert len(emu.requests) == 1
    assert len(list((tmp_path / "dashscope" / "text-embedding-v4" / "1024" / "document").iterdir())) == 3


def test_langchain_query_embedding_cache_true_serves_the_document_vector(emu: Emulator) -> None:
    """The pitfall the recipe avoids: `query_embedding_cache=True` reuses the document store and its namespace, so a
    query is answered with the document vector of the same text, without a request."""
    emb = CacheBackedEmbeddings.from_bytes_store(
        DashScopeEmbeddings(**connection(emu)),
        InMemoryByteStore(),
        namespace="dashscope/text-embedding-v4/1024/",
        query_embedding_cache=True,
        key_encoder="sha256",
    )
    [document] = emb.embed_documents([TEXTS[0]])
    assert emb.embed_query(TEXTS[0]) == document != expected(emu, TEXTS[0], text_type="query")
    assert len(emu.requests) == 1


@pytest.mark.parametrize("cls", [DashScopeEmbeddings, DashScopeEmbedding], ids=lambda c: c.__module__.split(".")[-1])
def test_adapters_give_their_cache_namespace(emu: Emulator, cls: type[Any]) -> None:
    model = "model" if cls is DashScopeEmbeddings else "model_name"
    default = cls(**connection(emu))
    assert default.cache_namespace("document") == "dashscope/text-embedding-v4/1024/document"
    assert default.cache_namespace("query") == "dashscope/text-embedding-v4/1024/query"
    assert (
        cls(dimension=256, **connection(emu)).cache_namespace("document") == "dashscope/text-embedding-v4/256/document"
    )
    v2 = cls(**{model: "text-embedding-v2"}, **connection(emu))
    assert v2.cache_namespace("query") == "dashscope/text-embedding-v2/1536/query"
    instructed = cls(query_instruct=INSTRUCT, **connection(emu))
    suffix = hashlib.sha256(INSTRUCT.encode()).hexdigest()[:12]
    assert instructed.cache_namespace("query") == f"dashscope/text-embedding-v4/1024/query-instruct-{suffix}"
    assert instructed.cache_namespace("document") == "dashscope/text-embedding-v4/1024/document"
    with pytest.raises(ValueError, match="text_type"):
        default.cache_namespace("passage")


def test_langchain_recipe_with_the_adapters_namespace(emu: Emulator) -> None:
    embeddings = DashScopeEmbeddings(dimension=256, **connection(emu))
    store = InMemoryByteStore()
    documents = CacheBackedEmbeddings.from_bytes_store(
        embeddings, store, namespace=embeddings.cache_namespace("document") + "/", key_encoder="sha256"
    )
    queries = CacheBackedEmbeddings.from_bytes_store(
        embeddings, store, namespace=embeddings.cache_namespace("query") + "/", key_encoder="sha256"
    )
    emb = CacheBackedEmbeddings(
        embeddings, documents.document_embedding_store, query_embedding_store=queries.document_embedding_store
    )
    assert emb.embed_query(TEXTS[0]) != emb.embed_documents([TEXTS[0]])[0]
    assert namespaces_in(store) == {
        "dashscope/text-embedding-v4/256/document": 1,
        "dashscope/text-embedding-v4/256/query": 1,
    }


# -- LlamaIndex: embeddings_cache ----------------------------------------------------------------------------------


def entries(cache: SimpleKVStore, collection: str | None = None) -> dict[str, list[float]]:
    """The cached vectors by text, in `collection` or in all (LlamaIndex stores `{uuid: vector}` per text)."""
    collections = cache.to_dict() if collection is None else {collection: cache.get_all(collection)}
    return {text: next(iter(v.values())) for c in collections.values() for text, v in c.items()}


async def li_batch(emb: BaseEmbedding, texts: list[str], mode: str) -> list[list[float]]:
    return emb.get_text_embedding_batch(texts) if mode == "sync" else await emb.aget_text_embedding_batch(texts)


async def li_text(emb: BaseEmbedding, text: str, mode: str) -> list[float]:
    return emb.get_text_embedding(text) if mode == "sync" else await emb.aget_text_embedding(text)


async def li_query(emb: BaseEmbedding, text: str, mode: str) -> list[float]:
    return emb.get_query_embedding(text) if mode == "sync" else await emb.aget_query_embedding(text)


async def test_llama_index_second_call_is_served_from_the_cache(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbedding(dimension=256, embeddings_cache=SimpleKVStore(), **connection(emu))
    texts = [f"passage {i} about caching" for i in range(12)]
    first = await li_batch(emb, texts, mode)
    assert sorted(len(r.body["input"]["texts"]) for r in emu.requests) == [2, 10]
    assert await li_batch(emb, texts, mode) == first
    assert await li_text(emb, texts[3], mode) == first[3]
    assert len(emu.requests) == 2
    assert first == [expected(emu, t, dimension=256, text_type="document") for t in texts]


async def test_llama_index_one_cache_serves_index_and_retriever(emu: Emulator, mode: str) -> None:
    """docs/examples/cache_llama_index.py's recipe: one model, one store, for the index and the retriever."""
    cache = SimpleKVStore()
    question = "Which city is the capital of France?"

    async def build_and_retrieve() -> str:
        embed_model = DashScopeEmbedding(model_name=V4, dimension=256, embeddings_cache=cache, **connection(emu))
        index = VectorStoreIndex.from_documents(
            [Document(text=t) for t in TEXTS], embed_model=embed_model, use_async=mode == "async"
        )
        retriever = index.as_retriever(similarity_top_k=1)
        hits = retriever.retrieve(question) if mode == "sync" else await retriever.aretrieve(question)
        return hits[0].node.get_content()

    assert await build_and_retrieve() == TEXTS[1]
    assert [r.body["parameters"]["text_type"] for r in emu.requests] == ["document", "query"]
    assert await build_and_retrieve() == TEXTS[1]
    assert len(emu.requests) == 2  # the second index and search come from the cache

    document_ns, query_ns = namespace(V4, 256, "document"), namespace(V4, 256, "query")
    assert set(cache.to_dict()) == {document_ns, query_ns}
    assert entries(cache, document_ns) == {t: expected(emu, t, dimension=256, text_type="document") for t in TEXTS}
    assert entries(cache, query_ns) == {question: expected(emu, question, dimension=256, text_type="query")}


async def test_llama_index_one_cache_keeps_query_and_document_apart(emu: Emulator, mode: str) -> None:
    """LlamaIndex keys the cache by text alone; the adapter files a query and a document under their own namespaces."""
    cache = SimpleKVStore()
    emb = DashScopeEmbedding(dimension=256, embeddings_cache=cache, **connection(emu))
    document = await li_text(emb, TEXTS[0], mode)
    query = await li_query(emb, TEXTS[0], mode)
    assert query == expected(emu, TEXTS[0], dimension=256, text_type="query") != document
    assert [r.body["parameters"]["text_type"] for r in emu.requests] == ["document", "query"]
    assert set(cache.get_all(emb.cache_namespace("document"))) == {TEXTS[0]}
    assert set(cache.get_all(emb.cache_namespace("query"))) == {TEXTS[0]}
    assert await li_batch(emb, [TEXTS[0]], mode) == [document]
    assert await li_query(emb, TEXTS[0], mode) == query
    assert len(emu.requests) == 2


async def test_llama_index_one_cache_keys_on_dimension_and_model(emu: Emulator, mode: str) -> None:
    """A dimension change, or another model on the same store, is a miss: never vectors of the old size or model."""
    cache = SimpleKVStore()
    emb = DashScopeEmbedding(dimension=256, embeddings_cache=cache, **connection(emu))
    assert len(await li_text(emb, TEXTS[0], mode)) == 256
    emb.dimension = 512
    assert await li_text(emb, TEXTS[0], mode) == expected(emu, TEXTS[0], dimension=512)
    v3 = DashScopeEmbedding(model_name="text-embedding-v3", dimension=512, embeddings_cache=cache, **connection(emu))
    assert await li_batch(v3, [TEXTS[0]], mode) == [expected(emu, TEXTS[0], model="text-embedding-v3", dimension=512)]
    assert len(emu.requests) == 3


async def test_llama_index_query_instruct_is_in_the_query_namespace(emu: Emulator, mode: str) -> None:
    cache = SimpleKVStore()
    plain = DashScopeEmbedding(dimension=256, embeddings_cache=cache, **connection(emu))
    instructed = DashScopeEmbedding(dimension=256, query_instruct=INSTRUCT, embeddings_cache=cache, **connection(emu))
    assert await li_query(plain, TEXTS[0], mode) == expected(emu, TEXTS[0], dimension=256, text_type="query")
    assert await li_query(instructed, TEXTS[0], mode) == expected(
        emu, TEXTS[0], dimension=256, text_type="query", instruct=INSTRUCT
    )
    assert len(emu.requests) == 2
    assert instructed.cache_namespace("query") == namespace(V4, 256, "query", INSTRUCT)
    assert set(cache.to_dict()) == {namespace(V4, 256, "query"), namespace(V4, 256, "query", INSTRUCT)}


async def test_llama_index_cache_assigned_later_is_namespaced_too(emu: Emulator, mode: str) -> None:
    emb = DashScopeEmbedding(dimension=256, **connection(emu))
    store = SimpleKVStore()
    emb.embeddings_cache = store
    assert isinstance(emb.embeddings_cache, NamespacedKVStore)
    assert emb.embeddings_cache.store is store
    await li_text(emb, TEXTS[0], mode)
    await li_query(emb, TEXTS[0], mode)
    assert set(store.to_dict()) == {namespace(V4, 256, "document"), namespace(V4, 256, "query")}
    assert emb.embeddings_cache.to_dict() == store.to_dict()  # the store's own methods, through the wrapper
    emb.embeddings_cache = None
    assert emb.embeddings_cache is None


async def test_llama_index_concurrent_queries_and_batches_keep_their_namespaces(emu: Emulator) -> None:
    """The namespace travels with each call's context: into worker threads, tasks, and calls running side by side."""
    cache = SimpleKVStore()
    emb = DashScopeEmbedding(dimension=256, embeddings_cache=cache, **connection(emu))
    texts = [f"passage {i}" for i in range(25)]
    questions = [f"question {i}" for i in range(5)]
    await asyncio.gather(
        emb.aget_text_embedding_batch(texts),
        asyncio.to_thread(emb.get_text_embedding_batch, texts[:12]),
        *(emb.aget_query_embedding(q) for q in questions[:3]),
        *(asyncio.to_thread(emb.get_query_embedding, q) for q in questions[3:]),
    )
    assert entries(cache, namespace(V4, 256, "document")) == {
        t: expected(emu, t, dimension=256, text_type="document") for t in texts
    }
    assert entries(cache, namespace(V4, 256, "query")) == {
        q: expected(emu, q, dimension=256, text_type="query") for q in questions
    }
    assert set(cache.to_dict()) == {namespace(V4, 256, "document"), namespace(V4, 256, "query")}


def test_llama_index_cache_outside_a_call_is_the_store_itself(emu: Emulator) -> None:
    store = SimpleKVStore()
    emb = DashScopeEmbedding(embeddings_cache=store, **connection(emu))
    emb.embeddings_cache.put("k", {"id": [1.0]}, collection="embeddings")
    assert store.get("k", collection="embeddings") == {"id": [1.0]}
    assert emb.embeddings_cache.get_all("embeddings") == {"k": {"id": [1.0]}}
    assert emb.embeddings_cache.delete("k", collection="embeddings")
    assert store.to_dict() == {"embeddings": {}}
    assert repr(emb.embeddings_cache) == f"NamespacedKVStore({store!r})"


def test_llama_index_cache_survives_copy_and_pickle_wrapped_once(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test")
    store = SimpleKVStore()
    store.put("cached text", {"id": [0.5]}, collection=namespace(V4, 256, "document"))
    emb = DashScopeEmbedding(dimension=256, embeddings_cache=store, **connection(emu))
    for clone in (copy.deepcopy(emb), pickle.loads(pickle.dumps(emb)), emb.model_copy()):
        cache = clone.embeddings_cache
        assert isinstance(cache, NamespacedKVStore)
        assert not isinstance(cache.store, NamespacedKVStore)
        assert cache.store.get("cached text", collection=namespace(V4, 256, "document")) == {"id": [0.5]}


async def test_llama_index_multimodal_cache_keys_on_instruct_and_dimension(emu: Emulator, mode: str) -> None:
    cache = SimpleKVStore()
    settings: dict[str, Any] = {"model_name": "qwen3-vl-embedding", "embeddings_cache": cache, **connection(emu)}
    emb = DashScopeMultiModalEmbedding(dimension=256, query_instruct=INSTRUCT, **settings)
    document = await li_text(emb, TEXTS[0], mode)
    query = await li_query(emb, TEXTS[0], mode)
    oracle = emu.expected_multimodal_embedding
    assert document == oracle([{"text": TEXTS[0]}], model="qwen3-vl-embedding", dimension=256)[0]
    assert query == oracle([{"text": TEXTS[0]}], model="qwen3-vl-embedding", dimension=256, instruct=INSTRUCT)[0]
    emb.dimension = 512
    assert len(await li_text(emb, TEXTS[0], mode)) == 512
    assert len(emu.requests) == 3
    assert set(cache.to_dict()) == {
        namespace("qwen3-vl-embedding", 256, "document"),
        namespace("qwen3-vl-embedding", 256, "query", INSTRUCT),
        namespace("qwen3-vl-embedding", 512, "document"),
    }
