"""Reconstruction without a generative model: warping an image along a decoded motion, painting a
content text's colour grid, and motion-compensated frame interpolation."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .content import Content
from .motion import Motion, frame_motion, grey


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[1] == width and image.shape[0] == height:
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BICUBIC))


def warp(image: np.ndarray, shift_x: float, shift_y: float, scale: float) -> np.ndarray:
    """The image as seen by a camera moved by ``(shift_x, shift_y)`` pixels and zoomed by ``scale``
    (bilinear sampling about the centre; borders clamped)."""
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    src_x = np.clip((xs - cx) / scale + cx + shift_x, 0, w - 1)
    src_y = np.clip((ys - cy) / scale + cy + shift_y, 0, h - 1)
    x0, y0 = np.floor(src_x).astype(np.int32), np.floor(src_y).astype(np.int32)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (src_x - x0)[..., None], (src_y - y0)[..., None]
    img = image.astype(np.float32)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return np.clip(top * (1 - fy) + bottom * fy + 0.5, 0, 255).astype(np.uint8)


def along_motion(image: np.ndarray, motion: Motion, fps: float, frame_count: int) -> list[np.ndarray]:
    """``frame_count`` frames starting from ``image`` (the segment's first frame) moving as ``motion``."""
    h, w = image.shape[:2]
    frames = []
    for i in range(frame_count):
        t = i / fps
        frames.append(warp(image, motion.pan_x / 100 * w * t, motion.pan_y / 100 * h * t, (1 + motion.zoom / 100) ** t))
    return frames


def paint(content: Content, width: int, height: int, seed: int) -> np.ndarray:
    """A frame painted from a content text: the 3x3 grid smoothly interpolated, plus a faint texture
    drawn from ``seed`` so that motion is visible and the same seed gives the same frame."""
    grid = np.array(content.grid, dtype=np.uint8).reshape(3, 3, 3)
    base = np.asarray(Image.fromarray(grid).resize((width, height), Image.BICUBIC)).astype(np.float32)
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (max(2, height // 16), max(2, width // 16))).astype(np.float32)
    texture = np.asarray(Image.fromarray(((noise - noise.min()) / (np.ptp(noise) + 1e-6) * 255).astype(np.uint8)).resize((width, height), Image.BICUBIC))
    amplitude = {"low": 6.0, "medium": 12.0, "high": 20.0}[content.contrast]
    return np.clip(base + (texture.astype(np.float32)[..., None] - 127.5) / 127.5 * amplitude, 0, 255).astype(np.uint8)


def interpolate(frames: list[np.ndarray], factor: int) -> list[np.ndarray]:
    """``factor`` times the frames: the originals at positions 0, f, 2f… and between each pair,
    in-betweens warped from both neighbours along their estimated motion and blended. After the
    last original, its copies fill the last ``factor - 1`` places so the duration is kept."""
    out: list[np.ndarray] = []
    for a, b in zip(frames, frames[1:]):
        tx, ty, s, _ = frame_motion(grey(a), grey(b))
        out.append(a)
        for k in range(1, factor):
            t = k / factor
            from_a = warp(a, -tx * t, -ty * t, s**t)
            from_b = warp(b, tx * (1 - t), ty * (1 - t), s ** (t - 1))
            out.append(((from_a.astype(np.uint16) * (1 - t) + from_b.astype(np.uint16) * t) + 0.5).astype(np.uint8))
    out.append(frames[-1])
    out.extend(frames[-1] for _ in range(factor - 1))
    return out
