"""The driver behind ``modal run gpu-functions/modal_app.py::train_interpolation_lora``: read a
directory of videos, cut clips, load the interpolation pipeline, train, save, evaluate."""

from __future__ import annotations

from pathlib import Path

from ..engines.model import media
from ..engines.model.config import ModelEngineConfig
from . import data
from .lora import LoraTrainingConfig, train_interpolation_lora

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv")


def load_videos(dataset_dir: str | Path) -> list:
    """Every video under ``dataset_dir`` (sorted by path), decoded to ``uint8`` frames."""
    paths = sorted(p for p in Path(dataset_dir).rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) under {dataset_dir}")
    return [media.decode_video(p.read_bytes())[0] for p in paths]


def train_from_directory(
    dataset_dir: str,
    adapters_dir: str,
    config: ModelEngineConfig,
    rank: int,
    alpha: int,
    steps: int,
    learning_rate: float,
    clip_frames: int,
    stride: int,
    width: int,
    height: int,
    eval_clips: int,
    version: str,
    seed: int,
) -> str:
    """Trains an adapter for ``config.interpolator.flf2v`` on the videos in ``dataset_dir``;
    returns its id. The pipeline is loaded as the Interpolator loads it (pinned revision)."""
    from ..engines.model.interpolator import Interpolator

    if width % config.interpolator.spatial_multiple or height % config.interpolator.spatial_multiple:
        raise ValueError(
            f"width and height must be multiples of {config.interpolator.spatial_multiple}, got {width}x{height}"
        )
    clips = data.make_clips(load_videos(dataset_dir), clip_frames, stride, width, height)
    print(f"{len(clips)} clips of {clip_frames} frames from {dataset_dir}")
    interpolator = Interpolator.from_pretrained(
        config.interpolator, device=config.device, dtype=config.dtype, cache_dir=config.cache_dir
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
        interpolator.pipe,
        clips,
        training,
        adapters_dir,
        base_model=config.interpolator.flf2v.pinned(),
        interpolator_config=config.interpolator,
    )
    return result.adapter_id
