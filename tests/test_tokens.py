"""Offline token counting: exact Qwen BPE when available, and an estimate that leans high."""

from __future__ import annotations

import pytest

from dashscope_embeddings.tokens import _Estimator, estimate_tokens, get_token_counter, surely_within

CORPUS = [
    "The quality of the clothes is excellent",
    "Artificial intelligence is a branch of computer science",
    "通义千问具有强大的能力。",
    "衣服的质量杠杠的,很漂亮,不枉我等了这么久啊,喜欢,以后还来这里买",
    "internationalization antidisestablishmentarianism",
    "Order XJ-9000 shipped on 2024-05-17 for $1,299.99 (qty 3).",
    "Привет, как дела? Это тест русского языка.",
    "こんにちは、世界。これは日本語のテストです。",
    "안녕하세요 세계, 이것은 한국어 테스트입니다.",
    "def f(x):\n    return x ** 2  # square\n\n\nprint(f(3))",
    "مرحبا بالعالم هذا اختبار",
    "🙂🙂🙂 emoji test 🚀",
    "x y z " * 200,
    "1234567890" * 20,
    "Wie geht es dir? Ich möchte gerne ein Stück Kuchen.",
    "     leading and trailing spaces     ",
    "ελληνικά γράμματα δοκιμή",
]

exact = get_token_counter()
needs_bpe = pytest.mark.skipif(not exact.exact, reason="tiktoken and the dashscope wheel provide the Qwen BPE")


@needs_bpe
def test_qwen_bpe_matches_the_official_billing_example() -> None:
    # Alibaba Cloud's billing docs: "通义千问具有强大的能力。" is 8 tokens.
    assert exact.count("通义千问具有强大的能力。") == 8
    assert exact.count("The quality of the clothes is excellent") == 7


@needs_bpe
@pytest.mark.parametrize("text", CORPUS)
def test_estimate_never_undercounts_and_stays_within_3x(text: str) -> None:
    count = exact.count(text)
    assert count <= estimate_tokens(text) <= 3 * count


@needs_bpe
def test_truncate_cuts_to_the_limit_exactly() -> None:
    text = "word " * 5000
    cut = exact.truncate(text, 100)
    assert exact.count(cut) == 100
    assert text.startswith(cut)
    assert exact.truncate("short", 100) == "short"


@needs_bpe
def test_truncate_never_splits_a_character() -> None:
    text = "🙂" * 500
    cut = exact.truncate(text, 101)
    assert set(cut) == {"🙂"}
    assert exact.count(cut) <= 101


def test_estimator_truncate_fits() -> None:
    estimator = _Estimator()
    text = "alpha beta gamma " * 1000
    cut = estimator.truncate(text, 50)
    assert estimate_tokens(cut) <= 50
    assert estimate_tokens(text[: len(cut) + 6]) > 50
    assert estimator.truncate("tiny", 50) == "tiny"


def test_empty_text_is_zero_tokens() -> None:
    assert estimate_tokens("") == 0


def test_surely_within_is_the_four_bytes_per_character_bound() -> None:
    assert surely_within("a" * 2048, 8192)
    assert not surely_within("a" * 2049, 8192)
