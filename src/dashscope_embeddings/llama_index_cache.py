"""LlamaIndex's `embeddings_cache`, keyed by everything that changes a vector instead of by the text alone.

LlamaIndex reads and writes an embedding's cache under `key=<text>, collection="embeddings"` for queries and
documents alike, whatever the model and dimension. With DashScope that is wrong three ways: a text embedded as a
document answers the same text as a query (text-embedding-v4 gives different vectors for the two), a dimension
change answers with vectors of the old width, and two models sharing a store answer each other's texts.

The adapters hold the store you give them wrapped in `NamespacedKVStore`. While an adapter call runs, a context
variable names the collection that call's vectors belong to (`cache_namespace(text_type)`, e.g.
`dashscope/text-embedding-v4/1024/query`), and the wrapper turns LlamaIndex's `"embeddings"` into it. A context
variable rather than per-call state on the adapter: batches run chunks in worker threads (each in a copy of the
caller's context) and as tasks, and one adapter may serve queries and documents at the same time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.storage.kvstore.types import DEFAULT_BATCH_SIZE, DEFAULT_COLLECTION, BaseKVStore
from pydantic import field_validator

from .types import TextType

if TYPE_CHECKING:
    from .embedder import BaseEmbedder

__all__ = ["CacheByRole", "NamespacedKVStore"]

LLAMA_INDEX_COLLECTION = "embeddings"
"""The collection LlamaIndex's `BaseEmbedding` puts every cached vector in."""

_collection: ContextVar[str | None] = ContextVar("dashscope_embeddings_cache_collection", default=None)


class NamespacedKVStore(BaseKVStore):
    """The store given as `embeddings_cache`, with LlamaIndex's `"embeddings"` collection replaced by the calling
    adapter's `cache_namespace(text_type)`.

    Outside an adapter call, and for every other collection, each method reaches `store` unchanged, so the wrapper
    can be used wherever the store was; its other public attributes (`persist`, `to_dict`, ...) are the store's.
    """

    def __init__(self, store: BaseKVStore) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"NamespacedKVStore({self.store!r})"

    def __getattr__(self, name: str) -> Any:
        # Only public names: dunder lookups (copy, pickle) and a half-unpickled instance must not reach `store`.
        if name.startswith("_") or "store" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.store, name)

    @staticmethod
    def _mapped(collection: str) -> str:
        namespace = _collection.get()
        return namespace if namespace is not None and collection == LLAMA_INDEX_COLLECTION else collection

    def put(self, key: str, val: dict[str, Any], collection: str = DEFAULT_COLLECTION) -> None:
        self.store.put(key, val, collection=self._mapped(collection))

    async def aput(self, key: str, val: dict[str, Any], collection: str = DEFAULT_COLLECTION) -> None:
        await self.store.aput(key, val, collection=self._mapped(collection))

    def put_all(
        self,
        kv_pairs: list[tuple[str, dict[str, Any]]],
        collection: str = DEFAULT_COLLECTION,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.store.put_all(kv_pairs, collection=self._mapped(collection), batch_size=batch_size)

    async def aput_all(
        self,
        kv_pairs: list[tuple[str, dict[str, Any]]],
        collection: str = DEFAULT_COLLECTION,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        await self.store.aput_all(kv_pairs, collection=self._mapped(collection), batch_size=batch_size)

    def get(self, key: str, collection: str = DEFAULT_COLLECTION) -> dict[str, Any] | None:
        return self.store.get(key, collection=self._mapped(collection))

    async def aget(self, key: str, collection: str = DEFAULT_COLLECTION) -> dict[str, Any] | None:
        return await self.store.aget(key, collection=self._mapped(collection))

    def get_all(self, collection: str = DEFAULT_COLLECTION) -> dict[str, dict[str, Any]]:
        return self.store.get_all(collection=self._mapped(collection))

    async def aget_all(self, collection: str = DEFAULT_COLLECTION) -> dict[str, dict[str, Any]]:
        return await self.store.aget_all(collection=self._mapped(collection))

    def delete(self, key: str, collection: str = DEFAULT_COLLECTION) -> bool:
        return self.store.delete(key, collection=self._mapped(collection))

    async def adelete(self, key: str, collection: str = DEFAULT_COLLECTION) -> bool:
        return await self.store.adelete(key, collection=self._mapped(collection))


def namespaced(value: Any) -> Any:
    """A key-value store wrapped (once); anything else unchanged, for LlamaIndex's own check to refuse."""
    if isinstance(value, BaseKVStore) and not isinstance(value, NamespacedKVStore):
        return NamespacedKVStore(value)
    return value


class CacheByRole(BaseEmbedding):
    """A LlamaIndex embedding whose `embeddings_cache` files each vector under `cache_namespace(text_type)`.

    A `BaseKVStore` given as `embeddings_cache`, when the model is built or assigned later, is held wrapped in
    `NamespacedKVStore`. Queries run with the query namespace, texts (single and batched) with the document one.
    Subclasses have `embedder`, `dimension` and `query_instruct`, and wrap their batch methods in
    `_cached_as("document")`.
    """

    if TYPE_CHECKING:  # the subclasses' fields and property, which the namespace is made of
        dimension: int | None
        query_instruct: str | None

        @property
        def embedder(self) -> BaseEmbedder: ...

    @field_validator("embeddings_cache")
    @classmethod
    def _namespaced_cache(cls, value: Any) -> Any:
        return namespaced(value)

    if not TYPE_CHECKING:  # keeps pydantic's typed attribute assignment for type checkers

        def __setattr__(self, name: str, value: Any) -> None:
            super().__setattr__(name, namespaced(value) if name == "embeddings_cache" else value)

    def cache_namespace(self, text_type: TextType) -> str:
        """The `embeddings_cache` collection for this model's `text_type` vectors (see docs/caching.md), e.g.
        `dashscope/text-embedding-v4/1024/query`: model, dimension, role and a hash of `query_instruct`."""
        instruct = self.query_instruct if text_type == "query" else None
        return self.embedder.cache_namespace(text_type, dimension=self.dimension, instruct=instruct)

    @contextmanager
    def _cached_as(self, text_type: TextType) -> Iterator[None]:
        """Within this block, this model's cache reads and writes use its `text_type` namespace."""
        if self.embeddings_cache is None:
            yield
            return
        token = _collection.set(self.cache_namespace(text_type))  # copied into the batch's threads and tasks
        try:
            yield
        finally:
            _collection.reset(token)

    def get_query_embedding(self, query: str) -> Embedding:
        with self._cached_as("query"):
            return super().get_query_embedding(query)

    async def aget_query_embedding(self, query: str) -> Embedding:
        with self._cached_as("query"):
            return await super().aget_query_embedding(query)

    def get_text_embedding(self, text: str) -> Embedding:
        with self._cached_as("document"):
            return super().get_text_embedding(text)

    async def aget_text_embedding(self, text: str) -> Embedding:
        with self._cached_as("document"):
            return await super().aget_text_embedding(text)
