"""``scripts/measure_cost.py`` times the reference engine through the current contract: it broke unseen when
the segment's keyframe became a list (contract v2), so one small shape is timed here end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

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


def test_times_keyframes_and_fits_every_term_of_the_workers_estimate(monkeypatch):
    script = load_script()
    monkeypatch.setattr(script, "KEYFRAME_SHAPES", [(64, 48, 8)])
    samples = script.measure_keyframes(ReferenceEngine(), runs=1)
    assert len(samples) == len(script.KEYFRAME_SETS)
    by_set = dict(zip(script.KEYFRAME_SETS, samples))
    megapixels = 64 * 48 / 1e6
    # (1, megapixel-frames, in-betweened, keyframe images, keyframes x frame, keyframes beyond the first):
    # 2 keyframes in-between 6 frames; one on every frame none
    assert by_set[(2, 1)][0] == (1.0, 8 * megapixels, 6 * megapixels, 2 * megapixels, 2 * megapixels, 1.0)
    assert by_set[(None, 4)][0] == (1.0, 8 * megapixels, 0.0, 8 * 16 * 12 / 1e6, 8 * megapixels, 7.0)
    assert all(0 < seconds < 60 for _, seconds in samples)
    # a fit recovers known coefficients, and never a negative one
    truth = [0.1, 0.05, 0.2, 0.3, 0.4, 0.01]
    shapes = [(1, 0, 0, 0, 0), (2, 1, 0, 1, 1), (3, 0, 2, 1, 5), (4, 2, 1, 3, 2), (5, 1, 3, 0, 7), (6, 3, 2, 2, 1), (2, 0, 0, 5, 3), (1, 1, 1, 1, 9)]
    rows = [((1.0, *x), sum(c * v for c, v in zip(truth, (1.0, *x)))) for x in shapes]
    assert script.fit_generate([], rows) == pytest.approx(truth)
    assert min(script.fit_generate([(1.0, 5.0)], [((1.0, 1.0, 0.0, 0.0, 0.0, 0.0), 0.0)])) >= 0
