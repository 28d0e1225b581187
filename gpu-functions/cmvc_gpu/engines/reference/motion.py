"""Global motion between frames (translation and zoom), its summary per segment, and the motion
text grammar (docs/motion-grammar.md).

Estimation, per pair of consecutive grey frames at the analysis resolution:

1. phase correlation of the whole frames (numpy FFT, Hann window, sub-pixel peak) gives the
   dominant shift, used to pre-align the frames;
2. phase correlation of a ``GRID`` x ``GRID`` grid of blocks of the overlap gives a local shift
   per block (blocks whose correlation peak is weaker than ``MIN_PEAK`` — flat areas — are dropped);
3. a robust weighted least-squares fit of ``shift = t + (s - 1) * (block centre - frame centre)``
   gives the translation ``t`` (pixels) and zoom factor ``s``; blocks far from the fit are
   dropped and the fit repeated. The mean distance from the fit of the worst quarter of the
   blocks is the object motion.

A segment's motion is the outlier-trimmed mean over its frame pairs (a direction counts only when most pairs
agree on it): camera pan in fractions of the frame
width / height per second, zoom as a fractional scale change per second, object motion 0..1.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

GRID = 4
MIN_PEAK = 0.08
#: Below these rates (fraction per second) a component is not mentioned: the camera is static.
STATIC_RATE = 0.005
#: Object motion (block residual in fractions of the width per second) that reads as level 1.
OBJECT_FULL_SCALE = 0.3
#: Fraction of frame pairs that must agree on a direction for it to count as camera motion.
AGREEMENT = 0.7
#: Pairs further than this (analysis pixels) beyond 3 MAD from the median are outliers.
OUTLIER_SLACK_PIXELS = 0.75


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


@dataclass(frozen=True)
class Motion:
    """Camera motion of a segment.

    pan_x: camera pan, fraction of the frame width per second (positive: to the right).
    pan_y: camera tilt, fraction of the frame height per second (positive: down).
    zoom: scale change per second as a fraction (positive: in); after t seconds the scale is
        ``(1 + zoom) ** t``.
    objects: residual object motion, 0 (none) to 1 (strong).
    keyframe_seconds: where in the segment the keyframe (and the content text) was taken,
        seconds from the segment's start; reconstruction anchors its first image there.
    """

    pan_x: float = 0.0
    pan_y: float = 0.0
    zoom: float = 0.0
    objects: float = 0.0
    keyframe_seconds: float = 0.0


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


def _consistent_rate(values: Sequence[float], slack: float) -> float:
    """The typical per-pair value: the mean of the values within ``3 * MAD + slack`` of the median
    (robust to outliers such as a failed pair, yet exact for a jittery step pattern); 0 unless
    ``AGREEMENT`` of the pairs share its sign (a direction that flips from pair to pair is jitter
    or object motion, not camera motion)."""
    a = np.asarray(values, dtype=np.float64)
    median = float(np.median(a))
    mad = float(np.median(np.abs(a - median)))
    kept = a[np.abs(a - median) <= 3 * mad + slack]
    value = float(kept.mean()) if len(kept) else median
    if value == 0.0 or float(np.mean(np.sign(a) == np.sign(value))) < AGREEMENT:
        return 0.0
    return value


def summarise(pairs: Sequence[PairMotion], fps: float, width: int, height: int) -> Motion:
    """The camera motion of a segment from its consecutive frame pairs.

    fps: frames per second. width / height: the analysis frame size in pixels. Content moving left
    means the camera pans right, hence the signs.
    """
    if not pairs:
        return Motion()
    dx = _consistent_rate([p.dx for p in pairs], OUTLIER_SLACK_PIXELS)
    dy = _consistent_rate([p.dy for p in pairs], OUTLIER_SLACK_PIXELS)
    k = _consistent_rate([p.scale - 1.0 for p in pairs], OUTLIER_SLACK_PIXELS / (width / 2))
    residual = float(np.median([p.residual for p in pairs]))
    return Motion(
        pan_x=-dx / width * fps,
        pan_y=-dy / height * fps,
        zoom=(1.0 + k) ** fps - 1.0,
        objects=float(np.clip(residual / width * fps / OBJECT_FULL_SCALE, 0.0, 1.0)),
    )


def estimate(frames: Sequence[np.ndarray], fps: float) -> Motion:
    """The camera motion of a run of RGB frames (analysed at their own resolution)."""
    greys = [grey(f) for f in frames]
    if len(greys) < 2:
        return Motion()
    h, w = greys[0].shape
    return summarise([pair_motion(a, b) for a, b in zip(greys, greys[1:])], fps, w, h)


# --- the grammar -----------------------------------------------------------------------------

_OBJECT_WORDS = (("no", 0.1, 0.0), ("little", 0.3, 0.2), ("moderate", 0.6, 0.45), ("strong", 2.0, 0.8))


def _speed(rate_percent: float, slow: float, quick: float) -> str:
    return "slowly " if rate_percent < slow else "quickly " if rate_percent > quick else ""


def _object_word(level: float) -> str:
    return next(word for word, below, _ in _OBJECT_WORDS if level < below)


def describe_motion(m: Motion) -> str:
    """The motion text of a segment (grammar in docs/motion-grammar.md), e.g.
    ``the camera slowly pans right about 2.1% of the width per second and slowly zooms in about
    3.0% per second; little object motion; keyframe at 1.50 s``."""
    pan, tilt, zoom = abs(m.pan_x) * 100, abs(m.pan_y) * 100, abs(m.zoom) * 100
    has_pan, has_tilt, has_zoom = pan >= STATIC_RATE * 100, tilt >= STATIC_RATE * 100, zoom >= STATIC_RATE * 100
    moves = []
    pan_words = f"{'right' if m.pan_x > 0 else 'left'} about {pan:.1f}% of the width per second"
    tilt_words = f"{'down' if m.pan_y > 0 else 'up'} about {tilt:.1f}% of the height per second"
    if has_pan and has_tilt:
        moves.append(f"moves diagonally, panning {pan_words} and tilting {tilt_words}")
    elif has_pan:
        moves.append(f"{_speed(pan, 5, 25)}pans {pan_words}")
    elif has_tilt:
        moves.append(f"{_speed(tilt, 5, 25)}tilts {tilt_words}")
    if has_zoom:
        moves.append(f"{_speed(zoom, 5, 20)}zooms {'in' if m.zoom > 0 else 'out'} about {zoom:.1f}% per second")
    camera = "the camera is static" if not moves else "the camera " + " and ".join(moves)
    text = f"{camera}; {_object_word(m.objects)} object motion"
    if m.keyframe_seconds > 0.005:
        text += f"; keyframe at {m.keyframe_seconds:.2f} s"
    return text


_NUM = r"(\d+(?:\.\d+)?)"
_PAN = re.compile(rf"pan(?:s|ning) (left|right) about {_NUM}% of the width per second")
_TILT = re.compile(rf"tilt(?:s|ing) (up|down) about {_NUM}% of the height per second")
_ZOOM = re.compile(rf"zoom(?:s|ing) (in|out) about {_NUM}% per second")
_OBJECTS = re.compile(r"\b(no|little|moderate|strong) object motion")
_KEYFRAME = re.compile(rf"keyframe at {_NUM} s")


def parse_motion(text: str) -> Motion:
    """The numbers of a motion text (fractions per second, see :class:`Motion`); phrases it does
    not know count as no motion, so any text parses."""
    pan, tilt, zoom = _PAN.search(text), _TILT.search(text), _ZOOM.search(text)
    objects, keyframe = _OBJECTS.search(text), _KEYFRAME.search(text)
    levels = {word: value for word, _, value in _OBJECT_WORDS}
    return Motion(
        pan_x=((1 if pan.group(1) == "right" else -1) * float(pan.group(2)) / 100) if pan else 0.0,
        pan_y=((1 if tilt.group(1) == "down" else -1) * float(tilt.group(2)) / 100) if tilt else 0.0,
        zoom=((1 if zoom.group(1) == "in" else -1) * float(zoom.group(2)) / 100) if zoom else 0.0,
        objects=levels[objects.group(1)] if objects else 0.0,
        keyframe_seconds=float(keyframe.group(1)) if keyframe else 0.0,
    )

