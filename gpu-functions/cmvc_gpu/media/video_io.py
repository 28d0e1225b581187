"""Writing videos with PyAV — H.264 MP4 (yuv420p, ``+faststart``, no B-frames) or VP9 WebM — and
concatenating parts by remuxing their packets (no re-encoding) into MP4, WebM or MPEG-TS.

Frames are ``uint8`` arrays of shape ``(height, width, 3)``, RGB. Also re-exports the readers both
engines share (``read_source``, ``decode``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import av
import numpy as np

from ..errors import ContractError
from ..limits import Limits
from . import audio as _audio
from . import decode as _decode
from .sources import read_source

__all__ = ["MIME_TYPES", "Decoded", "VideoWriter", "encode", "remux", "Remuxed", "decode", "read_source", "probe"]

MIME_TYPES = {"mp4": "video/mp4", "webm": "video/webm", "mpegts": "video/mp2t"}
#: x264 constant rate factor of generated MP4s (lower: better and larger).
H264_CRF = 20
#: libvpx-vp9 constant quality of generated WebMs.
VP9_CRF = 32
#: Codecs each output container accepts when remuxing.
REMUX_CODECS = {"mp4": {"h264", "hevc", "vp9", "av1"}, "webm": {"vp8", "vp9", "av1"}, "mpegts": {"h264", "hevc"}}


def check_even(width: int, height: int, field: str = "width") -> None:
    """yuv420p needs even sides: ``invalid_request`` naming the odd one (no silent rounding)."""
    if width % 2 or height % 2:
        odd = ("width" if width % 2 else "height") if field == "width" else field
        raise ContractError("invalid_request", f"{odd} must be even for yuv420p video, got {width}x{height}", details={"field": odd})


class VideoWriter:
    """Streams frames into an H.264 MP4 or a VP9 WebM.

    width / height: pixels, both even. fps: frames per second (a float; stored as a fraction with
    denominator at most 1001). container: ``mp4`` or ``webm``. Use as a context manager; after it
    closes, ``data`` holds the file and ``frame_count`` the frames written.
    """

    def __init__(self, width: int, height: int, fps: float, container: str = "mp4") -> None:
        if container not in ("mp4", "webm"):
            raise ValueError(f"container must be 'mp4' or 'webm', got {container!r}")
        check_even(width, height)
        self.width, self.height, self.fps, self.container = width, height, fps, container
        self.frame_count = 0
        self.data: bytes = b""
        # +faststart rewrites the file after the trailer, so the muxer needs a real file.
        self._tmp = tempfile.TemporaryDirectory(prefix="cmvc-video-")
        self._path = os.path.join(self._tmp.name, f"out.{container}")
        options = {"movflags": "+faststart"} if container == "mp4" else {}
        self._out = av.open(self._path, mode="w", format=container, options=options)
        rate = Fraction(fps).limit_denominator(1001)
        if container == "mp4":
            self._stream = self._out.add_stream("libx264", rate=rate)
            self._stream.options = {"crf": str(H264_CRF), "preset": "veryfast", "bf": "0", "profile": "high"}
        else:
            self._stream = self._out.add_stream("libvpx-vp9", rate=rate)
            self._stream.options = {"crf": str(VP9_CRF), "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"

    def write(self, image: np.ndarray) -> None:
        """Appends one RGB frame of the writer's geometry."""
        if image.shape != (self.height, self.width, 3):
            raise ValueError(f"frame shape {image.shape} does not match {(self.height, self.width, 3)}")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image, dtype=np.uint8), format="rgb24")
        for packet in self._stream.encode(frame):
            self._out.mux(packet)
        self.frame_count += 1

    def close(self) -> bytes:
        if self._out is not None:
            try:
                for packet in self._stream.encode():
                    self._out.mux(packet)
            finally:
                self._out.close()
                self._out = None
            with open(self._path, "rb") as f:
                self.data = f.read()
            self._tmp.cleanup()
        return self.data

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            if self._out is not None:
                self._out.close()
                self._out = None
            self._tmp.cleanup()


def encode(frames: Iterable[np.ndarray], fps: float, container: str = "mp4") -> bytes:
    """The frames (a list or any iterable; geometry from the first) as an MP4 or WebM file."""
    writer: Optional[VideoWriter] = None
    try:
        for image in frames:
            if writer is None:
                writer = VideoWriter(image.shape[1], image.shape[0], fps, container)
            writer.write(image)
        if writer is None:
            raise ValueError("no frames to encode")
        return writer.close()
    finally:
        if writer is not None and writer._out is not None:
            writer.__exit__(RuntimeError, None, None)


@dataclass(frozen=True)
class Remuxed:
    data: bytes
    width: int
    height: int
    fps: float
    frame_count: int
    codec: str


def remux(parts: list[bytes], container: str, time_offset_seconds: float = 0.0, audio: Optional["_audio.AudioTrack"] = None) -> Remuxed:
    """Concatenates the video streams of ``parts`` (one geometry and codec) without re-encoding.

    Each part's timestamps are moved by the summed durations of the parts before it (seconds),
    plus ``time_offset_seconds`` for every packet (MPEG-TS HLS segments continue each other; in MP4
    an offset becomes an initial edit). Output: MP4 (``+faststart``), WebM or MPEG-TS. With ``audio``,
    the file also carries that sound as AAC-LC, its first sample at the video's first frame (MP4 and
    MPEG-TS only). Raises ``invalid_request`` naming ``parts[i]`` for a part that does not match the first.
    """
    if audio is not None and container not in ("mp4", "mpegts"):
        raise ContractError("invalid_request", f"audio is carried in mp4 and mpegts, not {container}", details={"field": "audio"})
    inputs = [_decode._open(data) for data in parts]
    try:
        streams = []
        for i, container_in in enumerate(inputs):
            try:
                stream = _decode._video_stream(container_in)
            except ContractError as error:
                raise ContractError(error.code, f"parts[{i}]: {error.message}", details={"field": f"parts[{i}]"}) from None
            streams.append(stream)
        first = streams[0]
        codec = first.codec_context.name
        if codec not in REMUX_CODECS[container]:
            raise ContractError("invalid_request", f"{codec} video cannot be remuxed into {container}; accepted: {', '.join(sorted(REMUX_CODECS[container]))}", details={"field": "container"})
        for i, stream in enumerate(streams[1:], start=1):
            if (stream.codec_context.name, stream.width, stream.height) != (codec, first.width, first.height):
                raise ContractError(
                    "invalid_request",
                    f"parts[{i}] is {stream.codec_context.name} {stream.width}x{stream.height}, unlike parts[0] ({codec} {first.width}x{first.height})",
                    details={"field": f"parts[{i}]"},
                )
        fps = _decode._fps(first)
        with tempfile.TemporaryDirectory(prefix="cmvc-remux-") as tmp:
            path = os.path.join(tmp, "out")
            options = {"movflags": "+faststart"} if container == "mp4" else {}
            frame_count = 0
            with av.open(path, mode="w", format=container, options=options) as out:
                out_stream = out.add_stream_from_template(first)
                audio_stream = _audio.add_aac_stream(out, audio.pcm.shape[0]) if audio is not None else None
                elapsed = time_offset_seconds  # seconds where the next part starts
                last_dts_seconds: Optional[float] = None
                for i, (container_in, stream) in enumerate(zip(inputs, streams)):
                    tb = stream.time_base
                    packets = [p for p in container_in.demux(stream) if p.size > 0 and p.pts is not None]
                    if not packets:
                        raise ContractError("undecodable_video", f"parts[{i}] has no video packets", details={"field": f"parts[{i}]"})
                    start = min(p.pts for p in packets)
                    first_dts = min(p.dts if p.dts is not None else p.pts for p in packets)
                    offset = round(elapsed / tb) - start
                    if last_dts_seconds is not None and float((first_dts + offset) * tb) <= last_dts_seconds:
                        offset = round(last_dts_seconds / tb) + 1 - first_dts  # keep dts increasing
                    end = start
                    for packet in packets:
                        duration = packet.duration or round(1 / (fps * tb))
                        end = max(end, packet.pts + duration)
                        packet.pts += offset
                        if packet.dts is not None:
                            packet.dts += offset
                            last_dts_seconds = float(packet.dts * tb)
                        packet.stream = out_stream
                        out.mux(packet)
                        frame_count += 1
                    elapsed = float((end + offset) * tb)
                if audio is not None and audio_stream is not None:
                    _audio.mux_aac(out, audio_stream, audio, time_offset_seconds)
            with open(path, "rb") as f:
                data = f.read()
        return Remuxed(data, first.width, first.height, fps, frame_count, codec)
    except av.FFmpegError as error:
        raise ContractError("invalid_request", f"the parts could not be joined into {container} ({type(error).__name__})") from None
    finally:
        for container_in in inputs:
            container_in.close()


# --- readers shared with the model engine -------------------------------------------------------


@dataclass
class Decoded:
    """Every frame of a video (RGB ``uint8``, display orientation) and its description."""

    frames: list[np.ndarray]
    fps: float
    codec: str
    rotation: int
    duration_seconds: float


def decode(data: bytes, max_duration_seconds: float, max_frames: int, analysis_width: Optional[int] = None) -> Decoded:
    """All frames of ``data`` in memory (for short clips; the engines stream with ``decode.frames``).

    max_duration_seconds / max_frames: limits (``too_long`` beyond them). analysis_width: pixels,
    frames wider than this are scaled down as they are decoded.
    """
    limits = Limits(max_duration_seconds=max_duration_seconds, max_frame_count=max_frames, max_width=10**6, max_height=10**6)
    info = _decode.probe(data, limits)
    frames = [image for _, image in _decode.frames(data, limits, analysis_width, info)]
    return Decoded(frames=frames, fps=info.fps, codec=info.codec, rotation=info.rotation, duration_seconds=len(frames) / info.fps)


def probe(data: bytes) -> tuple[int, int, float, int]:
    """``(width, height, fps, frame count)`` of a video, counting frames by decoding."""
    limits = Limits(max_duration_seconds=10**9, max_frame_count=10**9, max_width=10**6, max_height=10**6)
    info = _decode.probe(data, limits)
    count = sum(1 for _ in _decode.frames(data, limits, 16, info))
    return info.width, info.height, info.fps, count

