"""The Worker's estimate of a model-engine ``generate`` (``src/gpu/cost-model.ts`` over ``schemas/gpu-cost.json``)
against what the engine's own plan costs (:func:`cost.generate_seconds`), for ordinary requests and crafted ones
(a keyframe on every frame, 64 of them): within 0.5x-2x, so a key is charged about what its reconstructions cost.
Torch-free."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cmvc_gpu.engines.model import cost
from cmvc_gpu.engines.model.config import DEFAULT_SCHEDULE

COST_FILE = Path(__file__).resolve().parents[3] / "schemas" / "gpu-cost.json"
VECTORS = Path(__file__).resolve().parents[3] / "test" / "fixtures" / "cost-vectors.json"


def worker_estimate(model: dict, engine: str, width: int, height: int, fps: float, frames: int, keyframes: list[tuple[int, int, int]]) -> float:
    """``estimateCallSeconds(model, engine, 'generate', shape)`` of ``src/gpu/cost-model.ts``, written again (the shared
    vectors in ``test/fixtures/cost-vectors.json`` keep the two equal). keyframes: ``(width, height, frameIndex)``."""
    entry = model["engines"][engine]
    c = entry["generate"]
    native_fps, max_pixels = entry.get("generation", {}).get("fps"), entry.get("generation", {}).get("maxPixels")
    w, h = float(width), float(height)
    if max_pixels is not None and w * h > max_pixels:
        area = math.sqrt(max_pixels / (w * h))
        w, h = w * area, h * area
    if native_fps is not None and native_fps < fps:
        scale = native_fps / fps
        frames = max(1, round(frames * scale))
        seen, merged = set(), []
        for kw, kh, index in keyframes:
            moved = math.floor(index * scale + 0.5)  # JavaScript's Math.round for the non-negative
            if moved not in seen:
                seen.add(moved)
                merged.append((kw, kh, moved))
        keyframes = merged
    seconds = c["baseSeconds"] + c["secondsPerMegapixelFrame"] * frames * w * h / 1e6
    if keyframes:
        seconds += c.get("secondsPerKeyframe", 0) * (len(keyframes) - 1)
        seconds += c.get("secondsPerKeyframeMegapixel", 0) * sum(kw * kh for kw, kh, _ in keyframes) / 1e6
        seconds += c.get("secondsPerKeyframeFrameMegapixel", 0) * len(keyframes) * w * h / 1e6
        first, last = min(k[2] for k in keyframes), max(k[2] for k in keyframes)
        seconds += c.get("secondsPerMegapixelFrameBetweenKeyframes", 0) * max(0, last - first + 1 - len(keyframes)) * w * h / 1e6
    return max(0.001, seconds)


def test_the_python_copy_of_the_estimate_agrees_with_the_workers_on_the_shared_vectors():
    vectors = json.loads(VECTORS.read_text())
    for v in vectors["vectors"]:
        model = vectors["model"]
        got = worker_estimate(model, v["engine"], v["width"], v["height"], v["fps"], v["frames"], [tuple(k) for k in v["keyframes"]])
        assert got == pytest.approx(v["seconds"], rel=1e-9), v


def spread(count: int, frames: int) -> list[int]:
    return sorted({round(n * (frames - 1) / max(1, count - 1)) for n in range(count)})


CASES = [
    # (output width, height, fps, seconds, keyframes): ordinary encodes, then crafted streams
    (832, 480, 16, 4, 1),
    (832, 480, 24, 10, 3),
    (320, 240, 24, 4, 1),
    (1280, 720, 30, 5, 2),
    (320, 240, 24, 64 / 24, 64),  # issue 25's finding 1 shape: a keyframe on every frame
    (832, 480, 16, 4, 64),
    (1920, 1080, 60, 2, 32),
    (640, 480, 24, 10, 64),
]


@pytest.mark.parametrize("width,height,fps,seconds,count", CASES)
def test_a_generate_is_estimated_within_half_and_twice_its_plans_cost(width, height, fps, seconds, count):
    model = json.loads(COST_FILE.read_text())
    frames = round(seconds * fps)
    indices = spread(count, frames)
    real = cost.generate_seconds("it2v", width, height, fps, frames, indices, DEFAULT_SCHEDULE)
    estimate = worker_estimate(model, "model", width, height, fps, frames, [(width, height, i) for i in indices])
    assert 0.5 <= estimate / real <= 2, f"estimate {estimate:.0f} s, plan {real:.0f} s"
