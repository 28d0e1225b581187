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


_U32 = np.uint64(0xFFFFFFFF)
#: Added to the seed per texture layer (the golden-ratio constant), so the layers draw different numbers.
LAYER_SEED_STEP = 0x9E3779B9


def seeded_normals(seed: int, n: int) -> np.ndarray:
    """``n`` standard normal deviates (``float32``) from a 32-bit ``seed``: mulberry32 uniforms in
    Box–Muller pairs (cosine, then sine). A small generator anyone can write down, so that the client
    decoder (``src/client/decode/render.ts``) draws exactly these numbers and its TT2V frames agree."""
    pairs = (n + 1) // 2
    # mulberry32's state after draw k is seed + k * 0x6D2B79F5 (mod 2^32): every draw at once.
    steps = np.arange(1, 2 * pairs + 1, dtype=np.uint64)
    z = (np.uint64(seed & 0xFFFFFFFF) + steps * np.uint64(0x6D2B79F5)) & _U32
    z = ((z ^ (z >> np.uint64(15))) * (z | np.uint64(1))) & _U32
    z ^= (z + (((z ^ (z >> np.uint64(7))) * (z | np.uint64(61))) & _U32)) & _U32
    uniform = ((z ^ (z >> np.uint64(14))) & _U32).astype(np.float64) + 0.5
    uniform /= 4294967296.0
    radius = np.sqrt(-2.0 * np.log(uniform[0::2]))
    angle = 2.0 * np.pi * uniform[1::2]
    out = np.empty(2 * pairs, dtype=np.float64)
    out[0::2], out[1::2] = radius * np.cos(angle), radius * np.sin(angle)
    return out[:n].astype(np.float32)


def paint(content: Content, width: int, height: int, seed: int) -> np.ndarray:
    """A frame painted from a content text: the 3x3 colour grid upsampled bicubically (cell colours
    at cell centres) plus a smooth texture drawn from ``seed`` (:func:`seeded_normals`, a layer of
    8-pixel and one of 24-pixel cells), so motion is visible and the same seed gives the same frame.
    Amplitude by the contrast word."""
    grid = np.array(content.grid, dtype=np.uint8).reshape(3, 3, 3)
    base = np.asarray(Image.fromarray(grid).resize((width, height), Image.BICUBIC)).astype(np.float32)
    texture = np.zeros((height, width), dtype=np.float32)
    for layer, (cell, weight) in enumerate(((8, 1.0), (24, 0.5))):
        rows, cols = max(2, height // cell), max(2, width // cell)
        noise = seeded_normals((seed + layer * LAYER_SEED_STEP) & 0xFFFFFFFF, rows * cols).reshape(rows, cols)
        texture += weight * np.asarray(Image.fromarray(noise, mode="F").resize((width, height), Image.BICUBIC))
    texture /= float(np.abs(texture).max()) + 1e-6
    amplitude = TEXTURE_AMPLITUDE.get(content.contrast, TEXTURE_AMPLITUDE["medium"])
    return np.clip(base + texture[..., None] * amplitude + 0.5, 0, 255).astype(np.uint8)
