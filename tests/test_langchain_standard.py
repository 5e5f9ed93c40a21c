"""langchain-tests' standard suites for `DashScopeEmbeddings`.

The unit suite runs as upstream intends. The integration suite runs offline: `embedding_model_params` injects
httpx clients whose transports are the in-process emulator, so every standard call really goes through the client,
the protocol and the emulator's validation; the extra tests below check the emulator saw what it should.
"""

from __future__ import annotations

from typing import Any

import httpx
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.langchain import DashScopeEmbeddings


class TestDashScopeEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[DashScopeEmbeddings]:
        return DashScopeEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "text-embedding-v4", "dimension": 256, "api_key": "sk-unit"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"DASHSCOPE_API_KEY": "sk-from-env"},
            {"model": "text-embedding-v3", "dimensions": 512},
            {"api_key": "sk-from-env", "model": "text-embedding-v3", "dimension": 512},
        )


class TestDashScopeEmbeddingsIntegration(EmbeddingsIntegrationTests):
    emulator = Emulator(faults=Faults(shuffle=True))

    @property
    def embeddings_class(self) -> type[DashScopeEmbeddings]:
        return DashScopeEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {
            "model": "text-embedding-v4",
            "dimension": 128,
            "api_key": "sk-integration",
            "base_url": "http://127.0.0.1/api/v1",
            "http_client": httpx.Client(transport=self.emulator.transport()),
            "http_async_client": httpx.AsyncClient(transport=self.emulator.async_transport()),
        }

    async def test_standard_calls_reach_the_emulator(self, model: DashScopeEmbeddings) -> None:
        before = len(self.emulator.requests)
        texts = ["foo", "bar", "baz"]
        assert model.embed_documents(texts) == await model.aembed_documents(texts)
        assert model.embed_query("foo") == await model.aembed_query("foo")
        assert model.embed_documents(texts) == [
            self.emulator.expected_embedding(t, model="text-embedding-v4", dimension=128) for t in texts
        ]
        assert model.embed_query("foo") == self.emulator.expected_embedding(
            "foo", model="text-embedding-v4", dimension=128, text_type="query"
        )
        sent = [r.body["parameters"] for r in self.emulator.requests[before:]]
        document = {"text_type": "document", "dimension": 128}
        query = {"text_type": "query", "dimension": 128}
        assert sent == [document, document, query, query, document, query]
