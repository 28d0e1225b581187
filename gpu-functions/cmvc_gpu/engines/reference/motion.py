"""Global motion between frames (translation and zoom) and the motion text grammar.

Estimation: phase correlation on a 3x3 grid of blocks of each pair of grey frames gives a local
shift per block; a least-squares fit of ``shift = t + (s - 1) * (block centre - frame centre)``
gives the global translation ``t`` (pixels per frame) and zoom ``s``; the residual is object motion.

The grammar (docs/motion-grammar.md) reads as plain English and is a usable prompt:
``the camera pans right about 2.1% of the width per second and slowly zooms in about 3.0% per
second; little object motion``. :func:`parse_motion` recovers the numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

GRID = 3
#: Below these magnitudes (% per second) a component is not mentioned.
STATIC_PERCENT = 0.5


@dataclass(frozen=True)
class Motion:
    """Camera motion of a segment.

    pan_x: camera pan in percent of the frame width per second (positive: to the right).
    pan_y: camera tilt in percent of the frame height per second (positive: down).
    zoom: zoom rate in percent of scale per second (positive: in).
    objects: residual object motion, 0 (none) to 1 (strong).
    """

    pan_x: float
    pan_y: float
    zoom: float
    objects: float


def grey(frame: np.ndarray) -> np.ndarray:
    return frame[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _phase_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Shift (dx, dy) that moves ``a`` onto ``b``, with sub-pixel refinement, and the peak strength."""
    window = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1])).astype(np.float32)
    fa = np.fft.fft2((a - a.mean()) * window)
    fb = np.fft.fft2((b - b.mean()) * window)
    cross = fb * np.conj(fa)
    cross /= np.abs(cross) + 1e-9
    corr = np.fft.ifft2(cross).real
    peak = np.unravel_index(np.argmax(corr), corr.shape)
    py, px = int(peak[0]), int(peak[1])
    h, w = corr.shape

    def refine(c_minus: float, c0: float, c_plus: float) -> float:
        denom = c_minus - 2 * c0 + c_plus
        return 0.0 if abs(denom) < 1e-12 else 0.5 * (c_minus - c_plus) / denom

    dy = py + refine(corr[(py - 1) % h, px], corr[py, px], corr[(py + 1) % h, px])
    dx = px + refine(corr[py, (px - 1) % w], corr[py, px], corr[py, (px + 1) % w])
    if dy > h / 2:
        dy -= h
    if dx > w / 2:
        dx -= w
    return float(dx), float(dy), float(corr[py, px])


def frame_motion(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float]:
    """Global motion from grey frame ``a`` to ``b``: content shift ``(dx, dy)`` in pixels, zoom
    factor ``s`` and the mean residual (pixels) of the fit."""
    h, w = a.shape
    bh, bw = h // GRID, w // GRID
    rows, shifts = [], []
    for gy in range(GRID):
        for gx in range(GRID):
            ya, xa = gy * bh, gx * bw
            dx, dy, _ = _phase_shift(a[ya : ya + bh, xa : xa + bw], b[ya : ya + bh, xa : xa + bw])
            cx, cy = xa + bw / 2 - w / 2, ya + bh / 2 - h / 2
            rows.append((1.0, 0.0, cx))
            rows.append((0.0, 1.0, cy))
            shifts.extend((dx, dy))
    design = np.array(rows)
    target = np.array(shifts)
    solution, *_ = np.linalg.lstsq(design, target, rcond=None)
    tx, ty, k = (float(v) for v in solution)
    residual = float(np.abs(design @ solution - target).mean())
    return tx, ty, 1.0 + k, residual


def estimate(frames: list[np.ndarray], fps: float) -> Motion:
    """The camera motion of a run of RGB frames (analysed at their own resolution)."""
    if len(frames) < 2:
        return Motion(0.0, 0.0, 0.0, 0.0)
    greys = [grey(f) for f in frames]
    h, w = greys[0].shape
    txs, tys, zooms, residuals = [], [], [], []
    for a, b in zip(greys, greys[1:]):
        tx, ty, s, r = frame_motion(a, b)
        txs.append(tx)
        tys.append(ty)
        zooms.append(s)
        residuals.append(r)
    # Content moving left means the camera pans right.
    pan_x = -float(np.median(txs)) / w * fps * 100
    pan_y = -float(np.median(tys)) / h * fps * 100
    zoom = (float(np.median(zooms)) ** fps - 1) * 100
    objects = float(np.clip(np.median(residuals) / 1.5, 0.0, 1.0))
    return Motion(pan_x, pan_y, zoom, objects)


def _object_words(level: float) -> str:
    return "little" if level < 0.2 else "moderate" if level < 0.6 else "strong"


def describe_motion(m: Motion) -> str:
    """The motion text of a segment (see the module docstring for the grammar)."""
    parts = []
    if abs(m.pan_x) >= STATIC_PERCENT:
        parts.append(f"pans {'right' if m.pan_x > 0 else 'left'} about {abs(m.pan_x):.1f}% of the width per second")
    if abs(m.pan_y) >= STATIC_PERCENT:
        parts.append(f"tilts {'down' if m.pan_y > 0 else 'up'} about {abs(m.pan_y):.1f}% of the height per second")
    if abs(m.zoom) >= STATIC_PERCENT:
        speed = "slowly " if abs(m.zoom) < 5 else "quickly " if abs(m.zoom) > 20 else ""
        parts.append(f"{speed}zooms {'in' if m.zoom > 0 else 'out'} about {abs(m.zoom):.1f}% per second")
    camera = "the camera is static" if not parts else "the camera " + " and ".join(parts)
    return f"{camera}; {_object_words(m.objects)} object motion"


_PAN = re.compile(r"pans (left|right) about ([\d.]+)% of the width per second")
_TILT = re.compile(r"tilts (up|down) about ([\d.]+)% of the height per second")
_ZOOM = re.compile(r"zooms (in|out) about ([\d.]+)% per second")
_OBJECTS = re.compile(r"(little|moderate|strong) object motion")
_OBJECT_LEVELS = {"little": 0.1, "moderate": 0.4, "strong": 0.8}


def parse_motion(text: str) -> Motion:
    """Recovers the numbers of a motion text; phrases it does not know count as no motion."""
    pan = _PAN.search(text)
    tilt = _TILT.search(text)
    zoom = _ZOOM.search(text)
    objects = _OBJECTS.search(text)
    return Motion(
        pan_x=(1 if pan.group(1) == "right" else -1) * float(pan.group(2)) if pan else 0.0,
        pan_y=(1 if tilt.group(1) == "down" else -1) * float(tilt.group(2)) if tilt else 0.0,
        zoom=(1 if zoom.group(1) == "in" else -1) * float(zoom.group(2)) if zoom else 0.0,
        objects=_OBJECT_LEVELS[objects.group(1)] if objects else 0.0,
    )
