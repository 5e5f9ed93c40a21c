"""Multimodal search: images and text in one vector space, with LangChain + Chroma and with LlamaIndex.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
The pictures are small coloured squares, drawn with Pillow into a temporary folder.
Needs: pip install "dashscope-embeddings[langchain,llama-index]" langchain-chroma pillow
"""

import asyncio
import tempfile
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from llama_index.core.indices import MultiModalVectorStoreIndex
from llama_index.core.schema import ImageDocument
from PIL import Image

from dashscope_embeddings.langchain import DashScopeMultimodalEmbeddings
from dashscope_embeddings.llama_index import DashScopeMultiModalEmbedding

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 180, 60),
    "blue": (30, 60, 220),
    "yellow": (240, 220, 40),
    "purple": (140, 40, 180),
}


def draw_squares(folder: Path) -> dict[str, Path]:
    """One 64x64 PNG per colour."""
    paths = {}
    for colour, rgb in COLOURS.items():
        paths[colour] = folder / f"{colour}_square.png"
        Image.new("RGB", (64, 64), rgb).save(paths[colour])
    return paths


def langchain_with_chroma(photos: dict[str, Path]) -> None:
    embeddings = DashScopeMultimodalEmbeddings(model="tongyi-embedding-vision-plus", dimension=512)
    store = Chroma(
        collection_name="squares",
        embedding_function=embeddings,
        client=chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False)),  # in memory
        collection_metadata={"hnsw:space": "cosine"},
    )
    # add_images calls embeddings.embed_image(uris=[...]): each file is checked and sent inline, 8 per request.
    store.add_images(uris=[str(path) for path in photos.values()], metadatas=[{"colour": c} for c in photos])

    [same] = store.similarity_search_by_image(uri=str(photos["blue"]), k=1)
    print("LangChain  image -> image:", same.metadata["colour"])  # the same picture comes back first

    hits = store.similarity_search("a bright yellow square", k=2)  # embed_query: the text searches the images
    print("LangChain  text  -> image:", [hit.metadata["colour"] for hit in hits])


def llama_index(photos: dict[str, Path]) -> None:
    embed_model = DashScopeMultiModalEmbedding(model_name="tongyi-embedding-vision-plus", dimension=512)
    # With llama-index-readers-file installed, SimpleDirectoryReader(folder).load_data() returns such documents.
    documents = [ImageDocument(image_path=str(path), metadata={"colour": c}) for c, path in photos.items()]
    index = MultiModalVectorStoreIndex.from_documents(documents, image_embed_model=embed_model, embed_model=embed_model)
    retriever = index.as_retriever(image_similarity_top_k=2)
    for hit in retriever.image_to_image_retrieve(str(photos["red"])):
        print(f"LlamaIndex image -> image: {hit.score:.3f} {hit.node.metadata['colour']}")
    for hit in retriever.text_to_image_retrieve("a red square"):
        print(f"LlamaIndex text  -> image: {hit.score:.3f} {hit.node.metadata['colour']}")


async def native_async(photos: dict[str, Path]) -> None:
    embeddings = DashScopeMultimodalEmbeddings()  # tongyi-embedding-vision-plus, 1152 dimensions
    images = await embeddings.aembed_image([str(path) for path in photos.values()])
    query = await embeddings.aembed_query("a green square")
    print(f"async: {len(images)} image vectors and a query vector of {len(query)} dimensions")


with tempfile.TemporaryDirectory() as folder:
    photos = draw_squares(Path(folder))
    langchain_with_chroma(photos)
    llama_index(photos)
    asyncio.run(native_async(photos))
