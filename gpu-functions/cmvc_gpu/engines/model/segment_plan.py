"""The pipeline calls that make one segment, planned before any model runs. torch-free: the generator executes this plan, ``gpu:plan`` prices it, and the Modal app fans it
out, so all three agree on what a segment costs.

Time runs on the models' native frame grid (``ClipConfig.native_fps``). Every call makes at most
``ClipConfig.max_frames_per_call`` frames, which is what bounds each GPU call's time:

- ``tt2v``: text-to-video for the first clip, then image-to-video from each clip's last frame.
- ``it2v``: for each pair of consecutive keyframes one first/last-frame call (FLF2V + LoRA) that
  spans exactly the frames between them; after the last keyframe image-to-video from it; before
  the first keyframe (when it is not the segment's first frame) the first keyframe is held. A gap
  longer than one call is first walked by image-to-video and closed by a first/last-frame call.
- A segment's last frames that would need a call of fewer than ``min_call_frames`` (a frame or two
  past a full call, or past a keyframe near the end) hold the last frame made instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Optional

from ...contract import modes
from ...modes import per_mode
from .config import ClipConfig
from .sampling import model_frame_count

Model = Literal["t2v", "i2v", "flf2v"]


@dataclass(frozen=True)
class Source:
    """Where a call's first (or last) frame comes from: keyframe ``index`` of the segment, or the
    last frame made by call ``index``."""

    kind: Literal["keyframe", "call"]
    index: int


@dataclass(frozen=True)
class ModelCall:
    """One pipeline call.

    Args:
        model: ``"t2v"``, ``"i2v"`` or ``"flf2v"``.
        start: the native frame its first frame shows.
        frames: the native frames it covers, from ``start`` (its first and, for ``flf2v``, its last
            frame are the conditions).
        num_frames: the frames the pipeline makes (``temporal_multiple * k + 1 >= frames``); an
            ``flf2v`` result is resampled to ``frames``, the others are cut to ``frames``.
        first: the image its first frame is (``None`` for ``t2v``).
        last: the image its last frame is (``flf2v`` only).
    """

    model: Model
    start: int
    frames: int
    num_frames: int
    first: Optional[Source] = None
    last: Optional[Source] = None


def native_frame_count(frame_count: int, fps: float, clip: ClipConfig) -> int:
    """Frames at the native rate for ``frame_count`` frames at ``fps`` (the same duration, >= 1)."""
    if fps <= 0 or frame_count < 1:
        raise ValueError(f"fps and frame_count must be positive, got {fps} and {frame_count}")
    return max(1, int(round(frame_count / fps * clip.native_fps)))


def native_keyframes(frame_indices: Sequence[int], fps: float, total: int, clip: ClipConfig) -> list[int]:
    """Keyframe frame indices at ``fps`` moved onto the native grid (rounded, clamped to the
    segment); keyframes landing on the same native frame keep the first."""
    native = [min(total - 1, int(round(i / fps * clip.native_fps))) for i in frame_indices]
    return sorted(set(native))


def min_call_frames(clip: ClipConfig) -> int:
    """The fewest frames a pipeline call makes (one latent frame past its first: ``temporal_multiple + 1``)."""
    return clip.temporal_multiple + 1


def _walk(model: Model, first: Source, start: int, end: int, calls: list[ModelCall], clip: ClipConfig, tail: bool = False) -> Source:
    """Image-to-video calls from ``start`` until frame ``end`` (inclusive) is made; returns the
    source of the last frame made. ``tail``: the segment's last frames, where a remainder shorter
    than ``min_call_frames`` is not worth a call of a 14B model (a native frame or two past a full
    call, or past a keyframe near the end): those frames hold the last frame made."""
    source = first
    while start < end:
        frames = min(end - start + 1, clip.max_frames_per_call)
        if tail and frames < min_call_frames(clip):
            break
        calls.append(
            ModelCall(model, start, frames, model_frame_count(frames, clip.temporal_multiple), first=source)
        )
        source = Source("call", len(calls) - 1)
        start += frames - 1
    return source


def plan_segment(mode: str, total: int, keyframes: Sequence[int], clip: ClipConfig) -> list[ModelCall]:
    """The calls that make a segment of ``total`` native frames.

    Args:
        mode: a contract mode (``SEGMENT_MODES`` says how each plans).
        total: native frames (see :func:`native_frame_count`).
        keyframes: the keyframes' native frame indices, sorted and unique (see
            :func:`native_keyframes`); read only by a mode that reads keyframes, which needs at least one.
        clip: the call geometry.

    Returns:
        The calls in an order where every ``Source("call", i)`` comes before its user.
    """
    if total < 1:
        raise ValueError(f"total must be positive, got {total}")
    if mode not in modes():
        raise ValueError(f"mode must be one of {', '.join(modes())}, got {mode!r}")
    return SEGMENT_MODES[mode].plan(total, keyframes, clip)


def _plan_texts(total: int, keyframes: Sequence[int], clip: ClipConfig) -> list[ModelCall]:
    """TT2V: text-to-video for the first clip, then image-to-video from each clip's last frame (keyframes unread)."""
    calls: list[ModelCall] = []
    frames = min(total, clip.max_frames_per_call)
    calls.append(ModelCall("t2v", 0, frames, model_frame_count(frames, clip.temporal_multiple)))
    _walk("i2v", Source("call", 0), frames - 1, total - 1, calls, clip, tail=True)
    return calls


def _plan_keyframes(total: int, keyframes: Sequence[int], clip: ClipConfig) -> list[ModelCall]:
    """IT2V: a first/last-frame call per keyframe pair, image-to-video after the last keyframe."""
    calls: list[ModelCall] = []
    if not keyframes:
        raise ValueError("it2v needs at least one keyframe")
    if list(keyframes) != sorted(set(keyframes)) or keyframes[0] < 0 or keyframes[-1] >= total:
        raise ValueError(f"keyframes must be sorted, unique and in [0, {total}), got {list(keyframes)}")
    for k in range(len(keyframes) - 1):
        a, b = keyframes[k], keyframes[k + 1]
        # A gap longer than one call: walk by image-to-video until one call can close it.
        first = _walk("i2v", Source("keyframe", k), a, b - clip.max_frames_per_call + 1, calls, clip)
        start = a if first.kind == "keyframe" else calls[first.index].start + calls[first.index].frames - 1
        frames = b - start + 1
        calls.append(
            ModelCall(
                "flf2v",
                start,
                frames,
                model_frame_count(frames, clip.temporal_multiple),
                first=first,
                last=Source("keyframe", k + 1),
            )
        )
    _walk("i2v", Source("keyframe", len(keyframes) - 1), keyframes[-1], total - 1, calls, clip, tail=True)
    return calls


@dataclass(frozen=True)
class SegmentMode:
    """What a mode does with a segment: whether it reads the keyframes, and how its calls are planned."""

    reads_keyframes: bool
    plan: Callable[[int, Sequence[int], ClipConfig], list[ModelCall]]


#: How each mode makes a segment (a mode the contract adds must say it here).
SEGMENT_MODES = per_mode("engines/model segment plan", {"tt2v": SegmentMode(False, _plan_texts), "it2v": SegmentMode(True, _plan_keyframes)})
