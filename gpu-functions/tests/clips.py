"""Synthetic clips with exact, known content for the tests (made with PyAV here, nothing downloaded)."""

from __future__ import annotations

import base64
import io
from fractions import Fraction
from typing import Optional

import av
import numpy as np
from PIL import Image


def smooth_texture(width: int, height: int, seed: int, tint=(1.0, 1.0, 1.0)) -> np.ndarray:
    """A photo-like still: low-frequency noise with some detail, RGB uint8."""
    rng = np.random.default_rng(seed)
    layers = []
    for scale, weight in ((8, 1.0), (24, 0.5), (64, 0.25)):
        small = rng.random((max(2, height // scale), max(2, width // scale), 3)).astype(np.float32)
        layers.append(np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((width, height), Image.BICUBIC)).astype(np.float32) * weight)
    image = sum(layers) / 1.75
    return np.clip(image * np.array(tint, dtype=np.float32), 0, 255).astype(np.uint8)


def encode_frames(frames: list[np.ndarray], fps: int = 24, codec: str = "libx264", fmt: str = "mp4", rotation: Optional[int] = None, crf: int = 12) -> bytes:
    """Frames as a video file in memory (H.264 MP4 by default; ``rotation`` sets a display matrix)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": "veryfast"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def decode_frames(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def duration_seconds(data: bytes) -> float:
    """End time of the last frame minus start of the first, from the packets (no decoding)."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size > 0 and p.pts is not None]
        start = min(p.pts for p in packets)
        end = max(p.pts + (p.duration or 0) for p in packets)
        return float((end - start) * stream.time_base)


def pan_clip(pixels_per_frame: float, frames: int = 24, width: int = 320, height: int = 240, seed: int = 1) -> tuple[bytes, list[np.ndarray]]:
    """A camera panning right over a still: the window moves right, the content left."""
    still = smooth_texture(width * 2, height, seed)
    shots = [np.ascontiguousarray(still[:, round(i * pixels_per_frame) : round(i * pixels_per_frame) + width]) for i in range(frames)]
    return encode_frames(shots), shots


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def encode_webp(frame: np.ndarray, quality: int = 90) -> bytes:
    """An RGB frame as a WebP file (a keyframe as encoders code it)."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="WEBP", quality=quality)
    return buffer.getvalue()
