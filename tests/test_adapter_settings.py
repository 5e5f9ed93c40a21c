"""Both framework adapters expose every connection setting of TextEmbedder, under the same names."""

from __future__ import annotations

import inspect

import pytest

from dashscope_embeddings.langchain import DashScopeEmbeddings
from dashscope_embeddings.llama_index import DashScopeEmbedding
from dashscope_embeddings.text import EMBEDDER_SETTINGS, TextEmbedder


def test_the_settings_list_is_the_embedders_keywords() -> None:
    keywords = set(inspect.signature(TextEmbedder).parameters) - {"model", "retry"}
    assert set(EMBEDDER_SETTINGS) == keywords


@pytest.mark.parametrize("adapter", [DashScopeEmbeddings, DashScopeEmbedding])
def test_adapters_have_a_field_for_each_setting(adapter: type) -> None:
    assert set(EMBEDDER_SETTINGS) <= set(adapter.model_fields)  # type: ignore[attr-defined]
