"""`DashScopeMultimodalEmbeddings` (LangChain) and `DashScopeMultiModalEmbedding` (LlamaIndex) against the emulator.

Exact vectors from the emulator's oracle, exact request bodies, batching within the model's caps, input order under
shuffled answers, every image form (paths, URLs, data URIs, BytesIO), empty inputs, and refusals before any request.
"""

from __future__ import annotations

import base64
import inspect
import io
import pickle
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload, LlamaDebugHandler
from llama_index.core.embeddings import MultiModalEmbedding
from llama_index.core.rate_limiter import BaseRateLimiter
from PIL import Image
from pydantic import SecretStr, ValidationError

from dashscope_embeddings.catalog import MODELS, MULTIMODAL_CHOICES
from dashscope_embeddings.cli import multimodal_table
from dashscope_embeddings.embedder import CONNECTION_SETTINGS
from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import InputError, ServerError
from dashscope_embeddings.langchain import DashScopeMultimodalEmbeddings
from dashscope_embeddings.llama_index import DashScopeMultiModalEmbedding
from dashscope_embeddings.multimodal import MultimodalEmbedder
from emulated import BASE_URL, KEY, connection

PATH = "/api/v1/services/embeddings/multimodal-embedding/multimodal-embedding"
VISION = "tongyi-embedding-vision-plus"
QWEN3 = "qwen3-vl-embedding"
SNAPSHOT = "tongyi-embedding-vision-plus-2026-03-06"
INSTRUCT = "Find images that match the description"
CAT_URL = "https://example.com/photos/sleeping_cat.jpg"
CLIP_URL = "https://example.com/clips/red_car.mp4"


@pytest.fixture
def emu() -> Emulator:
    return Emulator(faults=Faults(shuffle=True))


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def png(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (8, 8), colour).save(path, "PNG")
    return path


def pngs(folder: Path, n: int) -> list[Path]:
    return [png(folder / f"square_{i:02d}.png", (10 * i, 255 - 10 * i, 7 * i)) for i in range(n)]


def data_uri(path: Path) -> str:
    """The form a local PNG takes on the wire: inlined, base64, with its registered MIME type."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [r.body for r in emu.requests]


def sent_in_order(emu: Emulator, contents: Sequence[dict[str, str]]) -> list[list[dict[str, str]]]:
    """The requests' contents, ordered by where their first element sits in `contents` (requests run concurrently)."""
    order = {repr(c): i for i, c in enumerate(contents)}
    return sorted((b["input"]["contents"] for b in bodies(emu)), key=lambda sent: order[repr(sent[0])])


def expected(emu: Emulator, contents: Sequence[dict[str, str]], **kwargs: Any) -> list[list[float]]:
    """The oracle's vector for each content element (each one as it would be answered in any unfused request)."""
    kwargs.setdefault("model", VISION)
    return [emu.expected_multimodal_embedding([content], **kwargs)[0] for content in contents]


def refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError("this client must not be used")


# == LangChain ======================================================================================================


async def lc(emb: DashScopeMultimodalEmbeddings, method: str, arg: Any, mode: str) -> Any:
    """Call `method` (e.g. "embed_image") or its async twin."""
    if mode == "sync":
        return getattr(emb, method)(arg)
    return await getattr(emb, "a" + method)(arg)


async def test_lc_documents_and_query_are_text(emu: Emulator, mode: str) -> None:
    emb = DashScopeMultimodalEmbeddings(**connection(emu))
    texts = ["a cat asleep on a sofa", "README.md"]  # a string naming a file is still text
    docs = await lc(emb, "embed_documents", texts, mode)
    query = await lc(emb, "embed_query", "sleeping cat", mode)
    assert docs == expected(emu, [{"text": t} for t in texts])
    assert query == expected(emu, [{"text": "sleeping cat"}])[0]
    assert [r.path for r in emu.requests] == [PATH, PATH]
    assert emu.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert bodies(emu) == [
        {"model": VISION, "input": {"contents": [{"text": "a cat asleep on a sofa"}, {"text": "README.md"}]}},
        {"model": VISION, "input": {"contents": [{"text": "sleeping cat"}]}},
    ]
    assert all(type(x) is float for x in query)
    assert len(query) == 1152


async def test_lc_images_from_paths_urls_and_data_uris(emu: Emulator, mode: str, tmp_path: Path) -> None:
    red, green = png(tmp_path / "red.png", (255, 0, 0)), png(tmp_path / "green.png", (0, 255, 0))
    emb = DashScopeMultimodalEmbeddings(**connection(emu))
    vectors = await lc(emb, "embed_image", [str(red), green, CAT_URL, data_uri(red)], mode)
    wire = [{"image": data_uri(red)}, {"image": data_uri(green)}, {"image": CAT_URL}, {"image": data_uri(red)}]
    assert bodies(emu) == [{"model": VISION, "input": {"contents": wire}}]
    assert vectors == expected(emu, wire)
    assert vectors[0] == vectors[3]  # the same image, whichever way it was given


async def test_lc_image_batches_stay_within_eight_images_in_order(emu: Emulator, mode: str, tmp_path: Path) -> None:
    paths = pngs(tmp_path, 19)
    emb = DashScopeMultimodalEmbeddings(dimension=256, **connection(emu))
    vectors = await lc(emb, "embed_image", [str(p) for p in paths], mode)
    wire = [{"image": data_uri(p)} for p in paths]
    assert vectors == expected(emu, wire, dimension=256)
    assert sent_in_order(emu, wire) == [wire[0:8], wire[8:16], wire[16:19]]
    assert all(b["parameters"] == {"dimension": 256} for b in bodies(emu))


async def test_lc_text_batches_of_twenty(emu: Emulator, mode: str) -> None:
    texts = [f"caption {i}: {'a quiet street ' * (i % 3)}at dusk" for i in range(45)]
    emb = DashScopeMultimodalEmbeddings(dimensions=64, **connection(emu))
    vectors = await lc(emb, "embed_documents", texts, mode)
    wire = [{"text": t} for t in texts]
    assert vectors == expected(emu, wire, dimension=64)
    assert sent_in_order(emu, wire) == [wire[0:20], wire[20:40], wire[40:45]]
    assert emb.dimension == 64


async def test_lc_videos_by_url(emu: Emulator, mode: str) -> None:
    emb = DashScopeMultimodalEmbeddings(**connection(emu))
    vectors = await lc(emb, "embed_video", [CLIP_URL], mode)
    assert bodies(emu) == [{"model": VISION, "input": {"contents": [{"video": CLIP_URL}]}}]
    assert vectors == expected(emu, [{"video": CLIP_URL}])


async def test_lc_fused_items_on_a_model_that_fuses(emu: Emulator, mode: str, tmp_path: Path) -> None:
    shirt = png(tmp_path / "shirt.png", (20, 40, 200))
    emb = DashScopeMultimodalEmbeddings(model=SNAPSHOT, **connection(emu))
    items = [{"text": "the same shirt, in red", "image": shirt}, {"image": CAT_URL}, {"text": "just words"}]
    vectors = await lc(emb, "embed_fused", items, mode)
    wire = [{"text": "the same shirt, in red", "image": data_uri(shirt)}, {"image": CAT_URL}, {"text": "just words"}]
    assert bodies(emu) == [{"model": SNAPSHOT, "input": {"contents": wire}}]
    assert vectors == expected(emu, wire, model=SNAPSHOT)


async def test_lc_query_instruct_goes_with_queries_only(emu: Emulator, mode: str, tmp_path: Path) -> None:
    red = png(tmp_path / "red.png", (255, 0, 0))
    emb = DashScopeMultimodalEmbeddings(model=QWEN3, query_instruct=INSTRUCT, **connection(emu))
    query = await lc(emb, "embed_query", "a red square", mode)
    docs = await lc(emb, "embed_documents", ["a red square"], mode)
    images = await lc(emb, "embed_image", [str(red)], mode)
    assert query == expected(emu, [{"text": "a red square"}], model=QWEN3, instruct=INSTRUCT)[0]
    assert docs == expected(emu, [{"text": "a red square"}], model=QWEN3)
    assert images == expected(emu, [{"image": data_uri(red)}], model=QWEN3)
    assert query != docs[0]
    assert [b.get("parameters") for b in bodies(emu)] == [{"instruct": INSTRUCT}, None, None]


async def test_lc_empty_inputs_send_nothing(emu: Emulator, mode: str) -> None:
    emb = DashScopeMultimodalEmbeddings(**connection(emu))
    for method in ("embed_documents", "embed_image", "embed_video", "embed_fused"):
        assert await lc(emb, method, [], mode) == []
    assert emu.requests == []


async def test_lc_async_is_native_not_a_thread_around_sync(emu: Emulator, tmp_path: Path) -> None:
    red = png(tmp_path / "red.png", (255, 0, 0))
    emb = DashScopeMultimodalEmbeddings(
        **connection(emu, http_client=httpx.Client(transport=httpx.MockTransport(refuse)))
    )
    assert await emb.aembed_image([str(red)]) == expected(emu, [{"image": data_uri(red)}])
    assert await emb.aembed_query("red") == expected(emu, [{"text": "red"}])[0]


@pytest.mark.parametrize(
    ("method", "bad", "message"),
    [
        ("embed_image", "missing.png", r"cannot read image file 'missing.png'"),
        ("embed_image", "notes.txt", r"not a recognisable image"),
        ("embed_video", "clip.mp4", r"videos by URL only"),
        ("embed_fused", {"text": "cat", "image": CAT_URL}, r"cannot fuse modalities"),
        ("embed_documents", "   ", r"empty or only whitespace"),
    ],
)
async def test_lc_bad_input_is_refused_before_any_request(
    emu: Emulator, mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, bad: Any, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not an image")
    good = {
        "embed_image": str(png(tmp_path / "ok.png", (1, 2, 3))),
        "embed_video": CLIP_URL,
        "embed_fused": {"text": "fine"},
        "embed_documents": "fine",
    }[method]
    emb = DashScopeMultimodalEmbeddings(**connection(emu))
    with pytest.raises(InputError, match=message) as caught:
        await lc(emb, method, [good] * 9 + [bad], mode)  # the bad one would be in a later request
    assert caught.value.index == 9
    assert emu.requests == []


async def test_lc_service_errors_raise(mode: str) -> None:
    emu = Emulator(faults=Faults(error_rate=1.0))
    emb = DashScopeMultimodalEmbeddings(max_retries=0, **connection(emu))
    with pytest.raises(ServerError):
        await lc(emb, "embed_image", [CAT_URL], mode)
    assert len(emu.requests) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query_instruct": INSTRUCT}, "tongyi-embedding-vision-plus does not take instruct"),
        ({"model": "text-embedding-v4"}, "text-embedding-v4 is a text model"),
        ({"dimension": 100}, "dimension 100 is not offered by tongyi-embedding-vision-plus"),
        ({"dimensions_typo": 64}, "Extra inputs are not permitted"),
        ({"truncate": True}, "Extra inputs are not permitted"),
        ({"region": "mars"}, "Unknown region 'mars'"),
    ],
)
def test_lc_bad_settings_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DashScopeMultimodalEmbeddings(api_key=KEY, **kwargs)


def test_lc_key_and_base_url_from_environment(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", BASE_URL)
    emb = DashScopeMultimodalEmbeddings(http_client=httpx.Client(transport=emu.transport()))
    assert emb.api_key == SecretStr("sk-from-env")
    emb.embed_image([CAT_URL])
    assert emu.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_lc_key_never_leaks_and_pickles_take_the_key_from_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-very-secret-value"
    emb = DashScopeMultimodalEmbeddings(**connection(emu, api_key=secret, dimension=256))
    for text in (repr(emb), str(emb), str(emb.model_dump()), emb.model_dump_json(), repr(emb.embedder)):
        assert secret not in text
    blob = pickle.dumps(emb)
    assert secret.encode() not in blob

    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    copy = pickle.loads(blob)
    assert (copy.api_key, copy.dimension, copy.embedder.dimension) == (SecretStr("sk-from-env"), 256, 256)
    monkeypatch.delenv("DASHSCOPE_API_KEY")
    keyless = pickle.loads(blob)
    with pytest.raises(InputError, match="DASHSCOPE_API_KEY"):
        keyless.embed_image([CAT_URL])


def test_lc_bad_assignment_is_rolled_back(emu: Emulator) -> None:
    emb = DashScopeMultimodalEmbeddings(**connection(emu))
    emb.dimension = 512
    assert len(emb.embed_query("x")) == 512
    with pytest.raises(ValidationError, match="dimension 3 is not offered"):
        emb.dimension = 3
    assert (emb.dimension, emb.embedder.dimension) == (512, 512)


class TestMultimodalEmbeddingsStandardUnit(EmbeddingsUnitTests):
    """langchain-tests' unit suite, as upstream intends."""

    @property
    def embeddings_class(self) -> type[DashScopeMultimodalEmbeddings]:
        return DashScopeMultimodalEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"dimension": 256, "api_key": "sk-unit"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"DASHSCOPE_API_KEY": "sk-from-env"},
            {"model": "tongyi-embedding-vision-flash", "dimensions": 512},
            {"api_key": "sk-from-env", "model": "tongyi-embedding-vision-flash", "dimension": 512},
        )


class TestMultimodalEmbeddingsStandardIntegration(EmbeddingsIntegrationTests):
    """langchain-tests' integration suite, offline: the injected clients' transports are the in-process emulator."""

    emulator = Emulator(faults=Faults(shuffle=True))

    @property
    def embeddings_class(self) -> type[DashScopeMultimodalEmbeddings]:
        return DashScopeMultimodalEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"dimension": 64, **connection(self.emulator)}


# == LlamaIndex =====================================================================================================


async def li_images(emb: MultiModalEmbedding, images: list[Any], mode: str) -> list[list[float]]:
    if mode == "sync":
        return emb.get_image_embedding_batch(images)
    return await emb.aget_image_embedding_batch(images)


async def li_texts(emb: MultiModalEmbedding, texts: list[str], mode: str) -> list[list[float]]:
    if mode == "sync":
        return emb.get_text_embedding_batch(texts)
    return await emb.aget_text_embedding_batch(texts)


async def test_li_query_text_and_single_images(emu: Emulator, mode: str, tmp_path: Path) -> None:
    red = png(tmp_path / "red.png", (255, 0, 0))
    emb = DashScopeMultiModalEmbedding(**connection(emu))
    if mode == "sync":
        got = [
            emb.get_query_embedding("red"),
            emb.get_text_embedding("red"),
            emb.get_image_embedding(str(red)),
            emb.get_image_embedding(io.BytesIO(red.read_bytes())),
            emb.get_image_embedding(CAT_URL),
        ]
    else:
        got = [
            await emb.aget_query_embedding("red"),
            await emb.aget_text_embedding("red"),
            await emb.aget_image_embedding(str(red)),
            await emb.aget_image_embedding(io.BytesIO(red.read_bytes())),
            await emb.aget_image_embedding(CAT_URL),
        ]
    wire = [{"text": "red"}, {"text": "red"}, {"image": data_uri(red)}, {"image": data_uri(red)}, {"image": CAT_URL}]
    assert bodies(emu) == [{"model": VISION, "input": {"contents": [content]}} for content in wire]
    assert got == expected(emu, wire)


async def test_li_image_batch_is_one_request_per_chunk_in_order(emu: Emulator, mode: str, tmp_path: Path) -> None:
    paths = pngs(tmp_path, 20)
    images: list[Any] = [str(p) if i % 2 else io.BytesIO(p.read_bytes()) for i, p in enumerate(paths)]
    emb = DashScopeMultiModalEmbedding(dimension=128, **connection(emu))
    assert emb.embed_batch_size == 20
    vectors = await li_images(emb, images, mode)
    wire = [{"image": data_uri(p)} for p in paths]
    assert vectors == expected(emu, wire, dimension=128)
    assert sent_in_order(emu, wire) == [wire[0:8], wire[8:16], wire[16:20]]  # 8 images per request
    assert all(b["parameters"] == {"dimension": 128} for b in bodies(emu))


async def test_li_smaller_batch_size_is_respected(emu: Emulator, mode: str, tmp_path: Path) -> None:
    paths = pngs(tmp_path, 7)
    emb = DashScopeMultiModalEmbedding(embed_batch_size=3, **connection(emu))
    vectors = await li_images(emb, [str(p) for p in paths], mode)
    wire = [{"image": data_uri(p)} for p in paths]
    assert vectors == expected(emu, wire)
    assert sent_in_order(emu, wire) == [wire[0:3], wire[3:6], wire[6:7]]


async def test_li_text_batch_of_twenty_per_request(emu: Emulator, mode: str) -> None:
    texts = [f"caption {i}" for i in range(45)]
    emb = DashScopeMultiModalEmbedding(**connection(emu))
    vectors = await li_texts(emb, texts, mode)
    wire = [{"text": t} for t in texts]
    assert vectors == expected(emu, wire)
    assert sent_in_order(emu, wire) == [wire[0:20], wire[20:40], wire[40:45]]


async def test_li_query_instruct_on_queries_only(emu: Emulator, mode: str, tmp_path: Path) -> None:
    red = png(tmp_path / "red.png", (255, 0, 0))
    emb = DashScopeMultiModalEmbedding(model_name=QWEN3, query_instruct=INSTRUCT, dimension=256, **connection(emu))
    if mode == "sync":
        query, text, image = emb.get_query_embedding("red"), emb.get_text_embedding("red"), emb.get_image_embedding(red)
    else:
        query = await emb.aget_query_embedding("red")
        text = await emb.aget_text_embedding("red")
        image = await emb.aget_image_embedding(str(red))
    assert query == expected(emu, [{"text": "red"}], model=QWEN3, dimension=256, instruct=INSTRUCT)[0]
    assert text == expected(emu, [{"text": "red"}], model=QWEN3, dimension=256)[0]
    assert image == expected(emu, [{"image": data_uri(red)}], model=QWEN3, dimension=256)[0]
    assert [b["parameters"] for b in bodies(emu)] == [
        {"dimension": 256, "instruct": INSTRUCT},
        {"dimension": 256},
        {"dimension": 256},
    ]


async def test_li_empty_batches_send_nothing(emu: Emulator, mode: str) -> None:
    emb = DashScopeMultiModalEmbedding(**connection(emu))
    assert await li_images(emb, [], mode) == []
    assert await li_texts(emb, [], mode) == []
    assert emu.requests == []


async def test_li_bad_image_is_refused_before_any_request(emu: Emulator, mode: str, tmp_path: Path) -> None:
    paths = [str(p) for p in pngs(tmp_path, 3)]
    (tmp_path / "image.txt").write_text("not an image")
    emb = DashScopeMultiModalEmbedding(embed_batch_size=2, max_concurrency=1, **connection(emu))
    with pytest.raises(InputError, match=r"^img_file_paths\[3\] is not a recognisable image") as caught:
        await li_images(emb, [*paths, str(tmp_path / "image.txt")], mode)  # the bad one is in the second chunk
    assert caught.value.index == 3  # its index in the batch, not in its chunk
    assert emu.requests == []  # not even the first chunk was sent


async def test_li_async_is_native_not_a_thread_around_sync(emu: Emulator, tmp_path: Path) -> None:
    red = png(tmp_path / "red.png", (255, 0, 0))
    emb = DashScopeMultiModalEmbedding(
        **connection(emu, http_client=httpx.Client(transport=httpx.MockTransport(refuse)))
    )
    assert await emb.aget_image_embedding_batch([str(red), CAT_URL]) == expected(
        emu, [{"image": data_uri(red)}, {"image": CAT_URL}]
    )
    assert await emb.aget_query_embedding("red") == expected(emu, [{"text": "red"}])[0]


async def test_li_image_batch_callback_events_per_chunk(emu: Emulator, mode: str, tmp_path: Path) -> None:
    paths = [str(p) for p in pngs(tmp_path, 10)]
    handler = LlamaDebugHandler()
    emb = DashScopeMultiModalEmbedding(callback_manager=CallbackManager([handler]), **connection(emu))
    vectors = await li_images(emb, paths, mode)
    pairs = handler.get_event_pairs(CBEventType.EMBEDDING)
    assert [end.payload[EventPayload.CHUNKS] for _, end in pairs] == [paths[0:8], paths[8:10]]
    assert [v for _, end in pairs for v in end.payload[EventPayload.EMBEDDINGS]] == vectors


async def test_li_rate_limiter_paces_image_requests(emu: Emulator, mode: str, tmp_path: Path) -> None:
    class Counting(BaseRateLimiter):
        calls = 0

        def acquire(self, num_tokens: int = 0) -> None:
            self.calls += 1

        async def async_acquire(self, num_tokens: int = 0) -> None:
            self.calls += 1

    limiter = Counting()
    emb = DashScopeMultiModalEmbedding(rate_limiter=limiter, **connection(emu))
    await li_images(emb, [str(p) for p in pngs(tmp_path, 17)], mode)
    assert limiter.calls == len(emu.requests) == 3


def test_li_embed_batch_size_is_capped_at_the_model_limit(emu: Emulator) -> None:
    with pytest.warns(UserWarning, match="above tongyi-embedding-vision-plus's limit of 20 contents per request"):
        emb = DashScopeMultiModalEmbedding(embed_batch_size=25, **connection(emu))
    assert emb.embed_batch_size == 20
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert DashScopeMultiModalEmbedding(model_name="qwen2.5-vl-embedding", **connection(emu)).embed_batch_size == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query_instruct": INSTRUCT}, "tongyi-embedding-vision-plus does not take instruct"),
        ({"model_name": "text-embedding-v4"}, "text-embedding-v4 is a text model"),
        ({"dimension": 100}, "dimension 100 is not offered"),
        ({"text_type": "query"}, "Extra inputs are not permitted"),
    ],
)
def test_li_bad_settings_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DashScopeMultiModalEmbedding(api_key=KEY, **kwargs)


def test_li_key_never_leaks_and_round_trips_take_the_key_from_env(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-very-secret-value"
    emb = DashScopeMultiModalEmbedding(**connection(emu, api_key=secret, dimension=512))
    assert emb.class_name() == "DashScopeMultiModalEmbedding"
    data = emb.to_dict()
    assert data["class_name"] == "DashScopeMultiModalEmbedding"
    assert "api_key" not in data
    assert "http_client" not in data
    for text in (repr(emb), emb.to_json(), str(emb.to_payload()), emb.model_dump_json()):
        assert secret not in text
    blob = pickle.dumps(emb)
    assert secret.encode() not in blob

    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    for copy in (DashScopeMultiModalEmbedding.from_dict(data), pickle.loads(blob)):
        assert (copy.api_key, copy.dimension, copy.embedder.dimension) == (None, 512, 512)  # None: env key
    monkeypatch.delenv("DASHSCOPE_API_KEY")
    keyless = pickle.loads(blob)
    with pytest.raises(InputError, match="DASHSCOPE_API_KEY"):
        keyless.get_image_embedding(CAT_URL)


# == both ===========================================================================================================


def test_connection_settings_are_the_multimodal_embedders_keywords() -> None:
    keywords = set(inspect.signature(MultimodalEmbedder).parameters) - {"model", "retry", "rate_limit"}  # objects
    assert set(CONNECTION_SETTINGS) == keywords


@pytest.mark.parametrize("adapter", [DashScopeMultimodalEmbeddings, DashScopeMultiModalEmbedding])
def test_adapters_have_a_field_for_each_setting(adapter: type) -> None:
    assert set(CONNECTION_SETTINGS) <= set(adapter.model_fields)  # type: ignore[attr-defined]


# == the guide's tables are the catalog's ===========================================================================


DOCS = Path(__file__).resolve().parents[1] / "docs"


def options_table() -> str:
    rows = ["| model | regions | `instruct` | per-call options | tokens per text |", "|---|---|---|---|---|"]
    for spec in MODELS.values():
        media = spec.media
        if media is None:
            continue
        flags = (("res_level", media.res_level), ("max_video_frames", media.max_video_frames), ("fps", media.fps))
        options = ", ".join(f"`{name}`" for name, on in flags if on) or "—"
        tokens = f"{spec.max_tokens:,}" + (" (longer text is truncated)" if media.truncates_text else "")
        rows.append(
            f"| {spec.name} | {', '.join(sorted(spec.regions))} | {'yes' if spec.instruct else '—'} | {options} | {tokens} |"
        )
    return "\n".join(rows)


def test_the_guide_shows_the_catalogs_limits_and_choices() -> None:
    page = (DOCS / "multimodal.md").read_text(encoding="utf-8")
    assert multimodal_table() in page
    assert options_table() in page
    assert MULTIMODAL_CHOICES.strip() in page
