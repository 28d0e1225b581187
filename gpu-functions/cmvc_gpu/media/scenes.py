"""Scene cuts from colour-histogram change, and the most representative frame of a segment.

Histograms are joint RGB histograms with ``BINS`` levels per channel, normalised to sum 1, of
frames at the analysis resolution. Distances are L1 (0: identical, 2: disjoint).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BINS = 8
#: A cut needs at least this L1 distance, whatever the clip's typical change.
MIN_CUT_DISTANCE = 0.5
#: ... and this many median absolute deviations above the median distance.
MAD_FACTOR = 8.0


def histogram(frame: np.ndarray) -> np.ndarray:
    """The normalised joint RGB histogram (``BINS**3`` floats) of an RGB ``uint8`` frame."""
    quantised = (frame[::2, ::2].reshape(-1, 3) // (256 // BINS)).astype(np.int32)
    index = (quantised[:, 0] * BINS + quantised[:, 1]) * BINS + quantised[:, 2]
    counts = np.bincount(index, minlength=BINS**3).astype(np.float32)
    return counts / counts.sum()


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """L1 distance between two histograms, in [0, 2]."""
    return float(np.abs(a - b).sum())


def threshold(distances: np.ndarray) -> float:
    """The adaptive cut threshold: ``max(MIN_CUT_DISTANCE, median + MAD_FACTOR * MAD)``."""
    if len(distances) == 0:
        return MIN_CUT_DISTANCE
    median = float(np.median(distances))
    mad = float(np.median(np.abs(distances - median)))
    return max(MIN_CUT_DISTANCE, median + MAD_FACTOR * mad)


def cut_points(distances: Sequence[float], min_frames: int, max_frames: int) -> list[int]:
    """Start frames of the segments, beginning with 0.

    distances: ``distances[i]`` is the histogram distance between frames ``i`` and ``i + 1``.
    min_frames / max_frames: segment length bounds in frames. A cut goes where the distance is above
    :func:`threshold`, strongest first, unless it would leave a segment shorter than ``min_frames``;
    segments longer than ``max_frames`` are then split evenly.
    """
    n = len(distances) + 1
    d = np.asarray(distances, dtype=np.float64)
    limit = threshold(d)
    min_frames = max(1, min_frames)
    starts: list[int] = [0]
    for i in sorted((int(i) for i in np.flatnonzero(d > limit)), key=lambda i: -d[i]):
        cut = i + 1
        bounds = sorted(starts + [n])
        before = max(s for s in bounds if s < cut)
        after = min(s for s in bounds if s > cut)
        if cut - before >= min_frames and after - cut >= min_frames:
            starts.append(cut)
    starts.sort()
    bounded: list[int] = []
    for s, e in zip(starts, starts[1:] + [n]):
        pieces = max(1, -(-(e - s) // max(1, max_frames)))
        bounded.extend(s + (k * (e - s)) // pieces for k in range(pieces))
    return bounded


def representative(histograms: Sequence[np.ndarray]) -> int:
    """Index of the histogram closest (L1) to their mean: the segment's most typical frame.
    Ties go to the frame nearest the middle."""
    stack = np.stack(histograms)
    distances = np.abs(stack - stack.mean(axis=0)).sum(axis=1)
    middle = (len(histograms) - 1) / 2
    return int(min(range(len(histograms)), key=lambda i: (round(float(distances[i]), 4), abs(i - middle))))
