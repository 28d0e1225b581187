"""Pre- and post-processing around the models: frame sampling, scene cuts, keyframe choice,
geometry, time resampling and text cleanup. numpy and Pillow only (no torch), tested plainly.

Frames are ``uint8`` arrays shaped ``(frames, height, width, 3)`` (RGB) throughout.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Optional

import numpy as np
from PIL import Image


def sample_indices(start: int, count: int, n: int) -> list[int]:
    """``n`` frame indices spread uniformly over ``[start, start + count)``: the centre of each of
    ``n`` equal bins. Fewer frames than ``n`` repeat frames (the MLLM wants exactly ``n``).

    >>> sample_indices(0, 8, 4)
    [1, 3, 5, 7]
    >>> sample_indices(10, 3, 4)
    [10, 11, 11, 12]
    """
    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    return [start + min(count - 1, int((i + 0.5) * count / n)) for i in range(n)]


def mllm_frame_count(seconds: float, most: int, temporal_patch: int, tokens_per_second: Optional[float]) -> int:
    """Frames shown to a Qwen2.5-VL-style MLLM for a segment of ``seconds``: at most ``most``, and few
    enough that each temporal patch (``temporal_patch`` frames, ``temporal_patch / rate`` seconds at
    rate = n / seconds) advances the temporal position by at least one (positions are
    ``int(patch index × tokens_per_second × seconds per patch)``): more frames would share positions
    and the model would read them as simultaneous. A whole number of patches, at least one.
    ``tokens_per_second`` None (a model without time positions): ``most``.

    >>> mllm_frame_count(10.0, 16, 2, 2.0), mllm_frame_count(2.0, 16, 2, 2.0), mllm_frame_count(0.3, 16, 2, 2.0)
    (16, 8, 2)
    """
    if seconds <= 0 or most < temporal_patch or temporal_patch < 1:
        raise ValueError(f"need seconds > 0 and most >= temporal_patch >= 1, got {seconds}, {most}, {temporal_patch}")
    if tokens_per_second is None:
        return most
    fitting = int(math.floor(temporal_patch * seconds * tokens_per_second + 1e-9))
    return max(temporal_patch, min(most, fitting) // temporal_patch * temporal_patch)


def analysis_indices(frame_count: int, fps: float, analysis_fps: float) -> list[int]:
    """The frames embedded for scene cuts: every ``fps / analysis_fps``-th frame, at least every
    frame once ``analysis_fps >= fps``; always includes frame 0."""
    if frame_count < 1:
        raise ValueError(f"frame_count must be positive, got {frame_count}")
    step = max(1, int(round(fps / analysis_fps)))
    return list(range(0, frame_count, step))


def _normalise(embeddings: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.maximum(norms, 1e-12)


def scene_segments(
    embeddings: np.ndarray,
    indices: Sequence[int],
    frame_count: int,
    fps: float,
    threshold: float,
    min_seconds: float,
    max_seconds: float,
) -> list[tuple[int, int]]:
    """Cuts a video into scenes from the embeddings of its analysed frames.

    A cut goes before an analysed frame whose cosine distance to the previous analysed frame
    exceeds ``threshold``, unless the scene so far is shorter than ``min_seconds``; a scene reaching
    ``max_seconds`` is cut regardless (at the analysed frame nearest the limit, or at the limit
    itself when frames are sparse).

    Args:
        embeddings: ``(len(indices), dim)`` float array.
        indices: the analysed frames' indices, increasing, starting at 0.
        frame_count: frames in the video.
        fps: the video's frame rate (frames/s).
        threshold: cosine distance (0..2) that starts a new scene.
        min_seconds: shortest scene (s), except the last one.
        max_seconds: longest scene (s).

    Returns:
        ``(start_frame, frame_count)`` per scene, covering every frame exactly once.
    """
    if len(indices) != len(embeddings):
        raise ValueError(f"{len(indices)} indices but {len(embeddings)} embeddings")
    if min_seconds > max_seconds:
        raise ValueError(f"min_seconds {min_seconds} exceeds max_seconds {max_seconds}")
    min_frames = max(1, int(round(min_seconds * fps)))
    max_frames = max(1, int(math.floor(max_seconds * fps)))
    unit = _normalise(np.asarray(embeddings, dtype=np.float64))
    distances = [0.0] + [float(1.0 - unit[i] @ unit[i - 1]) for i in range(1, len(unit))]
    cuts = [0]
    for index, distance in zip(indices, distances):
        while index - cuts[-1] > max_frames:
            cuts.append(cuts[-1] + max_frames)
        if index > cuts[-1] and distance > threshold and index - cuts[-1] >= min_frames:
            cuts.append(index)
    while frame_count - cuts[-1] > max_frames:
        cuts.append(cuts[-1] + max_frames)
    bounds = cuts + [frame_count]
    return [(bounds[i], bounds[i + 1] - bounds[i]) for i in range(len(cuts))]


def representative_index(embeddings: np.ndarray) -> int:
    """The position of the embedding closest (in cosine similarity) to the mean of the unit
    embeddings: the frame most representative of its scene, as CMVC picks keyframes."""
    if len(embeddings) == 0:
        raise ValueError("no embeddings")
    unit = _normalise(np.asarray(embeddings, dtype=np.float64))
    centre = unit.mean(axis=0)
    return int(np.argmax(unit @ centre))


def model_geometry(width: int, height: int, multiple: int, max_area: int) -> tuple[int, int]:
    """The size a video model generates for a requested ``width`` × ``height``: the same aspect,
    scaled down to at most ``max_area`` pixels, each side rounded to a multiple of ``multiple``
    (at least one multiple). The frames are resized to the exact request afterwards."""
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be positive, got {width}x{height}")
    scale = min(1.0, math.sqrt(max_area / (width * height)))
    w = max(multiple, int(math.floor(width * scale / multiple + 0.5)) * multiple)
    h = max(multiple, int(math.floor(height * scale / multiple + 0.5)) * multiple)
    while w * h > max_area and max(w, h) > multiple:
        if w >= h:
            w -= multiple
        else:
            h -= multiple
    return w, h


def model_frame_count(frames: int, temporal_multiple: int) -> int:
    """The smallest ``temporal_multiple * k + 1`` that is at least ``frames``."""
    if frames < 1:
        raise ValueError(f"frames must be positive, got {frames}")
    return temporal_multiple * math.ceil((frames - 1) / temporal_multiple) + 1


def resample_indices(source_count: int, target_count: int) -> list[int]:
    """For each of ``target_count`` output frames spread over the same duration, the nearest of
    ``source_count`` input frames (first to first, last to last)."""
    if source_count < 1 or target_count < 1:
        raise ValueError(f"counts must be positive, got {source_count} and {target_count}")
    if target_count == 1:
        return [0]
    return [int(round(i * (source_count - 1) / (target_count - 1))) for i in range(target_count)]


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Float frames in [0, 1] (a diffusers ``output_type="np"`` result) as ``uint8``."""
    return (np.clip(frames, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def cover_box(width: int, height: int, to_width: int, to_height: int) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)``: the centred box of a ``width`` × ``height`` picture with the
    aspect of ``to_width`` × ``to_height``, what scaling to cover the target then cropping keeps (the
    aspect is never changed: nothing is stretched)."""
    if width * to_height > height * to_width:  # wider than the target: crop the sides
        kept = height * to_width / to_height
        left = (width - kept) / 2
        return int(round(left)), 0, int(round(left + kept)), height
    kept = width * to_height / to_width
    top = (height - kept) / 2
    return 0, int(round(top)), width, int(round(top + kept))


def cover_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Each frame at ``width`` × ``height`` with its aspect kept: scaled to cover the target and
    centre-cropped (Lanczos); returned as is when it already fits. A 16:9 source generated at 832x480
    loses 2.5% of its height instead of being stretched by as much."""
    if frames.ndim != 4 or frames.shape[3] != 3:
        raise ValueError(f"frames must be (n, h, w, 3), got {frames.shape}")
    if frames.shape[1] == height and frames.shape[2] == width:
        return frames
    box = cover_box(frames.shape[2], frames.shape[1], width, height)
    out = np.empty((frames.shape[0], height, width, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        out[i] = np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.LANCZOS, box=box))
    return out


def fit_clip(frames: np.ndarray, width: int, height: int, frame_count: int) -> np.ndarray:
    """A generated clip brought to the request: resampled in time to ``frame_count`` frames over
    the same duration, then brought to ``width`` × ``height`` with its aspect kept (``cover_frames``)."""
    picked = frames[resample_indices(len(frames), frame_count)]
    return cover_frames(picked, width, height)


_MARKDOWN = re.compile(r"(\*\*|__|`+|^#+\s*|^\s*[-*•]\s+|^\s*\d+[.)]\s+)", re.MULTILINE)
_LEADIN = re.compile(r"^(sure|certainly|here is|here's)[^.:]*[.:]\s*", re.IGNORECASE)


def clean_text(text: str, max_chars: int, fallback: str) -> str:
    """A model's answer made fit for a bitstream field.

    Strips markdown and chatty lead-ins, collapses whitespace, and cuts to at most ``max_chars``
    characters at the last sentence end (or else word boundary) inside the budget. An answer left
    empty becomes ``fallback`` (cut the same way), so the field is never empty.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    cleaned = _MARKDOWN.sub("", text)
    cleaned = " ".join(cleaned.split())
    cleaned = _LEADIN.sub("", cleaned).strip().strip('"').strip()
    if not cleaned:
        cleaned = " ".join(fallback.split())
    if len(cleaned) <= max_chars:
        return cleaned
    cut = cleaned[:max_chars]
    sentence_end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if sentence_end >= max_chars // 2:
        return cut[: sentence_end + 1]
    if cleaned[max_chars] == " ":
        return cut.rstrip()
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut).rstrip(" ,;:")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two ``uint8`` images or clips (inf when equal)."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def shifted_sigma(u: float, shift: float) -> float:
    """Wan's timestep shift: a uniform ``u`` in [0, 1] moved to the noise level the flow-matching
    scheduler uses, ``shift * u / (1 + (shift - 1) * u)`` (the same map as diffusers'
    ``FlowMatchEulerDiscreteScheduler(shift=...)`` applies to its sigmas)."""
    if shift <= 0:
        raise ValueError(f"shift must be positive, got {shift}")
    return shift * u / (1.0 + (shift - 1.0) * u)


def keyframe_positions(start: int, count: int, fps: float, max_gap_seconds: float) -> list[int]:
    """The frames of a segment ``[start, start + count)`` that get a keyframe: its first frame, then
    evenly spaced so no two neighbours are more than ``max_gap_seconds`` apart (the longest gap one
    first/last-frame call bridges); after the last one the generator extrapolates, which needs no
    keyframe within ``max_gap_seconds`` of the end either (it continues by image-to-video).

    >>> keyframe_positions(0, 240, 24.0, 5.0)
    [0, 120]
    >>> keyframe_positions(100, 96, 24.0, 5.0)
    [100]
    """
    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    if fps <= 0 or max_gap_seconds <= 0:
        raise ValueError(f"fps and max_gap_seconds must be positive, got {fps} and {max_gap_seconds}")
    max_gap = max(1, int(math.floor(max_gap_seconds * fps)))
    gaps = max(1, math.ceil((count - 1) / max_gap))
    step = (count - 1) / gaps if count > 1 else 0
    positions = sorted({start + int(round(j * step)) for j in range(gaps)})
    return positions
