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
    resampled: whether ``fps`` was asked for rather than read (see ``probe``'s ``frame_rate``), so that
    frames are placed on its grid by their timestamps. resampled_seconds: then, how long the file lasts
    from its first frame, by the end of its last packet of any stream (None when no packet says).
    """

    width: int
    height: int
    fps: float
    codec: str
    rotation: int
    declared_frames: int
    declared_seconds: Optional[float]
    exact_index: bool = False
    resampled: bool = False
    resampled_seconds: Optional[float] = None


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


def probe(data: bytes, limits: Limits, frame_rate: Optional[float] = None) -> StreamInfo:
    """The stream's description (decoding only its first frame) after the header checks:
    ``too_large`` beyond the geometry limits, ``too_long`` beyond the duration or frame limits.

    ``frame_rate`` (frames per second; None: the stream's own) resamples the video to that constant
    rate by its frames' timestamps: what a camera's recorder (a browser's ``MediaRecorder``) writes
    carries frames at a variable rate and a header that states none."""
    with _open(data) as container:
        stream = _video_stream(container)
        fps = float(frame_rate) if frame_rate is not None else _fps(stream)
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
        exact_index = "mp4" in container.format.name.split(",") and frame_rate is None
    until = _packets_end(data, first) if frame_rate is not None else None
    return StreamInfo(width, height, fps, stream.codec_context.name, rotation, declared_frames, declared_seconds, exact_index, frame_rate is not None, until)


def _packets_end(data: bytes, first: "av.VideoFrame") -> Optional[float]:
    """Seconds from the first video frame to the end of the last packet of any stream (demuxed, not decoded):
    a recording's video may stop before its sound does (a camera that delivers no new frame keeps its picture)."""
    start = _timestamp(first)
    if start is None:
        return None
    end: Optional[float] = None
    with _open(data) as container:
        try:
            for packet in container.demux():
                if packet.pts is None or packet.time_base is None:
                    continue
                at = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                end = at if end is None else max(end, at)
        except av.FFmpegError:
            pass
    return None if end is None else max(0.0, end - start)


def _timestamp(frame: "av.VideoFrame") -> Optional[float]:
    return float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base is not None else None


def _on_grid(decoded: Iterator["av.VideoFrame"], fps: float, until: Optional[float] = None) -> Iterator["av.VideoFrame"]:
    """The frames at a constant ``fps`` from the first frame's timestamp: grid time k / fps shows the last frame
    whose timestamp is at most half a grid step past it (a frame repeated where the source has a gap, one
    skipped where it has two in a step). The last frame lasts as long as the median step between the
    source's frames before it, and at least ``until`` seconds from the first (the end of the file's last
    packet: a camera that sent no new frame for the last second kept its picture). Frames without a
    timestamp follow the previous one by one grid step."""
    first: Optional[float] = None
    held: Optional["av.VideoFrame"] = None
    held_at = 0.0
    steps: list[float] = []
    k = 0
    for frame in decoded:
        at = _timestamp(frame)
        if first is None:
            first = at if at is not None else 0.0
        at = (at - first) if at is not None else held_at + 1 / fps
        if held is not None:
            steps.append(at - held_at)
            while k / fps + 0.5 / fps < at:
                yield held
                k += 1
        held, held_at = frame, max(at, held_at)
    if held is None:
        return
    positive = sorted(step for step in steps if step > 0)
    end = held_at + (positive[len(positive) // 2] if positive else 1 / fps)
    if until is not None:
        end = max(end, until)
    while k / fps + 0.5 / fps < end:
        yield held
        k += 1


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
            decoded = _decoded(container, stream)
            for frame in _on_grid(decoded, info.fps, info.resampled_seconds) if info.resampled else decoded:
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
