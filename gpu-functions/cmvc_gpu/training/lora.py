"""LoRA training of the first/last-frame interpolation model (Wan FLF2V through diffusers + peft).

The objective is the model's own: rectified flow. For a clip ``x0`` (VAE latents), noise ``ε``
and ``σ`` drawn as the sampler uses it (``u ~ U(0, 1)`` moved by Wan's timestep shift,
``sampling.shifted_sigma`` with the serving schedule's ``flow_shift``), the transformer sees ``x_σ = (1 - σ) x0 + σ ε`` next to the first/last-frame
condition the pipeline builds (mask + condition latents + CLIP embeddings of both frames) and
learns the velocity ``ε - x0``; the timestep ``1000 σ`` goes in as the served scheduler hands it
to the transformer (``training_timestep``: rounded to int64 for UniPC, as the Wan repositories configure
it; never bf16). The clips have the served geometry (``ClipConfig``: the frames one call
bridges between two keyframes, at the native rate and the served size). Only the LoRA matrices train; the base weights, text encoder,
image encoder and VAE stay frozen. The adapter is saved as diffusers LoRA weights with its LoRA
config in the file's metadata (so ``lora_alpha`` survives when it differs from the rank) under a
versioned id ``interp-lora-<version>-r<rank>-<hash>``, and then evaluated by loading it back
through the serving :class:`~cmvc_gpu.engines.model.generator.Generator`: PSNR of each held-out
clip's middle frame against the plain blend of its first and last frames.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from ..engines.model import sampling
from ..engines.model.adapters import ADAPTER_RECORD, DISTILL_ADAPTER, LORA_WEIGHTS
from ..engines.model.config import GeneratorConfig, model_schedule
from ..engines.model.generator import Generator
from ..engines.model.runtime import seeded
from ..engines.model.segment_plan import ModelCall, Source
from . import data

Log = Callable[[str], None]


@dataclass(frozen=True)
class LoraTrainingConfig:
    """Settings of one training run.

    Args:
        rank: LoRA rank ``r``.
        alpha: LoRA ``alpha`` (the update is scaled by ``alpha / rank``).
        steps: optimiser steps.
        learning_rate: AdamW learning rate.
        batch_size: clips per step.
        target_modules: the transformer's linear layers that get adapters.
        seed: seeds the clip order, noise and timesteps.
        version: the adapter family's version, part of its id.
        eval_clips: clips held out for the final evaluation.
        loss_probe: fixed (noise, σ) draws per clip for the before/after loss.
        gradient_checkpointing: trade compute for memory (for the 14B model).
    """

    rank: int = 16
    alpha: int = 16
    steps: int = 500
    learning_rate: float = 1e-4
    batch_size: int = 1
    target_modules: tuple[str, ...] = ("to_q", "to_k", "to_v", "to_out.0", "add_k_proj", "add_v_proj")
    seed: int = 0
    version: str = "v1"
    eval_clips: int = 4
    loss_probe: int = 2
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise ValueError(f"rank must be positive, got {self.rank}")
        if self.alpha < 1:
            raise ValueError(f"alpha must be positive, got {self.alpha}")
        if self.steps < 1:
            raise ValueError(f"steps must be positive, got {self.steps}")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.]{0,15}", self.version):
            raise ValueError(f"version must be a short alphanumeric tag, got {self.version!r}")


@dataclass
class TrainingResult:
    """What a run produced; ``adapter.json`` in the adapter's folder holds the same."""

    adapter_id: str
    path: str
    losses: list[float]
    probe_loss_before: float
    probe_loss_after: float
    trainable_parameters: int
    evaluation: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """The short evaluation printed at the end of a run."""
        lines = [
            f"adapter {self.adapter_id} -> {self.path}",
            f"trainable parameters {self.trainable_parameters:,}; {len(self.losses)} steps in {self.seconds:.1f}s",
            f"probe loss {self.probe_loss_before:.4f} -> {self.probe_loss_after:.4f}",
        ]
        if self.evaluation:
            lines.append("held-out clips: PSNR of the middle frame (dB)  lora | blend")
            for i, row in enumerate(self.evaluation):
                lines.append(f"  clip {i}: {row['psnr_lora']:6.2f} | {row['psnr_blend']:6.2f}")
            mean_lora = float(np.mean([r["psnr_lora"] for r in self.evaluation]))
            mean_blend = float(np.mean([r["psnr_blend"] for r in self.evaluation]))
            lines.append(f"  mean:   {mean_lora:6.2f} | {mean_blend:6.2f}")
        return "\n".join(lines)


def adapter_id_for(base: str, config: LoraTrainingConfig, data_fingerprint: str, schedule: str = "default") -> str:
    """``interp-lora-<version>-r<rank>-<hash>``, with ``-few`` before the hash for an adapter trained
    under the few-step schedule: the hash covers the base model, the schedule, every training setting
    and the data, so a different run never overwrites an adapter in use."""
    material = json.dumps({"base": base, "config": asdict(config), "data": data_fingerprint, "schedule": schedule}, sort_keys=True)
    tag = "" if schedule == "default" else f"-{schedule}"
    return f"interp-lora-{config.version}-r{config.rank}{tag}-{hashlib.sha256(material.encode()).hexdigest()[:10]}"


class _Prepared:
    """One clip turned into the transformer's inputs (everything but the noisy latents)."""

    def __init__(
        self, latents: torch.Tensor, condition: torch.Tensor, image_embeds: torch.Tensor, prompt_embeds: torch.Tensor
    ) -> None:
        self.latents = latents
        self.condition = condition
        self.image_embeds = image_embeds
        self.prompt_embeds = prompt_embeds

    def to(self, device: torch.device) -> "_Prepared":
        """The same inputs on ``device``: prepared clips wait in host memory and go to the GPU one step
        at a time (a hundred 81-frame 832x480 clips would hold GBs of GPU memory otherwise)."""
        return _Prepared(*(t.to(device) for t in (self.latents, self.condition, self.image_embeds, self.prompt_embeds)))


@torch.no_grad()
def _prepare(pipe: Any, clip: np.ndarray, device: torch.device, prompt_embeds: torch.Tensor) -> _Prepared:
    """The clip's target latents, its first/last-frame condition and image embeddings."""
    from PIL import Image

    height, width = clip.shape[1:3]
    first, last = Image.fromarray(clip[0]), Image.fromarray(clip[-1])
    video = torch.from_numpy(clip).float().div(127.5).sub(1.0)  # (T, H, W, 3) in [-1, 1]
    video = video.permute(3, 0, 1, 2).unsqueeze(0).to(device, pipe.vae.dtype)  # (1, 3, T, H, W)
    latents = pipe.vae.encode(video).latent_dist.mode().float()
    z_dim = pipe.vae.config.z_dim
    mean = torch.tensor(pipe.vae.config.latents_mean).view(1, z_dim, 1, 1, 1).to(device)
    std = torch.tensor(pipe.vae.config.latents_std).view(1, z_dim, 1, 1, 1).to(device)
    latents = (latents - mean) / std
    image = pipe.video_processor.preprocess(first, height=height, width=width).to(device, torch.float32)
    last_image = pipe.video_processor.preprocess(last, height=height, width=width).to(device, torch.float32)
    _, condition = pipe.prepare_latents(
        image, 1, z_dim, height, width, len(clip), torch.float32, device, None, None, last_image
    )
    image_embeds = pipe.encode_image([first, last], device)
    return _Prepared(latents, condition.float(), image_embeds, prompt_embeds)


def _flow_loss(
    transformer: Any,
    item: _Prepared,
    noise: torch.Tensor,
    sigma: torch.Tensor,
    integer: bool,
) -> torch.Tensor:
    dtype = transformer.dtype
    noisy = (1.0 - sigma) * item.latents + sigma * noise
    model_input = torch.cat([noisy, item.condition], dim=1).to(dtype)
    prediction = transformer(
        hidden_states=model_input,
        timestep=training_timestep(sigma, integer),
        encoder_hidden_states=item.prompt_embeds.to(dtype),
        encoder_hidden_states_image=item.image_embeds.to(dtype),
        return_dict=False,
    )[0]
    return torch.nn.functional.mse_loss(prediction.float(), (noise - item.latents).float())


def training_timestep(sigma: torch.Tensor, integer: bool) -> torch.Tensor:
    """The transformer's timestep for noise level ``sigma`` as the served scheduler passes it:
    ``1000 σ`` rounded to int64 for one whose timesteps are integers (UniPC, as the Wan repositories
    configure it), else in float32 — never bf16, which rounds it to steps of 4 near 1000. (The time
    projection's sinusoids reach one radian per timestep, so 999.6 and 1000 embed differently.)"""
    timestep = sigma.flatten() * 1000.0
    return torch.round(timestep).to(torch.int64) if integer else timestep.to(torch.float32)


def integer_timesteps(scheduler: Any) -> bool:
    """Whether ``scheduler`` (a fresh one of its kind and config) hands the transformer integer timesteps."""
    probe = type(scheduler).from_config(scheduler.config)
    probe.set_timesteps(2)
    return not torch.is_floating_point(probe.timesteps)


def _probe_loss(
    transformer: Any, items: Sequence[_Prepared], draws: int, seed: int, shift: float, device: torch.device, integer: bool
) -> float:
    """The mean loss over fixed noise and σ draws: comparable before and after training."""
    generator = torch.Generator().manual_seed(seed + 7919)
    total, count = 0.0, 0
    with torch.no_grad():
        for held in items:
            item = held.to(device)
            for d in range(draws):
                noise = torch.randn(item.latents.shape, generator=generator).to(item.latents.device)
                u = torch.tensor((d + 0.5) / draws).view(1, 1, 1, 1, 1)
                sigma = sampling.shifted_sigma(u, shift).to(item.latents.device)
                total += float(_flow_loss(transformer, item, noise, sigma, integer))
                count += 1
    return total / max(count, 1)


def train_interpolation_lora(
    pipe: Any,
    clips: Sequence[np.ndarray],
    config: LoraTrainingConfig,
    adapters_dir: str | Path,
    base_model: str,
    generator_config: Optional[GeneratorConfig] = None,
    log: Log = print,
    texts: Optional[Sequence[Optional[dict]]] = None,
) -> TrainingResult:
    """Trains, saves and evaluates a LoRA adapter for the interpolation pipeline.

    Args:
        pipe: the first/last-frame pipeline (``WanImageToVideoPipeline`` whose transformer has
            ``image_dim`` and ``pos_embed_seq_len`` set, i.e. FLF2V); its transformer gets the
            adapter during training and loses it afterwards.
        clips: ``uint8`` ``(clip_frames, h, w, 3)`` clips of one geometry (see :mod:`.data`);
            the last ``config.eval_clips`` are held out.
        config: the run's settings.
        adapters_dir: where the adapter's folder is written (a Modal Volume path in production).
        base_model: the base model's ``id@revision``, recorded with the adapter.
        generator_config: the serving settings: the clip geometry the clips must have and the
            schedule whose shift the timesteps follow; its ``adapters_dir`` is replaced by
            ``adapters_dir`` for the evaluation.
        log: receives progress lines.
        texts: per clip, its ``{"contentText", "motionText"}`` (or ``None``): the clip is then
            prompted as a served bridge call is (``prompts.it2v_prompt``); without texts the
            generic ``prompts.INTERPOLATION_PROMPT``.

    Returns:
        The adapter's id, path, losses and evaluation.
    """
    from dataclasses import replace

    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    started = time.monotonic()
    base = generator_config if generator_config is not None else GeneratorConfig()
    # The schedule the served bridge calls run with: its shift draws the timesteps, its name is recorded.
    bridges = model_schedule(base.schedule, "flf2v")
    shift = bridges.flow_shift
    if not clips:
        raise ValueError("no training clips")
    shapes = {clip.shape for clip in clips}
    if len(shapes) != 1:
        raise ValueError(f"clips must share one shape, got {sorted(shapes)}")
    clip_frames, clip_h, clip_w = next(iter(shapes))[:3]
    served = data.served_clip_shape(base.clip, clip_w, clip_h)
    if (clip_frames, clip_h, clip_w) != served:
        raise ValueError(
            f"clips must have the served shape (frames, height, width) {served} (ClipConfig), got "
            f"{(clip_frames, clip_h, clip_w)}"
        )
    all_prompts = [data.clip_prompt(t) for t in (texts if texts is not None else [None] * len(clips))]
    if len(all_prompts) != len(clips):
        raise ValueError(f"{len(clips)} clips but {len(all_prompts)} texts")
    train_clips, eval_clips = data.split(clips, config.eval_clips)
    clip_prompts, eval_prompts = all_prompts[: len(train_clips)], all_prompts[len(train_clips) :]
    device = pipe._execution_device
    adapter_id = adapter_id_for(base_model, config, data.fingerprint(clips), bridges.name)

    # 1. Freeze everything, then add the adapter: only the LoRA matrices train.
    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module):
            component.requires_grad_(False)
            component.eval()
    transformer = pipe.transformer
    stacked = [name for name in pipe.get_list_adapters().get("transformer", []) if name == DISTILL_ADAPTER]
    transformer.add_adapter(
        LoraConfig(
            r=config.rank, lora_alpha=config.alpha, target_modules=list(config.target_modules), init_lora_weights=True
        )
    )
    if stacked:
        # Served stacked on the few-step LoRA, trained stacked on it: both active, only this one learns.
        transformer.set_adapters(["default", *stacked], [1.0] * (1 + len(stacked)))
        for name, parameter in transformer.named_parameters():
            parameter.requires_grad_("lora_" in name and ".default." in name)
    if config.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    trainable = [p for p in transformer.parameters() if p.requires_grad]
    for p in trainable:
        p.data = p.data.float()
    trainable_count = sum(p.numel() for p in trainable)
    held = f"{len(eval_clips)} held out"
    log(f"training {adapter_id}: {len(train_clips)} clips ({held}), {trainable_count:,} LoRA parameters")

    # 2. Encode every clip and every distinct prompt once.
    embedded: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for text in sorted(set(clip_prompts)):
            embedded[text], _ = pipe.encode_prompt(
                prompt=text, do_classifier_free_guidance=False, device=device, max_sequence_length=base.max_sequence_length
            )
    integer = integer_timesteps(pipe.scheduler)
    host = torch.device("cpu")
    items = [_prepare(pipe, clip, device, embedded[text]).to(host) for clip, text in zip(train_clips, clip_prompts)]
    probe_before = _probe_loss(transformer, items, config.loss_probe, config.seed, shift, device, integer)

    # 3. The loop.
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=0.0)
    generator = seeded(config.seed, torch.device("cpu"))
    order = torch.randperm(len(items), generator=generator).tolist()
    losses: list[float] = []
    transformer.train()
    for step in range(config.steps):
        optimizer.zero_grad(set_to_none=True)
        batch_loss = 0.0
        for b in range(config.batch_size):
            item = items[order[(step * config.batch_size + b) % len(order)]].to(device)
            noise = torch.randn(item.latents.shape, generator=generator).to(device)
            u = torch.rand((1,), generator=generator).view(1, 1, 1, 1, 1)
            sigma = sampling.shifted_sigma(u, shift).to(device)
            loss = _flow_loss(transformer, item, noise, sigma, integer) / config.batch_size
            loss.backward()
            batch_loss += loss.detach().item()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        losses.append(batch_loss)
        if step == 0 or (step + 1) % max(1, config.steps // 10) == 0:
            log(f"step {step + 1}/{config.steps} loss {batch_loss:.4f}")
    transformer.eval()
    probe_after = _probe_loss(transformer, items, config.loss_probe, config.seed, shift, device, integer)

    # 4. Save the adapter (LoRA weights only) and its record.
    folder = Path(adapters_dir) / adapter_id
    folder.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().to("cpu", torch.float32).contiguous() for k, v in get_peft_model_state_dict(transformer).items()
    }
    lora_config = transformer.peft_config["default"].to_dict()
    type(pipe).save_lora_weights(
        str(folder),
        transformer_lora_layers=state,
        weight_name=LORA_WEIGHTS,
        transformer_lora_adapter_metadata=lora_config,
    )
    result = TrainingResult(
        adapter_id=adapter_id,
        path=str(folder),
        losses=losses,
        probe_loss_before=probe_before,
        probe_loss_after=probe_after,
        trainable_parameters=trainable_count,
    )

    # 5. Take the training adapter off, load the saved one through the serving Generator, evaluate.
    transformer.delete_adapters(["default"])
    (folder / ADAPTER_RECORD).write_text(json.dumps({"adapterId": adapter_id, "schedule": bridges.name}))
    if eval_clips:
        served = Generator({"flf2v": pipe}, replace(base, adapters_dir=str(Path(adapters_dir))), device)
        result.evaluation = evaluate(served, adapter_id, eval_clips, eval_prompts, seed=config.seed)
    result.seconds = time.monotonic() - started
    (folder / ADAPTER_RECORD).write_text(
        json.dumps(
            {
                "adapterId": adapter_id,
                "schedule": bridges.name,
                "baseModel": base_model,
                "config": asdict(config),
                "clipFrames": clip_frames,
                "trainClips": len(train_clips),
                "evalClips": len(eval_clips),
                "lossFirst": losses[0],
                "lossLast": losses[-1],
                "probeLossBefore": probe_before,
                "probeLossAfter": probe_after,
                "evaluation": result.evaluation,
            },
            indent=2,
        )
    )
    log(result.summary())
    return result


def evaluate(
    generator: Generator, adapter_id: str, clips: Sequence[np.ndarray], clip_prompts: Sequence[str], seed: int = 0
) -> list[dict[str, float]]:
    """For each clip: the served first/last-frame call's middle frame (given the clip's first and
    last frames) and the plain blend of first and last, each scored by PSNR against the true
    middle frame. Each clip is prompted as in training (``clip_prompts``)."""
    rows = []
    for clip, prompt in zip(clips, clip_prompts):
        frames, height, width = clip.shape[:3]
        call = ModelCall("flf2v", 0, frames, frames, Source("keyframe", 0), Source("keyframe", 1))
        made = generator.run_call(0, call, prompt, clip[0], clip[-1], width, height, seed, adapter_id)
        middle = (frames - 1) // 2
        baseline = data.blend(clip[0], clip[-1], middle / (frames - 1))
        rows.append(
            {
                "psnr_lora": _finite(sampling.psnr(made[middle], clip[middle])),
                "psnr_blend": _finite(sampling.psnr(baseline, clip[middle])),
            }
        )
    return rows


def _finite(value: float) -> float:
    return 99.0 if math.isinf(value) else value
