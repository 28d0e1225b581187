"""``scripts/measure_cost.py`` times the reference engine through the current contract: it broke unseen when
the segment's keyframe became a list (contract v2), so one small shape is timed here end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from cmvc_gpu.engines.reference import ReferenceEngine

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "measure_cost.py"


def load_script():
    spec = importlib.util.spec_from_file_location("measure_cost", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_measures_every_function_on_a_small_shape(monkeypatch):
    script = load_script()
    monkeypatch.setattr(script, "SHAPES", [(160, 120, 12)])
    points = script.measure(ReferenceEngine(), runs=1)
    assert sorted(points) == ["assemble", "encode", "generate", "interpolate"]
    for function, samples in points.items():
        assert len(samples) == 1, function
        megapixel_frames, seconds = samples[0]
        assert megapixel_frames == 160 * 120 * 12 / 1e6
        assert 0 < seconds < 60, function
