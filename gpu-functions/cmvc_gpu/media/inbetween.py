"""Motion-compensated frame interpolation: in-betweens of two frames warped along their global
motion (:mod:`.global_motion`) and blended by distance, and the bilinear warp it rests on. Frames
are RGB ``uint8`` arrays ``(height, width, 3)``; everything is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
from PIL import Image

from . import scenes
from .global_motion import frame_motion, grey, phase_shift

#: Frames are analysed for interpolation at most this many pixels wide.
ANALYSIS_WIDTH = 160
#: Phase-correlation peak under which two keyframes are taken to show different content, not moved content.
MIN_MATCH_PEAK = 0.15


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` resampled (bicubic) to ``width`` x ``height`` pixels."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BICUBIC))


def _reflect(coord: np.ndarray, n: int) -> np.ndarray:
    """Coordinates folded into [0, n - 1] by mirroring at the borders."""
    m = n - 1
    if m <= 0:
        return np.zeros_like(coord)
    c = np.abs(coord) % (2 * m)
    return np.where(c > m, 2 * m - c, c)


def _axis(coord: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = _reflect(coord, n)
    i0 = np.floor(c).astype(np.intp)
    i1 = np.minimum(i0 + 1, n - 1)
    return i0, i1, (c - i0).astype(np.float32)


def warp(image: np.ndarray, shift_x: float, shift_y: float, scale: float) -> np.ndarray:
    """The image as seen by a camera moved by ``(shift_x, shift_y)`` pixels (positive: right, down;
    the content moves the other way) and zoomed by ``scale`` about the centre (above 1: zoom in).

    Bilinear sampling, separable per axis; outside the image it is mirrored at the borders.
    """
    h, w = image.shape[:2]
    xs = (np.arange(w, dtype=np.float32) - (w - 1) / 2) / scale + (w - 1) / 2 + shift_x
    ys = (np.arange(h, dtype=np.float32) - (h - 1) / 2) / scale + (h - 1) / 2 + shift_y
    x0, x1, fx = _axis(xs, w)
    y0, y1, fy = _axis(ys, h)
    img = image.astype(np.float32)
    rows = img[y0] * (1 - fy)[:, None, None] + img[y1] * fy[:, None, None]
    out = rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def pair_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """``(dx, dy, scale)``: the content motion from ``a`` to ``b`` in pixels of their resolution
    (estimated at the analysis resolution); none when the two do not correlate (the content itself
    changed, so aligning them would only misplace both)."""
    ga, f = analysis_grey(a)
    gb, _ = analysis_grey(b)
    if phase_shift(ga, gb)[2] < MIN_MATCH_PEAK:
        return 0.0, 0.0, 1.0
    dx, dy, s, _ = frame_motion(ga, gb)
    return dx * f, dy * f, s


def in_between(a: np.ndarray, b: np.ndarray, shift: tuple[float, float, float], t: float) -> np.ndarray:
    """The frame a fraction ``t`` (0..1) of the way from ``a`` to ``b``: ``a`` moved forward and ``b``
    moved back along ``shift`` (:func:`pair_shift`), blended with weights ``1 - t`` and ``t``."""
    dx, dy, s = shift
    from_a = warp(a, -dx * t, -dy * t, s**t).astype(np.float32)
    from_b = warp(b, dx * (1 - t), dy * (1 - t), s ** (t - 1)).astype(np.float32)
    return np.clip(from_a * (1 - t) + from_b * t + 0.5, 0, 255).astype(np.uint8)


def analysis_grey(frame: np.ndarray) -> tuple[np.ndarray, int]:
    """Grey version of ``frame`` at most ``ANALYSIS_WIDTH`` wide by integer box averaging, and the factor."""
    g = grey(frame)
    f = max(1, -(-g.shape[1] // ANALYSIS_WIDTH))
    if f > 1:
        h, w = (g.shape[0] // f) * f, (g.shape[1] // f) * f
        g = g[:h, :w].reshape(h // f, f, w // f, f).mean(axis=(1, 3))
    return g, f


def in_betweens(a: np.ndarray, b: np.ndarray, factor: int) -> list[np.ndarray]:
    """The ``factor - 1`` frames between ``a`` and ``b``: both warped along the estimated motion
    (translation and zoom) to time ``k / factor`` and blended by distance. Across a scene cut
    (histogram change above ``scenes.MIN_CUT_DISTANCE``) there is nothing to blend: the nearer
    frame is repeated."""
    ga, f = analysis_grey(a)
    gb, _ = analysis_grey(b)
    if scenes.distance(scenes.histogram(a[::f, ::f]), scenes.histogram(b[::f, ::f])) > scenes.MIN_CUT_DISTANCE:
        return [a if k / factor < 0.5 else b for k in range(1, factor)]
    dx, dy, s, _ = frame_motion(ga, gb)
    return [in_between(a, b, (dx * f, dy * f, s), k / factor) for k in range(1, factor)]


def interpolate_stream(frames: Iterable[np.ndarray], factor: int) -> Iterator[np.ndarray]:
    """``factor`` frames for each input frame: each original at positions 0, f, 2f, … followed by
    its in-betweens towards the next; the last original is followed by ``factor - 1`` copies of
    itself, so the output lasts exactly as long at ``factor`` times the frame rate."""
    previous = None
    for frame in frames:
        if previous is not None:
            yield previous
            yield from in_betweens(previous, frame, factor)
        previous = frame
    if previous is not None:
        for _ in range(factor):
            yield previous


def interpolate(frames: list[np.ndarray], factor: int) -> list[np.ndarray]:
    """:func:`interpolate_stream` into a list."""
    return list(interpolate_stream(frames, factor))
