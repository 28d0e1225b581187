"""The model engine's whole path, stage by stage, through the production classes: ``encode``,
``tt2v``, ``it2v`` (image-to-video from the first keyframe, and a first/last-frame call with the
LoRA adapter to a second one when there is an adapter), ``interpolate`` and ``assemble``. ``npm run
gpu:smoke`` runs it with tiny random models (CUDA in bf16 with float32 VAE when present, else the
CPU); ``modal run gpu-functions/modal_app.py::smoke`` with the pinned weights through the deployed
GPU classes, adding PSNR/SSIM against the source.
"""

from __future__ import annotations

import base64
import resource
import time
from collections.abc import Callable
from typing import Any, Optional

import numpy as np

from .contract import modes
from .engines.model import media, sampling
from .engines.model.segment_plan import SEGMENT_MODES
from .media import video_io

STAGES = ("encode", *modes(), "interpolate", "assemble")


def moving_square_video(frames: int, width: int, height: int) -> np.ndarray:
    """A red square crossing a dark background, ``uint8`` ``(frames, height, width, 3)``."""
    video = np.full((frames, height, width, 3), 40, np.uint8)
    side = max(4, min(width, height) // 4)
    for i in range(frames):
        x = int(i * (width - side) / max(1, frames - 1))
        video[i, height // 3 : height // 3 + side, x : x + side] = (230, 40, 40)
    return video


class Meter:
    """Seconds and peak memory of one stage: ``torch.cuda.max_memory_allocated`` on CUDA, the
    process's peak resident memory on the CPU."""

    def __init__(self, device: str) -> None:
        self.device = device

    def __enter__(self) -> "Meter":
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
            self.peak = int(torch.cuda.max_memory_allocated())
        else:
            self.peak = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
        self.seconds = time.perf_counter() - self.started


def _frames(video: dict) -> np.ndarray:
    """The frames of an engine's ``video`` answer, whose ``data`` is the file's bytes (the app uploads them)."""
    return media.decode_video(video["data"])[0]


def _inline(video: dict) -> dict:
    """A contract ``VideoSource`` carrying an engine answer's file inline (no store in the smoke run)."""
    return {"data": base64.b64encode(video["data"]).decode("ascii")}


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two ``uint8`` clips of one shape, on luma, over 8x8 blocks."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    weights = np.array([0.299, 0.587, 0.114])
    x, y = a.astype(np.float64) @ weights, b.astype(np.float64) @ weights
    h, w = (x.shape[-2] // 8) * 8, (x.shape[-1] // 8) * 8
    x = x[..., :h, :w].reshape(*x.shape[:-2], h // 8, 8, w // 8, 8)
    y = y[..., :h, :w].reshape(*y.shape[:-2], h // 8, 8, w // 8, 8)
    mx, my = x.mean(axis=(-3, -1)), y.mean(axis=(-3, -1))
    vx, vy = x.var(axis=(-3, -1)), y.var(axis=(-3, -1))
    cov = ((x - mx[..., None, :, None]) * (y - my[..., None, :, None])).mean(axis=(-3, -1))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return float((((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))).mean())


def run_stages(
    engine: Any,
    adapter_id: Optional[str],
    seconds: float = 2.0,
    width: int = 64,
    height: int = 48,
    fps: float = 8.0,
    factor: int = 2,
    quality: bool = False,
    report: Callable[[dict], None] = lambda row: None,
) -> list[dict]:
    """Runs every stage once; returns (and reports as it goes) one row per stage. Raises on any
    failure, or when a stage's output does not have the asked shape."""
    device = str(engine.config.device or ("cuda" if media.gpu_in_use() else "cpu"))
    guidance = float(engine.config.generator.schedule.guidance_scale)
    count = max(2, int(round(seconds * fps)))
    source = moving_square_video(count, width, height)
    data = base64.b64encode(video_io.encode(list(source), fps)).decode("ascii")
    rows: list[dict] = []

    def row(stage: str, meter: Meter, frames: int, w: int, h: int, clip: Optional[np.ndarray] = None) -> None:
        entry = {
            "stage": stage,
            "seconds": round(meter.seconds, 3),
            "peakMemoryBytes": meter.peak,
            "device": device,
            "frames": frames,
            "width": w,
            "height": h,
            "guidanceScale": guidance if stage in modes() else None,
            "gpuSeconds": round(meter.seconds, 3) if device.startswith("cuda") else 0.0,
        }
        if stage in modes() and SEGMENT_MODES[stage].reads_keyframes:
            entry["bridge"] = bridge
        if quality and clip is not None and clip.shape == source.shape:
            entry["psnr"] = round(sampling.psnr(clip, source), 2)
            entry["ssim"] = round(ssim(clip, source), 4)
        rows.append(entry)
        report(entry)

    with Meter(device) as meter:
        encoded = engine.encode_json(
            {"video": {"data": data}, "options": {"minSegmentSeconds": 0.5, "maxSegmentSeconds": seconds}}
        )
    segment = encoded["segments"][0]
    if encoded["video"]["frameCount"] != count:
        raise RuntimeError(f"encode counted {encoded['video']['frameCount']} frames, expected {count}")
    row("encode", meter, count, width, height)

    keyframes = segment.get("keyframes")
    if keyframes is None:  # contract 1: one keyframe
        keyframes = [{**segment["keyframe"], "frameIndex": 0, "priority": 255}]
    # A bridge needs a trained adapter: with one, the last frame becomes a keyframe so a first/last-frame
    # call runs; a fresh deployment has none yet, and its it2v stage is image-to-video alone (``bridge``: None).
    bridge = adapter_id if adapter_id is not None else engine.config.generator.default_adapter_id
    keyframes = keyframes[:1] if bridge is None else keyframes
    if bridge is not None and len(keyframes) < 2:
        last = media.code_keyframe(source[-1], 4096)
        keyframes = [*keyframes, {**last, "frameIndex": count - 1, "priority": 1}]
    base = {"width": width, "height": height, "fps": fps, "frameCount": count, "seed": 1}
    videos = {}
    for mode in modes():
        request = {**base, "mode": mode, "segment": {**segment, "keyframes": keyframes}, "adapterId": adapter_id}
        request["segment"].pop("keyframe", None)
        with Meter(device) as meter:
            response = engine.generate_json(request)
        videos[mode] = response["video"]
        clip = _frames(response["video"])
        if clip.shape != source.shape:
            raise RuntimeError(f"{mode} made {clip.shape}, expected {source.shape}")
        row(mode, meter, count, width, height, clip)

    with Meter(device) as meter:
        raised = engine.interpolate_json({"video": _inline(videos["it2v"]), "factor": factor})
    if raised["video"]["frameCount"] != count * factor:
        raise RuntimeError(f"interpolate made {raised['video']['frameCount']} frames, expected {count * factor}")
    row("interpolate", meter, count * factor, width, height)

    parts = [_inline(videos[m]) for m in reversed(modes())]
    with Meter(device) as meter:
        joined = engine.assemble_json({"parts": parts, "container": "mp4", "timeOffsetSeconds": 0})
    row("assemble", meter, int(joined["video"]["frameCount"]), width, height)
    return rows
