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
class ClipConfig:
    """The clip one video-model call makes: served by the generator and trained on by the LoRA run,
    so the adapter learns exactly the configuration it is used in.

    Args:
        native_fps: the frame rate the Wan 2.1 models were trained at (frames/s).
        max_frames_per_call: the longest clip one pipeline call makes (``temporal_multiple * k + 1``
            frames); at ``native_fps`` it is also the longest gap between two keyframes that one
            first/last-frame call can bridge (81 frames = 5 s).
        max_area: largest generated frame, in pixels (480p class: 832x480).
        spatial_multiple: width and height are multiples of this (VAE factor x patch size).
        temporal_multiple: frame counts are ``temporal_multiple * k + 1`` (the VAE's time factor).
    """

    native_fps: float = 16.0
    max_frames_per_call: int = 81
    max_area: int = 832 * 480
    spatial_multiple: int = 16
    temporal_multiple: int = 4

    def __post_init__(self) -> None:
        if (self.max_frames_per_call - 1) % self.temporal_multiple:
            raise ValueError(
                f"max_frames_per_call must be {self.temporal_multiple}*k+1, got {self.max_frames_per_call}"
            )
        if self.native_fps <= 0:
            raise ValueError(f"native_fps must be positive, got {self.native_fps}")

    @property
    def max_keyframe_gap_seconds(self) -> float:
        """The longest time between two keyframes that one call bridges (s)."""
        return (self.max_frames_per_call - 1) / self.native_fps


@dataclass(frozen=True)
class StepSchedule:
    """The sampler settings of one configuration: steps, guidance and Wan's timestep shift.

    The same ``flow_shift`` maps uniform draws to training timesteps (``sampling.shifted_sigma``),
    so the adapter is trained where the sampler spends its steps.

    Args:
        name: ``"default"`` (each model's own sampling, ``models``) or ``"few"`` (a step- and
            guidance-distilled LoRA on ``distilled``: 4 steps, guidance off).
        num_inference_steps: denoising steps per call (of a model ``models`` does not name).
        guidance_scale: classifier-free guidance; 1.0 disables the unconditional pass.
        flow_shift: the flow-matching scheduler's shift.
        distill_lora: the distilled LoRA's repository (``None`` for the default schedule).
        distill_lora_file: the LoRA's file inside that repository.
        distilled: the models the distilled LoRA runs on (with this schedule's own settings).
        models: per model, the settings it runs with when not ``distilled`` (``WAN_SAMPLING``); a
            model not named runs this schedule's own settings.
    """

    name: str = "default"
    num_inference_steps: int = 40
    guidance_scale: float = 5.0
    flow_shift: float = 3.0
    distill_lora: Optional[ModelRef] = None
    distill_lora_file: Optional[str] = None
    distilled: tuple[str, ...] = ()
    models: tuple[tuple[str, "StepSchedule"], ...] = ()

    def __post_init__(self) -> None:
        if self.num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be positive, got {self.num_inference_steps}")
        if self.flow_shift <= 0:
            raise ValueError(f"flow_shift must be positive, got {self.flow_shift}")
        if (self.distill_lora is None) != (self.distill_lora_file is None):
            raise ValueError("distill_lora and distill_lora_file go together")
        if self.distilled and self.distill_lora is None:
            raise ValueError(f"distilled models {self.distilled} need a distill_lora")

    @property
    def guided(self) -> bool:
        """Whether each step runs the unconditional pass too (two transformer passes per step)."""
        return self.guidance_scale > 1.0


#: Wan 2.1's own sampler settings per model (its ``generate.py``): 50 steps, 40 for image-to-video;
#: shift 5.0, 3.0 for image-to-video at 480p, 16 for first/last-frame; guidance 5.0. The 720P
#: first/last-frame model runs at 832x480 here (a size Wan supports for it) with its own shift: one
#: 81-frame call at 1280x720 would outlive the call limit.
WAN_SAMPLING = (
    ("t2v", StepSchedule(name="default", num_inference_steps=50, guidance_scale=5.0, flow_shift=5.0)),
    ("i2v", StepSchedule(name="default", num_inference_steps=40, guidance_scale=5.0, flow_shift=3.0)),
    ("flf2v", StepSchedule(name="default", num_inference_steps=50, guidance_scale=5.0, flow_shift=16.0)),
)

#: LightX2V's step- and CFG-distilled LoRA for Wan 2.1 I2V 14B 480p, as repackaged for diffusers'
#: ``load_lora_weights`` (diffusers PR #12040). Its H200 figure: 14 s for a 5-s 480p clip.
LIGHTX2V_REPO = ModelRef("Kijai/WanVideo_comfy", "29d93f7394d49ed7ef070709ff92a316c1a6aa41")
LIGHTX2V_I2V_480P_FILE = "Lightx2v/lightx2v_I2V_14B_480p_cfg_step_distill_rank128_bf16.safetensors"

DEFAULT_SCHEDULE = StepSchedule(models=WAN_SAMPLING)
#: The distilled LoRA runs on the model it was distilled from (I2V 14B 480P). On the 720P
#: first/last-frame model its quality is unmeasured, so bridges keep their own sampling unless
#: ``CMVC_FEW_STEP_BRIDGES=1`` opts in (``FEW_STEP_BRIDGES``).
FEW_STEP_SCHEDULE = StepSchedule(
    name="few",
    num_inference_steps=4,
    guidance_scale=1.0,
    flow_shift=5.0,
    distill_lora=LIGHTX2V_REPO,
    distill_lora_file=LIGHTX2V_I2V_480P_FILE,
    distilled=("i2v",),
    models=WAN_SAMPLING,
)
FEW_STEP_BRIDGES = replace(FEW_STEP_SCHEDULE, distilled=("i2v", "flf2v"))
SCHEDULES = {s.name: s for s in (DEFAULT_SCHEDULE, FEW_STEP_SCHEDULE)}


def model_schedule(schedule: StepSchedule, model: str) -> StepSchedule:
    """The settings pipeline ``model`` runs with under ``schedule``: the schedule's own when the
    distilled LoRA runs on it, else the model's own (``schedule.models``); a schedule naming no
    models runs its own settings everywhere, except that a distilled schedule's other models keep
    the default."""
    if schedule.distill_lora is not None and model in schedule.distilled:
        return schedule
    own = dict(schedule.models).get(model)
    if own is not None:
        return own
    return schedule if schedule.distill_lora is None else DEFAULT_SCHEDULE


@dataclass(frozen=True)
class GeneratorConfig:
    """TT2V and IT2V (Wan 2.1 family through diffusers), all pipelines in one container.

    TT2V: text-to-video for the first clip, continued from each clip's last frame by
    image-to-video. IT2V: image-to-video from the first keyframe; between consecutive keyframes
    one first/last-frame call (FLF2V + the LoRA adapter) conditioned on the motion text; after the
    last keyframe image-to-video from it. The calls are planned by ``calls.plan_segment`` and each
    makes at most ``clip.max_frames_per_call`` frames, so each fits the call limit.

    Args:
        t2v: the text-to-video pipeline's weights.
        i2v: the image-to-video pipeline's weights (its text encoder, VAE and image encoder are
            shared by every pipeline).
        flf2v: the first/last-frame pipeline's weights (transformer only; the rest is shared).
        clip: the clip one call makes (shared with LoRA training).
        schedule: ``DEFAULT_SCHEDULE`` or ``FEW_STEP_SCHEDULE`` (``CMVC_STEPS=few``).
        adapters_dir: where FLF2V LoRA adapters live, one folder per adapter id.
        default_adapter_id: the adapter for keyframe bridging when a request names none; ``None``
            means IT2V with two or more keyframes needs one.
        max_sequence_length: text tokens given to the text encoder.
    """

    t2v: ModelRef = WAN21_T2V_1_3B
    i2v: ModelRef = WAN21_I2V_14B_480P
    flf2v: ModelRef = WAN21_FLF2V_14B_720P
    clip: ClipConfig = field(default_factory=ClipConfig)
    schedule: StepSchedule = DEFAULT_SCHEDULE
    adapters_dir: str = "/adapters"
    default_adapter_id: Optional[str] = None
    max_sequence_length: int = 512


@dataclass(frozen=True)
class InterpolatorConfig:
    """The frame-rate raise after generation: motion-compensated blended in-betweens (the
    shared :mod:`cmvc_gpu.media.inbetween`, milliseconds per frame on the CPU; no model).

    Args:
        max_factor: the largest frame-rate multiple.
    """

    max_factor: int = 8


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
        return {role: ref.pinned() for role, ref in self.refs().items()}

    def refs(self) -> dict[str, ModelRef]:
        """Model role → :class:`ModelRef`, e.g. for downloading every weight once. The few-step
        LoRA appears only when the few-step schedule is configured."""
        refs = {
            "mllm": self.encoder.mllm,
            "embedder": self.encoder.embedder,
            "t2v": self.generator.t2v,
            "i2v": self.generator.i2v,
            "flf2v": self.generator.flf2v,
        }
        if self.generator.schedule.distill_lora is not None:
            refs["distill"] = self.generator.schedule.distill_lora
        return refs

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "ModelEngineConfig":
        """The defaults, overridden by environment variables.

        ``CMVC_MODEL_MLLM``, ``CMVC_MODEL_EMBEDDER``, ``CMVC_MODEL_T2V``, ``CMVC_MODEL_I2V`` and
        ``CMVC_MODEL_FLF2V`` hold ``id@revision``; ``CMVC_STEPS`` is ``default`` or ``few``
        (``CMVC_FEW_STEP_BRIDGES=1``: the distilled LoRA on the first/last-frame model too, unmeasured);
        ``CMVC_ADAPTERS_DIR``, ``CMVC_DEFAULT_ADAPTER``, ``CMVC_DEVICE``, ``CMVC_DTYPE`` and
        ``HF_HUB_CACHE`` the rest.
        """
        env = os.environ if env is None else env
        config = cls()
        encoder, generator = config.encoder, config.generator
        if env.get("CMVC_MODEL_MLLM"):
            encoder = replace(encoder, mllm=ModelRef.parse(env["CMVC_MODEL_MLLM"]))
        if env.get("CMVC_MODEL_EMBEDDER"):
            encoder = replace(encoder, embedder=ModelRef.parse(env["CMVC_MODEL_EMBEDDER"]))
        for role in ("t2v", "i2v", "flf2v"):
            value = env.get(f"CMVC_MODEL_{role.upper()}")
            if value:
                generator = replace(generator, **{role: ModelRef.parse(value)})
        steps = env.get("CMVC_STEPS")
        if steps:
            if steps not in SCHEDULES:
                raise ValueError(f"CMVC_STEPS must be one of {sorted(SCHEDULES)}, got {steps!r}")
            generator = replace(generator, schedule=SCHEDULES[steps])
        if env.get("CMVC_FEW_STEP_BRIDGES") == "1":
            if generator.schedule.distill_lora is None:
                raise ValueError("CMVC_FEW_STEP_BRIDGES=1 needs CMVC_STEPS=few")
            generator = replace(generator, schedule=replace(generator.schedule, distilled=FEW_STEP_BRIDGES.distilled))
        if env.get("CMVC_ADAPTERS_DIR"):
            generator = replace(generator, adapters_dir=env["CMVC_ADAPTERS_DIR"])
        if env.get("CMVC_DEFAULT_ADAPTER"):
            generator = replace(generator, default_adapter_id=env["CMVC_DEFAULT_ADAPTER"])
        return replace(
            config,
            encoder=encoder,
            generator=generator,
            device=env.get("CMVC_DEVICE") or None,
            dtype=env.get("CMVC_DTYPE") or None,
            cache_dir=env.get("HF_HUB_CACHE") or None,
        )
