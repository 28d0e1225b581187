"""A segment's camera motion summarised from its frame pairs' global motion
(:mod:`cmvc_gpu.media.global_motion`, per pair of consecutive grey frames at the analysis
resolution), and the motion text grammar (docs/motion-grammar.md).

A segment's motion is the outlier-trimmed mean over its frame pairs (a direction counts only when most pairs
agree on it): camera pan in fractions of the frame
width / height per second, zoom as a fractional scale change per second, object motion 0..1.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...media.global_motion import PairMotion, grey, pair_motion

#: Below these rates (fraction per second) a component is not mentioned: the camera is static.
STATIC_RATE = 0.005
#: Object motion (block residual in fractions of the width per second) that reads as level 1.
OBJECT_FULL_SCALE = 0.3
#: Fraction of frame pairs that must agree on a direction for it to count as camera motion.
AGREEMENT = 0.7
#: Pairs further than this (analysis pixels) beyond 3 MAD from the median are outliers.
OUTLIER_SLACK_PIXELS = 0.75


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

