"""Training data for the interpolation LoRA: short clips cut from a set of videos. Torch-free.

A clip is what one served first/last-frame call makes (``served_clip_shape``):
``ClipConfig.max_frames_per_call`` frames at the native rate (source frames ``stride`` apart,
``stride`` = source fps / native fps), at a geometry the generator serves. Its first and last
frames are the conditions (two keyframes as far apart as the encoder places them), the frames
between them the target. Clips do not overlap, so no target frame of one clip is a condition of
another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Optional

import numpy as np
from PIL import Image

from ..engines.model import prompts
from ..engines.model.config import ClipConfig
from ..engines.model.sampling import model_geometry


def clip_prompt(texts: Optional[dict]) -> str:
    """A training clip's prompt: with the video's texts, the served bridge prompt
    (``it2v_prompt(content, motion)``); without, the generic interpolation prompt."""
    if texts is None:
        return prompts.INTERPOLATION_PROMPT
    return prompts.it2v_prompt(str(texts.get("contentText", "")), str(texts.get("motionText", "")))


def served_clip_shape(clip: ClipConfig, width: int, height: int) -> tuple[int, int, int]:
    """``(frames, height, width)`` of the clip one served first/last-frame call makes for a video
    of ``width`` x ``height``."""
    served_w, served_h = model_geometry(width, height, clip.spatial_multiple, clip.max_area)
    return clip.max_frames_per_call, served_h, served_w


def native_stride(fps: float, clip: ClipConfig) -> int:
    """Source frames between two clip frames, so a clip runs at the native rate."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return max(1, int(round(fps / clip.native_fps)))


def clip_windows(frame_count: int, clip_frames: int, stride: int) -> list[list[int]]:
    """Frame indices of every non-overlapping clip in a video of ``frame_count`` frames.

    >>> clip_windows(12, 3, 2)
    [[0, 2, 4], [5, 7, 9]]
    """
    if clip_frames < 3:
        raise ValueError(f"clip_frames must be at least 3, got {clip_frames}")
    if stride < 1:
        raise ValueError(f"stride must be positive, got {stride}")
    span = (clip_frames - 1) * stride + 1
    return [list(range(s, s + span, stride)) for s in range(0, frame_count - span + 1, span)]


def make_clips(
    videos: Iterable[np.ndarray], clip_frames: int, stride: int, width: int, height: int
) -> list[np.ndarray]:
    """Every clip of every video, resized to ``width`` × ``height``.

    Args:
        videos: ``uint8`` ``(n, h, w, 3)`` arrays.
        clip_frames: frames per clip.
        stride: source frames between consecutive clip frames.
        width: training width (a multiple of the model's spatial multiple).
        height: training height.

    Returns:
        ``uint8`` ``(clip_frames, height, width, 3)`` arrays.
    """
    clips = []
    for video in videos:
        for window in clip_windows(len(video), clip_frames, stride):
            frames = [Image.fromarray(video[i]).resize((width, height), Image.Resampling.LANCZOS) for i in window]
            clips.append(np.stack([np.asarray(f) for f in frames]))
    return clips


def split(clips: Sequence[np.ndarray], eval_count: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Training and evaluation clips: the last ``eval_count`` clips are held out (at least one
    clip stays for training)."""
    if len(clips) < 2 and eval_count > 0:
        raise ValueError(f"need at least 2 clips to hold any out, got {len(clips)}")
    held = min(eval_count, len(clips) - 1)
    return list(clips[: len(clips) - held]), list(clips[len(clips) - held :])


def fingerprint(clips: Sequence[np.ndarray]) -> str:
    """A short hash of the training data, part of the adapter's id."""
    digest = hashlib.sha256()
    for clip in clips:
        digest.update(str(clip.shape).encode())
        digest.update(np.ascontiguousarray(clip).tobytes())
    return digest.hexdigest()


def blend(first: np.ndarray, last: np.ndarray, position: float) -> np.ndarray:
    """The plain-blend baseline: ``(1 - position) * first + position * last``, ``uint8``."""
    mixed = (1.0 - position) * first.astype(np.float64) + position * last.astype(np.float64)
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
