"""The driver behind ``modal run gpu-functions/modal_app.py::train_interpolation_lora``: read a
directory of videos, cut clips, load the interpolation pipeline, train, save, evaluate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np

from ..engines.model import media
from ..engines.model.config import ClipConfig, ModelEngineConfig
from . import data
from .lora import LoraTrainingConfig, train_interpolation_lora

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv")


def video_paths(dataset_dir: str | Path) -> list[Path]:
    """Every video under ``dataset_dir``, sorted by path."""
    paths = sorted(p for p in Path(dataset_dir).rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) under {dataset_dir}")
    return paths


def video_clips(path: Path, clip: ClipConfig, width: int, height: int) -> tuple[list[np.ndarray], Optional[dict]]:
    """The training clips of one video (``data.clip_windows``, resized to ``width`` x ``height``)
    and the ``{"contentText", "motionText"}`` of a ``<video>.json`` beside it (or ``None``). Decoding
    streams and keeps only the frames the clips use, at the training size: a whole 1080p minute
    decoded at once would be 9 GB, one per video of the set."""
    data_bytes = path.read_bytes()
    info = media.probe_video(data_bytes)
    declared = info.declared_frames or int((info.declared_seconds or 0.0) * info.fps)
    windows = data.clip_windows(declared, float(info.fps), clip.max_frames_per_call, clip.native_fps)
    wanted = {i for window in windows for i in window}
    kept = {i: data.resized(frame, width, height) for i, frame in media.stream_frames(data_bytes, info, wanted)} if wanted else {}
    # A header may promise frames that do not decode: a window missing any is dropped.
    clips = [np.stack([kept[i] for i in window]) for window in windows if all(i in kept for i in window)]
    sidecar = path.with_suffix(".json")
    texts = json.loads(sidecar.read_text()) if sidecar.is_file() else None
    return clips, texts


def train_from_directory(
    dataset_dir: str,
    adapters_dir: str,
    config: ModelEngineConfig,
    rank: int,
    alpha: int,
    steps: int,
    learning_rate: float,
    width: int,
    height: int,
    eval_clips: int,
    version: str,
    seed: int,
) -> str:
    """Trains an adapter for ``config.generator.flf2v`` on the videos in ``dataset_dir``; returns
    its id. Clips have the served shape (``ClipConfig``: frames per call at the native rate, the
    served geometry for ``width`` x ``height``); the pipeline is loaded as the serving Generator
    loads it (pinned revision, shared components)."""
    from ..engines.model.generator import Generator

    clip = config.generator.clip
    frames, height, width = data.served_clip_shape(clip, width, height)
    clips, texts = [], []
    for path in video_paths(dataset_dir):
        made, video_texts = video_clips(path, clip, width, height)
        clips += made
        texts += [video_texts] * len(made)
    print(f"{len(clips)} clips of {frames} frames at {width}x{height} from {dataset_dir}")
    served = Generator.from_pretrained(
        config.generator, device=config.device, dtype=config.dtype, cache_dir=config.cache_dir, models=("flf2v",)
    )
    training = LoraTrainingConfig(
        rank=rank,
        alpha=alpha,
        steps=steps,
        learning_rate=learning_rate,
        seed=seed,
        version=version,
        eval_clips=eval_clips,
        gradient_checkpointing=True,
    )
    result = train_interpolation_lora(
        served.pipes["flf2v"],
        clips,
        training,
        adapters_dir,
        base_model=config.generator.flf2v.pinned(),
        generator_config=config.generator,
        texts=texts,
    )
    return result.adapter_id
