"""Every bad input and setting in one table: each is refused before anything is sent.

A case names the call, the error it must raise and what its message must say: the input or setting at fault
(`texts[3]`, `items[0].image`, `workspace '-ws'`), the limit or rule it breaks, and the fix. An input at fault
also sets `InputError.index`. Every call goes to an in-process emulator that must have seen no request at all, so a
check that ran only after the first request would fail here even with the right message. Construction cases go on
to call `embed`, so a setting that slipped through would show up as a request.

The framework adapters validate their settings in pydantic validators, which turn the `InputError` into a pydantic
`ValidationError` carrying the same message: that is the documented type for a bad adapter setting.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from dashscope_embeddings import MultimodalEmbedder, TextEmbedder
from dashscope_embeddings.emulator import Emulator
from dashscope_embeddings.errors import InputError
from dashscope_embeddings.langchain import DashScopeEmbeddings
from dashscope_embeddings.llama_index import DashScopeEmbedding
from dashscope_embeddings.regions import WORKSPACE_ID
from emulated import connection

V4 = "text-embedding-v4"
PLUS = "tongyi-embedding-vision-plus"
QWEN3 = "qwen3-vl-embedding"
CAR = "https://example.com/images/red_car.png"
CLIP = "https://example.com/videos/beach_walk.mp4"
MB = 1024 * 1024
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
LONG = "lorem ipsum dolor sit amet " * 2730
"""Over 8,192 tokens (text-embedding-v4/-v3), however they are counted."""
LONG_V2 = "lorem ipsum dolor sit amet " * 683
"""Over 2,048 tokens (text-embedding-v2/-v1)."""
V4_DIMENSIONS = "2048, 1536, 1024, 768, 512, 256, 128, 64"
PLUS_DIMENSIONS = "1152, 1024, 512, 256, 128, 64"
WORKSPACE_RULE = f"a workspace id must match {WORKSPACE_ID.pattern}"
WORKSPACE_FIX = "Copy the id exactly as the Model Studio console shows it"

Call = Callable[[Emulator, Path], object]


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    call: Call
    where: str
    """The input or setting at fault, as the message names it."""
    limit: str
    """The limit or rule it breaks."""
    fix: str | None
    """What to do instead; None only where the message's owner pins a message without one (see the case)."""
    error: type[Exception] = InputError

    @property
    def index(self) -> int | None:
        """The position the error must carry: the `[n]` of an input named `texts[n]` or `items[n]`."""
        match = re.match(r"(?:texts|items)\[(\d+)\]", self.where)
        return int(match[1]) if match else None


def text(emu: Emulator, model: str = V4, **settings: Any) -> TextEmbedder:
    return TextEmbedder(model, **connection(emu, **settings))


def mm(emu: Emulator, model: str = PLUS, **settings: Any) -> MultimodalEmbedder:
    return MultimodalEmbedder(model, **connection(emu, **settings))


def run(coroutine: Coroutine[Any, Any, object]) -> object:
    return asyncio.run(coroutine)


def drain(stream: AsyncIterator[object]) -> object:
    async def collect() -> list[object]:
        return [result async for result in stream]

    return asyncio.run(collect())


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def bad_workspace(name: str, workspace: str, problem: str) -> Case:
    return Case(
        f"workspace-{name}",
        lambda emu, _: text(emu, workspace=workspace).embed("x"),
        where=f"workspace {workspace!r}",
        limit=f"({problem}): {WORKSPACE_RULE}",
        fix=WORKSPACE_FIX,
    )


CASES = [
    # --- TextEmbedder: the texts ---------------------------------------------------------------------------------
    Case(
        "text-none",
        lambda emu, _: text(emu).embed(["a", "b", "c", None]),  # type: ignore[list-item]
        where="texts[3] is NoneType",
        limit="not str",
        fix="remove it or replace it with text",
    ),
    Case(
        "text-int-async",
        lambda emu, _: run(text(emu).aembed(["ok", 3])),  # type: ignore[list-item]
        where="texts[1] is int",
        limit="not str",
        fix="convert with str(...)",
    ),
    Case(
        "text-bytes-in-list",
        lambda emu, _: text(emu).embed([b"raw text"]),  # type: ignore[list-item]
        where="texts[0] is bytes",
        limit="not str",
        fix="decode it to str first",
    ),
    Case(
        "text-bytes-as-texts",
        lambda emu, _: text(emu).embed(b"raw text"),  # type: ignore[arg-type]
        where="texts is bytes",
        limit="texts must be a str or a sequence of str",
        fix="decode it to str first",
    ),
    Case(
        "text-set-as-texts",
        lambda emu, _: text(emu).embed({"a", "b"}),  # type: ignore[arg-type]
        where="texts must be",
        limit="a str or a sequence of str, got set",
        fix="Pass a list of str (list(...)",
    ),
    Case(
        "text-empty",
        lambda emu, _: text(emu).embed(["ok", ""]),
        where="texts[1]",
        limit="empty or only whitespace",
        fix="Remove it or replace it with text",
    ),
    Case(
        "text-whitespace-async",
        lambda emu, _: run(text(emu).aembed(["ok", "ok", " \n\t"])),
        where="texts[2]",
        limit="empty or only whitespace",
        fix="Remove it or replace it with text",
    ),
    Case(
        "text-over-long",
        lambda emu, _: text(emu).embed(["short", LONG]),
        where="texts[1] has",
        limit="over text-embedding-v4's limit of 8192 tokens per text",
        fix="pass truncate=True",
    ),
    Case(
        "text-over-long-v2-async",
        lambda emu, _: run(text(emu, "text-embedding-v2").aembed([LONG_V2])),
        where="texts[0] has",
        limit="limit of 2048 tokens per text",
        fix="Split it into smaller chunks",
    ),
    Case(
        "stream-none-in-first-batch",
        lambda emu, _: list(text(emu).embed_stream(iter(["ok", None]))),  # type: ignore[arg-type]
        where="texts[1] is NoneType",
        limit="not str",
        fix="remove it or replace it with text",
    ),
    Case(
        "stream-whitespace-async",
        lambda emu, _: drain(text(emu).aembed_stream(["ok", "ok", "  "])),
        where="texts[2]",
        limit="empty or only whitespace",
        fix="Remove it or replace it with text",
    ),
    Case(
        "stream-over-long",
        lambda emu, _: list(text(emu).embed_stream(["ok", LONG])),
        where="texts[1] has",
        limit="limit of 8192 tokens per text",
        fix="truncate=True",
    ),
    Case(
        "stream-of-a-number",
        lambda emu, _: list(text(emu).embed_stream(5)),  # type: ignore[arg-type]
        where="a stream",
        limit="takes an iterable of texts",
        fix="a list, a generator, a file's lines",
    ),
    Case(
        "stream-of-one-string",
        lambda emu, _: list(text(emu).embed_stream("one text")),
        where="a stream",
        limit="takes an iterable of texts",
        fix="for one text use embed()",
    ),
    # --- TextEmbedder: per-call settings ------------------------------------------------------------------------
    Case(
        "call-dimension-not-offered",
        lambda emu, _: text(emu).embed("x", dimension=300),
        where="dimension 300 is not offered by text-embedding-v4",
        limit=V4_DIMENSIONS,
        fix="choose one of",
    ),
    Case(
        "call-dimension-on-fixed-v2-async",
        lambda emu, _: run(text(emu, "text-embedding-v2").aembed("x", dimension=1024)),
        where="dimension 1024 is not offered by text-embedding-v2",
        limit="1536",
        fix="choose one of 1536",
    ),
    Case(
        "call-unknown-text-type",
        lambda emu, _: text(emu).embed("x", text_type="search"),  # type: ignore[arg-type]
        where="text_type",
        limit="must be 'query' or 'document', got 'search'",
        fix="or None to send no text_type",
    ),
    Case(
        "call-unknown-output-type",
        lambda emu, _: text(emu).embed("x", output_type="both"),  # type: ignore[arg-type]
        where="output_type",
        limit="must be one of 'dense', 'sparse', 'dense&sparse', got 'both'",
        fix="'dense&sparse' for both in one request",
    ),
    Case(
        "call-sparse-on-v2",
        lambda emu, _: text(emu, "text-embedding-v2").embed("x", output_type="sparse"),
        where="text-embedding-v2 has no sparse vectors (output_type='sparse')",
        limit="text-embedding-v4 and -v3 do",
        fix="or pass output_type='dense'",
    ),
    Case(
        "call-instruct-on-documents",
        lambda emu, _: text(emu).embed("x", text_type="document", instruct="Given a question, retrieve passages"),
        where="instruct",
        limit="applies to queries only",
        fix="pass text_type='query' (got 'document'), or drop instruct for documents",
    ),
    Case(
        "call-instruct-without-text-type-async",
        lambda emu, _: run(text(emu).aembed("x", text_type=None, instruct="Given a question, retrieve passages")),
        where="instruct",
        limit="applies to queries only",
        fix="pass text_type='query' (got None)",
    ),
    Case(
        "call-instruct-on-v3",
        lambda emu, _: text(emu, "text-embedding-v3").embed("x", text_type="query", instruct="Find papers"),
        where="text-embedding-v3 does not take instruct",
        limit="text-embedding-v4 does",
        fix="Drop instruct",
    ),
    Case(
        "call-instruct-blank",
        lambda emu, _: text(emu).embed("x", text_type="query", instruct="  "),
        where="instruct",
        limit="must be a non-empty string",
        fix="Pass e.g. 'Given a web search query",
    ),
    Case(
        "call-truncate-not-bool",
        lambda emu, _: text(emu).embed("x", truncate="no"),  # type: ignore[arg-type]
        where="truncate",
        limit="must be True, False or None, got str 'no'",
        fix="Pass a bool",
    ),
    # --- TextEmbedder: construction -----------------------------------------------------------------------------
    Case(
        "text-embedder-given-multimodal-model",
        lambda emu, _: text(emu, QWEN3).embed("x"),
        where="qwen3-vl-embedding is a multimodal model",
        limit="TextEmbedder serves text models",
        fix="Use MultimodalEmbedder for qwen3-vl-embedding",
    ),
    Case(
        "text-embedder-given-batch-model",
        lambda emu, _: text(emu, "text-embedding-async-v2").embed("x"),
        where="text-embedding-async-v2",
        limit="runs only as an asynchronous batch job",
        fix="Use text-embedding-v2 for the same vectors interactively",
    ),
    Case(
        "dimension-as-str",
        lambda emu, _: text(emu, dimension="1024").embed("x"),
        where="dimension must be an int",
        limit=f"got str '1024'. Pass one of {V4_DIMENSIONS}",
        fix="e.g. dimension=1024",
    ),
    Case(
        "dimension-as-bool",
        lambda emu, _: text(emu, dimension=True).embed("x"),
        where="dimension must be an int",
        limit="got bool True",
        fix="e.g. dimension=1024",
    ),
    Case(
        "dimension-not-offered",
        lambda emu, _: text(emu, dimension=100).embed("x"),
        where="dimension 100 is not offered by text-embedding-v4",
        limit=V4_DIMENSIONS,
        fix="choose one of",
    ),
    Case(
        "max-concurrency-zero",
        lambda emu, _: text(emu, max_concurrency=0).embed("x"),
        where="max_concurrency",
        limit="must be an int of at least 1, got 0",
        fix="Pass how many requests may be in flight at once",
    ),
    Case(
        "max-concurrency-str",
        lambda emu, _: text(emu, max_concurrency="4").embed("x"),
        where="max_concurrency",
        limit="must be an int of at least 1, got '4'",
        fix="Pass how many requests may be in flight at once",
    ),
    Case(
        "region-unknown",
        lambda emu, _: text(emu, base_url=None, region="mars").embed("x"),
        where="Unknown region 'mars'",
        limit="Use one of singapore, beijing, hongkong, us, frankfurt, tokyo",
        fix="or pass base_url",
    ),
    Case(
        "region-unknown-beside-base-url",
        lambda emu, _: text(emu, region="mars").embed("x"),
        where="Unknown region 'mars'",
        limit="Use one of singapore",
        fix="or pass base_url",
    ),
    Case(
        "base-url-ftp",
        lambda emu, _: text(emu, base_url="ftp://127.0.0.1/api/v1").embed("x"),
        where="base_url 'ftp://127.0.0.1/api/v1'",
        limit="is not an http(s) URL: it must start with https:// or http://",
        fix="Pass the API root, e.g. 'https://dashscope-intl.aliyuncs.com/api/v1'",
    ),
    Case(
        "base-url-bare-host",
        lambda emu, _: text(emu, base_url="dashscope-intl.aliyuncs.com").embed("x"),
        where="base_url 'dashscope-intl.aliyuncs.com'",
        limit="is not an http(s) URL",
        fix="Did you mean 'https://dashscope-intl.aliyuncs.com'?",
    ),
    Case(
        "base-url-not-a-str",
        lambda emu, _: text(emu, base_url=8000).embed("x"),
        where="base_url must be a str",
        limit="got int 8000",
        fix="Pass the API root as text",
    ),
    Case(
        "base-url-plain-http-to-a-remote-host",
        lambda emu, _: text(emu, base_url="http://10.0.0.5:8000/api/v1").embed("x"),
        where="base_url 'http://10.0.0.5:8000/api/v1'",
        limit="plain http to a non-loopback host",
        fix="Use https, or pass allow_insecure_http=True",
    ),
    bad_workspace("empty", "", "it is empty"),
    bad_workspace("leading-hyphen", "-ws", "it starts with '-'"),
    bad_workspace("leading-underscore", "_ws", "it starts with '_'"),
    bad_workspace("65-characters", "w" * 65, "it is 65 characters long"),
    bad_workspace("slash", "ws/1", "it contains '/'"),
    bad_workspace("dot", "ws.1", "it contains '.'"),
    bad_workspace("space", "ws 1", "it contains ' '"),
    bad_workspace("unicode", "wś-1", "it contains 'ś'"),
    bad_workspace("trailing-newline", "ws-1\n", "it contains '\\n'"),
    Case(
        "workspace-not-a-str",
        lambda emu, _: text(emu, workspace=12345).embed("x"),
        where="workspace must be a str",
        limit="got int 12345",
        fix="Pass the workspace id as text",
    ),
    Case(
        "api-key-blank",
        lambda emu, _: text(emu, api_key="   ").embed("x"),
        where="No DashScope API key",
        limit="Keys are per region",
        fix="pass api_key=... or set DASHSCOPE_API_KEY",
    ),
    # --- MultimodalEmbedder: the items --------------------------------------------------------------------------
    Case(
        "mm-none",
        lambda emu, _: mm(emu).embed(["ok", None]),
        where="items[1] is None",
        limit="which has no embedding",
        fix="remove it, or pass text (str), an image",
    ),
    Case(
        "mm-int",
        lambda emu, _: mm(emu).embed([42]),
        where="items[0] is int",
        limit="pass text (str), an image (path, bytes, file object or PIL image)",
        fix="or a dict with 'text', 'image' and/or 'video'",
    ),
    Case(
        "mm-empty-dict",
        lambda emu, _: mm(emu).embed(["ok", {}]),
        where="items[1]",
        limit="is an empty dict",
        fix="give it 'text', 'image' and/or 'video'",
    ),
    Case(
        "mm-unknown-key",
        lambda emu, _: mm(emu).embed([{"audio": CLIP}]),
        where="items[0]",
        limit="unknown modality 'audio'",
        fix="use 'text', 'image' and/or 'video'",
    ),
    Case(
        "mm-empty-text",
        lambda emu, _: mm(emu).embed(["ok", "ok", "  "]),
        where="items[2]",
        limit="empty or only whitespace",
        fix="Give it text, or remove the item",
    ),
    Case(
        "mm-empty-text-in-fused-item-async",
        lambda emu, _: run(mm(emu, QWEN3).aembed([{"text": "", "image": CAR}])),
        where="items[0].text",
        limit="empty or only whitespace",
        fix="Give it text, or drop the key",
    ),
    Case(
        "mm-text-none-in-dict",
        lambda emu, _: mm(emu).embed([{"text": None}]),
        where="items[0].text is NoneType",
        limit="text must be a string",
        fix="Pass a str, or drop the key",
    ),
    Case(
        "mm-over-long-text",
        lambda emu, _: mm(emu).embed(["word " * 2000]),
        where="items[0] has",
        limit="over tongyi-embedding-vision-plus's limit of 1024 tokens per text",
        fix="shorten it or split it into several items",
    ),
    Case(
        "mm-image-path-missing",
        lambda emu, tmp: mm(emu).embed([{"image": tmp / "missing.png"}]),
        where="items[0].image: cannot read image file",
        limit="no such file",
        fix=None,  # media.py's message, pinned word for word by test_media.py, names the path and the reason only
    ),
    Case(
        "mm-image-unsupported-format",
        lambda emu, tmp: mm(emu).embed([write(tmp / "anim.gif", GIF)]),
        where="items[0] is a GIF image",
        limit="tongyi-embedding-vision-plus does not accept (it takes JPEG, PNG, BMP)",
        fix="convert it to PNG or JPEG",
    ),
    Case(
        "mm-image-url-unsupported-format",
        lambda emu, _: mm(emu).embed(["ok", {"image": "https://example.com/a.gif"}]),
        where="items[1].image",
        limit="ends in .gif, a GIF image, which tongyi-embedding-vision-plus does not accept",
        fix="convert it to PNG or JPEG and pass that URL",
    ),
    Case(
        "mm-image-oversized-file",
        lambda emu, tmp: mm(emu).embed([write(tmp / "big.png", PNG_HEADER + bytes(3 * MB))]),
        where="items[0] (",
        limit="over tongyi-embedding-vision-plus's limit of 3 MB",
        fix="resize or recompress it",
    ),
    Case(
        "mm-image-oversized-bytes-async",
        lambda emu, _: run(mm(emu, QWEN3).aembed(["ok", PNG_HEADER + bytes(5 * MB)])),
        where="items[1] is",
        limit="over qwen3-vl-embedding's limit of 5 MB",
        fix="resize or recompress it",
    ),
    Case(
        "mm-too-many-images-in-a-fused-item",
        lambda emu, _: mm(emu, QWEN3).embed([{"text": "outfit", "image": [CAR] * 6}]),
        where="items[0] has 6 images",
        limit="qwen3-vl-embedding fuses at most 5 images into one vector",
        fix="drop some, or embed them as separate items",
    ),
    Case(
        "mm-image-list-on-a-model-without-fusion",
        lambda emu, _: mm(emu).embed([{"image": [CAR, CAR]}]),
        where="items[0] lists several images",
        limit="fuses at most one image per item",
        fix="use qwen3-vl-embedding",
    ),
    Case(
        "mm-fused-item-on-a-model-without-fusion",
        lambda emu, _: mm(emu).embed([{"text": "a red car", "image": CAR}]),
        where="items[0] combines text and image",
        limit="cannot fuse modalities into one vector",
        fix="pass them as separate items",
    ),
    Case(
        "mm-video-bytes",
        lambda emu, _: mm(emu).embed([{"video": b"\x00\x00\x00\x18ftypisom"}]),
        where="items[0].video is bytes",
        limit="DashScope takes videos by URL only",
        fix="pass that URL",
    ),
    Case(
        "mm-video-local-path",
        lambda emu, _: mm(emu).embed(["ok", {"video": "clips/beach.mp4"}]),
        where="items[1].video is a local path",
        limit="by URL only",
        fix="upload the video somewhere the service can reach",
    ),
    Case(
        "mm-items-not-a-sequence",
        lambda emu, _: mm(emu).embed(42),
        where="items must be",
        limit="an item or a sequence of items, got int",
        fix="or a list of them",
    ),
    # --- MultimodalEmbedder: settings ---------------------------------------------------------------------------
    Case(
        "mm-call-dimension-not-offered",
        lambda emu, _: mm(emu).embed(["x"], dimension=300),
        where="dimension 300 is not offered by tongyi-embedding-vision-plus",
        limit=PLUS_DIMENSIONS,
        fix="choose one of",
    ),
    Case(
        "mm-dimension-as-str",
        lambda emu, _: mm(emu, dimension="512").embed(["x"]),
        where="dimension must be an int",
        limit=f"got str '512'. Pass one of {PLUS_DIMENSIONS}",
        fix="e.g. dimension=1152",
    ),
    Case(
        "mm-embedder-given-text-model",
        lambda emu, _: mm(emu, V4).embed(["x"]),
        where="text-embedding-v4 is a text model",
        limit="MultimodalEmbedder serves multimodal models",
        fix="Use TextEmbedder for text-embedding-v4",
    ),
    Case(
        "mm-instruct-on-a-model-without-it",
        lambda emu, _: mm(emu).embed(["x"], instruct="Find the matching product photo"),
        where="tongyi-embedding-vision-plus does not take instruct",
        limit="does not take instruct",
        fix="qwen3-vl-embedding does",
    ),
    Case(
        "mm-res-level-on-a-model-without-it",
        lambda emu, _: mm(emu).embed(["x"], res_level=1),
        where="tongyi-embedding-vision-plus does not take res_level",
        limit="it applies to the -2026-03-06 snapshots",
        fix="Drop res_level",
    ),
    Case(
        "mm-fps-out-of-range",
        lambda emu, _: mm(emu, QWEN3).embed(["x"], fps=1.5),
        where="fps",
        limit="must be between 0 and 1, got 1.5",
        fix="Pass a number in that range",
    ),
    Case(
        "mm-workspace-with-a-slash",
        lambda emu, _: mm(emu, workspace="team/ws").embed(["x"]),
        where="workspace 'team/ws'",
        limit=f"(it contains '/'): {WORKSPACE_RULE}",
        fix=WORKSPACE_FIX,
    ),
    # --- adapters -----------------------------------------------------------------------------------------------
    Case(
        "langchain-none-in-documents",
        lambda emu, _: DashScopeEmbeddings(**connection(emu)).embed_documents(["ok", None]),  # type: ignore[list-item]
        where="texts[1] is NoneType",
        limit="not str",
        fix="remove it or replace it with text",
    ),
    Case(
        "langchain-empty-document-async",
        lambda emu, _: run(DashScopeEmbeddings(**connection(emu)).aembed_documents(["ok", "ok", ""])),
        where="texts[2]",
        limit="empty or only whitespace",
        fix="Remove it or replace it with text",
    ),
    Case(
        "langchain-blank-query",
        lambda emu, _: DashScopeEmbeddings(**connection(emu)).embed_query("  "),
        where="texts[0]",
        limit="empty or only whitespace",
        fix="Remove it or replace it with text",
    ),
    Case(
        "langchain-bad-workspace",
        lambda emu, _: DashScopeEmbeddings(**connection(emu, workspace="-ws")).embed_query("x"),
        where="workspace '-ws'",
        limit=f"(it starts with '-'): {WORKSPACE_RULE}",
        fix=WORKSPACE_FIX,
        error=ValidationError,
    ),
    Case(
        "llama-index-none-in-batch",
        lambda emu, _: DashScopeEmbedding(**connection(emu)).get_text_embedding_batch(["ok", None]),  # type: ignore[list-item]
        where="texts[1] is NoneType",
        limit="not str",
        fix="remove it or replace it with text",
    ),
    Case(
        "llama-index-empty-text-async",
        lambda emu, _: run(DashScopeEmbedding(**connection(emu)).aget_text_embedding_batch(["", "ok"])),
        where="texts[0]",
        limit="empty or only whitespace",
        fix="Remove it or replace it with text",
    ),
    Case(
        "llama-index-empty-query",
        lambda emu, _: DashScopeEmbedding(**connection(emu)).get_query_embedding(""),
        where="texts[0]",
        limit="empty or only whitespace",
        fix="Remove it or replace it with text",
    ),
    Case(
        "llama-index-dimension-not-offered",
        lambda emu, _: DashScopeEmbedding(dimension=300, **connection(emu)).get_query_embedding("x"),
        where="dimension 300 is not offered by text-embedding-v4",
        limit=V4_DIMENSIONS,
        fix="choose one of",
        error=ValidationError,
    ),
]


def test_the_table_is_complete() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "case ids are unique"
    assert len(CASES) >= 30
    assert sum(case.fix is None for case in CASES) <= 2, "a missing fix is the exception, with its reason"


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_before_any_request(case: Case, emu: Emulator, tmp_path: Path) -> None:
    with pytest.raises(case.error) as caught:
        case.call(emu, tmp_path)
    message = str(caught.value)
    for fragment in (case.where, case.limit, case.fix):
        if fragment is not None:
            assert fragment in message
    if isinstance(caught.value, InputError):
        assert caught.value.index == case.index
    assert emu.stats.requests == 0
    assert emu.requests == []
