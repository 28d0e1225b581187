"""``npm run gpu:container-check``: the Modal app imported, entered and called in a folder laid out
as its image lays out a container, with ``modal.is_local()`` False and tiny models on the CPU.

Never skipped under ``CI=true``: there the model extra and ``modal`` are installed (``.ci/run``), and
a missing one is a failure, not a skip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "container_check.py"
NEEDED = ("modal", "torch", "diffusers", "transformers", "peft")
missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
if missing:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the container check needs {', '.join(missing)} (requirements-model.txt, requirements-modal.txt)", pytrace=False)
    pytest.skip(f"the container check needs {', '.join(missing)} (requirements-model.txt, requirements-modal.txt)", allow_module_level=True)

#: Every step a container of the app runs through, in order.
STEPS = [
    "the image's packages are this machine's",
    "modal.is_local() is False",
    "import the entry module",
    "download_weights",
    "a GPU class without CUDA fails at @modal.enter",
    "enter Encoder",
    "enter Generator",
    "enter Bridge",
    "encode",
    "generate tt2v",
    "generate it2v",
    "interpolate",
    "assemble",
    "web",
    "train_interpolation_lora",
    "smoke",
]


def test_the_app_starts_and_serves_in_a_container_layout():
    out = subprocess.run([sys.executable, str(SCRIPT), "--json"], capture_output=True, text=True, timeout=900)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    failed = {r["step"]: r["detail"] for r in rows if not r["ok"]}
    assert out.returncode == 0 and not failed, (failed, out.stderr[-3000:])
    seen = [r["step"] for r in rows]
    import torch

    expected = [s for s in STEPS if not (torch.cuda.is_available() and "without CUDA" in s)]
    assert [s for s in seen if s in expected] == expected, seen
