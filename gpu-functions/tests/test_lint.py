"""ruff (E, F, W, I; ``pyproject.toml``) is clean over ``gpu-functions/``, so ``npm test`` fails on
an unused import, an undefined name or unsorted imports in the Python half."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_is_clean() -> None:
    result = ruff(".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_reports_an_unused_import(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import os\n")
    result = ruff("--config", str(ROOT / "pyproject.toml"), str(tmp_path / "bad.py"))
    assert result.returncode == 1 and "F401" in result.stdout
