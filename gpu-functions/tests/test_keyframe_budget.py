"""Keyframes under a shared byte budget: what the rate control measures is what the encoder codes,
and one quality for all spends the bytes better than one size for all."""

import io

import numpy as np
from PIL import Image

from clips import smooth_texture
from cmvc_gpu.engines.reference import rate
from cmvc_gpu.media import keyframe


def _luma_mse(coded: bytes, frame: np.ndarray) -> float:
    height, width = frame.shape[:2]
    decoded = np.asarray(Image.open(io.BytesIO(coded)).convert("RGB").resize((width, height), Image.BICUBIC)).astype(np.float64)
    weights = np.array([0.299, 0.587, 0.114])
    return float(np.mean((decoded @ weights - frame.astype(np.float64) @ weights) ** 2))


def _busy(width: int, height: int, seed: int) -> np.ndarray:
    """Fine detail everywhere: expensive to code."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 4, width // 4, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((width, height), Image.BICUBIC))


def _flat(width: int, height: int, seed: int) -> np.ndarray:
    """Smooth content: cheap to code."""
    return np.asarray(Image.fromarray(smooth_texture(width // 8, height // 8, seed)).resize((width, height), Image.BICUBIC))


def test_one_quality_for_all_keyframes_beats_one_size_for_all():
    frames = [_busy(320, 240, 1), _flat(320, 240, 2), _flat(320, 240, 3)]
    total = 3 * 5000
    shared = keyframe.code_keyframes(frames, "webp", total, 320)
    equal = [keyframe.code_keyframe(f, "webp", total // 3, 320) for f in frames]
    assert sum(len(data) for data, _, _ in shared) <= total
    assert [(w, h) for _, w, h in shared] == [(320, 240)] * 3
    # the flat frames need less than a third; the busy one gets what they leave
    assert len(shared[0][0]) > total // 3 > max(len(shared[1][0]), len(shared[2][0]))
    mse_shared = np.mean([_luma_mse(data, f) for (data, _, _), f in zip(shared, frames)])
    mse_equal = np.mean([_luma_mse(data, f) for (data, _, _), f in zip(equal, frames)])
    assert mse_shared < 0.9 * mse_equal, (mse_shared, mse_equal)


def test_shared_budget_too_small_for_any_quality_falls_back_to_smaller_images():
    frames = [_busy(320, 240, 4), _busy(320, 240, 5)]
    coded = keyframe.code_keyframes(frames, "webp", 2 * 400, 320)
    assert all(len(data) <= 400 and w < 320 for data, w, _ in coded)


def test_coding_ladder_reports_the_width_a_budget_is_coded_at():
    # at 500 bytes a detailed 640-pixel-wide frame does not fit even at quality 1, so it is shrunk:
    # the ladder must name the width its measured error belongs to, which the encoder then codes at
    frame = _busy(640, 480, 6)
    ladder = rate.coding_ladder(frame, "webp", [500, 4000], 640)
    assert len(ladder) == 2
    for budget, width, mse in ladder:
        data, coded_width, _ = keyframe.code_keyframe(frame, "webp", budget, width)
        assert coded_width == width and abs(_luma_mse(data, frame) - mse) < 0.01 * mse
    assert ladder[0][1] < 640
