from __future__ import annotations

from pathlib import Path

import pytest

from dashscope_embeddings.cli import main, models_table, multimodal_table

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_models_page_shows_the_catalog_verbatim() -> None:
    from dashscope_embeddings.catalog import MULTIMODAL_CHOICES

    page = (DOCS / "models.md").read_text(encoding="utf-8")
    assert models_table() in page
    assert multimodal_table() in page
    assert MULTIMODAL_CHOICES.strip() in page


def test_models_command_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"{models_table()}\n\n{multimodal_table()}"
    assert "| text-embedding-v4 | text | 2048, 1536, 1024*, 768, 512, 256, 128, 64 | 10 | 8,192 |" in out


def test_unknown_arguments_are_refused() -> None:
    with pytest.raises(SystemExit):
        main(["models", "--nope"])


def test_emulator_subcommand_hands_its_arguments_to_the_emulator_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["emulator", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--latency" in out
    assert "--rpm" in out
