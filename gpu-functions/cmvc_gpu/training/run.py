"""The driver behind ``modal run gpu-functions/modal_app.py::train_interpolation_lora``: read a
directory of videos, cut clips, load the interpolation pipeline, train, save, evaluate."""

from __future__ import annotations

import json
from pathlib import Path

from ..engines.model import media
from ..engines.model.config import ModelEngineConfig
from . import data
from .lora import LoraTrainingConfig, train_interpolation_lora

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv")


def load_videos(dataset_dir: str | Path) -> list[tuple]:
    """Every video under ``dataset_dir`` (sorted by path): ``(uint8 frames, fps, texts)``, where
    ``texts`` is the ``{"contentText", "motionText"}`` of a ``<video>.json`` beside it, or ``None``."""
    paths = sorted(p for p in Path(dataset_dir).rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) under {dataset_dir}")
    videos = []
    for path in paths:
        frames, meta = media.decode_video(path.read_bytes())
        sidecar = path.with_suffix(".json")
        texts = json.loads(sidecar.read_text()) if sidecar.is_file() else None
        videos.append((frames, float(meta["fps"]), texts))
    return videos


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
    for video, fps, video_texts in load_videos(dataset_dir):
        made = data.make_clips([video], frames, data.native_stride(fps, clip), width, height)
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
