"""Reconstruction without a generative model: an image warped along a decoded motion (IT2V) or
keyframes in-betweened (:mod:`cmvc_gpu.media.inbetween`), and a content text's colour grid
painted with a seeded texture (TT2V). Frames are RGB ``uint8`` arrays ``(height, width, 3)``;
everything is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from PIL import Image

from ...media.inbetween import in_between, pair_shift, warp
from .content import Content
from .motion import Motion

#: Texture amplitude (grey levels) painted under each contrast word.
TEXTURE_AMPLITUDE = {"low": 6.0, "medium": 12.0, "high": 20.0}


def along_motion(image: np.ndarray, motion: Motion, fps: float, frame_count: int) -> Iterator[np.ndarray]:
    """``frame_count`` frames at ``fps`` moving as ``motion``; ``image`` is the view at
    ``motion.keyframe_seconds`` into the segment (frames before it are warped backwards in time)."""
    h, w = image.shape[:2]
    for i in range(frame_count):
        t = i / fps - motion.keyframe_seconds
        yield warp(image, motion.pan_x * w * t, motion.pan_y * h * t, (1 + motion.zoom) ** t if motion.zoom > -1 else 1.0)


def from_keyframes(keyframes: list[tuple[int, np.ndarray]], motion: Motion, fps: float, frame_count: int) -> Iterator[np.ndarray]:
    """``frame_count`` frames at ``fps`` from keyframes ``(frame index, image)`` (sorted, unique
    indices, images of one size): each keyframe at its frame; between two keyframes both are
    motion-compensated towards the frame along the motion estimated between them and blended by
    distance (:func:`in_between`); before the first and after the last, that keyframe moves along
    ``motion`` (the motion text's rates; its ``keyframe_seconds`` is ignored: frame indices place
    keyframes)."""
    h, w = keyframes[0][1].shape[:2]
    gaps = {a: pair_shift(keyframes[n][1], keyframes[n + 1][1]) for n, (a, _) in enumerate(keyframes[:-1])}
    right = 0
    for i in range(frame_count):
        while right < len(keyframes) and keyframes[right][0] < i:
            right += 1
        if right < len(keyframes) and keyframes[right][0] == i:
            yield keyframes[right][1]
        elif right == 0 or right == len(keyframes):
            index, image = keyframes[0] if right == 0 else keyframes[-1]
            t = (i - index) / fps
            yield warp(image, motion.pan_x * w * t, motion.pan_y * h * t, (1 + motion.zoom) ** t if motion.zoom > -1 else 1.0)
        else:
            (a_index, a), (b_index, b) = keyframes[right - 1], keyframes[right]
            yield in_between(a, b, gaps[a_index], (i - a_index) / (b_index - a_index))


def paint(content: Content, width: int, height: int, seed: int) -> np.ndarray:
    """A frame painted from a content text: the 3x3 colour grid upsampled bicubically (cell colours
    at cell centres) plus a smooth texture drawn from ``seed`` (``numpy`` PCG64), so motion is
    visible and the same seed gives the same frame. Amplitude by the contrast word."""
    grid = np.array(content.grid, dtype=np.uint8).reshape(3, 3, 3)
    base = np.asarray(Image.fromarray(grid).resize((width, height), Image.BICUBIC)).astype(np.float32)
    rng = np.random.default_rng(seed)
    texture = np.zeros((height, width), dtype=np.float32)
    for cell, weight in ((8, 1.0), (24, 0.5)):
        noise = rng.standard_normal((max(2, height // cell), max(2, width // cell))).astype(np.float32)
        texture += weight * np.asarray(Image.fromarray(noise, mode="F").resize((width, height), Image.BICUBIC))
    texture /= float(np.abs(texture).max()) + 1e-6
    amplitude = TEXTURE_AMPLITUDE.get(content.contrast, TEXTURE_AMPLITUDE["medium"])
    return np.clip(base + texture[..., None] * amplitude + 0.5, 0, 255).astype(np.uint8)
