"""`TextEmbedder`: the text feature, framework-free.

`embed()` / `aembed()` check every input and setting before anything is sent (`InputError` names the input index,
the limit and the fix), split the texts into requests of at most the model's batch cap, run them concurrently, put
every vector back by its `text_index`, and sum the usage. The two methods share all of that; they differ only in the
runner that waits for the network.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from .batching import plan_batches
from .embedder import CONNECTION_SETTINGS, DEFAULT_MAX_CONCURRENCY, BaseEmbedder, Request
from .errors import InputError
from .protocol.answers import BatchOutput
from .protocol.text import TEXT_EMBEDDING_PATH, TextParameters, build_text_body, parse_text_body
from .ratelimit import RateLimit, RateLimiter
from .tokens import get_token_counter, surely_within
from .transport import DEFAULT_TIMEOUT, RetryPolicy
from .types import OUTPUT_TYPES, TEXT_TYPES, EmbeddingResult, OutputType, TextType, Usage

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_MAX_CONCURRENCY", "EMBEDDER_SETTINGS", "TextEmbedder"]

EMBEDDER_SETTINGS = (*CONNECTION_SETTINGS, "truncate")
"""The keyword settings of `TextEmbedder` that the framework adapters expose as fields of the same names."""


@dataclass(frozen=True, slots=True)
class _Call:
    """One call's validated settings: what goes under `parameters`, the width answers must have, truncation."""

    params: TextParameters
    width: int | None
    truncate: bool


class TextEmbedder(BaseEmbedder):
    """Embeds texts with a DashScope text model (text-embedding-v4 by default).

    ```python
    emb = TextEmbedder(model="text-embedding-v4", dimension=1024)    # key from DASHSCOPE_API_KEY
    docs = emb.embed(["a", "b"], text_type="document").embeddings
    query = (await emb.aembed("q", text_type="query", instruct="Given a question, retrieve passages")).embeddings[0]
    ```

    Connection settings: `api_key` (env `DASHSCOPE_API_KEY`), `region` (default Singapore), `workspace`, `base_url`
    (API root ending in `/api/v1`; env `DASHSCOPE_HTTP_BASE_URL`), `timeout`, `max_retries` / `retry`,
    `max_concurrency`, and injectable `http_client` / `http_async_client`. `rate_limit` paces requests to the
    account's limits (`RateLimit(rpm=..., tpm=...)`, or a `RateLimiter` shared with other embedders or processes).
    """

    kind = "text"
    noun = "texts"

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
        rate_limit: RateLimit | RateLimiter | None = None,
    ) -> None:
        api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key  # no plain key in any frame
        super().__init__(
            model,
            dimension=dimension,
            api_key=api_key,
            region=region,
            workspace=workspace,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            max_concurrency=max_concurrency,
            http_client=http_client,
            http_async_client=http_async_client,
            allow_insecure_http=allow_insecure_http,
            rate_limit=rate_limit,
        )
        self.truncate = truncate

    # -- validation (pure) ---------------------------------------------------------------------------------------

    def _call(
        self,
        text_type: TextType | None,
        instruct: str | None,
        dimension: int | None,
        output_type: OutputType,
        truncate: bool | None,
    ) -> _Call:
        spec = self.spec
        if text_type is not None and text_type not in TEXT_TYPES:
            raise InputError(
                f"text_type must be 'query' or 'document', got {text_type!r}. Pass 'query' for what users search "
                f"with, 'document' for what you store, or None to send no text_type."
            )
        if output_type not in OUTPUT_TYPES:
            raise InputError(
                f"output_type must be one of {', '.join(map(repr, OUTPUT_TYPES))}, got {output_type!r}. Pass "
                f"'dense' for vectors, 'sparse' for term weights, or 'dense&sparse' for both in one request."
            )
        if output_type != "dense" and not spec.sparse:
            raise InputError(
                f"{self.model} has no sparse vectors (output_type={output_type!r}); text-embedding-v4 and -v3 do. "
                f"Use one of those models for sparse output, or pass output_type='dense'."
            )
        if truncate is not None and not isinstance(truncate, bool):
            raise InputError(
                f"truncate must be True, False or None, got {type(truncate).__name__} {truncate!r}. Pass a bool: "
                f"any other value would be read as true or false without saying so."
            )
        if instruct is not None:
            if not isinstance(instruct, str) or not instruct.strip():
                raise InputError(
                    f"instruct must be a non-empty string (an English task description), got {instruct!r}. Pass "
                    f"e.g. 'Given a web search query, retrieve relevant passages that answer the query', or None."
                )
            if not spec.instruct:
                raise InputError(
                    f"{self.model} does not take instruct; text-embedding-v4 does. Drop instruct, or use "
                    f"text-embedding-v4 for instructed queries."
                )
            if text_type != "query":
                raise InputError(
                    f"instruct describes a search task and applies to queries only: pass text_type='query' "
                    f"(got {text_type!r}), or drop instruct for documents."
                )
        chosen = self._check_dimension(dimension) if dimension is not None else self.dimension
        chosen = chosen or spec.default_dimension
        # The default is sent explicitly where the model takes one, so the width we check answers against is the
        # width we asked for, even if the service's default changes.
        params = TextParameters(
            model=self.model,
            text_type=text_type if spec.text_type else None,
            dimension=chosen if spec.dimension_parameter else None,
            output_type=output_type,
            instruct=instruct,
        )
        return _Call(params, chosen, self.truncate if truncate is None else truncate)

    def _checked(self, items: Sequence[Any], offset: int, truncate: bool) -> list[str]:
        """`items` as texts the model accepts; messages count indices from `offset` (for streams)."""
        texts = _check_items(items, offset)
        limit = self.spec.max_tokens
        for position, text in enumerate(texts):
            if surely_within(text, limit):
                continue
            counter = get_token_counter()
            count = counter.count(text)
            if count <= limit:
                continue
            index = offset + position
            if not truncate:
                how = "" if counter.exact else " (estimated; install dashscope-embeddings[tokenizer] for exact counts)"
                raise InputError(
                    f"texts[{index}] has {count} tokens{how}, over {self.model}'s limit of {limit} tokens per "
                    f"text. Split it into smaller chunks, or pass truncate=True to cut it at the limit.",
                    index=index,
                )
            texts[position] = counter.truncate(text, limit)
        return texts

    # -- running -------------------------------------------------------------------------------------------------

    def _request(self, call: _Call, texts: list[str]) -> Request[BatchOutput]:
        parse = partial(
            _parse_batch,
            count=len(texts),
            dimension=call.width,
            dense=call.params.wants_dense,
            sparse=call.params.wants_sparse,
        )
        return build_text_body(call.params, texts), parse

    def _batches(self, texts: str | Sequence[str], call: _Call) -> tuple[list[list[str]], list[range]]:
        """The checked texts split into requests, and the input positions each request covers."""
        checked = self._checked(_as_sequence(texts), 0, call.truncate)
        spans = plan_batches(len(checked), self.spec.max_batch)
        return [checked[r.start : r.stop] for r in spans], spans

    def _stream_batches(self, texts: Iterable[str], call: _Call) -> Iterator[tuple[range, list[str]]]:
        if isinstance(texts, (str, bytes, bytearray)):
            raise InputError("a stream takes an iterable of texts; for one text use embed()")
        if not isinstance(texts, Iterable):
            raise InputError(
                f"a stream takes an iterable of texts (a list, a generator, a file's lines), got {type(texts).__name__}"
            )
        offset = 0
        source = iter(texts)
        while chunk := list(itertools.islice(source, self.spec.max_batch)):
            yield range(offset, offset + len(chunk)), self._checked(chunk, offset, call.truncate)
            offset += len(chunk)

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
        call = self._call(text_type, instruct, dimension, output_type, truncate)
        batches, spans = self._batches(texts, call)
        return self._embed(TEXT_EMBEDDING_PATH, batches, spans, partial(self._request, call), partial(_assemble, call))

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
        call = self._call(text_type, instruct, dimension, output_type, truncate)
        batches, spans = self._batches(texts, call)
        request, assemble = partial(self._request, call), partial(_assemble, call)
        return await self._aembed(TEXT_EMBEDDING_PATH, batches, spans, request, assemble)

    def embed_stream(
        self,
        texts: Iterable[str],
        *,
        text_type: TextType | None = "document",
        instruct: str | None = None,
        dimension: int | None = None,
        output_type: OutputType = "dense",
        truncate: bool | None = None,
    ) -> Iterator[EmbeddingResult]:
        """Embed an iterable of any length in constant memory: one result per request, in input order.

        Texts are read lazily, a request's worth at a time, and at most `2 × max_concurrency` requests are in
        flight or waiting to be consumed, so memory stays O(batch × concurrency) however many texts there are.
        Each text is checked as it is read: an invalid text raises InputError (with its index in the whole
        stream) after the results before it have been yielded.
        """
        call = self._call(text_type, instruct, dimension, output_type, truncate)
        outputs = self._stream(TEXT_EMBEDDING_PATH, self._stream_batches(texts, call), partial(self._request, call))
        for output in outputs:
            yield _assemble(call, [output])

    async def aembed_stream(
        self,
        texts: Iterable[str],
        *,
        text_type: TextType | None = "document",
        instruct: str | None = None,
        dimension: int | None = None,
        output_type: OutputType = "dense",
        truncate: bool | None = None,
    ) -> AsyncIterator[EmbeddingResult]:
        """Async `embed_stream`."""
        call = self._call(text_type, instruct, dimension, output_type, truncate)
        outputs = self._astream(TEXT_EMBEDDING_PATH, self._stream_batches(texts, call), partial(self._request, call))
        async for output in outputs:
            yield _assemble(call, [output])

    def embed_batches(
        self,
        texts: Iterable[str],
        *,
        text_type: TextType | None = "document",
        instruct: str | None = None,
        dimension: int | None = None,
        output_type: OutputType = "dense",
        truncate: bool | None = None,
    ) -> Iterator[tuple[range, EmbeddingResult]]:
        """Embed an iterable of any length, yielding `(positions, result)` per request as soon as it is answered.

        Unlike `embed_stream`, results come in completion order, each with the range of input positions it covers,
        and at most `max_concurrency` requests are drawn ahead. So a caller that saves every result as it arrives
        (a resumable bulk job) can lose, if it is killed, only the requests that were on the wire.
        """
        call = self._call(text_type, instruct, dimension, output_type, truncate)
        batches = self._stream_batches(texts, call)
        for span, output in self._stream_as_completed(TEXT_EMBEDDING_PATH, batches, partial(self._request, call)):
            yield span, _assemble(call, [output])

    async def aembed_batches(
        self,
        texts: Iterable[str],
        *,
        text_type: TextType | None = "document",
        instruct: str | None = None,
        dimension: int | None = None,
        output_type: OutputType = "dense",
        truncate: bool | None = None,
    ) -> AsyncIterator[tuple[range, EmbeddingResult]]:
        """Async `embed_batches`. Cancelling the consumer cancels the requests in flight at once."""
        call = self._call(text_type, instruct, dimension, output_type, truncate)
        batches = self._stream_batches(texts, call)
        runner = self._astream_as_completed(TEXT_EMBEDDING_PATH, batches, partial(self._request, call))
        async for span, output in runner:
            yield span, _assemble(call, [output])


def _parse_batch(
    raw: bytes, request_id: str | None, *, count: int, dimension: int | None, dense: bool, sparse: bool
) -> BatchOutput:
    return parse_text_body(raw, count=count, dimension=dimension, dense=dense, sparse=sparse, request_id=request_id)


def _as_sequence(texts: str | Sequence[str]) -> Sequence[Any]:
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, (bytes, bytearray)):
        raise InputError(
            f"texts is {type(texts).__name__}; decode it to str first (e.g. data.decode('utf-8')): texts must be "
            f"a str or a sequence of str."
        )
    if isinstance(texts, Sequence):
        return texts
    raise InputError(
        f"texts must be a str or a sequence of str, got {type(texts).__name__}. Pass a list of str (list(...) "
        f"turns a set or generator into one), or use embed_stream() to read an iterable lazily."
    )


def _check_items(items: Sequence[Any], offset: int) -> list[str]:
    for position, item in enumerate(items):
        index = offset + position
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
    return list(items)


def _assemble(call: _Call, outputs: list[BatchOutput]) -> EmbeddingResult:
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
        model=call.params.model,
        embeddings=embeddings,
        sparse=sparse,
        usage=usage,
        dimension=(len(embeddings[0]) if embeddings else call.width),
        request_ids=request_ids,
    )
