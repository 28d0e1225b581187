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


def test_a_fresh_deployment_without_an_adapter_runs_every_stage_without_the_bridge(tmp_path):
    """Defect 8 of issue 24: the smoke run always bridged to a second keyframe, so on a deployment with
    no trained adapter yet it failed. Without one its IT2V stage is image-to-video alone, and says so."""
    from dataclasses import replace

    from cmvc_gpu.engines.model.tiny import tiny_engine
    from cmvc_gpu.smoke import run_stages

    engine = tiny_engine(str(tmp_path))
    engine.config = replace(engine.config, generator=replace(engine.config.generator, default_adapter_id=None))
    rows = run_stages(engine, adapter_id=None, seconds=1.0)
    assert [r["stage"] for r in rows] == ["encode", "tt2v", "it2v", "interpolate", "assemble"]
    assert rows[2]["bridge"] is None
    with_adapter = run_stages(tiny_engine(str(tmp_path / "a")), adapter_id=None, seconds=1.0)
    assert with_adapter[2]["bridge"] == "interp-lora-tiny-r4"  # CMVC_DEFAULT_ADAPTER's: bridged
