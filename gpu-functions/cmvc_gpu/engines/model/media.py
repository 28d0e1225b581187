"""Everything around the models that is not a model, from the shared media library
(:mod:`cmvc_gpu.media`) so both engines read sources, decode, write MP4/WebM, code keyframes and
remux the same way. This module only adapts its shapes to the model engine's (frame stacks as
``uint8`` ``(n, h, w, 3)`` arrays, contract dicts) and holds the limits.

Frames are RGB; widths and heights written to H.264 must be even (the reference writer's rule).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any, Optional

import numpy as np
from PIL import Image

from ... import contract
from ...errors import ContractError
from ...limits import Limits
from ...media import decode as media_decode
from ...media import keyframe as media_keyframe
from ...media import video_io
from ...media.assemble import assemble_parts
from ...media.inbetween import interpolate_stream
from ...progress import Progress
from .sampling import cover_box

MIME_TYPES = video_io.MIME_TYPES
LIMITS = Limits()


def encode_options(request: dict) -> dict:
    """The request's ``options`` with the exported contract's defaults filled in (the app fills
    them too; this keeps direct callers honest). The schema is the only place they are written."""
    return contract.apply_defaults(contract.validator("encode.request").schema, {**request, "options": request.get("options") or {}})["options"]


def gpu_in_use() -> bool:
    """Whether this process computes on a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def read_source(source: dict, limits: Limits = LIMITS) -> bytes:
    """The bytes of a contract ``VideoSource`` (inline base64 or a short-lived URL)."""
    return video_io.read_source(source, limits.max_upload_bytes)


def decode_video(data: bytes, limits: Limits = LIMITS) -> tuple[np.ndarray, dict]:
    """All frames, rotation applied, as ``uint8`` ``(n, h, w, 3)``, and the contract's ``VideoMeta``."""
    decoded = video_io.decode(data, limits.max_duration_seconds, limits.max_frame_count)
    frames = np.stack(decoded.frames)
    height, width = frames.shape[1:3]
    if width > limits.max_width or height > limits.max_height:
        raise ContractError(
            "too_large", f"the video is {width}x{height}, larger than {limits.max_width}x{limits.max_height}"
        )
    meta = {
        "width": int(width),
        "height": int(height),
        "fps": float(decoded.fps),
        "frameCount": int(len(frames)),
        "durationSeconds": float(decoded.duration_seconds),
        "codec": str(decoded.codec),
        "rotation": int(decoded.rotation),
    }
    return frames, meta


def probe_video(data: bytes, limits: Limits = LIMITS, frame_rate: Optional[float] = None) -> media_decode.StreamInfo:
    """The video's stream description from its header (``undecodable_video``, ``too_large`` and
    ``too_long`` from the header already); ``frame_rate`` (frames per second, the encode option
    ``frameRate``) resamples it to that constant rate by its timestamps."""
    info = media_decode.probe(data, limits, frame_rate)
    if info.width > limits.max_width or info.height > limits.max_height:
        raise ContractError(
            "too_large", f"the video is {info.width}x{info.height}, larger than {limits.max_width}x{limits.max_height}"
        )
    return info


def stream_frames(
    data: bytes,
    info: media_decode.StreamInfo,
    wanted: Optional[set[int]] = None,
    limits: Limits = LIMITS,
    max_width: Optional[int] = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, frame)`` of every frame (or only those in ``wanted``), one at a time, so a long
    video is never held whole (10,000 frames of 1080p would be 62 GB); at most ``max_width`` pixels
    wide when given (aspect kept)."""
    return media_decode.frames(data, limits, max_width, info, wanted)


def video_meta(info: media_decode.StreamInfo, frame_count: int) -> dict:
    """The contract's ``VideoMeta`` of a video whose frames were counted by decoding."""
    return {
        "width": int(info.width),
        "height": int(info.height),
        "fps": float(info.fps),
        "frameCount": int(frame_count),
        "durationSeconds": float(frame_count / info.fps),
        "codec": str(info.codec),
        "rotation": int(info.rotation),
    }


def check_even(width: int, height: int) -> None:
    """H.264 in yuv420p needs even sides; raises ``invalid_request`` naming the odd one."""
    if width % 2 or height % 2:
        field = "width" if width % 2 else "height"
        raise ContractError(
            "invalid_request",
            f"width and height must be even for H.264, got {width}x{height}",
            details={"field": field},
        )


def video_file(frames: np.ndarray, fps: float, container: str = "mp4") -> dict:
    """A contract ``VideoFile`` of ``frames`` written by the shared writer, its file still as raw
    ``bytes`` in ``data`` (``outputs.deliver`` uploads it to the request's target)."""
    height, width = frames.shape[1:3]
    check_even(width, height)
    data = video_io.encode(list(frames), fps, container)
    return {
        "container": container,
        "mimeType": MIME_TYPES[container],
        "width": int(width),
        "height": int(height),
        "fps": float(fps),
        "frameCount": int(len(frames)),
        "data": data,
    }


def code_keyframe(frame: np.ndarray, budget_bytes: int, codec: str = "webp", max_width: int = 320) -> dict:
    """A contract ``Keyframe`` coded by the shared coder (highest quality within the budget)."""
    data, width, height = media_keyframe.code_keyframe(frame, codec, budget_bytes, max_width)
    return {"codec": codec, "width": width, "height": height, "data": base64.b64encode(data).decode("ascii")}


def segment_keyframes(keyframes: list[dict]) -> dict:
    """The keyframe field(s) of an encoded segment, in the shape the exported contract has: the
    list ``keyframes`` (each with ``frameIndex`` and ``priority``; contract 2) or, while the
    schema still has it, the single ``keyframe`` (the first one, without the new fields)."""
    if "keyframes" in _segment_properties(contract.validator("encode.response").schema):
        return {"keyframes": keyframes}
    first = keyframes[0] if keyframes else None
    return {"keyframe": None if first is None else {k: v for k, v in first.items() if k not in ("frameIndex", "priority")}}


def _segment_properties(schema: dict) -> dict:
    items = schema.get("properties", {}).get("segments", {}).get("items", {})
    return dict(items.get("properties", {}))


def request_keyframes(segment: dict) -> list[dict]:
    """A ``GenerateRequest.segment``'s keyframes, sorted by ``frameIndex``: the list
    ``keyframes`` (contract 2) or the single ``keyframe`` of contract 1 (at frame 0). Read
    defensively: a keyframe without ``frameIndex`` is at frame 0."""
    if segment.get("keyframes") is not None:
        listed = list(segment["keyframes"])
    elif segment.get("keyframe") is not None:
        listed = [segment["keyframe"]]
    else:
        listed = []
    for keyframe in listed:
        index = keyframe.get("frameIndex", 0)
        if not isinstance(index, int) or index < 0:
            raise ContractError("invalid_request", f"segment.keyframes[].frameIndex must be an integer >= 0, got {index!r}")
    return sorted(listed, key=lambda k: int(k.get("frameIndex", 0)))


def in_betweens(frames: np.ndarray, factor: int) -> Iterator[np.ndarray]:
    """``frames`` at ``factor`` times the rate: motion-compensated blended in-betweens (tens of
    milliseconds per frame at 480p on one CPU core; no model)."""
    return interpolate_stream(iter(frames), factor)


def decode_keyframe(keyframe: dict) -> Image.Image:
    """The keyframe (inline, or fetched by its URL) as an RGB image (``invalid_request`` when it does not decode)."""
    return Image.fromarray(media_keyframe.request_keyframe_pixels(keyframe, "segment.keyframe"))


def assemble(request: dict, progress: Progress, limits: Limits = LIMITS) -> dict[str, Any]:
    """The contract ``VideoFile`` of the parts remuxed without re-encoding (no model)."""
    return assemble_parts(request, limits, progress)


def keyframe_array(keyframe: dict, width: int, height: int) -> np.ndarray:
    """The keyframe decoded and brought to ``width`` x ``height`` (the model geometry) with its aspect
    kept (scaled to cover, centre-cropped: never stretched), ``uint8``."""
    image = decode_keyframe(keyframe).convert("RGB")
    box = cover_box(image.width, image.height, width, height)
    return np.asarray(image.resize((width, height), Image.Resampling.LANCZOS, box=box))
