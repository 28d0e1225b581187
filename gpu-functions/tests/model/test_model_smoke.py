"""``npm run gpu:smoke``: the whole model path through the production classes, here on the CPU."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the smoke run needs torch (requirements-model.txt)")
pytest.importorskip("diffusers", reason="the smoke run needs diffusers (requirements-model.txt)")

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_smoke.py"
KEYS = {"stage", "seconds", "peakMemoryBytes", "device", "frames", "width", "height", "guidanceScale"}


def test_every_stage_runs_with_guidance_on():
    out = subprocess.run([sys.executable, str(SCRIPT), "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["stage"] for r in rows] == ["encode", "tt2v", "it2v", "interpolate", "assemble"]
    assert all(KEYS <= r.keys() and r["peakMemoryBytes"] > 0 and r["seconds"] >= 0 for r in rows)
    assert {r["guidanceScale"] for r in rows if r["stage"] in ("tt2v", "it2v")} == {5.0}
    assert rows[3]["frames"] == 2 * rows[2]["frames"]


def test_a_failing_stage_exits_non_zero(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("gpu_smoke", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import cmvc_gpu.smoke

    def broken(engine, adapter_id, report):
        raise RuntimeError("it2v made (3, 48, 64, 3)")

    monkeypatch.setattr(module, "tiny_engine", lambda adapters, adapter_id: None)
    monkeypatch.setattr(cmvc_gpu.smoke, "run_stages", broken)
    assert module.main(["--json"]) == 1
    assert "gpu:smoke: FAILED" in capsys.readouterr().err
