"""`TextEmbedder`: the text feature, framework-free.

`embed()` / `aembed()` check every input and setting before anything is sent (`InputError` names the input index,
the limit and the fix), split the texts into requests of at most the model's batch cap, run them concurrently, put
every vector back by its `text_index`, and sum the usage. The two methods share all of that; they differ only in the
runner that waits for the network.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from .batching import arun_ordered, plan_batches, run_ordered
from .catalog import ModelSpec, get_model
from .errors import InputError
from .protocol.text import TEXT_EMBEDDING_PATH, BatchOutput, TextParameters, build_text_body, parse_text_body
from .regions import Endpoint, resolve_endpoint
from .tokens import get_token_counter, surely_within
from .transport import DEFAULT_TIMEOUT, RetryPolicy, Transport
from .types import OUTPUT_TYPES, TEXT_TYPES, EmbeddingResult, OutputType, TextType, Usage

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_MAX_CONCURRENCY", "EMBEDDER_SETTINGS", "TextEmbedder"]

EMBEDDER_SETTINGS = (
    "dimension",
    "api_key",
    "region",
    "workspace",
    "base_url",
    "timeout",
    "max_retries",
    "max_concurrency",
    "truncate",
    "http_client",
    "http_async_client",
    "allow_insecure_http",
)
"""The keyword settings of `TextEmbedder` that the framework adapters expose as fields of the same names."""

DEFAULT_MAX_CONCURRENCY = 16
"""Requests in flight per call. With the service's typical 100–300 ms per request this is 50–160 requests/s, in the
range one account's rate limit admits (429s beyond it are absorbed by the retry layer). Measured on the emulator at
100 ms per request (integration_tests/benchmarks/latency_bound.py): 2,000 texts in 1.45 s, 1.11× the ideal 1.3 s
and 14.5× a sequential loop."""


def resolve_api_key(api_key: str | SecretStr | None) -> SecretStr:
    if isinstance(api_key, SecretStr):
        key = api_key.get_secret_value()
    else:
        key = api_key if api_key is not None else os.environ.get("DASHSCOPE_API_KEY", "")
    if not key or not key.strip():
        raise InputError(
            "No DashScope API key: pass api_key=... or set DASHSCOPE_API_KEY. Keys are per region; create one "
            "at https://www.alibabacloud.com/help/en/model-studio/get-api-key"
        )
    return SecretStr(key.strip())


def warn_if_region_lacks(spec: ModelSpec, endpoint: Endpoint) -> None:
    if spec.known and endpoint.region is not None and endpoint.region.name not in spec.regions:
        listed = ", ".join(sorted(spec.regions)) or "none"
        warnings.warn(
            f"{spec.name} is not listed for {endpoint.region.label} (listed: {listed}). The request is sent anyway "
            f"(the list may lag the service); if it fails with ModelNotFound, pick a region that offers the model.",
            UserWarning,
            stacklevel=3,
        )


@dataclass(frozen=True, slots=True)
class _Plan:
    """One validated call: what to send and what to expect back."""

    params: TextParameters
    texts: list[str]
    batches: list[range]
    expected_dimension: int | None


class TextEmbedder:
    """Embeds texts with a DashScope text model (text-embedding-v4 by default).

    ```python
    emb = TextEmbedder(model="text-embedding-v4", dimension=1024)    # key from DASHSCOPE_API_KEY
    docs = emb.embed(["a", "b"], text_type="document").embeddings
    query = (await emb.aembed("q", text_type="query", instruct="Given a question, retrieve passages")).embeddings[0]
    ```

    Connection settings: `api_key` (env `DASHSCOPE_API_KEY`), `region` (default Singapore), `workspace`, `base_url`
    (API root ending in `/api/v1`; env `DASHSCOPE_HTTP_BASE_URL`), `timeout`, `max_retries` / `retry`,
    `max_concurrency`, and injectable `http_client` / `http_async_client`.
    """

    def __init__(
        self,
        model: str = "text-embedding-v4",
        *,
        dimension: int | None = None,
        api_key: str | SecretStr | None = None,
        region: str | None = None,
        workspace: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        truncate: bool = False,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        self.spec = get_model(model)
        if self.spec.kind == "multimodal":
            raise InputError(
                f"{model} is a multimodal model; TextEmbedder serves text models "
                f"(e.g. text-embedding-v4). Use MultimodalEmbedder for {model}."
            )
        if self.spec.kind == "batch":
            raise InputError(
                f"{model} runs only as an asynchronous batch job, not on the synchronous text endpoint. Use "
                f"dashscope_embeddings.jobs for batch jobs, or text-embedding-v2 for the same vectors interactively."
            )
        if max_concurrency < 1:
            raise InputError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.model = model
        self.dimension = self._check_dimension(dimension)
        self.max_concurrency = max_concurrency
        self.truncate = truncate
        self.endpoint = resolve_endpoint(
            region=region, workspace=workspace, base_url=base_url, allow_insecure_http=allow_insecure_http
        )
        warn_if_region_lacks(self.spec, self.endpoint)
        self._transport = Transport(
            self.endpoint,
            resolve_api_key(api_key),
            timeout=timeout,
            retry=retry or RetryPolicy(max_retries=max_retries),
            pool_size=max(100, max_concurrency),
            http_client=http_client,
            http_async_client=http_async_client,
        )

    def __repr__(self) -> str:
        return f"TextEmbedder(model={self.model!r}, dimension={self.dimension!r}, endpoint={self.endpoint.base_url!r})"

    # -- validation (pure) ---------------------------------------------------------------------------------------

    def _check_dimension(self, dimension: int | None) -> int | None:
        if dimension is None:
            return None
        if not isinstance(dimension, int) or isinstance(dimension, bool):
            raise InputError(f"dimension must be an int, got {type(dimension).__name__} {dimension!r}")
        offered = self.spec.dimensions
        if offered and dimension not in offered:
            raise InputError(
                f"dimension {dimension} is not offered by {self.model}; choose one of "
                f"{', '.join(map(str, offered))} (default {self.spec.default_dimension})."
            )
        if not offered and dimension < 1:
            raise InputError(f"dimension must be positive, got {dimension}")
        return dimension

    def _plan(
        self,
        texts: str | Sequence[str],
        text_type: TextType | None,
        instruct: str | None,
        dimension: int | None,
        output_type: OutputType,
        truncate: bool | None,
    ) -> _Plan:
        spec = self.spec
        items = _as_text_list(texts)
        if text_type is not None and text_type not in TEXT_TYPES:
            raise InputError(f"text_type must be 'query' or 'document', got {text_type!r}")
        if output_type not in OUTPUT_TYPES:
            raise InputError(f"output_type must be one of {', '.join(map(repr, OUTPUT_TYPES))}, got {output_type!r}")
        if output_type != "dense" and not spec.sparse:
            raise InputError(
                f"{self.model} has no sparse vectors (output_type={output_type!r}); text-embedding-v4 and -v3 do."
            )
        if instruct is not None:
            if not isinstance(instruct, str) or not instruct.strip():
                raise InputError("instruct must be a non-empty string (an English task description)")
            if not spec.instruct:
                raise InputError(f"{self.model} does not take instruct; text-embedding-v4 does.")
            if text_type != "query":
                raise InputError(
                    f"instruct describes a search task and applies to queries only: pass text_type='query' "
                    f"(got {text_type!r}), or drop instruct for documents."
                )
        chosen = self._check_dimension(dimension) if dimension is not None else self.dimension
        chosen = chosen or spec.default_dimension
        items = self._check_lengths(items, self.truncate if truncate is None else truncate)
        # The default is sent explicitly where the model takes one, so the width we check answers against is the
        # width we asked for, even if the service's default changes.
        sent_dimension = chosen if spec.dimension_parameter else None
        params = TextParameters(
            model=self.model,
            text_type=text_type if spec.text_type else None,
            dimension=sent_dimension,
            output_type=output_type,
            instruct=instruct,
        )
        return _Plan(
            params=params,
            texts=items,
            batches=plan_batches(len(items), spec.max_batch),
            expected_dimension=chosen,
        )

    def _check_lengths(self, texts: list[str], truncate: bool) -> list[str]:
        limit = self.spec.max_tokens
        out = texts
        for index, text in enumerate(texts):
            if surely_within(text, limit):
                continue
            counter = get_token_counter()
            count = counter.count(text)
            if count <= limit:
                continue
            if not truncate:
                how = "" if counter.exact else " (estimated; install dashscope-embeddings[tokenizer] for exact counts)"
                raise InputError(
                    f"texts[{index}] has {count} tokens{how}, over {self.model}'s limit of {limit} tokens per "
                    f"text. Split it into smaller chunks, or pass truncate=True to cut it at the limit.",
                    index=index,
                )
            if out is texts:
                out = list(texts)
            out[index] = counter.truncate(text, limit)
        return out

    # -- running -------------------------------------------------------------------------------------------------

    def _request(self, plan: _Plan, batch: range) -> tuple[dict[str, Any], Callable[[bytes, str | None], BatchOutput]]:
        body = build_text_body(plan.params, plan.texts[batch.start : batch.stop])
        parse = partial(
            _parse_batch,
            count=len(batch),
            dimension=plan.expected_dimension,
            dense=plan.params.wants_dense,
            sparse=plan.params.wants_sparse,
        )
        return body, parse

    def _send(self, plan: _Plan, batch: range) -> BatchOutput:
        return self._transport.send(TEXT_EMBEDDING_PATH, *self._request(plan, batch))

    async def _asend(self, plan: _Plan, batch: range) -> BatchOutput:
        return await self._transport.asend(TEXT_EMBEDDING_PATH, *self._request(plan, batch))

    def embed(
        self,
        texts: str | Sequence[str],
        *,
        text_type: TextType | None = "document",
        instruct: str | None = None,
        dimension: int | None = None,
        output_type: OutputType = "dense",
        truncate: bool | None = None,
    ) -> EmbeddingResult:
        """Embed one text or a sequence of texts; the result lists vectors in input order.

        `text_type`: `"document"` (the service's default) for what you store, `"query"` for what users search
        with; None sends no text_type. `instruct` (text-embedding-v4, queries only) describes the search task in
        English. `dimension` overrides the embedder's. `output_type`: `"dense"`, `"sparse"` or `"dense&sparse"`
        (one request, the same price). `truncate` overrides the embedder's: cut over-long texts at the model's
        token limit instead of raising InputError.
        """
        plan = self._plan(texts, text_type, instruct, dimension, output_type, truncate)
        outputs = list(run_ordered(plan.batches, partial(self._send, plan), concurrency=self.max_concurrency))
        return _assemble(plan, outputs)

    async def aembed(
        self,
        texts: str | Sequence[str],
        *,
        text_type: TextType | None = "document",
        instruct: str | None = None,
        dimension: int | None = None,
        output_type: OutputType = "dense",
        truncate: bool | None = None,
    ) -> EmbeddingResult:
        """Async `embed`: the same checks and result, with requests as tasks on the running event loop."""
        plan = self._plan(texts, text_type, instruct, dimension, output_type, truncate)
        outputs = [
            output
            async for output in arun_ordered(plan.batches, partial(self._asend, plan), concurrency=self.max_concurrency)
        ]
        return _assemble(plan, outputs)

    def close(self) -> None:
        """Close the HTTP connections this embedder opened (injected clients are left to their owner)."""
        self._transport.close()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def __enter__(self) -> TextEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> TextEmbedder:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _parse_batch(
    raw: bytes, request_id: str | None, *, count: int, dimension: int | None, dense: bool, sparse: bool
) -> BatchOutput:
    return parse_text_body(raw, count=count, dimension=dimension, dense=dense, sparse=sparse, request_id=request_id)


def _as_text_list(texts: str | Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        items: list[Any] = [texts]
    elif isinstance(texts, (bytes, bytearray)):
        raise InputError("texts is bytes; decode it to str first (e.g. data.decode('utf-8'))")
    elif isinstance(texts, Sequence):
        items = list(texts)
    else:
        raise InputError(f"texts must be a str or a sequence of str, got {type(texts).__name__}")
    for index, item in enumerate(items):
        if not isinstance(item, str):
            if isinstance(item, (bytes, bytearray)):
                fix = "decode it to str first (e.g. value.decode('utf-8'))"
            elif item is None:
                fix = "remove it or replace it with text; None has no embedding"
            else:
                fix = "pass text (convert with str(...) if you mean its printed form)"
            raise InputError(f"texts[{index}] is {type(item).__name__}, not str: {fix}.", index=index)
        if not item.strip():
            raise InputError(
                f"texts[{index}] is empty or only whitespace; the service rejects empty input and it has no "
                f"meaning to embed. Remove it or replace it with text.",
                index=index,
            )
    return items


def _assemble(plan: _Plan, outputs: list[BatchOutput]) -> EmbeddingResult:
    embeddings: list[list[float]] = []
    sparse = []
    usage = Usage()
    request_ids = []
    for output in outputs:
        embeddings.extend(output.embeddings)
        sparse.extend(output.sparse)
        usage = usage + output.usage
        if output.request_id:
            request_ids.append(output.request_id)
    return EmbeddingResult(
        model=plan.params.model,
        embeddings=embeddings,
        sparse=sparse,
        usage=usage,
        dimension=(len(embeddings[0]) if embeddings else plan.expected_dimension),
        request_ids=request_ids,
    )
