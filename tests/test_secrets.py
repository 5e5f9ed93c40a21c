"""The API key never shows: not in any object's repr, dumps, serialisations, pickles or copies, not in log records at
any level, and not in errors, their chains or their tracebacks, the locals of every frame included.

Every class that holds a key is checked with the key given each way it takes one (argument, LangChain's
`dashscope_api_key` alias, `DASHSCOPE_API_KEY`), after a request (the transport builds its headers on the first one).
A leak is any 6-character piece of the key: pydantic, for one, quotes inputs cut short. Keys are never a local of
these tests, since a traceback with locals shows the test's own frame too. The plain-http refusal and the refused
redirects are tested in test_regions.py, test_transport.py and integration_tests/test_transport_served.py.
"""

from __future__ import annotations

import copy
import logging
import pickle
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest
from langchain_core.load import dumpd, dumps
from pydantic import BaseModel, ValidationError

from dashscope_embeddings import MultimodalEmbedder, RetryPolicy, TextEmbedder
from dashscope_embeddings.embedder import BaseEmbedder
from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    DashScopeError,
    InputError,
    ServerError,
)
from dashscope_embeddings.hybrid import HybridEmbedder
from dashscope_embeddings.langchain import DashScopeEmbeddings, DashScopeMultimodalEmbeddings
from dashscope_embeddings.llama_index import DashScopeEmbedding, DashScopeMultiModalEmbedding, DashScopeSparseEmbedding
from dashscope_embeddings.milvus import DashScopeMilvusHybridEmbeddings, DashScopeMilvusSparseEmbeddings
from dashscope_embeddings.protocol.text import TEXT_EMBEDDING_PATH
from dashscope_embeddings.qdrant import DashScopeHybridEmbeddings, DashScopeSparseEmbeddings
from emulated import BASE_URL, connection

KEY = "sk-SECRET-7f3a9c"
OTHER_KEY = "sk-another-key"
VISION = "tongyi-embedding-vision-plus"
URL = f"{BASE_URL}{TEXT_EMBEDDING_PATH}"
FAST_RETRY = RetryPolicy(max_retries=1, initial_delay=0.01)


def key_fragments(text: str) -> list[str]:
    """The 6-character pieces of the key after its `sk-` prefix that `text` contains."""
    return [KEY[i : i + 6] for i in range(3, len(KEY) - 5) if KEY[i : i + 6] in text]


def leaked(shown: dict[str, str]) -> dict[str, list[str]]:
    return {label: key_fragments(text) for label, text in shown.items() if key_fragments(text)}


# -- every class that holds a key ---------------------------------------------------------------------------------


def _send(transport: Any) -> object:
    return transport.send(TEXT_EMBEDDING_PATH, {"model": "text-embedding-v4", "input": {"texts": ["hello"]}}, _raw)


async def _asend(transport: Any) -> object:
    return await transport.asend(
        TEXT_EMBEDDING_PATH, {"model": "text-embedding-v4", "input": {"texts": ["hello"]}}, _raw
    )


def _raw(raw: bytes, request_id: str | None) -> bytes:
    return raw


@dataclass(frozen=True)
class Holder:
    """How to build an object that holds a key from connection settings, and how to make it send one request."""

    build: Callable[[dict[str, Any]], Any]
    query: Callable[[Any], object]
    aquery: Callable[[Any], Awaitable[object]]
    ways: tuple[str, ...] = ("argument", "env")
    picklable: bool = False


def _lc(build: Callable[[dict[str, Any]], Any]) -> Holder:
    return Holder(
        build,
        lambda emb: emb.embed_query("hello"),
        lambda emb: emb.aembed_query("hello"),
        ("argument", "alias", "env"),
        picklable=True,
    )


def _lc_hybrid(build: Callable[[dict[str, Any]], Any]) -> Holder:
    return Holder(
        build,
        lambda emb: emb.dense.embed_query("hello"),
        lambda emb: emb.dense.aembed_query("hello"),
        ("argument", "alias", "env"),
        picklable=True,
    )


def _li(build: Callable[[dict[str, Any]], Any]) -> Holder:
    return Holder(
        build,
        lambda emb: emb.get_query_embedding("hello"),
        lambda emb: emb.aget_query_embedding("hello"),
        picklable=True,
    )


HOLDERS = {
    "TextEmbedder": Holder(lambda c: TextEmbedder(**c), lambda e: e.embed("hello"), lambda e: e.aembed("hello")),
    "MultimodalEmbedder": Holder(
        lambda c: MultimodalEmbedder(VISION, **c), lambda e: e.embed(["hello"]), lambda e: e.aembed(["hello"])
    ),
    "HybridEmbedder": Holder(
        lambda c: HybridEmbedder(TextEmbedder(**c)), lambda h: h.embed(["hello"]), lambda h: h.aembed(["hello"])
    ),
    "Transport": Holder(lambda c: TextEmbedder(**c)._transport, _send, _asend),
    "langchain.DashScopeEmbeddings": _lc(lambda c: DashScopeEmbeddings(**c)),
    "langchain.DashScopeMultimodalEmbeddings": _lc(lambda c: DashScopeMultimodalEmbeddings(**c)),
    "qdrant.DashScopeSparseEmbeddings": _lc(lambda c: DashScopeSparseEmbeddings(**c)),
    "qdrant.DashScopeHybridEmbeddings": _lc_hybrid(lambda c: DashScopeHybridEmbeddings(**c)),
    "qdrant.HybridDenseView": _lc(lambda c: DashScopeHybridEmbeddings(**c).dense),
    "qdrant.HybridSparseView": _lc(lambda c: DashScopeHybridEmbeddings(**c).sparse),
    "milvus.DashScopeMilvusSparseEmbeddings": _lc(lambda c: DashScopeMilvusSparseEmbeddings(**c)),
    "milvus.DashScopeMilvusHybridEmbeddings": _lc_hybrid(lambda c: DashScopeMilvusHybridEmbeddings(**c)),
    "milvus.HybridMilvusSparseView": _lc(lambda c: DashScopeMilvusHybridEmbeddings(**c).sparse),
    "llama_index.DashScopeEmbedding": _li(lambda c: DashScopeEmbedding(**c)),
    "llama_index.DashScopeMultiModalEmbedding": _li(lambda c: DashScopeMultiModalEmbedding(**c)),
    "llama_index.DashScopeSparseEmbedding": _li(lambda c: DashScopeSparseEmbedding(**c)),
}
CASES = [(name, way) for name, holder in HOLDERS.items() for way in holder.ways]
PICKLABLE = [name for name, holder in HOLDERS.items() if holder.picklable]


def build(name: str, emu: Emulator, way: str, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Any:
    """HOLDERS[name] routed to `emu`, with the key given `way`."""
    kwargs = {**connection(emu), **settings}
    del kwargs["api_key"]
    if way == "env":
        monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    else:
        kwargs["api_key" if way == "argument" else "dashscope_api_key"] = KEY
    return HOLDERS[name].build(kwargs)


def embedder_of(obj: Any) -> BaseEmbedder:
    """The embedder doing an adapter's (or a hybrid view's) work."""
    embedder: BaseEmbedder = getattr(obj, "owner", obj).embedder
    return embedder


def sent_key(emu: Emulator) -> str:
    return emu.requests[-1].headers["authorization"]


async def run(mode: str, call: Callable[[], object], acall: Callable[[], Awaitable[object]]) -> object:
    return call() if mode == "sync" else await acall()


# -- what an object shows -------------------------------------------------------------------------------------------


def pickled(obj: Any) -> str:
    """The pickle (as text), or why the object cannot be pickled: neither may carry the key."""
    try:
        return pickle.dumps(obj).decode("latin-1")
    except TypeError as refusal:
        return f"refused: {refusal}"


def deep_copied(obj: Any) -> str:
    try:
        return repr(copy.deepcopy(obj))
    except TypeError as refusal:
        return f"refused: {refusal}"


def surfaces(obj: Any) -> dict[str, str]:
    shown = {
        "repr": repr(obj),
        "str": str(obj),
        "vars": repr(vars(obj)),
        "langchain dumps": dumps(obj),
        "langchain dumpd": repr(dumpd(obj)),
        "pickle": pickled(obj),
        "deepcopy": deep_copied(obj),
    }
    if isinstance(obj, BaseModel):
        shown["model_dump"] = repr(obj.model_dump())
        shown["model_dump_json"] = obj.model_dump_json()
        shown["dict"] = repr(dict(obj))
    for method in ("to_dict", "to_json", "to_payload"):
        if callable(getattr(obj, method, None)):
            shown[method] = repr(getattr(obj, method)())
    return shown


@pytest.mark.parametrize(("name", "way"), CASES)
def test_no_surface_of_an_object_shows_the_key(name: str, way: str, monkeypatch: pytest.MonkeyPatch) -> None:
    emu = Emulator()
    obj = build(name, emu, way, monkeypatch)
    HOLDERS[name].query(obj)
    assert sent_key(emu) == f"Bearer {KEY}"
    assert leaked(surfaces(obj)) == {}


@pytest.mark.parametrize("name", PICKLABLE)
def test_pickles_and_deep_copies_of_adapters_work_and_keep_the_key_out_of_the_pickle(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deep copy keeps the key and shares the injected clients; a pickle carries neither (it is a file anyone may
    read), so an unpickled copy takes the key from `DASHSCOPE_API_KEY` and needs its clients given back."""
    emu = Emulator()
    original = build(name, emu, "argument", monkeypatch)
    holder = HOLDERS[name]

    twin = copy.deepcopy(original)
    assert embedder_of(twin) is not embedder_of(original)
    assert getattr(twin, "owner", twin).http_client is getattr(original, "owner", original).http_client
    holder.query(twin)
    assert sent_key(emu) == f"Bearer {KEY}"

    blob = pickle.dumps(original)
    assert key_fragments(blob.decode("latin-1")) == []
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    revived = pickle.loads(blob)
    embedder_of(revived)._transport._client = httpx.Client(transport=emu.transport())
    holder.query(revived)
    assert sent_key(emu) == f"Bearer {KEY}"
    assert len(emu.requests) == 2


# -- logs -----------------------------------------------------------------------------------------------------------


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    """Every record at DEBUG, from the root logger down, with the client's loggers propagating to it."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "dashscope_embeddings", "asyncio", "llama_index", "langchain_core"):
        caplog.set_level(logging.DEBUG, logger=name)
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
    return caplog


def logged(record: logging.LogRecord) -> dict[str, str]:
    return {
        "message": record.getMessage(),
        "args": repr(record.args),
        "formatted": logging.Formatter("%(name)s %(levelname)s %(message)s %(pathname)s").format(record),
        "record": repr(vars(record)),
    }


async def test_logs_never_carry_the_key(every_log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """A success, a 500 retried once and a 401 (the emulator knows another key), each sync and async; then the
    adapters of both frameworks."""
    for emu, error in (
        (Emulator(), None),
        (Emulator(faults=Faults(error_rate=1.0)), ServerError),
        (Emulator(api_keys=[OTHER_KEY]), AuthenticationError),
    ):
        embedder = build("TextEmbedder", emu, "argument", monkeypatch, retry=FAST_RETRY)
        for mode in ("sync", "async"):
            if error is None:
                await run(mode, partial(embedder.embed, "hello"), partial(embedder.aembed, "hello"))
                continue
            with pytest.raises(error):
                await run(mode, partial(embedder.embed, "hello"), partial(embedder.aembed, "hello"))
    emu = Emulator()
    build("langchain.DashScopeEmbeddings", emu, "argument", monkeypatch).embed_query("hello")
    await build("llama_index.DashScopeEmbedding", emu, "argument", monkeypatch).aget_query_embedding("hello")

    records = every_log.records
    assert [r.getMessage() for r in records if r.name == "httpx"] == [
        f'HTTP Request: POST {URL} "HTTP/1.1 200 OK"',
        f'HTTP Request: POST {URL} "HTTP/1.1 200 OK"',
        *[f'HTTP Request: POST {URL} "HTTP/1.1 500 Internal Server Error"'] * 4,
        *[f'HTTP Request: POST {URL} "HTTP/1.1 401 Unauthorized"'] * 2,
        f'HTTP Request: POST {URL} "HTTP/1.1 200 OK"',
        f'HTTP Request: POST {URL} "HTTP/1.1 200 OK"',
    ]
    assert [r.getMessage() for r in records if r.name == "dashscope_embeddings"] == [
        f"Retrying {TEXT_EMBEDDING_PATH} in 0.01 s after ServerError"
    ] * 2
    assert [(i, leaked(logged(r))) for i, r in enumerate(records) if leaked(logged(r))] == []


# -- errors, their chains and tracebacks ----------------------------------------------------------------------------


def chain(error: BaseException) -> list[BaseException]:
    """`error` and every error it was raised from or while handling."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is not None and all(current is not seen for seen in found):
            found.append(current)
            todo += [current.__cause__, current.__context__]
    return found


def shown_by(error: BaseException) -> dict[str, str]:
    shown: dict[str, str] = {}
    for depth, link in enumerate(chain(error)):
        where = f"{depth}:{type(link).__name__}"
        shown[f"{where} str"] = str(link)
        shown[f"{where} repr"] = repr(link)
        shown[f"{where} vars"] = repr(vars(link))
        shown[f"{where} traceback"] = "".join(traceback.format_exception(link))
        locals_shown = traceback.TracebackException.from_exception(link, capture_locals=True).format()
        shown[f"{where} traceback with locals"] = "".join(locals_shown)
    return shown


FAILURES: dict[str, tuple[Callable[[], Emulator], type[DashScopeError]]] = {
    "401": (lambda: Emulator(api_keys=[OTHER_KEY]), AuthenticationError),
    "500 after retries": (lambda: Emulator(faults=Faults(error_rate=1.0)), ServerError),
    "timeout": (lambda: Emulator(faults=Faults(hang=True)), APITimeoutError),
    "connection dropped": (lambda: Emulator(faults=Faults(drop_rate=1.0)), APIConnectionError),
    "input": (Emulator, InputError),
}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("name", ["TextEmbedder", "MultimodalEmbedder"])
async def test_errors_of_an_embedder_carry_no_key(
    name: str, failure: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """25 texts: three requests on text-embedding-v4 and two on the vision model, run concurrently. An injected
    client times out by its own setting, so the clients get the short timeout too."""
    make_emulator, expected = FAILURES[failure]
    emu = make_emulator()
    clients = {
        "http_client": httpx.Client(transport=emu.transport(), timeout=0.05),
        "http_async_client": httpx.AsyncClient(transport=emu.async_transport(), timeout=0.05),
    }
    embedder = build(name, emu, "argument", monkeypatch, timeout=0.05, retry=FAST_RETRY, **clients)
    texts = [f"text {i}" for i in range(25)]
    dimension = 3 if failure == "input" else None
    with pytest.raises(DashScopeError) as info:
        await run(
            mode,
            lambda: embedder.embed(texts, dimension=dimension),
            lambda: embedder.aembed(texts, dimension=dimension),
        )
    assert type(info.value) is expected
    assert leaked(shown_by(info.value)) == {}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(("name", "way"), CASES)
async def test_a_refused_key_raises_an_error_without_it(
    name: str, way: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = Emulator(api_keys=[OTHER_KEY])
    obj = build(name, emu, way, monkeypatch)
    holder = HOLDERS[name]
    with pytest.raises(AuthenticationError) as info:
        await run(mode, lambda: holder.query(obj), lambda: holder.aquery(obj))
    assert info.value.status_code == 401
    assert leaked(shown_by(info.value)) == {}


ADAPTERS = [
    DashScopeEmbeddings,
    DashScopeMultimodalEmbeddings,
    DashScopeSparseEmbeddings,
    DashScopeHybridEmbeddings,
    DashScopeMilvusSparseEmbeddings,
    DashScopeMilvusHybridEmbeddings,
    DashScopeEmbedding,
    DashScopeMultiModalEmbedding,
    DashScopeSparseEmbedding,
]
LANGCHAIN_ADAPTERS = ADAPTERS[:6]
REFUSED_SETTINGS = [
    ({"region": "mars"}, "Unknown region 'mars'"),
    ({"base_url": "http://10.0.0.5/api/v1"}, "plain http to a non-loopback host"),
    ({"timeout": "soon"}, "Input should be a valid number"),
    ({"bogus": 1}, "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("settings", "message"), REFUSED_SETTINGS, ids=["region", "http", "timeout", "extra"])
@pytest.mark.parametrize("cls", ADAPTERS, ids=lambda cls: cls.__name__)
def test_an_adapter_refusing_a_setting_does_not_quote_the_key(
    cls: type[BaseModel], settings: dict[str, Any], message: str
) -> None:
    """pydantic quotes a model validator's whole input in its message (`input_value={'api_key': ...}`), and the
    constructor's frames hold its arguments: the adapters wrap the key in SecretStr before either sees it."""
    with pytest.raises(ValidationError, match=message) as info:
        cls(api_key=KEY, **settings)
    assert leaked(shown_by(info.value)) == {}


@pytest.mark.parametrize("cls", LANGCHAIN_ADAPTERS, ids=lambda cls: cls.__name__)
def test_a_langchain_adapter_refusing_a_setting_does_not_quote_the_key_given_by_its_alias(
    cls: type[BaseModel],
) -> None:
    with pytest.raises(ValidationError, match="Unknown region 'mars'") as info:
        cls(dashscope_api_key=KEY, region="mars")
    assert leaked(shown_by(info.value)) == {}


@pytest.mark.parametrize("cls", ADAPTERS[6:], ids=lambda cls: cls.__name__)
def test_llama_index_refuses_langchains_key_name_without_quoting_the_key(cls: type[BaseModel]) -> None:
    with pytest.raises(ValidationError, match=r"dashscope_api_key\n  Extra inputs are not permitted") as info:
        cls(dashscope_api_key=KEY)
    assert "input_value=SecretStr('**********')" in str(info.value)
    assert leaked(shown_by(info.value)) == {}


@pytest.mark.parametrize("settings", [{"dimension": 3}, {"region": "mars"}], ids=["dimension", "region"])
@pytest.mark.parametrize("name", ["TextEmbedder", "MultimodalEmbedder"])
def test_an_embedder_refusing_a_setting_holds_no_plain_key_in_its_frames(name: str, settings: dict[str, Any]) -> None:
    cls, model = (TextEmbedder, "text-embedding-v4") if name == "TextEmbedder" else (MultimodalEmbedder, VISION)
    with pytest.raises(InputError) as info:
        cls(model, **connection(Emulator(), api_key=KEY), **settings)
    assert leaked(shown_by(info.value)) == {}


@pytest.mark.parametrize("flaw", ["\u200b", "\n", "\x00", "é"], ids=["zero-width space", "newline", "NUL", "accent"])
def test_a_key_no_header_can_carry_is_refused_without_quoting_it(flaw: str) -> None:
    with pytest.raises(InputError) as info:
        TextEmbedder(**connection(Emulator(), api_key=KEY[:9] + flaw + KEY[9:]))
    assert leaked(shown_by(info.value)) == {}
