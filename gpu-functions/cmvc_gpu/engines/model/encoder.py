"""The encoder's models: an MLLM that writes the content and motion texts, and a CLIP-style image
embedder whose features cut scenes and choose each scene's keyframe.

Both are loaded once (:meth:`Encoder.from_pretrained`, called from ``@modal.enter``) and reused
for every call. Tests build them from tiny configs and pass them to the constructor.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from . import prompts, sampling
from .config import EncoderConfig
from .errors import ModelInputError
from .runtime import eval_modules, resolve_device, resolve_dtype
from .weights import local_folder


class Encoder:
    """Describes video segments in text and embeds frames.

    Args:
        mllm: a transformers image-text-to-text model with video input (``generate``).
        processor: its processor (chat template, tokenizer, video processor).
        embedder: a vision model returning ``image_embeds`` (e.g. ``CLIPVisionModelWithProjection``).
        embed_processor: its image processor.
        config: the encoder settings.
        device: where the models run.
    """

    def __init__(
        self,
        mllm: Any,
        processor: Any,
        embedder: Any,
        embed_processor: Any,
        config: EncoderConfig,
        device: torch.device | str = "cpu",
    ) -> None:
        self.mllm = mllm
        self.processor = processor
        self.embedder = embedder
        self.embed_processor = embed_processor
        self.config = config
        self.device = torch.device(device)
        eval_modules(mllm, embedder)

    @classmethod
    def from_pretrained(
        cls,
        config: EncoderConfig,
        device: Optional[str] = None,
        dtype: Optional[str] = None,
        cache_dir: Optional[str] = None,
    ) -> "Encoder":
        """Loads both models at their pinned revisions from their folders in ``cache_dir`` (the Volume)."""
        from transformers import (
            AutoImageProcessor,
            AutoModelForImageTextToText,
            AutoProcessor,
            CLIPVisionModelWithProjection,
        )

        torch_device = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, torch_device)
        mllm_folder = local_folder(config.mllm, cache_dir)
        embedder_folder = local_folder(config.embedder, cache_dir)
        processor = AutoProcessor.from_pretrained(mllm_folder, max_pixels=config.mllm_max_pixels)
        mllm = AutoModelForImageTextToText.from_pretrained(mllm_folder, dtype=torch_dtype, device_map=str(torch_device))
        embed_processor = AutoImageProcessor.from_pretrained(embedder_folder)
        embedder = CLIPVisionModelWithProjection.from_pretrained(embedder_folder, dtype=torch_dtype, device_map=str(torch_device))
        return cls(mllm, processor, embedder, embed_processor, config, torch_device)

    def frames_for(self, seconds: float) -> int:
        """Frames to sample for a segment of ``seconds`` (``sampling.mllm_frame_count``): at most
        ``frames_per_segment``, fewer for a short segment, so that no two of the model's temporal
        patches share a time position (with 16 frames, a Qwen2.5-VL 7B at 2 tokens per second reads
        any segment under 4 s with repeated positions)."""
        patch = int(getattr(getattr(self.processor, "video_processor", None), "temporal_patch_size", None) or 2)
        tokens_per_second = getattr(getattr(self.mllm.config, "vision_config", None), "tokens_per_second", None)
        return sampling.mllm_frame_count(seconds, self.config.frames_per_segment, patch, tokens_per_second)

    @torch.no_grad()
    def embed(self, frames: np.ndarray) -> np.ndarray:
        """Image embeddings of ``frames``.

        Args:
            frames: ``uint8`` ``(n, height, width, 3)`` RGB.

        Returns:
            ``float32`` ``(n, dim)``, one row per frame (not normalised).
        """
        if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
            raise ModelInputError(f"frames must be uint8 (n, h, w, 3), got {frames.dtype} {frames.shape}")
        rows = []
        dtype = next(self.embedder.parameters()).dtype
        for start in range(0, len(frames), self.config.embed_batch_size):
            batch = list(frames[start : start + self.config.embed_batch_size])
            inputs = self.embed_processor(images=batch, return_tensors="pt")
            pixels = inputs["pixel_values"].to(self.device, dtype)
            rows.append(self.embedder(pixel_values=pixels).image_embeds.float().cpu().numpy())
        return np.concatenate(rows, axis=0)

    def inputs(self, frames: np.ndarray, fps: float, kind: prompts.DescriptionKind, max_chars: int) -> Any:
        """The processor's model inputs for one description.

        The frames were sampled here, so the processor must not sample again
        (``do_sample_frames=False``), and their timing goes in as ``video_metadata``: a bare
        ``fps=`` is ignored on that path and time would be read as 24 frames/s, making a 10-s
        segment sampled at 1.6 frames/s look 15 times faster. With the metadata, each temporal
        patch of 2 frames spans ``2 / fps`` seconds (``second_per_grid_ts``).
        """
        messages = prompts.describe_messages(kind, max_chars)
        chat = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        metadata = {"fps": float(fps), "total_num_frames": len(frames), "frames_indices": list(range(len(frames)))}
        return self.processor(
            text=[chat], videos=[frames], video_metadata=[metadata], do_sample_frames=False, return_tensors="pt"
        )

    @torch.no_grad()
    def describe(self, frames: np.ndarray, fps: float, kind: prompts.DescriptionKind, max_chars: int) -> str:
        """The MLLM's raw answer for one segment and one kind of text.

        Args:
            frames: the sampled frames, ``uint8`` ``(n, height, width, 3)``, ``n`` even.
            fps: the sampled frames' rate (frames/s), so the model knows how fast time passes.
            kind: ``"content"`` or ``"motion"`` (see :mod:`prompts`).
            max_chars: the character budget told to the model.

        Returns:
            The generated text, special tokens removed (not yet cleaned or cut; see
            ``sampling.clean_text``).
        """
        if frames.ndim != 4 or len(frames) < 2 or len(frames) % 2:
            raise ModelInputError(f"frames must be an even number >= 2 of (h, w, 3) frames, got {frames.shape}")
        if fps <= 0:
            raise ModelInputError(f"fps must be positive, got {fps}")
        inputs = self.inputs(frames, fps, kind, max_chars).to(self.device)
        output = self.mllm.generate(**inputs, max_new_tokens=self.config.max_new_tokens, do_sample=False)
        answer = output[:, inputs["input_ids"].shape[1] :]
        return str(self.processor.batch_decode(answer, skip_special_tokens=True)[0])
