"""The generator: the Wan 2.1 pipelines (diffusers) that run the calls of a segment's plan
(``segment_plan``): text-to-video, image-to-video and first/last-frame with a LoRA adapter.

All pipelines in one process share one text encoder (umT5-XXL, 11 GB), one VAE and one CLIP image
encoder, loaded once from the image-to-video repository (:meth:`Generator.from_pretrained`); a
deployment may load only some pipelines (``models``). Every call is seeded on its own
(:func:`call_seed`), so a call gives the same frames wherever and in whatever order it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Optional

import numpy as np
import torch
from PIL import Image

from . import prompts, sampling
from .adapters import DISTILL_ADAPTER, AdapterSet
from .config import GeneratorConfig, StepSchedule, model_schedule
from .errors import ModelInputError
from .runtime import eval_modules, resolve_device, resolve_dtype, seeded
from .segment_plan import ModelCall, Source
from .weights import local_folder

MODELS = ("t2v", "i2v", "flf2v")

#: ``run(index, call, first, last) -> frames``: one planned call's ``call.frames`` frames.
CallRunner = Callable[[int, ModelCall, Optional[np.ndarray], Optional[np.ndarray]], np.ndarray]
#: ``start(index, call, first, last) -> pending``: starts a call elsewhere; ``pending()`` waits
#: for its frames (on Modal: ``spawn`` and ``FunctionCall.get``).
CallStarter = Callable[[int, ModelCall, Optional[np.ndarray], Optional[np.ndarray]], Callable[[], np.ndarray]]


def call_seed(seed: int, index: int) -> int:
    """The seed of call ``index`` of a segment generated with ``seed``."""
    return (seed + 1_000_003 * index) % 2**32


def distilled(schedule: StepSchedule, model: str) -> bool:
    """Whether ``model`` runs with the distilled LoRA under ``schedule``."""
    return schedule.distill_lora is not None and model in schedule.distilled


def apply_schedule(pipe: Any, schedule: StepSchedule) -> None:
    """Gives ``pipe`` a scheduler with the schedule's shift (``flow_shift`` for UniPC, ``shift``
    for flow-matching Euler), the shift LoRA training samples its timesteps with."""
    config = dict(pipe.scheduler.config)
    key = "flow_shift" if "flow_shift" in config else "shift"
    pipe.scheduler = type(pipe.scheduler).from_config(config, **{key: schedule.flow_shift})


class Generator:
    """Runs planned pipeline calls.

    Args:
        pipes: model name (``"t2v"``, ``"i2v"``, ``"flf2v"``) → its pipeline (``WanPipeline`` or
            ``WanImageToVideoPipeline``); at least one.
        config: the generator settings.
        device: where the pipelines run.
    """

    def __init__(self, pipes: dict[str, Any], config: GeneratorConfig, device: torch.device | str = "cpu") -> None:
        pipes = {name: pipe for name, pipe in pipes.items() if pipe is not None}
        if not pipes or set(pipes) - set(MODELS):
            raise ValueError(f"a Generator needs pipelines among {MODELS}, got {sorted(pipes)}")
        self.pipes = pipes
        self.config = config
        self.device = torch.device(device)
        distill = (DISTILL_ADAPTER,) if distilled(config.schedule, "flf2v") else ()
        bridges = model_schedule(config.schedule, "flf2v").name
        self.adapters = AdapterSet(pipes["flf2v"], config.adapters_dir, distill, bridges) if "flf2v" in pipes else None
        for name, pipe in pipes.items():
            eval_modules(pipe)
            pipe.set_progress_bar_config(disable=True)
            apply_schedule(pipe, model_schedule(config.schedule, name))

    @classmethod
    def from_pretrained(
        cls,
        config: GeneratorConfig,
        device: Optional[str] = None,
        dtype: Optional[str] = None,
        cache_dir: Optional[str] = None,
        models: Sequence[str] = MODELS,
    ) -> "Generator":
        """Loads the pipelines of ``models`` at their pinned revisions, sharing one text encoder,
        VAE and image encoder (from ``config.i2v``; the other repositories' copies are never
        downloaded: ``download_weights`` compares them with i2v's by the hub's SHA-256 and records
        in the manifest, under ``shared``, which are identical and which differ). Offline: everything
        is read from the revisions' folders in ``cache_dir`` (``weights.local_folder``)."""
        from diffusers import AutoencoderKLWan, WanImageToVideoPipeline, WanPipeline
        from transformers import AutoTokenizer, CLIPImageProcessor, CLIPVisionModel, UMT5EncoderModel

        unknown = set(models) - set(MODELS)
        if unknown or not models:
            raise ValueError(f"models must be among {MODELS}, got {list(models)}")
        torch_device = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, torch_device)
        root = local_folder(config.i2v, cache_dir)
        # The Wan VAE and image encoder stay float32, as the model cards recommend.
        shared = dict(
            vae=AutoencoderKLWan.from_pretrained(root, subfolder="vae", dtype=torch.float32),
            text_encoder=UMT5EncoderModel.from_pretrained(root, subfolder="text_encoder", dtype=torch_dtype),
            tokenizer=AutoTokenizer.from_pretrained(root, subfolder="tokenizer"),
        )
        image = dict(
            image_encoder=CLIPVisionModel.from_pretrained(root, subfolder="image_encoder", dtype=torch.float32),
            image_processor=CLIPImageProcessor.from_pretrained(root, subfolder="image_processor"),
        )
        pipes: dict[str, Any] = {}
        for name in models:
            kind = WanPipeline if name == "t2v" else WanImageToVideoPipeline
            parts = shared if name == "t2v" else {**shared, **image}
            pipes[name] = kind.from_pretrained(local_folder(getattr(config, name), cache_dir), dtype=torch_dtype, **parts).to(torch_device)
        schedule = config.schedule
        if schedule.distill_lora is not None:
            for name in schedule.distilled:
                if name in pipes:
                    pipes[name].load_lora_weights(
                        local_folder(schedule.distill_lora, cache_dir),
                        weight_name=schedule.distill_lora_file,
                        adapter_name=DISTILL_ADAPTER,
                    )
                    pipes[name].set_adapters([DISTILL_ADAPTER], adapter_weights=[1.0])
        return cls(pipes, config, torch_device)

    def check_inputs(self, model: str) -> None:
        """Raises :class:`ModelInputError` when this generator has no pipeline for ``model``."""
        if model not in self.pipes:
            raise ModelInputError(f"this generator has no {model!r} pipeline (loaded: {sorted(self.pipes)})")

    @torch.no_grad()
    def run_call(
        self,
        index: int,
        call: ModelCall,
        prompt: str,
        first: Optional[np.ndarray],
        last: Optional[np.ndarray],
        width: int,
        height: int,
        seed: int,
        adapter_id: Optional[str] = None,
    ) -> np.ndarray:
        """One planned call.

        Args:
            index: the call's position in its segment's plan (part of its seed).
            call: the call.
            prompt: the positive prompt.
            first: ``uint8`` ``(height, width, 3)`` first frame (``i2v``, ``flf2v``).
            last: ``uint8`` ``(height, width, 3)`` last frame (``flf2v``).
            width: the model geometry's width in pixels (a multiple of ``spatial_multiple``).
            height: its height in pixels.
            seed: the segment's seed.
            adapter_id: the LoRA adapter for ``flf2v`` calls.

        Returns:
            ``uint8`` ``(call.frames, height, width, 3)``.
        """
        self.check_inputs(call.model)
        schedule = model_schedule(self.config.schedule, call.model)
        pipe = self.pipes[call.model]
        common = dict(
            prompt=prompt,
            negative_prompt=prompts.NEGATIVE_PROMPT,
            height=height,
            width=width,
            num_frames=call.num_frames,
            num_inference_steps=schedule.num_inference_steps,
            guidance_scale=schedule.guidance_scale,
            generator=seeded(call_seed(seed, index), self.device),
            output_type="np",
            max_sequence_length=self.config.max_sequence_length,
        )
        if call.model == "t2v":
            result = pipe(**common)
        elif call.model == "i2v":
            result = pipe(image=_image(first, "first"), **common)
        else:
            assert self.adapters is not None
            if adapter_id is None:
                raise ModelInputError("a first/last-frame call needs an adapter id")
            self.adapters.use(adapter_id)
            result = pipe(image=_image(first, "first"), last_image=_image(last, "last"), **common)
        clip = sampling.to_uint8(np.asarray(result.frames[0]))
        if call.model == "flf2v":  # exactly the frames between the two keyframes
            return clip[sampling.resample_indices(len(clip), call.frames)]
        return clip[: call.frames]


def _image(frame: Optional[np.ndarray], name: str) -> Image.Image:
    if frame is None:
        raise ModelInputError(f"the call needs its {name} frame")
    return Image.fromarray(frame)


def run_segment(
    calls: Sequence[ModelCall],
    keyframes: Sequence[np.ndarray],
    positions: Sequence[int],
    total: int,
    run: CallRunner,
    start: Optional[CallStarter] = None,
) -> np.ndarray:
    """Runs a segment's plan and lays the results on the native timeline.

    Args:
        calls: the plan (``segment_plan.plan_segment``).
        keyframes: ``uint8`` ``(h, w, 3)`` keyframes at the model geometry.
        positions: their native frame indices.
        total: native frames of the segment.
        run: runs one call (in process, or remotely on Modal).
        start: when given, every call conditioned on keyframes only (each bridge, the
            extrapolation from the last keyframe, a TT2V's first call) is started at once, so
            they run side by side; the calls that continue another call's frames then run in order.

    Returns:
        ``uint8`` ``(total, h, w, 3)``: frames before the first keyframe hold the first frame made.
    """
    made: list[np.ndarray] = []
    video: list[Optional[np.ndarray]] = [None] * total

    def image(source: Optional[Source]) -> Optional[np.ndarray]:
        if source is None:
            return None
        return keyframes[source.index] if source.kind == "keyframe" else made[source.index][-1]

    independent = {
        index: call
        for index, call in enumerate(calls)
        if all(source is None or source.kind == "keyframe" for source in (call.first, call.last))
    }
    pending = (
        {index: start(index, call, image(call.first), image(call.last)) for index, call in independent.items()}
        if start is not None
        else {}
    )
    for index, call in enumerate(calls):
        clip = pending[index]() if index in pending else run(index, call, image(call.first), image(call.last))
        if len(clip) != call.frames:
            raise RuntimeError(f"call {index} ({call.model}) made {len(clip)} frames, planned {call.frames}")
        made.append(clip)
        for offset, frame in enumerate(clip):
            video[call.start + offset] = frame
    for position, frame in zip(positions, keyframes):
        if video[position] is None:
            video[position] = frame
    following = next(f for f in video if f is not None)
    filled = []
    for frame in video:
        following = frame if frame is not None else following
        filled.append(following)
    return np.stack(filled)
