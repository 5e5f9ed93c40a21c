"""Every example under docs/examples runs against a served emulator, as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashscope_embeddings.emulator import ServedEmulator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.py"))
RUN_HERE = [p for p in EXAMPLES if not p.name.startswith("use_case_")]  # test_use_cases.py runs those, output pinned


@pytest.mark.parametrize("example", RUN_HERE, ids=[p.name for p in RUN_HERE])
def test_example_runs(example: Path, served: ServedEmulator) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    env |= {"DASHSCOPE_API_KEY": "sk-docs", "DASHSCOPE_HTTP_BASE_URL": served.base_url}
    done = subprocess.run(
        [sys.executable, str(example)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "an example should show what it did"


def test_every_example_is_shown_in_the_docs() -> None:
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))
    for example in EXAMPLES:
        assert f'--8<-- "docs/examples/{example.name}"' in pages, f"{example.name} is not included in any page"
