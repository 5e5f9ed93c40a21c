"""One request for both kinds of vector, and the sparse merge rule."""

from __future__ import annotations

import asyncio
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashscope_embeddings import SparseVector, TextEmbedder
from dashscope_embeddings.emulator import Emulator
from dashscope_embeddings.hybrid import HybridEmbedder
from emulated import connection

V4 = "text-embedding-v4"


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


def hybrid(emu: Emulator, memo_size: int = 4096, **kwargs: object) -> HybridEmbedder:
    return HybridEmbedder(TextEmbedder(V4, **connection(emu), **kwargs), memo_size=memo_size)  # type: ignore[arg-type]


def test_both_kinds_from_one_request_then_from_the_memo(emu: Emulator) -> None:
    h = hybrid(emu)
    texts = ["Order XJ-9000 shipped", "the cat sat on the mat"]
    first = h.embed(texts)
    again = h.embed(texts)
    assert len(emu.requests) == 1
    assert emu.requests[0].body["parameters"]["output_type"] == "dense&sparse"
    assert first == again
    assert [d for d, _ in first] == [emu.expected_embedding(t, model=V4) for t in texts]
    assert [s for _, s in first] == [SparseVector.from_entries(emu.expected_sparse(t, model=V4)) for t in texts]


def test_only_missing_texts_are_fetched_once_each(emu: Emulator) -> None:
    h = hybrid(emu)
    h.embed(["a", "b"])
    h.embed(["b", "c", "c", "a", "d"])
    assert [r.body["input"]["texts"] for r in emu.requests] == [["a", "b"], ["c", "d"]]


def test_query_and_document_are_remembered_apart(emu: Emulator) -> None:
    h = hybrid(emu)
    (doc,) = h.embed(["alpha"], text_type="document")
    (query,) = h.embed(["alpha"], text_type="query")
    assert len(emu.requests) == 2
    assert doc[0] != query[0]
    assert query[0] == emu.expected_embedding("alpha", model=V4, text_type="query")


def test_the_memo_is_bounded_and_least_recently_used_goes_first(emu: Emulator) -> None:
    h = hybrid(emu, memo_size=2)
    h.embed(["a", "b"])
    h.embed(["a"])  # a is now the most recent
    h.embed(["c"])  # evicts b
    assert len(h) == 2
    h.embed(["a", "c"])
    assert len(emu.requests) == 2
    h.embed(["b"])
    assert len(emu.requests) == 3


def test_async_shares_the_memo(emu: Emulator) -> None:
    h = hybrid(emu)
    asyncio.run(h.aembed(["x", "y"], text_type="query"))
    h.embed(["x", "y"], text_type="query")
    assert len(emu.requests) == 1


def test_models_without_sparse_are_refused(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="text-embedding-v2 has no sparse vectors"):
        HybridEmbedder(TextEmbedder("text-embedding-v2", **connection(emu)))  # type: ignore[arg-type]


entries = st.lists(
    st.fixed_dictionaries(
        {
            "index": st.integers(min_value=0, max_value=30),
            "value": st.floats(min_value=-10, max_value=10, allow_nan=False),
            "token": st.text(min_size=1, max_size=3),
        }
    ),
    max_size=40,
)


@given(entries, st.dictionaries(st.integers(min_value=0, max_value=30), st.floats(min_value=-10, max_value=10)))
def test_merging_repeated_indices_keeps_every_dot_product(
    wire: list[dict[str, object]], other: dict[int, float]
) -> None:
    merged = SparseVector.from_entries(wire)
    assert list(merged.indices) == sorted(set(merged.indices))
    raw = math.fsum(float(e["value"]) * other.get(int(e["index"]), 0.0) for e in wire)  # type: ignore[arg-type]
    folded = math.fsum(v * other.get(i, 0.0) for i, v in merged.to_dict().items())
    assert math.isclose(raw, folded, rel_tol=1e-9, abs_tol=1e-9)


def test_merge_keeps_the_first_token_seen() -> None:
    merged = SparseVector.from_entries(
        [
            {"index": 5, "value": 1.0, "token": "XJ"},
            {"index": 2, "value": 0.5, "token": "a"},
            {"index": 5, "value": 2.0, "token": "xj"},
        ]
    )
    assert merged == SparseVector(indices=(2, 5), values=(0.5, 3.0), tokens=("a", "XJ"))


def test_errors_name_the_callers_index_even_when_the_memo_has_earlier_texts(emu: Emulator) -> None:
    from dashscope_embeddings.errors import InputError

    h = hybrid(emu)
    h.embed(["b"])
    with pytest.raises(InputError, match=r"texts\[3\] is empty") as info:
        h.embed(["a", "b", "a", " "])
    assert info.value.index == 3
    assert len(emu.requests) == 1
