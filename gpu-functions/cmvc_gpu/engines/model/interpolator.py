"""The interpolator: a first/last-frame conditioned video model (Wan 2.1 FLF2V by default) with a
LoRA adapter, loaded through diffusers/peft by adapter id, that raises a segment's frame rate.

Adapters live in ``adapters_dir/<adapter id>/`` as diffusers LoRA files
(``pytorch_lora_weights.safetensors``), written by ``cmvc_gpu.training``. An adapter is loaded
once and kept; switching ids only switches the active adapter. Without an adapter the
interpolator refuses (:class:`AdapterRequired`): the un-tuned model is not what the codec was
measured with, so it never stands in silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from PIL import Image

from . import prompts, sampling
from .config import InterpolatorConfig
from .errors import AdapterNotFound, AdapterRequired, ModelInputError
from .runtime import eval_modules, resolve_device, resolve_dtype, seeded

Progress = Callable[[float], None]

ADAPTER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
LORA_WEIGHTS = "pytorch_lora_weights.safetensors"


def adapter_dir(adapters_dir: str | Path, adapter_id: str) -> Path:
    """The folder of ``adapter_id``; raises :class:`ModelInputError` for an id that is not a plain
    name (so no id reaches outside ``adapters_dir``)."""
    if not ADAPTER_ID.match(adapter_id) or ".." in adapter_id:
        raise ModelInputError(f"adapterId must match {ADAPTER_ID.pattern} without '..', got {adapter_id!r}")
    return Path(adapters_dir) / adapter_id


def peft_name(adapter_id: str) -> str:
    """The adapter's name inside peft (which does not allow dots)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", adapter_id)


class Interpolator:
    """Raises a clip's frame rate by generating the frames between each pair of frames.

    Args:
        pipe: a first/last-frame pipeline (``WanImageToVideoPipeline`` with ``last_image``) whose
            class supports ``load_lora_weights``.
        config: the interpolator settings.
        device: where the pipeline runs.
    """

    def __init__(self, pipe: Any, config: InterpolatorConfig, device: torch.device | str = "cpu") -> None:
        self.pipe = pipe
        self.config = config
        self.device = torch.device(device)
        self.loaded: dict[str, str] = {}
        self.active: Optional[str] = None
        eval_modules(pipe)
        pipe.set_progress_bar_config(disable=True)

    @classmethod
    def from_pretrained(
        cls,
        config: InterpolatorConfig,
        device: Optional[str] = None,
        dtype: Optional[str] = None,
        cache_dir: Optional[str] = None,
    ) -> "Interpolator":
        """Loads the pipeline at its pinned revision (its VAE and image encoder in float32)."""
        from diffusers import AutoencoderKLWan, WanImageToVideoPipeline
        from transformers import CLIPVisionModel

        torch_device = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, torch_device)
        ref = config.flf2v
        vae = AutoencoderKLWan.from_pretrained(
            ref.id, subfolder="vae", revision=ref.revision, cache_dir=cache_dir, dtype=torch.float32
        )
        image_encoder = CLIPVisionModel.from_pretrained(
            ref.id, subfolder="image_encoder", revision=ref.revision, cache_dir=cache_dir, dtype=torch.float32
        )
        pipe = WanImageToVideoPipeline.from_pretrained(
            ref.id,
            revision=ref.revision,
            cache_dir=cache_dir,
            vae=vae,
            image_encoder=image_encoder,
            dtype=torch_dtype,
        ).to(torch_device)
        return cls(pipe, config, torch_device)

    def resolve_adapter(self, adapter_id: Optional[str]) -> str:
        """The adapter a request uses: its own, else the configured default; raises
        :class:`AdapterRequired` when there is neither."""
        chosen = adapter_id if adapter_id is not None else self.config.default_adapter_id
        if chosen is None or chosen == "":
            raise AdapterRequired(
                "interpolation needs a LoRA adapter: pass adapterId (e.g. 'interp-lora-v1-r16-…', trained with "
                "`modal run gpu-functions/modal_app.py::train_interpolation_lora`) or set CMVC_DEFAULT_ADAPTER; "
                "the un-tuned model is not used as a fallback"
            )
        return chosen

    def use_adapter(self, adapter_id: str) -> None:
        """Loads ``adapter_id`` from the adapters directory (once) and makes it the active one.

        Raises:
            ModelInputError: the id is not a plain name.
            AdapterNotFound: there is no such adapter.
        """
        if adapter_id not in self.loaded:
            folder = adapter_dir(self.config.adapters_dir, adapter_id)
            if not (folder / LORA_WEIGHTS).is_file():
                raise AdapterNotFound(f"no LoRA adapter {adapter_id!r} (looked for {folder / LORA_WEIGHTS})")
            name = peft_name(adapter_id)
            present = {n for names in self.pipe.get_list_adapters().values() for n in names}
            if name not in present:  # another Interpolator on this pipeline may have loaded it
                self.pipe.load_lora_weights(str(folder), weight_name=LORA_WEIGHTS, adapter_name=name)
            self.loaded[adapter_id] = name
        if self.active != adapter_id:
            self.pipe.set_adapters([self.loaded[adapter_id]], adapter_weights=[1.0])
            self.active = adapter_id

    @torch.no_grad()
    def between(self, first: np.ndarray, last: np.ndarray, count: int, generator: torch.Generator) -> np.ndarray:
        """``count`` frames evenly spaced in time strictly between ``first`` and ``last``.

        Args:
            first: ``uint8`` ``(height, width, 3)``.
            last: ``uint8`` ``(height, width, 3)``, the same size.
            count: frames wanted between them (at least 1).
            generator: the call's random generator.

        Returns:
            ``uint8`` ``(count, height, width, 3)`` at the input size.
        """
        height, width = first.shape[:2]
        config = self.config
        model_w, model_h = sampling.model_geometry(width, height, config.spatial_multiple, config.max_area)
        num_frames = sampling.model_frame_count(count + 2, config.temporal_multiple)
        size = (model_w, model_h)
        result = self.pipe(
            image=Image.fromarray(first).resize(size, Image.Resampling.LANCZOS),
            last_image=Image.fromarray(last).resize(size, Image.Resampling.LANCZOS),
            prompt=prompts.INTERPOLATION_PROMPT,
            negative_prompt=prompts.NEGATIVE_PROMPT,
            height=model_h,
            width=model_w,
            num_frames=num_frames,
            num_inference_steps=config.num_inference_steps,
            guidance_scale=config.guidance_scale,
            generator=generator,
            output_type="np",
            max_sequence_length=config.max_sequence_length,
        )
        clip = sampling.to_uint8(np.asarray(result.frames[0]))
        inner = clip[sampling.resample_indices(len(clip), count + 2)][1:-1]
        return sampling.resize_frames(inner, width, height)

    def interpolate(
        self,
        frames: np.ndarray,
        factor: int,
        adapter_id: Optional[str],
        seed: int = 0,
        progress: Optional[Progress] = None,
    ) -> np.ndarray:
        """``frames`` at ``factor`` times the frame rate.

        Each input frame is followed by ``factor - 1`` generated frames between it and the next;
        the last input frame is held ``factor`` times, so the clip keeps its duration at
        ``fps * factor`` (``sampling.interpolated_length`` frames).

        Args:
            frames: ``uint8`` ``(n, height, width, 3)``.
            factor: 2..8.
            adapter_id: the LoRA adapter's id, or ``None`` for the configured default.
            seed: the noise seed (same seed, same frames).
            progress: called with the fraction done (0..1) after each frame pair.

        Returns:
            ``uint8`` ``(n * factor, height, width, 3)``.
        """
        # 1. Check inputs; choose and load the adapter (raises without one).
        if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8 or len(frames) < 1:
            raise ModelInputError(f"frames must be uint8 (n >= 1, h, w, 3), got {frames.dtype} {frames.shape}")
        if not 2 <= factor <= 8:
            raise ModelInputError(f"factor must be in 2..8, got {factor}")
        self.use_adapter(self.resolve_adapter(adapter_id))

        # 2. Between every pair of neighbours, factor - 1 new frames.
        generator = seeded(seed, self.device)
        out = []
        pairs = len(frames) - 1
        for i in range(pairs):
            out.append(frames[i : i + 1])
            out.append(self.between(frames[i], frames[i + 1], factor - 1, generator))
            if progress is not None:
                progress((i + 1) / pairs)

        # 3. The last frame held, so the duration is unchanged.
        out.append(np.repeat(frames[-1:], factor, axis=0))
        return np.concatenate(out, axis=0)
