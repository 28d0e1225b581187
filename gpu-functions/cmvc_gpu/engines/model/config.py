"""Configuration of the model engine: model ids and revisions (pinned), and each stage's settings.

Torch-free, so the Modal app file and the tests can read it without the heavy packages.

Every model is a :class:`ModelRef` ``(id, revision)``; ``revision`` is a full commit hash on the
Hugging Face hub, so a deployment downloads exactly these weights, and every response records them
as ``"id@revision"`` in ``engine.models``. Override one with an environment variable holding
``id@revision`` (see :meth:`ModelEngineConfig.from_env`); changing a default is a code change that
shows in review and in every bitstream produced afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Optional

ENGINE_ID = "model"
ENGINE_VERSION = "1.0.0"


@dataclass(frozen=True)
class ModelRef:
    """A model on the Hugging Face hub at one commit.

    Args:
        id: the repository, e.g. ``"Qwen/Qwen2.5-VL-7B-Instruct"``.
        revision: a full 40-hex commit hash (a branch name would not be reproducible).
    """

    id: str
    revision: str

    def pinned(self) -> str:
        """``"id@revision"``, the form recorded in ``engine.models``."""
        return f"{self.id}@{self.revision}"

    @classmethod
    def parse(cls, text: str) -> "ModelRef":
        """Reads ``"id@revision"``; raises ``ValueError`` naming the text when either half is missing."""
        model_id, sep, revision = text.strip().rpartition("@")
        if not sep or not model_id or not revision:
            raise ValueError(f"a model reference must be 'id@revision', got {text!r}")
        return cls(model_id, revision)


# Pinned defaults. Revisions are hub commit hashes; `download_weights` in modal_app.py fetches
# exactly these, and fails loudly when one does not exist.
QWEN25_VL_7B = ModelRef("Qwen/Qwen2.5-VL-7B-Instruct", "cc594898137f460bfe9f0759e9844b3ce807cfb5")
CLIP_VIT_B32 = ModelRef("openai/clip-vit-base-patch32", "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268")
WAN21_T2V_1_3B = ModelRef("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "0fad780a534b6463e45facd96134c9f345acfa5b")
WAN21_I2V_14B_480P = ModelRef("Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", "b184e23a8a16b20f108f727c902e769e873ffc73")
WAN21_FLF2V_14B_720P = ModelRef("Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers", "17c30769b1e0b5dcaa1799b117bf20a9c31f59d7")


@dataclass(frozen=True)
class EncoderConfig:
    """The encoder: an MLLM writes the two texts; a CLIP-style embedder cuts scenes and picks keyframes.

    Args:
        mllm: the multimodal LLM with video input (Qwen2.5-VL family through transformers).
        embedder: the image embedding model (a CLIP vision tower with projection).
        frames_per_segment: frames shown to the MLLM per segment, sampled uniformly (an even number:
            Qwen2.5-VL groups frames in pairs).
        mllm_max_pixels: pixel cap per frame for the MLLM's video processor.
        max_new_tokens: longest description generated, in tokens.
        analysis_fps: frames per second embedded for scene cuts and keyframe choice (frames/s).
        scene_threshold: cosine distance between consecutive analysed frames that starts a new scene.
        embed_batch_size: frames per embedder forward pass.
    """

    mllm: ModelRef = QWEN25_VL_7B
    embedder: ModelRef = CLIP_VIT_B32
    frames_per_segment: int = 16
    mllm_max_pixels: int = 360 * 420
    max_new_tokens: int = 256
    analysis_fps: float = 4.0
    scene_threshold: float = 0.25
    embed_batch_size: int = 32

    def __post_init__(self) -> None:
        if self.frames_per_segment < 2 or self.frames_per_segment % 2:
            raise ValueError(f"frames_per_segment must be an even number >= 2, got {self.frames_per_segment}")
        if not 0.0 < self.scene_threshold <= 2.0:
            raise ValueError(f"scene_threshold must be in (0, 2], got {self.scene_threshold}")
        if self.analysis_fps <= 0:
            raise ValueError(f"analysis_fps must be positive, got {self.analysis_fps}")


@dataclass(frozen=True)
class GeneratorConfig:
    """TT2V and IT2V diffusion pipelines (Wan 2.1 family through diffusers).

    The pipelines generate at their native frame rate and a geometry they accept (multiples of
    ``spatial_multiple``, at most ``max_area`` pixels, ``temporal_multiple * k + 1`` frames); the
    result is then resized and resampled in time to the request's exact geometry and frame count.

    Args:
        t2v: the text-to-video pipeline's weights.
        i2v: the image-to-video pipeline's weights.
        native_fps: the frame rate the models were trained at (frames/s).
        max_frames_per_call: the longest clip one pipeline call makes; longer segments continue
            from their last frame with the image-to-video pipeline.
        max_area: largest generated frame, in pixels.
        spatial_multiple: width and height are multiples of this (VAE factor × patch size).
        temporal_multiple: frame counts are ``temporal_multiple * k + 1`` (the VAE's time factor).
        num_inference_steps: denoising steps per call.
        guidance_scale: classifier-free guidance; 1.0 disables the unconditional pass.
        max_sequence_length: text tokens given to the text encoder.
    """

    t2v: ModelRef = WAN21_T2V_1_3B
    i2v: ModelRef = WAN21_I2V_14B_480P
    native_fps: float = 16.0
    max_frames_per_call: int = 81
    max_area: int = 832 * 480
    spatial_multiple: int = 16
    temporal_multiple: int = 4
    num_inference_steps: int = 40
    guidance_scale: float = 5.0
    max_sequence_length: int = 512

    def __post_init__(self) -> None:
        if (self.max_frames_per_call - 1) % self.temporal_multiple:
            raise ValueError(
                f"max_frames_per_call must be {self.temporal_multiple}*k+1, got {self.max_frames_per_call}"
            )


@dataclass(frozen=True)
class InterpolatorConfig:
    """First/last-frame conditioned interpolation (Wan 2.1 FLF2V) with a LoRA adapter.

    Args:
        flf2v: the first/last-frame-to-video pipeline's weights.
        adapters_dir: where adapters live, one folder per adapter id (on the Modal Volume).
        default_adapter_id: used when a request names none; ``None`` means requests must name one.
        max_area: largest generated frame, in pixels.
        spatial_multiple: as in :class:`GeneratorConfig`.
        temporal_multiple: as in :class:`GeneratorConfig`.
        num_inference_steps: denoising steps per frame pair.
        guidance_scale: classifier-free guidance; 1.0 disables the unconditional pass.
        max_sequence_length: text tokens given to the text encoder.
    """

    flf2v: ModelRef = WAN21_FLF2V_14B_720P
    adapters_dir: str = "/vol/adapters"
    default_adapter_id: Optional[str] = None
    max_area: int = 832 * 480
    spatial_multiple: int = 16
    temporal_multiple: int = 4
    num_inference_steps: int = 30
    guidance_scale: float = 5.0
    max_sequence_length: int = 512


@dataclass(frozen=True)
class ModelEngineConfig:
    """The whole engine.

    Args:
        device: ``"cuda"``, ``"cpu"``, or ``None`` for cuda when available.
        dtype: ``"bfloat16"``, ``"float16"``, ``"float32"``, or ``None`` for bfloat16 on cuda and
            float32 on the CPU.
        cache_dir: the Hugging Face cache (``HF_HUB_CACHE``); ``None`` uses the library default.
    """

    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    interpolator: InterpolatorConfig = field(default_factory=InterpolatorConfig)
    device: Optional[str] = None
    dtype: Optional[str] = None
    cache_dir: Optional[str] = None

    def models(self) -> dict[str, str]:
        """Model role → ``"id@revision"``, as recorded in every response's ``engine.models``."""
        return {
            "mllm": self.encoder.mllm.pinned(),
            "embedder": self.encoder.embedder.pinned(),
            "t2v": self.generator.t2v.pinned(),
            "i2v": self.generator.i2v.pinned(),
            "flf2v": self.interpolator.flf2v.pinned(),
        }

    def refs(self) -> dict[str, ModelRef]:
        """Model role → :class:`ModelRef`, e.g. for downloading every weight once."""
        return {
            "mllm": self.encoder.mllm,
            "embedder": self.encoder.embedder,
            "t2v": self.generator.t2v,
            "i2v": self.generator.i2v,
            "flf2v": self.interpolator.flf2v,
        }

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "ModelEngineConfig":
        """The defaults, overridden by environment variables.

        ``CMVC_MODEL_MLLM``, ``CMVC_MODEL_EMBEDDER``, ``CMVC_MODEL_T2V``, ``CMVC_MODEL_I2V`` and
        ``CMVC_MODEL_FLF2V`` hold ``id@revision``; ``CMVC_ADAPTERS_DIR``, ``CMVC_DEFAULT_ADAPTER``,
        ``CMVC_DEVICE``, ``CMVC_DTYPE`` and ``HF_HUB_CACHE`` the rest.
        """
        env = os.environ if env is None else env
        config = cls()
        encoder, generator, interpolator = config.encoder, config.generator, config.interpolator
        if env.get("CMVC_MODEL_MLLM"):
            encoder = replace(encoder, mllm=ModelRef.parse(env["CMVC_MODEL_MLLM"]))
        if env.get("CMVC_MODEL_EMBEDDER"):
            encoder = replace(encoder, embedder=ModelRef.parse(env["CMVC_MODEL_EMBEDDER"]))
        if env.get("CMVC_MODEL_T2V"):
            generator = replace(generator, t2v=ModelRef.parse(env["CMVC_MODEL_T2V"]))
        if env.get("CMVC_MODEL_I2V"):
            generator = replace(generator, i2v=ModelRef.parse(env["CMVC_MODEL_I2V"]))
        if env.get("CMVC_MODEL_FLF2V"):
            interpolator = replace(interpolator, flf2v=ModelRef.parse(env["CMVC_MODEL_FLF2V"]))
        if env.get("CMVC_ADAPTERS_DIR"):
            interpolator = replace(interpolator, adapters_dir=env["CMVC_ADAPTERS_DIR"])
        if env.get("CMVC_DEFAULT_ADAPTER"):
            interpolator = replace(interpolator, default_adapter_id=env["CMVC_DEFAULT_ADAPTER"])
        return replace(
            config,
            encoder=encoder,
            generator=generator,
            interpolator=interpolator,
            device=env.get("CMVC_DEVICE") or None,
            dtype=env.get("CMVC_DTYPE") or None,
            cache_dir=env.get("HF_HUB_CACHE") or None,
        )
