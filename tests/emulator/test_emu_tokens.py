"""The emulator's token count (usage and the input-length limit)."""

from __future__ import annotations

from dashscope_embeddings.emulator.tokens import approximate_tokens, count_tokens, qwen_bpe_available


def test_qwen_bpe_matches_the_billing_example() -> None:
    assert qwen_bpe_available()
    assert count_tokens("通义千问具有强大的能力。") == 8  # the official billing doc's example


def test_special_tokens_count_as_one() -> None:
    assert count_tokens("<|endoftext|>") == 1
    assert count_tokens("hello <|im_start|> world") == 4


def test_long_texts_are_counted_in_chunks() -> None:
    text = "word " * 30_000 + "\n" + "字" * 150_000
    assert count_tokens(text) == count_tokens("word " * 30_000) + count_tokens("\n" + "字" * 150_000)


def test_fallback_estimate() -> None:
    assert approximate_tokens("") == 0
    assert approximate_tokens(" ") == 1
    assert approximate_tokens("The quality of the clothes is excellent") == 7
    assert approximate_tokens("XJ-9000") == 1 + 1 + 4  # word, punctuation, four digits
    assert approximate_tokens("风急天高猿啸哀") == 5  # 7 CJK characters at 1.5 per token
