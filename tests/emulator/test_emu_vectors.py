"""Dense vectors: deterministic, unit length, lexical, Matryoshka, query/document/instruct/model variants."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashscope_embeddings.emulator import Emulator

from .conftest import AUTH, NATIVE, native_body

V4 = "text-embedding-v4"


def vec(emu: Emulator, text: str, **kw: object) -> np.ndarray:
    return np.array(emu.expected_embedding(text, model=kw.pop("model", V4), **kw), dtype=np.float64)  # type: ignore[arg-type]


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.parametrize("dimension", [64, 128, 256, 512, 768, 1024, 1536, 2048])
def test_unit_length_and_size(emu: Emulator, dimension: int) -> None:
    v = vec(emu, "The quality of the clothes is excellent", dimension=dimension)
    assert v.shape == (dimension,)
    assert abs(np.linalg.norm(v) - 1.0) < 1e-6
    assert np.count_nonzero(v) > dimension // 2  # dense-looking, not a bag of zeros


@pytest.mark.parametrize("dimension", [64, 128, 256, 512, 768, 1024, 1536])
def test_matryoshka_prefix(emu: Emulator, dimension: int) -> None:
    text = "Deep learning is a subfield of machine learning"
    full = vec(emu, text, dimension=2048)
    prefix = full[:dimension] / np.linalg.norm(full[:dimension])
    assert np.allclose(vec(emu, text, dimension=dimension), prefix, rtol=0, atol=1e-7)


def test_deterministic_across_instances_and_cache(emu: Emulator) -> None:
    other = Emulator(cache_size=0)
    for text in ["hello", "风急天高猿啸哀", "x" * 5000, "emoji 🙂 and \t tabs"]:
        assert emu.expected_embedding(text, model=V4) == other.expected_embedding(text, model=V4)
        assert emu.expected_embedding(text, model=V4) == emu.expected_embedding(text, model=V4)


GOLDEN = "The quality of the clothes is excellent"


def _digest(values: list[float]) -> str:
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()[:16]


def test_identical_in_another_process(emu: Emulator) -> None:
    code = (
        "import json, sys; from dashscope_embeddings.emulator import Emulator; "
        f"print(json.dumps(Emulator().expected_embedding({GOLDEN!r}, model='text-embedding-v4', dimension=256)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == emu.expected_embedding(GOLDEN, model=V4, dimension=256)


def test_golden_values_pin_the_algorithm(emu: Emulator) -> None:
    """Vectors are integer arithmetic plus one IEEE division per coordinate, so they are the same on every machine;
    this digest changes only if the algorithm changes (which breaks users' stored fixtures: do it deliberately)."""
    v = emu.expected_embedding(GOLDEN, model=V4, dimension=64)
    assert v[:4] == [0.013720533, -0.12348479, -0.041161597, 0.09604373]
    assert _digest(v) == "e331fd9e0de7bea6"


def test_lexically_similar_texts_are_close(emu: Emulator) -> None:
    base = vec(emu, "the cat sat on the mat")
    assert cos(base, vec(emu, "the cat sat on a mat")) > 0.8
    assert cos(base, vec(emu, "The Cat sat on the mat!")) > 0.8
    assert abs(cos(base, vec(emu, "quantum chromodynamics lecture notes"))) < 0.15
    poem = vec(emu, "风急天高猿啸哀")
    assert cos(poem, vec(emu, "风急天高猿啸")) > 0.8
    assert abs(cos(poem, vec(emu, "不尽长江滚滚来"))) < 0.15


def test_semantic_search_ranks_the_overlapping_document_first(emu: Emulator) -> None:
    docs = [
        "Artificial intelligence is a branch of computer science",
        "Machine learning is an important method for achieving artificial intelligence",
        "The recipe needs two eggs and a cup of flour",
    ]
    query = vec(emu, "What is artificial intelligence?", text_type="query")
    scores = [cos(query, vec(emu, d)) for d in docs]
    assert scores.index(min(scores)) == 2


@pytest.mark.parametrize("text", ["What is AI?", "a", "风急天高猿啸哀", "a much longer query " * 20])
def test_query_and_document_differ_slightly(emu: Emulator, text: str) -> None:
    document = vec(emu, text)
    query = vec(emu, text, text_type="query")
    assert 0.9 <= cos(document, query) <= 0.98


def test_instruct_changes_the_query_vector(emu: Emulator) -> None:
    text = "What is AI?"
    query = vec(emu, text, text_type="query")
    instructed = vec(emu, text, text_type="query", instruct="Given a web search query, retrieve passages")
    other = vec(emu, text, text_type="query", instruct="Classify the topic")
    assert 0.9 <= cos(query, instructed) < 0.99
    assert cos(instructed, other) < 0.99
    assert vec(emu, text, text_type="query", instruct="").tolist() == query.tolist()  # empty instructs nothing


def test_models_give_unrelated_vectors(emu: Emulator) -> None:
    v4 = vec(emu, "hello world", dimension=1024)
    v3 = vec(emu, "hello world", model="text-embedding-v3", dimension=1024)
    assert abs(cos(v4, v3)) < 0.2


def test_oracle_refuses_what_the_service_refuses(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="no text embeddings"):
        emu.expected_embedding("a", model="nope")
    with pytest.raises(ValueError, match="no text embeddings"):
        emu.expected_embedding("a", model="qwen3-vl-embedding")
    with pytest.raises(ValueError, match="'query' or 'document'"):
        emu.expected_embedding("a", model=V4, text_type="passage")
    with pytest.raises(ValueError, match="requires text_type"):
        emu.expected_embedding("a", model=V4, instruct="x")
    with pytest.raises(ValueError, match="not supported by text-embedding-v3"):
        emu.expected_embedding("a", model="text-embedding-v3", text_type="query", instruct="x")
    with pytest.raises(ValueError, match="shold be in"):
        emu.expected_embedding("a", model=V4, dimension=100)
    with pytest.raises(ValueError, match="no sparse"):
        emu.expected_sparse("a", model="text-embedding-v2")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40), min_size=1, max_size=4),
    dimension=st.sampled_from([64, 256, 1024]),
)
def test_served_vectors_equal_the_oracle_for_any_text(emu: Emulator, texts: list[str], dimension: int) -> None:
    with httpx.Client(transport=emu.transport(), base_url="http://e", headers=AUTH) as client:
        r = client.post(NATIVE, json=native_body(texts, dimension=dimension))
    assert r.status_code == 200
    for item in r.json()["output"]["embeddings"]:
        vector = item["embedding"]
        assert vector == emu.expected_embedding(texts[item["text_index"]], model=V4, dimension=dimension)
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-6
