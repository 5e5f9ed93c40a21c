"""Sparse vectors: lexical entries, stable indices, keyword ranking."""

from __future__ import annotations

import httpx

from dashscope_embeddings.emulator import Emulator
from dashscope_embeddings.types import SparseVector

from .conftest import NATIVE, native_body


def sparse(client: httpx.Client, texts: list[str], text_type: str = "document") -> list[SparseVector]:
    r = client.post(NATIVE, json=native_body(texts, output_type="sparse", text_type=text_type))
    assert r.status_code == 200
    items = sorted(r.json()["output"]["embeddings"], key=lambda e: e["text_index"])
    return [SparseVector.from_entries(e["sparse_embedding"]) for e in items]


def dot(a: SparseVector, b: SparseVector) -> float:
    bd = b.to_dict()
    return sum(v * bd.get(i, 0.0) for i, v in a.to_dict().items())


def test_entries_per_distinct_word(emu: Emulator) -> None:
    entries = emu.expected_sparse("The drill, the DRILL and 风急", model="text-embedding-v4")
    assert [e["token"] for e in entries] == ["the", "drill", "and", "风", "急"]
    by_token = {e["token"]: e for e in entries}
    assert by_token["drill"]["value"] == 1.6931  # 1 + ln 2
    assert by_token["the"]["value"] == 0.1693  # a stopword, scaled down
    assert by_token["风"]["value"] == 1.0
    assert all(isinstance(e["index"], int) and 0 <= e["index"] < 250_000 for e in entries)
    assert list(entries[0]) == ["index", "value", "token"]


def test_indices_are_stable(emu: Emulator) -> None:
    # CRC-32 of the UTF-8 word, modulo 250,000: the same on every machine.
    assert emu.expected_sparse("hello", model="text-embedding-v4")[0]["index"] == 907060870 % 250_000


def test_query_weights_are_presence_only(emu: Emulator) -> None:
    entries = emu.expected_sparse("drill drill drill", model="text-embedding-v4", text_type="query")
    assert entries == [{"index": entries[0]["index"], "value": 1.0, "token": "drill"}]


def test_keyword_query_ranks_the_document_with_the_sku_first(client: httpx.Client) -> None:
    docs = [
        "The XJ-8000 cordless drill ships with two batteries.",
        "Our best cordless drill: the XJ-9000 with brushless motor.",
        "Drill bits and accessories for every cordless drill.",
        "XJ series overview: 8000, 9500 and 7000 models.",
    ]
    doc_vectors = sparse(client, docs)
    (query,) = sparse(client, ["XJ-9000"], text_type="query")
    scores = [dot(query, d) for d in doc_vectors]
    assert max(range(len(docs)), key=scores.__getitem__) == 1


def test_punctuation_only_text_has_no_entries(emu: Emulator) -> None:
    assert emu.expected_sparse("?!", model="text-embedding-v4") == []
