"""Scene cuts from colour-histogram change, with minimum and maximum segment lengths (in frames)."""

from __future__ import annotations

import numpy as np

BINS = 8


def histogram(frame: np.ndarray) -> np.ndarray:
    """A normalised joint RGB histogram with ``BINS`` levels per channel."""
    quantised = (frame[::2, ::2].reshape(-1, 3) // (256 // BINS)).astype(np.int32)
    index = quantised[:, 0] * BINS * BINS + quantised[:, 1] * BINS + quantised[:, 2]
    counts = np.bincount(index, minlength=BINS**3).astype(np.float32)
    return counts / counts.sum()


def cut_points(frames: list[np.ndarray], min_frames: int, max_frames: int) -> list[int]:
    """Start frames of the segments (always beginning with 0).

    A cut is where the L1 distance between consecutive histograms is far above its typical value
    (median + 6 median absolute deviations, and at least 0.5); segments shorter than ``min_frames``
    are not cut, longer than ``max_frames`` are split evenly.
    """
    n = len(frames)
    if n < 2:
        return [0]
    hists = [histogram(f) for f in frames]
    distances = np.array([np.abs(a - b).sum() for a, b in zip(hists, hists[1:])])
    median = float(np.median(distances))
    mad = float(np.median(np.abs(distances - median))) + 1e-6
    threshold = max(0.5, median + 6 * mad)
    starts = [0]
    for i, d in enumerate(distances, start=1):
        if d > threshold and i - starts[-1] >= min_frames and n - i >= min(min_frames, n):
            starts.append(i)
    bounded = []
    for s, e in zip(starts, starts[1:] + [n]):
        pieces = max(1, int(np.ceil((e - s) / max_frames)))
        bounded.extend(s + round(k * (e - s) / pieces) for k in range(pieces))
    return bounded
