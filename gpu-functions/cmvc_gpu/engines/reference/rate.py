"""The reference engine's part of rate control (the rest is shared: :mod:`cmvc_gpu.media.rate`): judging
candidate keyframe widths by the video its renderer reconstructs from them.

Units: bytes, pixels, mean squared error of luma (0–255).
"""

from __future__ import annotations

import numpy as np

from ...media.inbetween import resize
from ...media.rate import luma_mse
from . import render
from .motion import Motion


def reconstruction_error(sample: dict[int, np.ndarray], keyframes: dict[int, np.ndarray], starts: list[int], ends: list[int], motions: list[Motion], fps: float) -> float:
    """Mean luma squared error over the frames of ``sample`` (global frame number → RGB frame, all of one
    size) of the IT2V reconstruction (:func:`render.from_keyframes`) from ``keyframes`` (global frame
    number → decoded RGB pixels, resized here to the sample's size). Segments with no keyframe are left
    out. ``motions``: each segment's motion text, parsed; fps: frames per second."""
    height, width = next(iter(sample.values())).shape[:2]
    total, count = 0.0, 0
    for start, end, moves in zip(starts, ends, motions):
        keys = [(f - start, resize(keyframes[f], width, height)) for f in sorted(k for k in keyframes if start <= k < end)]
        if not keys or not any(start <= j < end for j in sample):
            continue
        for i, frame in enumerate(render.from_keyframes(keys, moves, fps, end - start)):
            if start + i in sample:
                total += luma_mse(frame, sample[start + i])
                count += 1
    return total / max(1, count)
