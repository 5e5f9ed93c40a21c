"""TextEmbedder against the in-process emulator: exact vectors, request bodies, batching, order, validation, faults.

Every scenario runs on the sync and the async path (`embed` fixture).
"""

from __future__ import annotations

import asyncio
import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dashscope_embeddings import EmbeddingResult, SparseVector, TextEmbedder, Usage, catalog
from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import AuthenticationError, InputError, ResponseValidationError, ServerError
from dashscope_embeddings.tokens import get_token_counter
from dashscope_embeddings.transport import RetryPolicy

V4 = "text-embedding-v4"
FAST_RETRY = RetryPolicy(initial_delay=0.001, max_delay=0.002)


def make_embedder(emu: Emulator, model: str = V4, **kwargs: Any) -> TextEmbedder:
    kwargs.setdefault("api_key", "sk-test")
    kwargs.setdefault("retry", FAST_RETRY)
    return TextEmbedder(
        model,
        base_url="http://emulator.test/api/v1",
        allow_insecure_http=True,
        http_client=httpx.Client(transport=emu.transport()),
        http_async_client=httpx.AsyncClient(transport=emu.async_transport()),
        **kwargs,
    )


Embed = Callable[..., EmbeddingResult]


@pytest.fixture(params=["sync", "async"])
def embed(request: pytest.FixtureRequest) -> Embed:
    def run(embedder: TextEmbedder, texts: Any, **kwargs: Any) -> EmbeddingResult:
        if request.param == "sync":
            return embedder.embed(texts, **kwargs)
        return asyncio.run(embedder.aembed(texts, **kwargs))

    return run


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


def bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [record.body for record in emu.requests]


class TestExactVectors:
    def test_documents_get_the_emulators_document_vectors(self, emu: Emulator, embed: Embed) -> None:
        texts = ["Artificial intelligence is a branch of computer science", "Deep learning", "深度学习"]
        result = embed(make_embedder(emu), texts)
        assert result.embeddings == [emu.expected_embedding(t, model=V4, dimension=1024) for t in texts]
        assert result.dimension == 1024
        assert result.model == V4
        assert len(result) == 3
        assert result.sparse == []

    def test_query_with_instruct(self, emu: Emulator, embed: Embed) -> None:
        instruct = "Given a research paper query, retrieve relevant research paper"
        result = embed(make_embedder(emu), "Research papers on Machine Learning", text_type="query", instruct=instruct)
        expected = emu.expected_embedding(
            "Research papers on Machine Learning", model=V4, dimension=1024, text_type="query", instruct=instruct
        )
        assert result.embeddings == [expected]
        assert bodies(emu) == [
            {
                "model": V4,
                "input": {"texts": ["Research papers on Machine Learning"]},
                "parameters": {"text_type": "query", "dimension": 1024, "instruct": instruct},
            }
        ]

    def test_dimension_from_the_embedder_and_per_call(self, emu: Emulator, embed: Embed) -> None:
        embedder = make_embedder(emu, dimension=256)
        assert embed(embedder, ["x"]).embeddings == [emu.expected_embedding("x", model=V4, dimension=256)]
        assert embed(embedder, ["x"], dimension=64).embeddings == [emu.expected_embedding("x", model=V4, dimension=64)]
        assert [b["parameters"]["dimension"] for b in bodies(emu)] == [256, 64]

    def test_default_dimension_is_sent_explicitly_for_v4(self, emu: Emulator, embed: Embed) -> None:
        embed(make_embedder(emu), ["x"])
        assert bodies(emu)[0]["parameters"] == {"text_type": "document", "dimension": 1024}

    def test_text_type_none_sends_none(self, emu: Emulator, embed: Embed) -> None:
        result = embed(make_embedder(emu), ["x"], text_type=None)
        assert "text_type" not in bodies(emu)[0]["parameters"]
        assert result.embeddings == [emu.expected_embedding("x", model=V4, dimension=1024)]

    def test_v2_sends_no_dimension_and_gets_1536(self, emu: Emulator, embed: Embed) -> None:
        result = embed(make_embedder(emu, "text-embedding-v2", dimension=1536), ["x"])
        assert bodies(emu)[0] == {
            "model": "text-embedding-v2",
            "input": {"texts": ["x"]},
            "parameters": {"text_type": "document"},
        }
        assert result.embeddings == [emu.expected_embedding("x", model="text-embedding-v2")]
        assert result.dimension == 1536

    def test_usage_is_summed_over_requests(self, emu: Emulator, embed: Embed) -> None:
        texts = [f"text number {i}" for i in range(25)]
        result = embed(make_embedder(emu), texts)
        assert len(result.request_ids) == 3
        assert len(set(result.request_ids)) == 3
        assert result.usage == Usage(total_tokens=sum(r.response_body["usage"]["total_tokens"] for r in emu.requests))
        assert result.usage.total_tokens > 0

    def test_floats_are_python_floats(self, emu: Emulator, embed: Embed) -> None:
        vector = embed(make_embedder(emu), ["x"]).embeddings[0]
        assert all(type(v) is float for v in vector)


class TestBatching:
    @pytest.mark.parametrize(
        ("model", "count", "sizes"),
        [
            (V4, 25, [10, 10, 5]),
            ("text-embedding-v3", 10, [10]),
            ("text-embedding-v3", 11, [10, 1]),
            ("text-embedding-v2", 30, [25, 5]),
            ("text-embedding-v1", 50, [25, 25]),
        ],
    )
    def test_requests_never_exceed_the_cap(
        self, emu: Emulator, embed: Embed, model: str, count: int, sizes: list[int]
    ) -> None:
        texts = [f"t{i}" for i in range(count)]
        result = embed(make_embedder(emu, model), texts)
        assert sorted(len(b["input"]["texts"]) for b in bodies(emu)) == sorted(sizes)
        assert sorted(t for b in bodies(emu) for t in b["input"]["texts"]) == sorted(texts)
        assert result.embeddings == [emu.expected_embedding(t, model=model) for t in texts]

    def test_shuffled_answers_are_put_back_in_order(self, embed: Embed) -> None:
        emu = Emulator(faults=Faults(shuffle=True, seed=3))
        texts = [f"sentence {i} about topic {i % 7}" for i in range(95)]
        result = embed(make_embedder(emu), texts)
        assert result.embeddings == [emu.expected_embedding(t, model=V4) for t in texts]

    def test_empty_list_sends_nothing(self, emu: Emulator, embed: Embed) -> None:
        result = embed(make_embedder(emu), [])
        assert result == EmbeddingResult(model=V4, embeddings=[], dimension=1024)
        assert emu.requests == []

    def test_tuple_input(self, emu: Emulator, embed: Embed) -> None:
        assert len(embed(make_embedder(emu), ("a", "b"))) == 2


class TestSparse:
    def test_sparse_only(self, emu: Emulator, embed: Embed) -> None:
        texts = ["Order XJ-9000 shipped", "the cat sat on the mat"]
        result = embed(make_embedder(emu), texts, output_type="sparse")
        assert result.embeddings == []
        assert result.sparse == [SparseVector.from_entries(emu.expected_sparse(t, model=V4)) for t in texts]
        assert bodies(emu)[0]["parameters"]["output_type"] == "sparse"

    def test_dense_and_sparse_in_one_request(self, emu: Emulator, embed: Embed) -> None:
        result = embed(make_embedder(emu), ["alpha beta"], output_type="dense&sparse", text_type="query")
        assert len(emu.requests) == 1
        assert result.embeddings == [emu.expected_embedding("alpha beta", model=V4, text_type="query")]
        assert result.sparse == [
            SparseVector.from_entries(emu.expected_sparse("alpha beta", model=V4, text_type="query"))
        ]
        assert result.sparse[0].tokens is not None


def over_limit_text(limit: int) -> str:
    text = "lorem ipsum dolor sit amet " * (limit // 3)
    assert get_token_counter().count(text) > limit
    return text


class TestValidationBeforeSending:
    @pytest.mark.parametrize(
        ("texts", "kwargs", "message"),
        [
            (["ok", None], {}, r"texts\[1\] is NoneType, not str: remove it"),
            (["ok", 3], {}, r"texts\[1\] is int, not str: pass text"),
            ([b"raw"], {}, r"texts\[0\] is bytes, not str: decode it"),
            (b"raw", {}, r"texts is bytes; decode it"),
            (["ok", ""], {}, r"texts\[1\] is empty or only whitespace"),
            (["ok", "ok", " \n\t"], {}, r"texts\[2\] is empty or only whitespace"),
            (42, {}, r"texts must be a str or a sequence of str, got int"),
            (
                ["x"],
                {"dimension": 300},
                r"dimension 300 is not offered by text-embedding-v4; choose one of 2048, 1536, 1024, 768, 512, 256, 128, 64 \(default 1024\)",
            ),
            (["x"], {"dimension": "1024"}, r"dimension must be an int, got str"),
            (["x"], {"text_type": "search"}, r"text_type must be 'query' or 'document', got 'search'"),
            (
                ["x"],
                {"output_type": "both"},
                r"output_type must be one of 'dense', 'sparse', 'dense&sparse', got 'both'",
            ),
            (["x"], {"instruct": "Find papers"}, r"applies to queries only: pass text_type='query' \(got 'document'\)"),
            (["x"], {"instruct": "  ", "text_type": "query"}, r"instruct must be a non-empty string"),
        ],
    )
    def test_bad_input_is_refused_with_nothing_sent(
        self, emu: Emulator, embed: Embed, texts: Any, kwargs: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(InputError, match=message):
            embed(make_embedder(emu), texts, **kwargs)
        assert emu.requests == []

    def test_error_carries_the_index(self, emu: Emulator, embed: Embed) -> None:
        with pytest.raises(InputError) as info:
            embed(make_embedder(emu), ["a", "b", ""])
        assert info.value.index == 2
        assert isinstance(info.value, ValueError)

    @pytest.mark.parametrize(
        ("model", "kwargs", "message"),
        [
            ("text-embedding-v2", {"output_type": "sparse"}, r"text-embedding-v2 has no sparse vectors"),
            (
                "text-embedding-v3",
                {"text_type": "query", "instruct": "Find"},
                r"text-embedding-v3 does not take instruct",
            ),
            ("text-embedding-v3", {"dimension": 2048}, r"dimension 2048 is not offered by text-embedding-v3"),
            (
                "text-embedding-v2",
                {"dimension": 1024},
                r"dimension 1024 is not offered by text-embedding-v2; choose one of 1536",
            ),
        ],
    )
    def test_model_capabilities(
        self, emu: Emulator, embed: Embed, model: str, kwargs: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(InputError, match=message):
            embed(make_embedder(emu, model), ["x"], **kwargs)
        assert emu.requests == []

    def test_over_long_text_names_index_count_and_limit(self, emu: Emulator, embed: Embed) -> None:
        long = over_limit_text(8192)
        count = get_token_counter().count(long)
        with pytest.raises(
            InputError, match=rf"texts\[1\] has {count} tokens.*limit of 8192 tokens per text.*truncate=True"
        ) as info:
            embed(make_embedder(emu), ["short", long])
        assert info.value.index == 1
        assert emu.requests == []

    def test_v2_limit_is_2048_tokens(self, emu: Emulator, embed: Embed) -> None:
        with pytest.raises(InputError, match=r"limit of 2048 tokens"):
            embed(make_embedder(emu, "text-embedding-v2"), [over_limit_text(2048)])

    def test_truncate_cuts_at_the_limit_and_sends(self, emu: Emulator, embed: Embed) -> None:
        long = over_limit_text(8192)
        result = embed(make_embedder(emu), ["short", long], truncate=True)
        sent = bodies(emu)[0]["input"]["texts"][1]
        assert get_token_counter().count(sent) == 8192
        assert long.startswith(sent)
        assert result.embeddings[1] == emu.expected_embedding(sent, model=V4)

    def test_truncate_on_the_embedder(self, emu: Emulator, embed: Embed) -> None:
        embed(make_embedder(emu, truncate=True), [over_limit_text(8192)])
        assert len(emu.requests) == 1

    @pytest.mark.parametrize(
        ("model", "message"),
        [
            ("qwen3-vl-embedding", r"qwen3-vl-embedding is a multimodal model.*Use MultimodalEmbedder"),
            ("multimodal-embedding-v1", r"is a multimodal model"),
            ("text-embedding-async-v2", r"runs only as an asynchronous batch job"),
        ],
    )
    def test_wrong_kind_of_model(self, emu: Emulator, model: str, message: str) -> None:
        with pytest.raises(InputError, match=message):
            make_embedder(emu, model)

    def test_bad_settings(self, emu: Emulator) -> None:
        with pytest.raises(InputError, match="max_concurrency must be an int of at least 1"):
            make_embedder(emu, max_concurrency=0)
        with pytest.raises(InputError, match="dimension 100 is not offered"):
            make_embedder(emu, dimension=100)

    def test_missing_key(self) -> None:
        with pytest.raises(InputError, match=r"No DashScope API key: pass api_key=\.\.\. or set DASHSCOPE_API_KEY"):
            TextEmbedder()

    def test_key_from_env_and_never_in_repr(self, monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
        monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env-123")
        embedder = make_embedder(emu, api_key=None)
        embedder.embed(["x"])
        assert emu.requests[0].headers["authorization"] == "Bearer sk-from-env-123"
        assert "sk-from-env" not in repr(embedder)


class TestUnknownModels:
    def test_unknown_model_works_with_conservative_batches(self, embed: Embed, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(catalog, "_warned", set())  # the warning is once per process; start afresh
        emu = Emulator(accept_unknown_models=True)
        with pytest.warns(UserWarning, match="qwen9-text-embedding"):
            embedder = make_embedder(emu, "qwen9-text-embedding")
        result = embed(embedder, [f"t{i}" for i in range(12)], dimension=777)
        assert sorted(len(b["input"]["texts"]) for b in bodies(emu)) == [2, 10]
        assert {b["parameters"]["dimension"] for b in bodies(emu)} == {777}
        assert result.dimension == len(result.embeddings[0])


class TestRegionsAndAuth:
    def test_model_missing_from_region_warns_but_works(self, emu: Emulator) -> None:
        with pytest.warns(UserWarning, match=r"text-embedding-v2 is not listed for Singapore \(listed: beijing\)"):
            TextEmbedder("text-embedding-v2", api_key="k", region="singapore")

    def test_listed_model_does_not_warn(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            TextEmbedder("text-embedding-v4", api_key="k", region="hongkong")
            TextEmbedder("text-embedding-v2", api_key="k", base_url="http://127.0.0.1:1/api/v1")

    def test_401_explains_keys_are_per_region(self, embed: Embed) -> None:
        emu = Emulator(api_keys={"sk-right"})
        with pytest.raises(
            AuthenticationError,
            match=r"API keys are per region: this request went to a custom endpoint \(emulator.test\)",
        ) as info:
            embed(make_embedder(emu, api_key="sk-wrong"), ["x"])
        assert info.value.status_code == 401
        assert info.value.code == "InvalidApiKey"
        assert info.value.request_id
        assert "sk-wrong" not in str(info.value)
        assert len(emu.requests) == 1  # 401 is never retried


class TestFaults:
    def test_server_errors_drops_and_bad_bodies_are_retried_to_exact_results(self, embed: Embed) -> None:
        emu = Emulator(
            faults=Faults(
                error_rate=0.15, drop_rate=0.05, malformed_rate=0.05, missing_rate=0.05, shuffle=True, seed=11
            )
        )
        texts = [f"document {i}" for i in range(200)]
        result = embed(
            make_embedder(emu, retry=RetryPolicy(max_retries=6, initial_delay=0.001, max_delay=0.002)), texts
        )
        assert result.embeddings == [emu.expected_embedding(t, model=V4) for t in texts]
        assert emu.stats.requests > 20  # some requests failed and were retried

    def test_exhausted_retries_raise_the_last_error(self, embed: Embed) -> None:
        emu = Emulator(faults=Faults(error_rate=1.0))
        with pytest.raises(ServerError) as info:
            embed(make_embedder(emu, retry=RetryPolicy(max_retries=1, initial_delay=0.001)), ["x"])
        assert info.value.code == "InternalError"
        assert emu.stats.requests == 2

    def test_a_missing_embedding_is_never_returned(self, embed: Embed) -> None:
        emu = Emulator(faults=Faults(missing_rate=1.0))
        with pytest.raises(ResponseValidationError, match="embeddings for 3 texts"):
            embed(make_embedder(emu), ["a", "b", "c"])
        assert emu.stats.requests == 3  # first attempt + 2 retries

    def test_throttling_is_absorbed_and_shrinks_concurrency(self, embed: Embed) -> None:
        emu = Emulator(faults=Faults(rpm=600, burst=2, seed=1))
        texts = [f"t{i}" for i in range(60)]
        embedder = make_embedder(emu, retry=RetryPolicy(max_rate_limit_retries=50, max_retry_after=5))
        result = embed(embedder, texts)
        assert result.embeddings == [emu.expected_embedding(t, model=V4) for t in texts]
        assert emu.stats.throttled > 0
        assert embedder._adaptive.limit < 16  # throttling halved the requests allowed in flight


class TestStreaming:
    def test_results_arrive_per_request_in_order_with_exact_vectors(self) -> None:
        emu = Emulator(faults=Faults(shuffle=True, seed=4))
        texts = [f"streamed text {i}" for i in range(95)]
        results = list(make_embedder(emu).embed_stream(iter(texts)))
        assert [len(r) for r in results] == [10] * 9 + [5]
        assert [v for r in results for v in r.embeddings] == [emu.expected_embedding(t, model=V4) for t in texts]
        assert all(len(r.request_ids) == 1 for r in results)

    async def test_async_stream(self) -> None:
        emu = Emulator()
        texts = [f"t{i}" for i in range(23)]
        results = [r async for r in make_embedder(emu).aembed_stream(texts, text_type="query")]
        assert [v for r in results for v in r.embeddings] == [
            emu.expected_embedding(t, model=V4, text_type="query") for t in texts
        ]

    def test_input_is_read_lazily_within_a_bounded_window(self) -> None:
        emu = Emulator()
        read = 0

        def texts():  # type: ignore[no-untyped-def]
            nonlocal read
            for i in range(10_000):
                read += 1
                yield f"t{i}"

        stream = make_embedder(emu, max_concurrency=2).embed_stream(texts())
        next(stream)
        assert read <= 10 * (2 * 2 + 1)  # the window (2 × concurrency requests) plus the one being planned
        stream.close()

    def test_a_bad_text_names_its_index_in_the_whole_stream(self) -> None:
        emu = Emulator()
        texts = [f"t{i}" for i in range(25)]
        texts[23] = " "
        seen: list[int] = []

        def consume() -> None:
            seen.extend(len(result) for result in make_embedder(emu, max_concurrency=1).embed_stream(texts))

        with pytest.raises(InputError, match=r"texts\[23\] is empty") as info:
            consume()
        assert info.value.index == 23
        assert seen == [10, 10]  # the two requests before the bad one were delivered

    def test_a_single_string_is_refused(self) -> None:
        with pytest.raises(InputError, match="a stream takes an iterable of texts"):
            list(make_embedder(Emulator()).embed_stream("one text"))


class TestBatchesAsCompleted:
    """`embed_batches` / `aembed_batches`: each request's result with its positions, as soon as it is answered."""

    def test_every_position_is_covered_once_with_its_exact_vectors(self) -> None:
        emu = Emulator(faults=Faults(jitter=0.02, seed=3))
        texts = [f"batched text {i}" for i in range(95)]
        got: dict[int, list[float]] = {}
        for span, result in make_embedder(emu, max_concurrency=4).embed_batches(iter(texts)):
            assert len(result) == len(span)
            assert len(result.request_ids) == 1
            for position, vector in zip(span, result.embeddings, strict=True):
                assert position not in got
                got[position] = vector
        assert sorted(got) == list(range(95))
        assert [got[i] for i in range(95)] == [emu.expected_embedding(t, model=V4) for t in texts]

    async def test_async_results_come_in_completion_order(self) -> None:
        # The first request is answered 0.2 s late: the three after it are yielded before it.
        emu = Emulator()
        answer = emu.handle

        def first_request_late(method: str, path: str, headers: Any, body: bytes) -> Any:
            reply = answer(method, path, headers, body)
            return dataclasses.replace(reply, delay=0.2) if b'"t0"' in body else reply

        emu.handle = first_request_late  # type: ignore[method-assign]
        texts = [f"t{i}" for i in range(40)]
        spans = [span async for span, _ in make_embedder(emu, max_concurrency=4).aembed_batches(texts)]
        assert sorted(s.start for s in spans) == [0, 10, 20, 30]
        assert spans[-1] == range(10)

    def test_at_most_max_concurrency_requests_are_drawn_ahead(self) -> None:
        emu = Emulator()
        read = 0

        def texts():  # type: ignore[no-untyped-def]
            nonlocal read
            for i in range(10_000):
                read += 1
                yield f"t{i}"

        stream = make_embedder(emu, max_concurrency=3).embed_batches(texts())
        next(stream)
        assert read <= 10 * (3 + 1)  # the requests in flight plus the one being planned
        stream.close()

    def test_a_failure_names_the_texts_of_its_request(self) -> None:
        emu = Emulator(api_keys=["other"])
        with pytest.raises(AuthenticationError) as info:
            list(make_embedder(emu, max_concurrency=2).embed_batches([f"t{i}" for i in range(30)]))
        assert info.value.failed_indices in (tuple(range(10)), tuple(range(10, 20)))
