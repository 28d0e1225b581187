"""Global motion between two grey frames (translation and zoom) by phase correlation.

Per pair of grey frames at one resolution:

1. phase correlation of the whole frames (numpy FFT, Hann window, sub-pixel peak) gives the
   dominant shift, used to pre-align the frames;
2. phase correlation of a ``GRID`` x ``GRID`` grid of blocks of the overlap gives a local shift
   per block (blocks whose correlation peak is weaker than ``MIN_PEAK`` — flat areas — are dropped);
3. a robust weighted least-squares fit of ``shift = t + (s - 1) * (block centre - frame centre)``
   gives the translation ``t`` (pixels) and zoom factor ``s``; blocks far from the fit are
   dropped and the fit repeated. The mean distance from the fit of the worst quarter of the
   blocks is the object motion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID = 4
MIN_PEAK = 0.08


@dataclass(frozen=True)
class PairMotion:
    """Motion from one frame to the next, at the analysis resolution.

    dx / dy: content shift in pixels (positive: content moves right / down). scale: zoom factor
    (above 1: content grows). residual: mean block distance from the global model, pixels.
    """

    dx: float
    dy: float
    scale: float
    residual: float


def grey(frame: np.ndarray) -> np.ndarray:
    """Luma (BT.601 weights) of an RGB frame as float32."""
    return frame[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


_WINDOWS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
#: Width (pixels, standard deviation) of the Gaussian the correlation peak is smoothed to, so that
#: a log-parabola through the peak and its neighbours finds the sub-pixel shift without bias.
PEAK_SIGMA = 1.0


def _window(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The Hann window of ``shape`` and the Gaussian low-pass applied to the cross-power spectrum."""
    if shape not in _WINDOWS:
        hann = np.outer(np.hanning(shape[0]), np.hanning(shape[1])).astype(np.float32)
        fy = np.fft.fftfreq(shape[0])[:, None]
        fx = np.fft.rfftfreq(shape[1])[None, :]
        lowpass = np.exp(-2 * (np.pi * PEAK_SIGMA) ** 2 * (fx**2 + fy**2)).astype(np.float32)
        _WINDOWS[shape] = (hann, lowpass)
    return _WINDOWS[shape]


def phase_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """``(dx, dy, peak)``: the shift in pixels that moves the content of ``a`` onto ``b``
    (``b(x) ≈ a(x - d)``) and the correlation peak (about 1 for a perfect match, near 0 for none).

    Phase correlation with a Hann window; the normalised cross-power spectrum is smoothed by a
    Gaussian so the peak has a known shape, and a log-parabola through the peak and its
    neighbours gives the sub-pixel position.
    """
    hann, lowpass = _window(a.shape)
    fa = np.fft.rfft2((a - a.mean()) * hann)
    fb = np.fft.rfft2((b - b.mean()) * hann)
    cross = fb * np.conj(fa)
    cross /= np.abs(cross) + 1e-9
    corr = np.fft.irfft2(cross * lowpass, s=a.shape)
    # The smoothed peak of a perfect match sums the low-pass: scale so that it reads about 1.
    corr /= lowpass.sum() * 2 / corr.size
    py, px = np.unravel_index(int(np.argmax(corr)), corr.shape)
    h, w = corr.shape

    def refine(c_minus: float, c0: float, c_plus: float) -> float:
        lm, l0, lp = (np.log(max(v, 1e-6)) for v in (c_minus, c0, c_plus))
        denom = lm - 2 * l0 + lp
        return 0.0 if abs(denom) < 1e-12 else float(np.clip(0.5 * (lm - lp) / denom, -0.5, 0.5))

    dy = py + refine(corr[(py - 1) % h, px], corr[py, px], corr[(py + 1) % h, px])
    dx = px + refine(corr[py, (px - 1) % w], corr[py, px], corr[py, (px + 1) % w])
    if dy > h / 2:
        dy -= h
    if dx > w / 2:
        dx -= w
    return float(dx), float(dy), float(corr[py, px])


def _fit(centres: np.ndarray, shifts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least squares of ``shift = t + k * centre``: returns ``(tx, ty, k)``."""
    n = len(centres)
    design = np.zeros((2 * n, 3))
    design[0::2, 0] = 1.0
    design[1::2, 1] = 1.0
    design[0::2, 2] = centres[:, 0]
    design[1::2, 2] = centres[:, 1]
    target = shifts.reshape(-1)
    w = np.repeat(np.sqrt(weights), 2)
    solution, *_ = np.linalg.lstsq(design * w[:, None], target * w, rcond=None)
    return solution


def frame_motion(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float]:
    """Global motion from grey frame ``a`` to grey frame ``b`` (same shape): ``(dx, dy, scale,
    residual)`` — content shift in pixels, zoom factor, mean block residual in pixels."""
    h, w = a.shape
    gx, gy, _ = phase_shift(a, b)
    sx, sy = int(round(gx)), int(round(gy))
    if abs(sx) >= w // 2 or abs(sy) >= h // 2:
        sx, sy = 0, 0
    # Overlap: a[y, x] pairs with b[y + sy, x + sx].
    x0, x1 = max(0, -sx), w - max(0, sx)
    y0, y1 = max(0, -sy), h - max(0, sy)
    bw, bh = (x1 - x0) // GRID, (y1 - y0) // GRID
    if bw < 8 or bh < 8:
        return gx, gy, 1.0, 0.0
    centres, shifts, peaks = [], [], []
    for gy_i in range(GRID):
        for gx_i in range(GRID):
            ya, xa = y0 + gy_i * bh, x0 + gx_i * bw
            block_a = a[ya : ya + bh, xa : xa + bw]
            block_b = b[ya + sy : ya + sy + bh, xa + sx : xa + sx + bw]
            if block_a.std() < 2.0:  # flat: nothing to correlate
                continue
            dx, dy, peak = phase_shift(block_a, block_b)
            if peak < MIN_PEAK:
                continue
            centres.append((xa + bw / 2 - w / 2, ya + bh / 2 - h / 2))
            shifts.append((dx + sx, dy + sy))
            peaks.append(peak)
    if len(centres) < 3:
        return gx, gy, 1.0, 0.0
    c, s, p = np.array(centres), np.array(shifts), np.array(peaks)
    keep = np.ones(len(c), dtype=bool)
    solution = _fit(c, s, p)
    for _ in range(3):
        predicted = solution[:2][None, :] + solution[2] * c
        errors = np.linalg.norm(s - predicted, axis=1)
        limit = max(0.75, 2.5 * float(np.median(errors[keep])))
        new_keep = errors <= limit
        if new_keep.sum() < 3 or np.array_equal(new_keep, keep):
            break
        keep = new_keep
        solution = _fit(c[keep], s[keep], p[keep])
    predicted = solution[:2][None, :] + solution[2] * c
    # Object motion: the mean distance from the fit of the worst quarter of the blocks (at least
    # one), so that a person crossing a corner counts as much as a cup filling the centre.
    distances = np.sort(np.minimum(np.linalg.norm(s - predicted, axis=1), 8.0))
    residual = float(distances[-max(1, len(distances) // 4) :].mean())
    return float(solution[0]), float(solution[1]), 1.0 + float(solution[2]), residual


def pair_motion(a: np.ndarray, b: np.ndarray) -> PairMotion:
    """:func:`frame_motion` as a :class:`PairMotion` (grey frames at the analysis resolution)."""
    return PairMotion(*frame_motion(a, b))
