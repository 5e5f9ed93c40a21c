"""Every framework adapter exposes the connection settings of TextEmbedder, under the same names."""

from __future__ import annotations

import inspect

import pytest

from dashscope_embeddings.langchain import DashScopeEmbeddings
from dashscope_embeddings.llama_index import DashScopeEmbedding
from dashscope_embeddings.milvus import DashScopeMilvusHybridEmbeddings, DashScopeMilvusSparseEmbeddings
from dashscope_embeddings.qdrant import DashScopeHybridEmbeddings, DashScopeSparseEmbeddings
from dashscope_embeddings.text import EMBEDDER_SETTINGS, TextEmbedder

# `retry` (a RetryPolicy) and `rate_limit` (a RateLimit or a shared limiter) are objects the embedders take, not
# plain settings; the adapters expose `max_retries` and no rate limit.
OBJECTS_NOT_SETTINGS = {"model", "retry", "rate_limit"}


def test_the_settings_list_is_the_embedders_keywords() -> None:
    keywords = set(inspect.signature(TextEmbedder).parameters) - OBJECTS_NOT_SETTINGS
    assert set(EMBEDDER_SETTINGS) == keywords


@pytest.mark.parametrize(
    "adapter",
    [DashScopeEmbeddings, DashScopeEmbedding, DashScopeHybridEmbeddings, DashScopeMilvusHybridEmbeddings],
)
def test_adapters_have_a_field_for_each_setting(adapter: type) -> None:
    assert set(EMBEDDER_SETTINGS) <= set(adapter.model_fields)  # type: ignore[attr-defined]


@pytest.mark.parametrize("adapter", [DashScopeSparseEmbeddings, DashScopeMilvusSparseEmbeddings])
def test_sparse_only_adapters_have_each_setting_but_dimension(adapter: type) -> None:
    fields = set(adapter.model_fields)  # type: ignore[attr-defined]
    assert set(EMBEDDER_SETTINGS) - {"dimension"} <= fields
    assert "dimension" not in fields  # a sparse vector has none


def test_both_stores_hybrid_containers_take_the_same_settings() -> None:
    assert DashScopeHybridEmbeddings.model_fields.keys() == DashScopeMilvusHybridEmbeddings.model_fields.keys()
    assert DashScopeSparseEmbeddings.model_fields.keys() == DashScopeMilvusSparseEmbeddings.model_fields.keys()
