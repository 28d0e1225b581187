"""The generator: TT2V with a text-to-video pipeline and IT2V with an image-to-video pipeline
(diffusers, Wan 2.1 family by default), seeded per call.

Both pipelines are loaded once (:meth:`Generator.from_pretrained`); the text-to-video pipeline
borrows the image-to-video pipeline's text encoder, tokenizer and VAE when they are the same
(as for Wan 2.1 T2V 1.3B and I2V 14B), so the GPU holds one copy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Optional

import numpy as np
import torch
from PIL import Image

from . import prompts, sampling
from .config import GeneratorConfig
from .errors import ModelInputError
from .runtime import eval_modules, resolve_device, resolve_dtype, seeded

Progress = Callable[[float], None]


class Generator:
    """Makes one segment's video from its texts (TT2V) or its keyframe and texts (IT2V).

    Args:
        t2v: a text-to-video pipeline (``WanPipeline``), or ``None`` when TT2V is not served.
        i2v: an image-to-video pipeline (``WanImageToVideoPipeline``), or ``None`` when IT2V is
            not served (then TT2V segments longer than one call are refused too).
        config: the generator settings.
        device: where the pipelines run.
    """

    def __init__(self, t2v: Any, i2v: Any, config: GeneratorConfig, device: torch.device | str = "cpu") -> None:
        if t2v is None and i2v is None:
            raise ValueError("a Generator needs at least one pipeline")
        self.t2v = t2v
        self.i2v = i2v
        self.config = config
        self.device = torch.device(device)
        for pipe in (t2v, i2v):
            if pipe is not None:
                eval_modules(pipe)
                pipe.set_progress_bar_config(disable=True)

    @classmethod
    def from_pretrained(
        cls,
        config: GeneratorConfig,
        device: Optional[str] = None,
        dtype: Optional[str] = None,
        cache_dir: Optional[str] = None,
    ) -> "Generator":
        """Loads both pipelines at their pinned revisions, sharing the text encoder and VAE."""
        from diffusers import AutoencoderKLWan, WanImageToVideoPipeline, WanPipeline
        from transformers import CLIPVisionModel

        torch_device = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, torch_device)
        ref = config.i2v
        # The Wan VAE and image encoder stay float32, as the model card recommends.
        vae = AutoencoderKLWan.from_pretrained(
            ref.id, subfolder="vae", revision=ref.revision, cache_dir=cache_dir, dtype=torch.float32
        )
        image_encoder = CLIPVisionModel.from_pretrained(
            ref.id, subfolder="image_encoder", revision=ref.revision, cache_dir=cache_dir, dtype=torch.float32
        )
        i2v = WanImageToVideoPipeline.from_pretrained(
            ref.id,
            revision=ref.revision,
            cache_dir=cache_dir,
            vae=vae,
            image_encoder=image_encoder,
            dtype=torch_dtype,
        ).to(torch_device)
        t2v = WanPipeline.from_pretrained(
            config.t2v.id,
            revision=config.t2v.revision,
            cache_dir=cache_dir,
            vae=i2v.vae,
            text_encoder=i2v.text_encoder,
            tokenizer=i2v.tokenizer,
            dtype=torch_dtype,
        ).to(torch_device)
        return cls(t2v, i2v, config, torch_device)

    def check_inputs(
        self,
        mode: str,
        keyframe: Optional[Image.Image],
        width: int,
        height: int,
        fps: float,
        frame_count: int,
    ) -> None:
        """Raises :class:`ModelInputError` naming the first argument this generator cannot take."""
        if mode not in ("tt2v", "it2v"):
            raise ModelInputError(f"mode must be 'tt2v' or 'it2v', got {mode!r}")
        if mode == "it2v" and keyframe is None:
            raise ModelInputError("mode 'it2v' needs the segment's keyframe, got none")
        if mode == "tt2v" and self.t2v is None:
            raise ModelInputError("mode 'tt2v' is not served by this generator (no text-to-video pipeline)")
        if mode == "it2v" and self.i2v is None:
            raise ModelInputError("mode 'it2v' is not served by this generator (no image-to-video pipeline)")
        if width < 16 or height < 16:
            raise ModelInputError(f"width and height must be at least 16, got {width}x{height}")
        if fps <= 0:
            raise ModelInputError(f"fps must be positive, got {fps}")
        if frame_count < 1:
            raise ModelInputError(f"frame_count must be positive, got {frame_count}")
        native = self.native_frames(fps, frame_count)
        if native > self.config.max_frames_per_call and self.i2v is None:
            raise ModelInputError(
                f"frame_count {frame_count} at {fps} fps needs {native} frames, more than one call "
                f"({self.config.max_frames_per_call}) and there is no image-to-video pipeline to continue"
            )

    def native_frames(self, fps: float, frame_count: int) -> int:
        """Frames the models make for ``frame_count`` frames at ``fps``: the same duration at the
        models' native rate, at least 1."""
        return max(1, int(round(frame_count / fps * self.config.native_fps)))

    @torch.no_grad()
    def generate(
        self,
        mode: Literal["tt2v", "it2v"],
        content_text: str,
        motion_text: str,
        keyframe: Optional[Image.Image],
        width: int,
        height: int,
        fps: float,
        frame_count: int,
        seed: int,
        progress: Optional[Progress] = None,
    ) -> np.ndarray:
        """One segment's frames.

        Args:
            mode: ``"tt2v"`` (texts only) or ``"it2v"`` (keyframe + texts).
            content_text: the segment's content description.
            motion_text: the segment's motion description.
            keyframe: the decoded keyframe (RGB); required for ``"it2v"``, ignored for ``"tt2v"``.
            width: output width in pixels.
            height: output height in pixels.
            fps: output frame rate (frames/s).
            frame_count: output frames.
            seed: the noise seed; the same seed and inputs give the same frames.
            progress: called with the fraction done (0..1) after each pipeline call.

        Returns:
            ``uint8`` ``(frame_count, height, width, 3)`` RGB frames.
        """
        # 1. Check inputs.
        self.check_inputs(mode, keyframe, width, height, fps, frame_count)
        config = self.config

        # 2. The geometry and frame counts the models make.
        model_w, model_h = sampling.model_geometry(width, height, config.spatial_multiple, config.max_area)
        native = self.native_frames(fps, frame_count)
        chunks = sampling.chunk_frame_counts(native, config.max_frames_per_call, config.temporal_multiple)

        # 3. One generator for the whole call: its state carries from chunk to chunk.
        generator = seeded(seed, self.device)
        prompt = (prompts.tt2v_prompt if mode == "tt2v" else prompts.it2v_prompt)(content_text, motion_text)
        common = dict(
            prompt=prompt,
            negative_prompt=prompts.NEGATIVE_PROMPT,
            height=model_h,
            width=model_w,
            num_inference_steps=config.num_inference_steps,
            guidance_scale=config.guidance_scale,
            generator=generator,
            output_type="np",
            max_sequence_length=config.max_sequence_length,
        )

        # 4. The first call, then continuations from each call's last frame.
        clips: list[np.ndarray] = []
        for i, num_frames in enumerate(chunks):
            if i == 0 and mode == "tt2v":
                frames = self.t2v(num_frames=num_frames, **common).frames[0]
            else:
                start = keyframe if i == 0 else Image.fromarray(clips[-1][-1])
                assert start is not None  # check_inputs guarantees a keyframe for it2v
                image = start.convert("RGB").resize((model_w, model_h), Image.Resampling.LANCZOS)
                frames = self.i2v(image=image, num_frames=num_frames, **common).frames[0]
            clip = sampling.to_uint8(np.asarray(frames))
            clips.append(clip if i == 0 else clip[1:])
            if progress is not None:
                progress((i + 1) / len(chunks))

        # 5. To the request's duration, frame count and geometry.
        video = np.concatenate(clips, axis=0)[:native]
        return sampling.fit_clip(video, width, height, frame_count)
