"""The README's demo command, without a key: it must say it uses the emulator and print both rankings."""

from __future__ import annotations

import os
import subprocess
import sys

from dashscope_embeddings.cli import DEMO_DOCUMENTS


def test_demo_uses_the_emulator_without_a_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    done = subprocess.run(
        [sys.executable, "-m", "dashscope_embeddings.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Backend: the bundled emulator at http://127.0.0.1:" in out
    assert "LangChain DashScopeEmbeddings" in out
    assert "LlamaIndex DashScopeEmbedding" in out
    for document in DEMO_DOCUMENTS:
        assert out.count(document) == 2
