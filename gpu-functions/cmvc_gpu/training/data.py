"""Training data for the interpolation LoRA: short clips cut from a set of videos. Torch-free.

A clip is what one served first/last-frame call makes (``served_clip_shape``):
``ClipConfig.max_frames_per_call`` frames at the native rate, taken by timestamp (clip frame k is the
source frame nearest ``start + k / native_fps``), so a clip spans exactly the ``max_keyframe_gap_seconds``
a served bridge spans at any source rate, at a geometry the generator serves. Its first and last
frames are the conditions (two keyframes as far apart as the encoder places them), the frames
between them the target. Clips do not overlap, so no target frame of one clip is a condition of
another.
"""

from __future__ import annotations

import hashlib
import math
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


def clip_windows(frame_count: int, fps: float, clip_frames: int, native_fps: float) -> list[list[int]]:
    """Source frame indices of every non-overlapping clip in a video of ``frame_count`` frames at
    ``fps``: clip frame k is the frame nearest ``start + k / native_fps`` seconds, so every clip spans
    ``(clip_frames - 1) / native_fps`` seconds whatever the source rate (a whole-frame stride would
    make 24 and 25 frames/s clips a third longer than a served bridge); the next clip starts at the
    frame after the previous one's last.

    >>> clip_windows(12, 16.0, 3, 8.0)
    [[0, 2, 4], [5, 7, 9]]
    >>> clip_windows(30, 24.0, 3, 16.0)[0]
    [0, 2, 3]
    """
    if clip_frames < 3:
        raise ValueError(f"clip_frames must be at least 3, got {clip_frames}")
    if fps <= 0 or native_fps <= 0:
        raise ValueError(f"fps and native_fps must be positive, got {fps} and {native_fps}")
    windows: list[list[int]] = []
    start = 0
    while True:
        window = [start + int(math.floor(k * fps / native_fps + 0.5)) for k in range(clip_frames)]
        if window[-1] >= frame_count:
            return windows
        windows.append(window)
        start = window[-1] + 1


def resized(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """``frame`` at ``width`` x ``height`` (Lanczos), as training clips are stored."""
    return np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.LANCZOS))


def make_clips(
    videos: Iterable[tuple[np.ndarray, float]], clip_frames: int, native_fps: float, width: int, height: int
) -> list[np.ndarray]:
    """Every clip of every video, resized to ``width`` × ``height``.

    Args:
        videos: ``(frames, fps)``: ``uint8`` ``(n, h, w, 3)`` arrays and their rate (frames/s).
        clip_frames: frames per clip.
        native_fps: the clip's frame rate (the model's native rate, frames/s).
        width: training width (a multiple of the model's spatial multiple).
        height: training height.

    Returns:
        ``uint8`` ``(clip_frames, height, width, 3)`` arrays.
    """
    clips = []
    for video, fps in videos:
        for window in clip_windows(len(video), fps, clip_frames, native_fps):
            clips.append(np.stack([resized(video[i], width, height) for i in window]))
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
