"""The reference engine: the GPU function contract served with classical methods on the CPU.

encode: decode → scene cuts (histograms) → per segment: first frame as keyframe (coded under the
byte budget), a content text of its colour layout, a motion text from global motion.
generate: IT2V warps the keyframe along the motion text; TT2V paints the content text, then
applies the motion. interpolate: motion-compensated in-betweens. assemble: a remux.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

import numpy as np

from ...errors import ContractError
from ..base import Progress
from . import content, keyframe, motion, render, scenes, video_io

ENGINE_ID = "reference"
ENGINE_VERSION = "0.1.0"
#: Width (pixels) frames are analysed at; keyframes are cut from full-resolution frames.
ANALYSIS_WIDTH = 160


@dataclass
class Limits:
    max_upload_bytes: int = 256 * 1024 * 1024
    max_duration_seconds: float = 600.0
    max_width: int = 4096
    max_height: int = 4096
    max_frame_count: int = 10_000


def _seconds(started: float) -> dict:
    return {"gpu": 0.0, "cpu": round(time.perf_counter() - started, 4)}


class ReferenceEngine:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    def info(self) -> dict:
        return {"id": ENGINE_ID, "version": ENGINE_VERSION, "models": {}}

    def encode(self, request: dict, progress: Progress) -> dict:
        started = time.perf_counter()
        options = request["options"]
        data = video_io.read_source(request["video"], self.limits.max_upload_bytes)
        progress(0.05)
        decoded = video_io.decode(data, self.limits.max_duration_seconds, self.limits.max_frame_count, analysis_width=ANALYSIS_WIDTH)
        small, fps = decoded.frames, decoded.fps
        width, height = self._geometry(data)
        progress(0.4)
        min_frames = max(1, round(options["minSegmentSeconds"] * fps))
        max_frames = max(min_frames, round(options["maxSegmentSeconds"] * fps))
        starts = scenes.cut_points(small, min_frames, max_frames)
        ends = starts[1:] + [len(small)]
        keyframes = video_io.frames_at(data, set(starts), options["keyframeMaxWidth"])
        segments = []
        for index, (start, end) in enumerate(zip(starts, ends)):
            coded, kw, kh = keyframe.code_keyframe(keyframes[start], options["keyframeCodec"], options["keyframeBudgetBytes"], options["keyframeMaxWidth"])
            segments.append(
                {
                    "index": index,
                    "startFrame": start,
                    "frameCount": end - start,
                    "contentText": content.describe_content(small[start], width, height, options["maxTextChars"]),
                    "motionText": motion.describe_motion(motion.estimate(small[start:end], fps))[: options["maxTextChars"]],
                    "keyframe": {"codec": options["keyframeCodec"], "width": kw, "height": kh, "data": base64.b64encode(coded).decode()},
                }
            )
            progress(0.4 + 0.6 * (index + 1) / len(starts))
        return {
            "engine": self.info(),
            "video": {"width": width, "height": height, "fps": fps, "frameCount": len(small), "durationSeconds": len(small) / fps, "codec": decoded.codec, "rotation": decoded.rotation},
            "segments": segments,
            "seconds": _seconds(started),
        }

    def _geometry(self, data: bytes) -> tuple[int, int]:
        """Display width and height of the source in pixels (rotation applied), within the limits."""
        first = video_io.frames_at(data, {0}, max_width=10**6)[0]
        height, width = first.shape[:2]
        if width > self.limits.max_width or height > self.limits.max_height:
            raise ContractError("too_large", f"the video is {width}x{height}, larger than {self.limits.max_width}x{self.limits.max_height}")
        return width, height

    def generate(self, request: dict, progress: Progress) -> dict:
        started = time.perf_counter()
        width, height, fps, count = request["width"], request["height"], request["fps"], request["frameCount"]
        if width % 2 or height % 2:
            raise ContractError("invalid_request", f"width and height must be even for H.264, got {width}x{height}", details={"field": "width" if width % 2 else "height"})
        segment = request["segment"]
        moves = motion.parse_motion(segment["motionText"])
        if request["mode"] == "it2v":
            if segment.get("keyframe") is None:
                raise ContractError("invalid_request", "segment.keyframe is required in it2v mode")
            start = render.resize(keyframe.decode_keyframe(base64.b64decode(segment["keyframe"]["data"])), width, height)
        else:
            start = render.paint(content.parse_content(segment["contentText"]), width, height, request["seed"])
        progress(0.2)
        frames = render.along_motion(start, moves, fps, count)
        progress(0.7)
        data = video_io.encode(frames, fps, request["container"])
        return self._video(data, request["container"], width, height, fps, count, started)

    def interpolate(self, request: dict, progress: Progress) -> dict:
        started = time.perf_counter()
        data = video_io.read_source(request["video"], self.limits.max_upload_bytes)
        decoded = video_io.decode(data, self.limits.max_duration_seconds, self.limits.max_frame_count)
        progress(0.3)
        frames = render.interpolate(decoded.frames, request["factor"])
        fps = decoded.fps * request["factor"]
        height, width = frames[0].shape[:2]
        out = video_io.encode(frames, fps, request["container"])
        return self._video(out, request["container"], width, height, fps, len(frames), started)

    def assemble(self, request: dict, progress: Progress) -> dict:
        started = time.perf_counter()
        parts = [video_io.read_source(p, self.limits.max_upload_bytes) for p in request["parts"]]
        geometry = [video_io.probe(p) for p in parts]
        if len({(w, h) for w, h, _, _ in geometry}) != 1:
            raise ContractError("invalid_request", "parts must share one geometry", details={"geometries": [f"{w}x{h}" for w, h, _, _ in geometry]})
        out = video_io.remux(parts, request["container"], request["timeOffsetSeconds"])
        width, height, fps, _ = geometry[0]
        return self._video(out, request["container"], width, height, fps, sum(n for *_, n in geometry), started)

    def _video(self, data: bytes, container: str, width: int, height: int, fps: float, count: int, started: float) -> dict:
        return {
            "engine": self.info(),
            "video": {"container": container, "mimeType": video_io.MIME_TYPES[container], "width": width, "height": height, "fps": fps, "frameCount": count, "data": base64.b64encode(data).decode()},
            "seconds": _seconds(started),
        }


def frames_psnr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """PSNR in dB over two frame lists of one geometry."""
    mse = float(np.mean([(x.astype(np.float32) - y.astype(np.float32)) ** 2 for x, y in zip(a, b)]))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
