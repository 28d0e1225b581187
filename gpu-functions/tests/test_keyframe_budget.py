"""Keyframes under a byte budget: the width the rate control measures is the width the encoder codes at."""

import io

import numpy as np
from PIL import Image

from cmvc_gpu.media import keyframe, rate


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
