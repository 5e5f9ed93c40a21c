"""Multimodal search end to end, offline: LangChain's Chroma and LlamaIndex's `MultiModalVectorStoreIndex` over
Pillow-generated images, embedded by tongyi-embedding-vision-plus on the in-process emulator.

The emulator embeds an inlined image from a digest of its bytes (the same file gives the same vector; different
files nearly orthogonal ones) and an image URL from the words of its path, so "the same image comes back first"
holds for local files, and text-to-image search is meaningful for URLs. Every ranking is also checked against the
ranking computed from the oracle's vectors.
"""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from llama_index.core import Settings, SimpleDirectoryReader
from llama_index.core.indices import MultiModalVectorStoreIndex
from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document, ImageDocument, ImageNode
from PIL import Image

from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.langchain import DashScopeMultimodalEmbeddings
from dashscope_embeddings.llama_index import DashScopeEmbedding, DashScopeMultiModalEmbedding
from emulated import connection

VISION = "tongyi-embedding-vision-plus"
COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 200, 60),
    "blue": (30, 60, 220),
    "yellow": (240, 220, 40),
    "purple": (140, 40, 180),
    "orange": (250, 140, 20),
    "teal": (20, 160, 160),
    "grey": (128, 128, 128),
    "pink": (250, 160, 200),
    "brown": (120, 70, 30),
    "black": (0, 0, 0),
    "white": (255, 255, 255),
}


@pytest.fixture
def emu() -> Emulator:
    return Emulator(faults=Faults(shuffle=True))


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    """One small square PNG per colour, in a folder of their own."""
    folder = tmp_path / "photos"
    folder.mkdir()
    paths = {}
    for name, rgb in COLOURS.items():
        paths[name] = folder / f"{name}_square.png"
        Image.new("RGB", (16, 16), rgb).save(paths[name], "PNG")
    return paths


def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        math.fsum(x * x for x in a) * math.fsum(y * y for y in b)
    )


def oracle(emu: Emulator, content: dict[str, str], **kwargs: Any) -> list[float]:
    return emu.expected_multimodal_embedding([content], model=VISION, **kwargs)[0]


def ranked(query: list[float], candidates: dict[str, list[float]], k: int) -> list[str]:
    return sorted(candidates, key=lambda name: cosine(query, candidates[name]), reverse=True)[:k]


# -- LangChain + Chroma --------------------------------------------------------------------------------------------


@pytest.fixture
def chroma_client() -> chromadb.ClientAPI:
    """Chroma's in-memory client: no server, no telemetry, so it runs with sockets disabled."""
    return chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))


def test_chroma_add_images_and_search_by_image_and_text(
    emu: Emulator, photos: dict[str, Path], chroma_client: chromadb.ClientAPI
) -> None:
    embeddings = DashScopeMultimodalEmbeddings(dimension=256, **connection(emu))
    store = Chroma(
        collection_name=f"photos-{uuid.uuid4().hex}",
        embedding_function=embeddings,
        client=chroma_client,
        collection_metadata={"hnsw:space": "cosine"},
    )
    names = list(photos)
    ids = store.add_images(uris=[str(photos[n]) for n in names], ids=names, metadatas=[{"colour": n} for n in names])
    assert ids == names
    # Chroma asked for all twelve at once; the embedder sent them as 8 + 4 (the model's image cap).
    assert sorted(len(r.body["input"]["contents"]) for r in emu.requests) == [4, 8]

    stored = {n: oracle(emu, {"image": data_uri(photos[n])}, dimension=256) for n in names}
    got = store._collection.get(ids=names, include=["embeddings"])
    for name, vector in zip(got["ids"], got["embeddings"], strict=True):
        assert [float(x) for x in vector] == pytest.approx(stored[name], abs=1e-7)  # Chroma keeps float32

    hits = store.similarity_search_by_image(uri=str(photos["purple"]), k=3)
    assert hits[0].metadata == {"colour": "purple"}
    assert hits[0].page_content == Chroma.encode_image(str(photos["purple"]))  # Chroma stores the image itself
    assert [h.metadata["colour"] for h in hits] == ranked(stored["purple"], stored, 3)

    emu.reset()
    text_hits = store.similarity_search("a purple square", k=3)
    query = oracle(emu, {"text": "a purple square"}, dimension=256)
    assert [h.metadata["colour"] for h in text_hits] == ranked(query, stored, 3)
    assert [r.body for r in emu.requests] == [
        {"model": VISION, "input": {"contents": [{"text": "a purple square"}]}, "parameters": {"dimension": 256}}
    ]


# -- LlamaIndex ----------------------------------------------------------------------------------------------------


class ImageFiles(BaseReader):
    """Reads each image file as an `ImageDocument` by path (what llama-index-readers-file's ImageReader returns)."""

    def load_data(self, file: Path, extra_info: dict[str, Any] | None = None, **kwargs: Any) -> list[Document]:
        return [ImageDocument(image_path=str(file), metadata=extra_info or {})]


@pytest.fixture
def settings_restored() -> Iterator[None]:
    saved = Settings._embed_model
    try:
        yield
    finally:
        Settings._embed_model = saved


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_llama_index_multimodal_index_over_a_folder(
    emu: Emulator, photos: dict[str, Path], mode: str, settings_restored: None
) -> None:
    folder = photos["red"].parent
    (folder / "notes.txt").write_text("The purple square is the odd one out.")
    documents = SimpleDirectoryReader(str(folder), file_extractor={".png": ImageFiles()}).load_data()
    assert len(documents) == 13

    image_embed = DashScopeMultiModalEmbedding(dimension=512, **connection(emu))
    text_embed = DashScopeEmbedding(dimension=512, **connection(emu))
    index = MultiModalVectorStoreIndex.from_documents(
        documents, image_embed_model=image_embed, embed_model=text_embed, use_async=mode == "async"
    )
    image_bodies = [r.body for r in emu.requests if "multimodal" in r.path]
    assert sorted(len(b["input"]["contents"]) for b in image_bodies) == [4, 8]  # 12 images: two requests
    [text_body] = [r.body for r in emu.requests if "text-embedding" in r.path]  # the note, by the text embedder
    [note] = text_body["input"]["texts"]
    assert note.endswith("notes.txt\n\nThe purple square is the odd one out.")  # LlamaIndex prefixes its path
    assert text_body["parameters"] == {"text_type": "document", "dimension": 512}

    stored = {n: oracle(emu, {"image": data_uri(p)}, dimension=512) for n, p in photos.items()}
    retriever = index.as_retriever(image_similarity_top_k=3)
    query = str(photos["teal"])
    if mode == "sync":
        hits = retriever.image_to_image_retrieve(query)
        text_hits = retriever.text_to_image_retrieve("a teal square")
    else:
        hits = await retriever.aimage_to_image_retrieve(query)
        text_hits = await retriever.atext_to_image_retrieve("a teal square")

    def colour(hit: Any) -> str:
        return Path(hit.node.image_path).name.removesuffix("_square.png")

    assert colour(hits[0]) == "teal"
    assert hits[0].score == pytest.approx(1.0)
    assert [colour(h) for h in hits] == ranked(stored["teal"], stored, 3)
    query_vector = oracle(emu, {"text": "a teal square"}, dimension=512)
    assert [colour(h) for h in text_hits] == ranked(query_vector, stored, 3)
    assert [h.score for h in text_hits] == pytest.approx([cosine(query_vector, stored[colour(h)]) for h in text_hits])


async def test_llama_index_text_to_image_by_url(emu: Emulator, mode: str, settings_restored: None) -> None:
    """One embedder for both sides; image nodes by URL (sent as URLs, fetched by the service)."""
    urls = [
        "https://example.com/photos/red_bicycle.jpg",
        "https://example.com/photos/lighthouse_at_dawn.png",
        "https://example.com/photos/blue_teapot.jpg",
    ]
    embed = DashScopeMultiModalEmbedding(**connection(emu))
    # ImageNode, not ImageDocument: ImageDocument downloads a URL given as image_path to check it is an image. The
    # metadata gives each node the non-empty content VectorStoreIndex requires (it skips empty nodes).
    nodes = [ImageNode(image_path=url, metadata={"source": url}) for url in urls]
    index = MultiModalVectorStoreIndex(nodes, image_embed_model=embed, embed_model=embed)
    assert [r.body["input"]["contents"] for r in emu.requests] == [[{"image": url} for url in urls]]
    retriever = index.as_retriever(image_similarity_top_k=1)
    if mode == "sync":
        [hit] = retriever.text_to_image_retrieve("a blue teapot")
    else:
        [hit] = await retriever.atext_to_image_retrieve("a blue teapot")
    assert hit.node.image_path == urls[2]
