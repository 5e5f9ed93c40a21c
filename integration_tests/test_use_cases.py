"""The use-case examples print exactly the output their page shows, run against a served emulator.

docs/use-cases.md includes each docs/examples/use_case_NAME.py and its recorded output
docs/examples/output/use_case_NAME.txt. After changing an example (or the emulator's vectors), record again with
`RECORD_OUTPUT=1 pytest integration_tests/test_use_cases.py`, which writes the files instead of comparing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashscope_embeddings.emulator import ServedEmulator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "docs" / "examples"
OUTPUT_DIR = EXAMPLES_DIR / "output"
USE_CASES = sorted(EXAMPLES_DIR.glob("use_case_*.py"))
PAGE = ROOT / "docs" / "use-cases.md"
RECORD = os.environ.get("RECORD_OUTPUT") == "1"


def _recorded(example: Path) -> Path:
    return OUTPUT_DIR / f"{example.stem}.txt"


@pytest.mark.parametrize("example", USE_CASES, ids=[p.stem for p in USE_CASES])
def test_output_is_what_the_page_shows(example: Path, served: ServedEmulator) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    env |= {"DASHSCOPE_API_KEY": "sk-docs", "DASHSCOPE_HTTP_BASE_URL": served.base_url}
    done = subprocess.run(
        [sys.executable, str(example)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    recorded = _recorded(example)
    if RECORD:
        recorded.parent.mkdir(exist_ok=True)
        recorded.write_text(done.stdout, encoding="utf-8")
        return
    assert recorded.exists(), f"no recorded output for {example.name}: run with RECORD_OUTPUT=1"
    assert done.stdout == recorded.read_text(encoding="utf-8"), (
        f"{example.name} no longer prints {recorded.relative_to(ROOT)}; if the change is intended, run with "
        f"RECORD_OUTPUT=1 and review the diff"
    )


def test_the_five_use_cases_are_there() -> None:
    names = {p.stem.removeprefix("use_case_") for p in USE_CASES}
    assert names >= {"semantic_search", "recommendation", "clustering", "classification", "anomaly_detection"}


def test_every_use_case_and_its_output_are_on_the_page() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for example in USE_CASES:
        assert f'--8<-- "docs/examples/{example.name}"' in page, f"{example.name} is not included in {PAGE.name}"
        output = f"docs/examples/output/{example.stem}.txt"
        assert f'--8<-- "{output}"' in page, f"{output} is not included in {PAGE.name}"


def test_every_recorded_output_has_its_example() -> None:
    for recorded in OUTPUT_DIR.glob("*.txt"):
        assert (EXAMPLES_DIR / f"{recorded.stem}.py").exists(), f"{recorded.name} has no example"
