"""Decoding whatever FFmpeg reads (MP4/H.264 with audio, AVI, MPEG-4 Part 2, WebM, …) with PyAV.

Frames are ``uint8`` arrays of shape ``(height, width, 3)``, RGB, in display orientation (the
display matrix side data, or an old-style ``rotate`` tag, is applied). The frame rate comes from
the stream (average rate, else guessed rate); the frame count is counted by decoding. Limits are
checked from the header before decoding and again while decoding.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import av
import numpy as np

from ..errors import ContractError
from ..limits import Limits

log = logging.getLogger("cmvc_gpu")

#: Frame rate assumed when a stream states none, frames per second.
FALLBACK_FPS = 25.0
#: A decode error after this fraction of the declared frames keeps what was decoded (a damaged tail).
TOLERATED_FRACTION = 0.9


@dataclass(frozen=True)
class StreamInfo:
    """The first video stream of a file.

    width / height: display geometry in pixels (rotation applied). fps: frames per second.
    codec: FFmpeg's decoder name (``h264``, ``mpeg4``, ``vp9``). rotation: degrees counter-clockwise
    applied for display (0, 90, 180, 270). declared_frames: from the container header, 0 if unknown.
    declared_seconds: from the container, None if unknown. exact_index: whether the container's
    frame count is an exact index (MP4/MOV), so that decoding fewer frames means a truncated file.
    """

    width: int
    height: int
    fps: float
    codec: str
    rotation: int
    declared_frames: int
    declared_seconds: Optional[float]
    exact_index: bool = False


def _open(data: bytes) -> "av.container.InputContainer":
    if not data:
        raise ContractError("undecodable_video", "the video is empty (0 bytes)")
    try:
        return av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError, OSError, UnicodeDecodeError):
        raise ContractError("undecodable_video", "the data is not a video FFmpeg can read") from None


def _video_stream(container: "av.container.InputContainer") -> "av.VideoStream":
    if not container.streams.video:
        raise ContractError("undecodable_video", "the file has no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise ContractError("unsupported_codec", "the video stream's codec has no decoder here")
    stream.thread_type = "AUTO"
    return stream


def _fps(stream: "av.VideoStream") -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < float(rate) <= 1000:
            return float(rate)
    return FALLBACK_FPS


def _tag_rotation(stream: "av.VideoStream") -> int:
    """Counter-clockwise degrees from an old-style ``rotate`` tag (which states clockwise degrees)."""
    try:
        return (-int(float(stream.metadata.get("rotate", "0")))) % 360
    except ValueError:
        return 0


def _rotation(frame: "av.VideoFrame", stream: "av.VideoStream") -> int:
    rotation = int(round(float(getattr(frame, "rotation", 0) or 0))) % 360
    if rotation == 0:
        rotation = _tag_rotation(stream)
    return (round(rotation / 90) * 90) % 360


def _decoded(container: "av.container.InputContainer", stream: "av.VideoStream") -> Iterator["av.VideoFrame"]:
    """The stream's frames; a decoder that is missing becomes ``unsupported_codec``."""
    try:
        yield from container.decode(stream)
    except (av.error.DecoderNotFoundError, av.error.PatchWelcomeError):
        raise ContractError("unsupported_codec", f"the {stream.codec_context.name} video codec cannot be decoded here") from None


def probe(data: bytes, limits: Limits) -> StreamInfo:
    """The stream's description (decoding only its first frame) after the header checks:
    ``too_large`` beyond the geometry limits, ``too_long`` beyond the duration or frame limits."""
    with _open(data) as container:
        stream = _video_stream(container)
        fps = _fps(stream)
        declared_seconds: Optional[float] = None
        if stream.duration is not None and stream.time_base is not None:
            declared_seconds = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            declared_seconds = container.duration / av.time_base
        if declared_seconds is not None and declared_seconds > limits.max_duration_seconds + 0.5 / fps:
            raise ContractError("too_long", f"the video lasts {declared_seconds:.2f} s, longer than the limit of {limits.max_duration_seconds:g} s")
        declared_frames = int(stream.frames or 0)
        if declared_frames > limits.max_frame_count:
            raise ContractError("too_long", f"the video has {declared_frames} frames, more than the limit of {limits.max_frame_count}")
        try:
            first = next(iter(_decoded(container, stream)), None)
        except av.FFmpegError:
            first = None
        if first is None:
            raise ContractError("undecodable_video", "no frame of the video could be decoded")
        rotation = _rotation(first, stream)
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        if width > limits.max_width or height > limits.max_height:
            raise ContractError("too_large", f"the video is {width}x{height}, larger than the limit of {limits.max_width}x{limits.max_height}")
        exact_index = "mp4" in container.format.name.split(",")
        return StreamInfo(width, height, fps, stream.codec_context.name, rotation, declared_frames, declared_seconds, exact_index)


def _to_rgb(frame: "av.VideoFrame", rotation: int, max_width: Optional[int]) -> np.ndarray:
    stored_w, stored_h = frame.width, frame.height
    display_w = stored_h if rotation in (90, 270) else stored_w
    if max_width is not None and display_w > max_width:
        scale = max_width / display_w
        frame = frame.reformat(width=max(2, round(stored_w * scale)), height=max(2, round(stored_h * scale)), format="rgb24", interpolation="AREA")
    image = frame.to_ndarray(format="rgb24")
    if rotation:
        image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
    return image


def frames(data: bytes, limits: Limits, max_width: Optional[int] = None, info: Optional[StreamInfo] = None, wanted: Optional[set[int]] = None) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, frame)`` for every decoded frame (or only the indices in ``wanted``; decoding stops
    after the last of them), at most ``max_width`` pixels wide (aspect kept; area resampling).

    Raises ``too_long`` past ``limits.max_frame_count`` or ``limits.max_duration_seconds`` and
    ``undecodable_video`` when decoding breaks before ``TOLERATED_FRACTION`` of the declared frames
    (or, for an MP4 whose index is exact, stops short of it). Headers of other containers can be
    wrong about the frame count (FFmpeg plays what decodes), so there what decodes is kept.
    """
    info = info if info is not None else probe(data, limits)
    last_wanted = max(wanted) if wanted else None
    count = 0
    with _open(data) as container:
        stream = _video_stream(container)
        try:
            for frame in _decoded(container, stream):
                count += 1
                if count > limits.max_frame_count:
                    raise ContractError("too_long", f"the video has more than {limits.max_frame_count} frames")
                if count / info.fps > limits.max_duration_seconds + 0.5 / info.fps:
                    raise ContractError("too_long", f"the video is longer than the limit of {limits.max_duration_seconds:g} s")
                index = count - 1
                if wanted is None or index in wanted:
                    yield index, _to_rgb(frame, info.rotation, max_width)
                if last_wanted is not None and index >= last_wanted:
                    return
        except av.FFmpegError as error:
            if count == 0 or count < TOLERATED_FRACTION * info.declared_frames:
                raise ContractError("undecodable_video", f"the video is damaged: decoding failed after {count} frames") from None
            log.warning("decoding stopped after %d frames: %s", count, type(error).__name__)
    if count == 0:
        raise ContractError("undecodable_video", "no frame of the video could be decoded")
    if info.exact_index and count < TOLERATED_FRACTION * info.declared_frames and wanted is None:
        raise ContractError("undecodable_video", f"the video is truncated: {count} of {info.declared_frames} frames decode")
