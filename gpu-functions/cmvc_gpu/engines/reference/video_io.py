"""Reading sources, decoding with PyAV, writing H.264 MP4 / VP9 WebM, and remuxing parts with FFmpeg.

Frames are ``uint8`` arrays of shape ``(height, width, 3)`` in RGB.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction

import av
import httpx
import numpy as np

from ...errors import ContractError

MIME_TYPES = {"mp4": "video/mp4", "webm": "video/webm", "mpegts": "video/mp2t"}


@dataclass
class Decoded:
    frames: list[np.ndarray]
    fps: float
    codec: str
    rotation: int
    duration_seconds: float


def read_source(source: dict, max_bytes: int, timeout_seconds: float = 60.0) -> bytes:
    """The bytes of a contract ``VideoSource``; ``too_large`` past ``max_bytes`` (checked while fetching)."""
    if "data" in source:
        if len(source["data"]) * 3 // 4 > max_bytes:
            raise ContractError("too_large", f"the video is larger than {max_bytes} bytes")
        try:
            data = base64.b64decode(source["data"], validate=True)
        except (binascii.Error, ValueError) as error:
            raise ContractError("invalid_request", f"video.data is not standard base64 ({error})") from None
        return data
    chunks: list[bytes] = []
    total = 0
    try:
        with httpx.stream("GET", source["url"], timeout=timeout_seconds, follow_redirects=True) as response:
            if response.status_code != 200:
                raise ContractError("fetch_failed", f"the source URL answered {response.status_code}")
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise ContractError("too_large", f"the video is larger than {max_bytes} bytes")
                chunks.append(chunk)
    except httpx.HTTPError as error:
        raise ContractError("fetch_failed", f"the source URL could not be read ({type(error).__name__})") from None
    return b"".join(chunks)


def decode(data: bytes, max_duration_seconds: float, max_frames: int, analysis_width: int | None = None) -> Decoded:
    """Decodes every frame of the first video stream, respecting rotation metadata.

    ``analysis_width`` (pixels) downscales frames as they are decoded, to save memory and time.
    """
    if not data:
        raise ContractError("undecodable_video", "the video is empty")
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError) as error:
        raise ContractError("undecodable_video", f"not a video FFmpeg can read ({type(error).__name__})") from None
    with container:
        if not container.streams.video:
            raise ContractError("undecodable_video", "the file has no video stream")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise ContractError("unsupported_codec", "the video codec is not supported")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 25.0
        if stream.duration is not None and stream.time_base is not None and float(stream.duration * stream.time_base) > max_duration_seconds:
            raise ContractError("too_long", f"the video is longer than {max_duration_seconds:g} seconds")
        frames: list[np.ndarray] = []
        rotation = 0
        try:
            for frame in container.decode(stream):
                rotation = int(getattr(frame, "rotation", 0) or 0)
                if analysis_width is not None and frame.width > analysis_width:
                    height = max(2, round(frame.height * analysis_width / frame.width / 2) * 2)
                    frame = frame.reformat(width=analysis_width, height=height)
                image = frame.to_ndarray(format="rgb24")
                if rotation:
                    image = np.ascontiguousarray(np.rot90(image, k=(rotation // 90) % 4))
                frames.append(image)
                if len(frames) > max_frames or len(frames) / fps > max_duration_seconds:
                    raise ContractError("too_long", f"the video is longer than {max_duration_seconds:g} seconds or {max_frames} frames")
        except av.FFmpegError:
            if not frames:
                raise ContractError("undecodable_video", "no frame could be decoded") from None
        codec = stream.codec_context.name
    if not frames:
        raise ContractError("undecodable_video", "no frame could be decoded")
    return Decoded(frames=frames, fps=fps, codec=codec, rotation=rotation, duration_seconds=len(frames) / fps)


def encode(frames: list[np.ndarray], fps: float, container: str = "mp4") -> bytes:
    """Encodes frames as H.264 MP4 (``+faststart``, yuv420p) or VP9 WebM; dimensions must be even."""
    height, width = frames[0].shape[:2]
    fmt = "mp4" if container == "mp4" else "webm"
    options = {"movflags": "+faststart"} if fmt == "mp4" else {}
    # faststart rewrites the file after the trailer, so the muxer needs a real file, not a buffer.
    with tempfile.TemporaryDirectory(prefix="cmvc-encode-") as tmp:
        path = os.path.join(tmp, f"out.{fmt}")
        with av.open(path, mode="w", format=fmt, options=options) as out:
            stream = out.add_stream("libx264" if fmt == "mp4" else "libvpx-vp9", rate=Fraction(fps).limit_denominator(1001))
            stream.width = width
            stream.height = height
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "20", "preset": "veryfast"} if fmt == "mp4" else {"crf": "32", "b": "0", "deadline": "realtime", "cpu-used": "8"}
            for image in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        with open(path, "rb") as f:
            return f.read()


def remux(parts: list[bytes], container: str, time_offset_seconds: float = 0.0) -> bytes:
    """Concatenates parts of one geometry and codec without re-encoding (FFmpeg's concat demuxer),
    into MP4 (``+faststart``) or MPEG-TS with every timestamp moved by ``time_offset_seconds``."""
    with tempfile.TemporaryDirectory(prefix="cmvc-remux-") as tmp:
        listing = os.path.join(tmp, "parts.txt")
        with open(listing, "w") as f:
            for i, part in enumerate(parts):
                path = os.path.join(tmp, f"part{i}.mp4")
                with open(path, "wb") as p:
                    p.write(part)
                f.write(f"file '{path}'\n")
        out = os.path.join(tmp, "out." + ("ts" if container == "mpegts" else container))
        command = ["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", listing, "-c", "copy"]
        if container == "mpegts":
            command += ["-output_ts_offset", f"{time_offset_seconds:.6f}", "-muxdelay", "0", "-muxpreload", "0", "-f", "mpegts"]
        elif container == "mp4":
            command += ["-movflags", "+faststart"]
        result = subprocess.run(command + [out], capture_output=True, timeout=300)
        if result.returncode != 0:
            raise ContractError("undecodable_video", "the parts could not be joined: " + result.stderr.decode(errors="replace")[-300:].strip())
        with open(out, "rb") as f:
            return f.read()


def probe(data: bytes) -> tuple[int, int, float, int]:
    """``(width, height, fps, frame count)`` of a video, by decoding it."""
    decoded = decode(data, max_duration_seconds=86_400, max_frames=10**7)
    height, width = decoded.frames[0].shape[:2]
    return width, height, decoded.fps, len(decoded.frames)


def frames_at(data: bytes, indices: set[int], max_width: int) -> dict[int, np.ndarray]:
    """The frames at ``indices`` (decode order), at most ``max_width`` pixels wide, rotation applied."""
    found: dict[int, np.ndarray] = {}
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        for i, frame in enumerate(container.decode(stream)):
            if i in indices:
                rotation = int(getattr(frame, "rotation", 0) or 0)
                if frame.width > max_width:
                    frame = frame.reformat(width=max_width, height=max(2, round(frame.height * max_width / frame.width)))
                image = frame.to_ndarray(format="rgb24")
                found[i] = np.ascontiguousarray(np.rot90(image, k=(rotation // 90) % 4)) if rotation else image
                if len(found) == len(indices):
                    break
    return found
