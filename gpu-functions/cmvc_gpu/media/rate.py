"""Rate control shared by both engines: how many keyframes a video gets, where, at what size and
resolution, so that its bitstream lands near ``targetKbps`` (:func:`plan_keyframes`). Each engine
brings what differs: where each segment's first keyframe is (the anchors), how many keyframes a
segment may carry at its cost (on the model engine every keyframe pair is one 14B first/last-frame
call), and, when it can, a judge of the candidate widths by the video it reconstructs.

1. The texts-only floor: the bitstream's bytes with no keyframe, sized as the writer codes it
   (``docs/bitstream.md``; texts deflated with the exported dictionary, the shorter of coded and plain).
2. The keyframe order (:func:`keyframe_order`): each segment's representative frame first (longest
   segment first), then, greedily, the frame least predictable from the keyframes already chosen
   plus the measured motion (the in-betweening :func:`cmvc_gpu.media.inbetween.in_between` does at reconstruction).
   The order is the priority: dropping keyframes lowest priority first undoes the greedy choice.
3. The count: for each count M the bytes left per keyframe give a coding distortion (measured on a
   representative frame at a few sizes and resolutions, :func:`coding_ladder`); the M with the least
   prediction + coding distortion wins.
4. The width: the few best widths by coding error at the budget actually spent (:func:`width_errors`),
   judged by the engine's reconstruction when it has one cheap enough (the reference engine's
   in-betweens depend on the motion the decoder finds between keyframes, which a blurred or blocky
   keyframe misleads, and no single frame's coding error shows that), else the best by coding error.

Units: bytes, pixels, mean squared error of luma (0–255).
"""

from __future__ import annotations

import io
import zlib
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Protocol

import numpy as np
from PIL import Image

from ..contract import bitstream_file
from ..errors import ContractError
from ..stream_limits import stream_limits
from . import keyframe as keyframe_coding
from .global_motion import frame_motion, grey, phase_shift
from .inbetween import MIN_MATCH_PEAK, in_between, warp

#: Chunk framing: length, type, CRC.
CHUNK_BYTES = 12
#: A segment's anchor keyframe: KFRM (codec, width, height) and kpos (frame index, priority), framed.
ANCHOR_OVERHEAD_BYTES = 2 * CHUNK_BYTES + 9 + 5
#: Any further keyframe: one kfrx chunk (frame index, priority, codec, width, height), framed.
EXTRA_OVERHEAD_BYTES = CHUNK_BYTES + 14
#: No keyframe is coded in fewer image bytes than this (a tiny WebP is about 40 bytes of headers).
MIN_KEYFRAME_BYTES = 64
#: The writer's deflate codes a text at most this many bytes longer than zlib at level 9 (measured on the
#: 1144 texts of test/corpus/texts.json: 0 for most, 10 at most), so that the rate is not overshot.
DEFLATE_SLACK_BYTES = 10
#: Frames are compared at most this wide when choosing keyframes.
PREDICTION_WIDTH = 80
#: The width (pixels) an engine decodes the luma frames it hands :func:`plan_keyframes` at.
ANALYSIS_WIDTH = 160
#: Widths judged by reconstructing the video (the best few by coding error alone).
RECONSTRUCTED_WIDTHS = 3
#: Frames the reconstruction of a candidate is compared on, at most (evenly spaced).
RECONSTRUCTED_FRAMES = 240
#: Resolutions tried for a keyframe, as fractions of keyframeMaxWidth: steps of about 1.2x, as fine as
#: the picture's own trade between resolution and quality at a few hundred bytes per keyframe needs.
WIDTH_FRACTIONS = (1.0, 0.85, 0.7, 0.6, 0.5, 0.42, 0.35, 0.3, 0.25, 0.2)
#: Every other one, for the coding ladder of the count choice (its many budgets; half the encoding time).
LADDER_WIDTH_FRACTIONS = WIDTH_FRACTIONS[::2]


@lru_cache(maxsize=1)
def _dictionary() -> bytes:
    return bitstream_file("text-dictionary-v1.txt").read_bytes()


def _varint_bytes(n: int) -> int:
    return 1 if n < 0x80 else 2 if n < 0x4000 else 3 if n < 0x200000 else 4


def text_chunk_bytes(text: str) -> int:
    """At most the bytes of a CTXT/MTXT chunk's data as the writer makes it: the shorter of plain and
    deflate-with-dictionary-v1, plus the coding tag. The writer's deflate (fflate, level 9) is not
    zlib's, so the coded length is zlib's plus ``DEFLATE_SLACK_BYTES``."""
    plain = text.encode("utf-8")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _dictionary())
    coded = compressor.compress(plain) + compressor.flush()
    return 1 + min(len(plain), _varint_bytes(len(plain)) + len(coded) + DEFLATE_SLACK_BYTES)


def texts_only_bytes(engine: dict, texts: list[tuple[str, str]]) -> int:
    """Bytes of the bitstream with these (content, motion) texts per segment and no keyframe."""
    head = 7 * 4 + 1 + 1 + len(engine["id"].encode()) + 1 + len(engine["version"].encode()) + 1
    head += sum(2 + len(k.encode()) + len(v.encode()) for k, v in engine["models"].items())
    total = 10 + CHUNK_BYTES + head + CHUNK_BYTES + 8 + 16 * len(texts) + CHUNK_BYTES  # preamble, HEAD, SIDX, CEND
    for content, motion in texts:
        total += CHUNK_BYTES + 9 + 2 * CHUNK_BYTES + text_chunk_bytes(content) + text_chunk_bytes(motion)
    return total


class Motion(Protocol):
    """A segment's summarised global motion, what extrapolation past its last keyframe follows: pans
    as fractions of the width and height per second, zoom as a relative change per second."""

    pan_x: float
    pan_y: float
    zoom: float


@dataclass(frozen=True)
class StillMotion:
    """No global motion: extrapolation holds the last keyframe (an engine that writes no motion summary)."""

    pan_x: float = 0.0
    pan_y: float = 0.0
    zoom: float = 0.0


@dataclass(frozen=True)
class Plan:
    """Keyframes to code: ``frames`` (global frame numbers, in priority order, highest first) with
    ``budget_bytes`` and ``width`` each; empty below the floor."""

    frames: list[int]
    budget_bytes: int
    width: int
    floor_bytes: int


class Predictor:
    """Prediction errors of frames from chosen keyframes at ``PREDICTION_WIDTH``, made the way
    reconstruction makes them (:func:`render.from_keyframes`): a frame between two keyframes is both
    of them moved along the motion estimated between those two and blended by distance; outside
    them, the nearest one moves along the segment's summarised motion (its motion text)."""

    def __init__(self, greys: list[np.ndarray], fps: float) -> None:
        """greys: luma frames at the analysis resolution; fps: frames per second."""
        self.step = max(1, -(-greys[0].shape[1] // PREDICTION_WIDTH))
        self.greys = greys
        self.frames = [g[:: self.step, :: self.step, None].astype(np.uint8) for g in greys]
        self.fps = fps
        self.motions: dict[int, Motion] = {}
        self._shifts: dict[tuple[int, int], tuple[float, float, float]] = {}

    def set_motion(self, start: int, end: int, m: Motion) -> None:
        """The summarised motion of frames ``[start, end)``."""
        for j in range(start, end):
            self.motions[j] = m

    def _extrapolated(self, k: int, j: int) -> np.ndarray:
        m, (h, w) = self.motions[k], self.frames[k].shape[:2]
        t = (j - k) / self.fps
        return warp(self.frames[k], m.pan_x * w * t, m.pan_y * h * t, (1 + m.zoom) ** t if m.zoom > -1 else 1.0).astype(np.float32)

    def _shift(self, a: int, b: int) -> tuple[float, float, float]:
        if (a, b) not in self._shifts:
            ga, gb = self.greys[a], self.greys[b]
            if phase_shift(ga, gb)[2] < MIN_MATCH_PEAK:
                self._shifts[(a, b)] = (0.0, 0.0, 1.0)
            else:
                dx, dy, scale, _ = frame_motion(ga, gb)
                self._shifts[(a, b)] = (dx / self.step, dy / self.step, scale)
        return self._shifts[(a, b)]

    def errors(self, start: int, end: int, keys: list[int]) -> np.ndarray:
        """Mean squared error of each frame in ``[start, end)`` predicted from ``keys`` (sorted);
        with no keys, its deviation from its own mean (what a painted content text gets)."""
        out = np.zeros(end - start, dtype=np.float64)
        for j in range(start, end):
            actual = self.frames[j].astype(np.float32)
            if not keys:
                out[j - start] = float(np.mean((actual - actual.mean()) ** 2))
                continue
            r = bisect_right(keys, j)
            if r > 0 and keys[r - 1] == j:
                continue
            if r == 0 or r == len(keys):
                predicted = self._extrapolated(keys[0] if r == 0 else keys[-1], j)
            else:
                a, b = keys[r - 1], keys[r]
                predicted = in_between(self.frames[a], self.frames[b], self._shift(a, b), (j - a) / (b - a)).astype(np.float32)
            out[j - start] = float(np.mean((predicted - actual) ** 2))
        return out


def keyframe_order(
    predictor: Predictor, starts: list[int], ends: list[int], anchors: list[int], max_count: int, per_segment: Optional[Sequence[int]] = None
) -> tuple[list[int], list[float]]:
    """``(order, distortion)``: keyframes in priority order (each segment's anchor first, longest
    segment first, then greedily the least predictable frame), and for each prefix length m ≥ 1 the
    mean prediction error over all frames with the first m keyframes (``distortion[m - 1]``).
    ``per_segment``: the most keyframes each segment may get (default the bitstream's ``maxKeyframesPerSegment``;
    an engine passes ``stream_limits.max_keyframes_for`` its video's size, or fewer where its calls cost more)."""
    most = stream_limits()["maxKeyframesPerSegment"]
    segments = sorted(range(len(starts)), key=lambda n: (-(ends[n] - starts[n]), n))
    keys: list[list[int]] = [[] for _ in starts]
    errors = [predictor.errors(s, e, []) for s, e in zip(starts, ends)]
    frames = ends[-1] - starts[0]
    order: list[int] = []
    distortion: list[float] = []

    def add(n: int, frame: int) -> None:
        keys[n] = sorted(keys[n] + [frame])
        errors[n] = predictor.errors(starts[n], ends[n], keys[n])
        order.append(frame)
        distortion.append(float(sum(e.sum() for e in errors)) / frames)

    for n in segments:
        if len(order) >= max_count:
            return order, distortion
        add(n, anchors[n])
    while len(order) < max_count:
        caps = per_segment if per_segment is not None else [most] * len(starts)
        open_segments = [n for n in range(len(starts)) if len(keys[n]) < min(most, caps[n], ends[n] - starts[n])]
        if not open_segments:
            break
        n = max(open_segments, key=lambda m: (float(errors[m].max()), -m))
        if errors[n].max() <= 0:
            break
        add(n, starts[n] + int(np.argmax(errors[n])))
    return order, distortion


def luma_mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error of the luma of two RGB images (or clips) of one shape."""
    return float(np.mean((grey(a) - grey(b)) ** 2))


def width_errors(frame: np.ndarray, codec: str, budget: int, max_width: int, fractions: tuple[float, ...] = WIDTH_FRACTIONS) -> list[tuple[int, float]]:
    """``[(width, mse)]``, best first: each distinct width a keyframe of ``budget`` bytes is coded at when
    started from ``fractions`` of ``max_width`` (:func:`keyframe.code_keyframe` shrinks what does
    not fit), with the luma error of ``frame`` coded so and scaled back to its size."""
    height, width = frame.shape[:2]
    found: dict[int, float] = {}
    for fraction in fractions:
        w = max(keyframe_coding.MIN_WIDTH, round(min(max_width, width) * fraction))
        try:
            data, coded_width, _ = keyframe_coding.code_keyframe(frame, codec, budget, w)
        except ContractError:  # not even the smallest image fits this budget
            continue
        decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB").resize((width, height), Image.BICUBIC))
        found.setdefault(coded_width, luma_mse(decoded, frame))  # the width it was coded at (smaller than w when w did not fit)
    return sorted(found.items(), key=lambda item: (item[1], -item[0]))


def coding_ladder(frame: np.ndarray, codec: str, budgets: list[int], max_width: int) -> list[tuple[int, int, float]]:
    """For each budget (bytes): ``(budget, width, mse)``, the width (:func:`width_errors` from
    ``LADDER_WIDTH_FRACTIONS``) whose coded image, scaled back to ``frame``'s size, is closest to it (luma MSE)."""
    out = []
    for budget in budgets:
        errors = width_errors(frame, codec, budget, max_width, LADDER_WIDTH_FRACTIONS)
        if errors:
            out.append((budget, *errors[0]))
    return out


def choose_count(order_overheads: list[int], distortion: list[float], ladder: list[tuple[int, int, float]], keyframe_bytes: int) -> tuple[int, int, int]:
    """``(count, budget_bytes, width)`` minimising prediction + coding distortion within
    ``keyframe_bytes``; count 0 when not even one keyframe fits."""
    best = (float("inf"), 0, 0, 0)
    budgets = np.array([b for b, _, _ in ladder], dtype=np.float64)
    mses = np.array([m for _, _, m in ladder], dtype=np.float64)
    spent = 0
    for m in range(1, len(distortion) + 1):
        spent += order_overheads[m - 1]
        budget = (keyframe_bytes - spent) // m
        if budget < MIN_KEYFRAME_BYTES or len(ladder) == 0 or budget < budgets[0]:
            break
        coding = float(np.interp(np.log(budget), np.log(budgets), mses))
        width = ladder[int(np.argmin(np.abs(np.log(budgets) - np.log(budget))))][1]
        score = distortion[m - 1] + coding
        if score < best[0]:
            best = (score, m, int(budget), width)
    return best[1], best[2], best[3]


#: ``judge(chosen frames, budget bytes, candidate widths) -> width``: the engine's pick among widths.
WidthJudge = Callable[[list[int], int, list[int]], int]


def plan_keyframes(
    greys: list[np.ndarray],
    fps: float,
    starts: list[int],
    ends: list[int],
    anchors: list[int],
    motions: Sequence[Motion],
    texts: list[tuple[str, str]],
    engine: dict,
    target_kbps: float,
    codec: str,
    max_width: int,
    sample: np.ndarray,
    per_segment: Optional[Sequence[int]] = None,
    judge_widths: Optional[WidthJudge] = None,
) -> Plan:
    """The keyframes to code for ``target_kbps``: empty when the target is at or below the texts-only floor.

    Args:
        greys: luma of every frame at the analysis resolution (``uint8`` ``(h, w)``).
        fps: the video's frame rate (frames/s).
        starts: each segment's first frame; ``ends``: one past its last.
        anchors: each segment's first keyframe (kept longest within it).
        motions: each segment's global motion (extrapolation past its last keyframe).
        texts: each segment's ``(content, motion)`` texts, as the bitstream codes them.
        engine: the ``EngineInfo`` the bitstream's header records (its bytes count).
        target_kbps: the rate (kbit/s) the whole bitstream lands near.
        codec: ``"webp"`` or ``"jpeg"``; ``max_width``: the widest keyframe (pixels).
        sample: a representative frame at ``max_width`` the coding error is measured on.
        per_segment: the most keyframes each segment may carry (``stream_limits.max_keyframes_for`` the video's size,
            fewer where the engine's calls cost more); default the bitstream's ``maxKeyframesPerSegment``.
        judge_widths: picks among the best widths by coding error (default: the best of them).
    """
    seconds = len(greys) / fps
    target_bytes = int(target_kbps * 1000 * seconds / 8)
    floor = texts_only_bytes(engine, texts)
    keyframe_bytes = target_bytes - floor
    if keyframe_bytes < ANCHOR_OVERHEAD_BYTES + MIN_KEYFRAME_BYTES:
        return Plan([], 0, 0, floor)
    cap = sum(per_segment) if per_segment is not None else len(starts) * stream_limits()["maxKeyframesPerSegment"]
    max_count = min(len(greys), cap, keyframe_bytes // (EXTRA_OVERHEAD_BYTES + MIN_KEYFRAME_BYTES))
    predictor = Predictor(greys, fps)
    for start, end, motion in zip(starts, ends, motions):
        predictor.set_motion(start, end, motion)
    order, distortion = keyframe_order(predictor, starts, ends, anchors, max(1, max_count), per_segment)
    overheads = [ANCHOR_OVERHEAD_BYTES if n < len(starts) else EXTRA_OVERHEAD_BYTES for n in range(len(order))]
    high = min(keyframe_bytes - ANCHOR_OVERHEAD_BYTES, 64 * 1024)
    low = max(MIN_KEYFRAME_BYTES, keyframe_bytes // max(1, len(order)) - EXTRA_OVERHEAD_BYTES)
    budgets = sorted({int(b) for b in np.geomspace(low, max(low, high), num=max(2, min(6, int(np.log2(max(2, high / low))) + 2)))})
    ladder = coding_ladder(sample, codec, budgets, max_width)
    count, budget, width = choose_count(overheads, distortion, ladder, keyframe_bytes)
    # The ladder's budgets are a coarse grid: the widths at the budget actually spent, best first.
    widths = [w for w, _ in width_errors(sample, codec, budget, max_width)] if count else []
    if len(widths) > 1 and judge_widths is not None:
        width = judge_widths(order[:count], budget, widths[:RECONSTRUCTED_WIDTHS])
    elif widths:
        width = widths[0]
    return Plan(order[:count], budget, width, floor)


def priorities(frames: Sequence[int]) -> dict[int, int]:
    """Each planned keyframe's priority: 255 for the first in priority order, one less for each after
    (at least 0), so dropping keyframes lowest priority first (a ``maxKbps`` cut) undoes the plan."""
    return {frame: max(0, 255 - rank) for rank, frame in enumerate(frames)}
