"""The time and memory model of the model engine's GPU calls, from public figures. Torch-free:
``npm run gpu:plan``, the docs' table and ``schemas/gpu-cost.json`` are all computed here.

Time of one diffusion call = ``CALL_OVERHEAD_SECONDS`` + passes x seconds per transformer pass,
where passes = steps x (2 with classifier-free guidance, else 1) and a pass over ``n`` latent
tokens costs ``a n + b n^2`` seconds on an H200 (linear layers + attention), scaled by the model
and the GPU. ``a`` and ``b`` are fitted to two public measurements of Wan 2.1 I2V 14B, 81 frames,
40 steps with guidance on one H200 (LightX2V's benchmark): 366 s at 832x480 and 974 s at
1280x720. The whole call time is charged to the transformer passes, so the fixed parts (text and
image encoders, VAE) are counted twice: the estimates err long, never short.

Memory of a call = the weights resident in its container + activations that grow with the tokens,
fitted to the same 480p run's 71 GB peak (of which ~46 GB were its weights).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

from .config import ClipConfig, StepSchedule, model_schedule
from .sampling import keyframe_positions, model_frame_count, model_geometry
from .segment_plan import ModelCall, native_frame_count, native_keyframes, plan_segment

GB = 10**9
#: The GPU the generation classes are deployed on, and the deployed call limit (s): ``modal_app``
#: reads both from here.
DEFAULT_GPU = "H100"
CALL_LIMIT_SECONDS = 600

#: Usable memory torch reports per GPU type (bytes) and time relative to an H200 (the H100 has
#: the same dense bf16 throughput but 30% less memory bandwidth; the A100 a third of the compute).
GPUS: dict[str, tuple[int, float]] = {
    "H200": (150 * GB, 1.0),
    "H100": (85 * GB, 1.1),
    "A100": (85 * GB, 3.2),
}
#: Modal's list prices in USD per GPU-hour (modal.com/pricing, 2025), for the docs' cost column.
PRICE_PER_HOUR = {"H200": 4.54, "H100": 3.95, "A100": 2.50, "L40S": 1.95}

# ── the fit: seconds per transformer pass of the 14B model on an H200 ────────────────────────────
_N480 = 21 * (480 // 16) * (832 // 16)  # latent tokens of 81 frames at 832x480
_N720 = 21 * (720 // 16) * (1280 // 16)
_P480, _P720 = 366.0 / 80, 974.0 / 80  # 40 steps x 2 passes
PASS_B = (_P720 / _N720 - _P480 / _N480) / (_N720 - _N480)
PASS_A = _P480 / _N480 - PASS_B * _N480
#: Per model: pass time relative to the 14B model. T2V 1.3B: "about a minute" for the same clip.
MODEL_SPEED = {"i2v": 1.0, "flf2v": 1.0, "t2v": 60.0 / 366.0}
#: Text encoding, image encoding, VAE encode/decode, frame transfer, per call (s).
CALL_OVERHEAD_SECONDS = 10.0

# ── weights (bytes as loaded: transformers and T5 in bf16, VAE and CLIP image encoder in fp32) ──
WEIGHTS = {
    "wan14b_transformer": int(16.4e9 * 2),
    "wan1_3b_transformer": int(1.42e9 * 2),
    "umt5_xxl": int(5.68e9 * 2),
    "clip_h_fp32": int(0.632e9 * 4),
    "wan_vae_fp32": int(0.127e9 * 4),
    "distill_lora_rank128": int(0.37e9 * 2),
    "interp_lora": int(0.05e9 * 4),
    "qwen25_vl_7b": int(8.29e9 * 2),
    "clip_b32": int(0.088e9 * 2),
}
#: The encoder (Qwen2.5-VL 7B + CLIP on an L40S): two descriptions per segment, each at most
#: ``max_new_tokens`` (256) at a pessimistic 25 tokens/s of plain ``generate`` for a 7B model in
#: bf16 (the L40S's 864 GB/s over 16.6 GB of weights allows ~50), plus ~1 s prefill of 16 frames.
ENCODER_GPU = ("L40S", 48 * GB)
ENCODE_SECONDS_PER_DESCRIPTION = 256 / 25 + 1.0
#: Decoding and embedding, per source frame (s): PyAV decode of 1080p H.264 ~5 ms, CLIP B/32 at
#: ``analysis_fps`` less than 1 ms.
ENCODE_SECONDS_PER_FRAME = 0.006
ENCODE_ACTIVATION_BYTES = 6 * GB

#: Activation bytes per latent token (71 GB peak - 46 GB weights) / tokens of the 480p clip.
ACTIVATION_BYTES_PER_TOKEN = (71 - 46) * GB / _N480


@dataclass(frozen=True)
class Container:
    """A Modal class: its GPU type and the weights it keeps resident (one copy of each)."""

    name: str
    gpu: str
    weights: tuple[str, ...]

    def resident_bytes(self) -> int:
        return sum(WEIGHTS[w] for w in self.weights)


def containers(schedule: StepSchedule, gpu: str = "H100") -> dict[str, Container]:
    """The classes ``modal_app.py`` deploys, by the model calls they serve. The generator holds
    T2V 1.3B and I2V 14B sharing one text encoder, VAE and image encoder; the bridge holds FLF2V
    14B with its own (a second 14B model would not fit one 80 GB GPU)."""
    distill = ("distill_lora_rank128",) if schedule.distill_lora is not None else ()
    shared = ("umt5_xxl", "clip_h_fp32", "wan_vae_fp32")
    generator = Container("Generator", gpu, ("wan14b_transformer", "wan1_3b_transformer", *shared, *distill))
    bridge = Container("Bridge", gpu, ("wan14b_transformer", *shared, "interp_lora", *distill))
    return {"t2v": generator, "i2v": generator, "flf2v": bridge}


@dataclass(frozen=True)
class PlannedCall:
    """One GPU call with its estimate (the ``gpu:plan`` row)."""

    mode: str
    function: str
    model: str
    frames: int
    width: int
    height: int
    steps: int
    seconds: float
    peak_memory_bytes: int
    segment: int = 0
    gpu: str = "H100"
    schedule: str = "default"

    def as_json(self) -> dict:
        return {
            "mode": self.mode,
            "gpu": self.gpu,
            "schedule": self.schedule,
            "function": self.function,
            "model": self.model,
            "segment": self.segment,
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
            "steps": self.steps,
            "seconds": round(self.seconds, 1),
            "peakMemoryBytes": self.peak_memory_bytes,
        }


def latent_tokens(num_frames: int, width: int, height: int, clip: ClipConfig) -> int:
    """Transformer tokens of one call: latent frames x (height/16) x (width/16)."""
    latent_frames = (num_frames - 1) // clip.temporal_multiple + 1
    return latent_frames * (height // clip.spatial_multiple) * (width // clip.spatial_multiple)


def call_seconds(model: str, num_frames: int, width: int, height: int, schedule: StepSchedule, gpu: str,
                 clip: ClipConfig) -> float:
    """Estimated wall seconds of one diffusion call on ``gpu``."""
    n = latent_tokens(num_frames, width, height, clip)
    passes = schedule.num_inference_steps * (2 if schedule.guided else 1)
    per_pass = (PASS_A * n + PASS_B * n * n) * MODEL_SPEED[model]
    return (CALL_OVERHEAD_SECONDS + passes * per_pass) * GPUS[gpu][1]


def call_memory(model: str, num_frames: int, width: int, height: int, container: Container,
                clip: ClipConfig) -> int:
    """Estimated peak bytes of one diffusion call: resident weights + activations."""
    return container.resident_bytes() + int(ACTIVATION_BYTES_PER_TOKEN * latent_tokens(num_frames, width, height, clip))


def segment_bounds(frame_count: int, fps: float, max_segment_seconds: float) -> list[tuple[int, int]]:
    """``(start, count)`` of each segment when scene cuts fall only at the length limit (the
    fewest, longest segments: the worst case per call)."""
    size = max(1, int(math.floor(max_segment_seconds * fps)))
    return [(s, min(size, frame_count - s)) for s in range(0, frame_count, size)]


@dataclass
class Plan:
    gpu: str
    gpu_memory_bytes: int
    call_limit_seconds: float
    calls: list[PlannedCall] = field(default_factory=list)

    def too_long(self) -> list[PlannedCall]:
        return [c for c in self.calls if c.seconds > self.call_limit_seconds]

    def too_big(self) -> list[PlannedCall]:
        """Calls whose peak exceeds their GPU's memory (``gpuMemoryBytes`` for the generation
        classes, the L40S's for ``encode``)."""
        memory = {**{name: m for name, (m, _) in GPUS.items()}, ENCODER_GPU[0]: ENCODER_GPU[1]}
        return [c for c in self.calls if c.peak_memory_bytes > memory[c.gpu]]

    def as_json(self) -> dict:
        return {
            "gpu": self.gpu,
            "gpuMemoryBytes": self.gpu_memory_bytes,
            "callLimitSeconds": self.call_limit_seconds,
            "calls": [c.as_json() for c in self.calls],
        }


def plan_clip(
    seconds: float,
    fps: float,
    width: int,
    height: int,
    schedules: Sequence[StepSchedule],
    gpu: str,
    call_limit_seconds: float,
    clip: Optional[ClipConfig] = None,
    max_segment_seconds: float = 10.0,
    min_segment_seconds: float = 1.0,
) -> Plan:
    """Every GPU call each mode makes for a clip of that shape, under each schedule."""
    if gpu not in GPUS:
        raise ValueError(f"gpu must be one of {sorted(GPUS)}, got {gpu!r}")
    if seconds <= 0 or fps <= 0 or width < 16 or height < 16:
        raise ValueError(f"a clip needs seconds > 0, fps > 0 and 16x16 or more, got {seconds}, {fps}, {width}x{height}")
    clip = clip if clip is not None else ClipConfig()
    frame_count = max(1, int(round(seconds * fps)))
    model_w, model_h = model_geometry(width, height, clip.spatial_multiple, clip.max_area)
    plan = Plan(gpu, GPUS[gpu][0], call_limit_seconds)
    plan.calls.extend(encode_calls(frame_count, fps, width, height, min_segment_seconds))
    for schedule in schedules:
        serving = containers(schedule, gpu)
        for mode in ("tt2v", "it2v"):
            for index, (start, count) in enumerate(segment_bounds(frame_count, fps, max_segment_seconds)):
                total = native_frame_count(count, fps, clip)
                positions = keyframe_positions(start, count, fps, clip.max_keyframe_gap_seconds)
                keys = native_keyframes([p - start for p in positions], fps, total, clip)
                for call in plan_segment(mode, total, keys, clip):
                    plan.calls.append(_priced(mode, index, call, model_w, model_h, schedule, serving, clip))
    return plan


def encode_groups(segments: int, frame_count: int, limit: float = CALL_LIMIT_SECONDS) -> list[list[int]]:
    """Segment indices per encode describe call: as many as fit in 80% of the call limit, each
    call decoding (up to) the whole video again."""
    budget = 0.8 * limit - CALL_OVERHEAD_SECONDS - frame_count * ENCODE_SECONDS_PER_FRAME
    per_call = max(1, int(budget // (2 * ENCODE_SECONDS_PER_DESCRIPTION)))
    return [list(range(s, min(segments, s + per_call))) for s in range(0, segments, per_call)]


def encode_calls(frame_count: int, fps: float, width: int, height: int, min_segment_seconds: float) -> list[PlannedCall]:
    """The ``encode`` calls: one analysis (decode + embed every analysed frame), then describe
    calls over groups of segments, with as many segments as the shortest segment length allows
    (scene cuts decide the real count; this is the worst case)."""
    segments = max(1, math.ceil(frame_count / fps / min_segment_seconds))
    memory = WEIGHTS["qwen25_vl_7b"] + WEIGHTS["clip_b32"] + ENCODE_ACTIVATION_BYTES
    decode = frame_count * ENCODE_SECONDS_PER_FRAME
    calls = [PlannedCall("encode", "encode.analyse", "embedder", frame_count, width, height, 0,
                         CALL_OVERHEAD_SECONDS + decode, memory, 0, ENCODER_GPU[0])]
    for group in encode_groups(segments, frame_count):
        seconds = CALL_OVERHEAD_SECONDS + decode + 2 * len(group) * ENCODE_SECONDS_PER_DESCRIPTION
        calls.append(PlannedCall("encode", "encode.describe", "mllm", frame_count, width, height, 0, seconds, memory,
                                 group[0], ENCODER_GPU[0]))
    return calls


def _priced(mode: str, segment: int, call: ModelCall, width: int, height: int, schedule: StepSchedule,
            serving: dict[str, Container], clip: ClipConfig) -> PlannedCall:
    steps = model_schedule(schedule, call.model)
    container = serving[call.model]
    return PlannedCall(
        mode=mode,
        function=f"generate.{call.model}",
        model=call.model,
        frames=call.num_frames,
        width=width,
        height=height,
        steps=steps.num_inference_steps,
        seconds=call_seconds(call.model, call.num_frames, width, height, steps, container.gpu, clip),
        peak_memory_bytes=call_memory(call.model, call.num_frames, width, height, container, clip),
        segment=segment,
        gpu=container.gpu,
        schedule=schedule.name,
    )


def generate_seconds(
    mode: str,
    width: int,
    height: int,
    fps: float,
    frame_count: int,
    keyframe_indices: Sequence[int],
    schedule: StepSchedule,
    gpu: str = DEFAULT_GPU,
    clip: Optional[ClipConfig] = None,
) -> float:
    """GPU seconds of one ``generate`` request as this engine runs it: every call of its plan
    (:func:`plan_segment`, keyframes moved onto the native grid) priced at the generated geometry.

    Args:
        width, height: the requested output, pixels. fps: its frame rate. frame_count: its frames.
        keyframe_indices: the keyframes' ``frameIndex`` at ``fps`` (sorted, unique).
    """
    clip = clip if clip is not None else ClipConfig()
    model_w, model_h = model_geometry(width, height, clip.spatial_multiple, clip.max_area)
    total = native_frame_count(frame_count, fps, clip)
    keys = native_keyframes(keyframe_indices, fps, total, clip) if mode == "it2v" else []
    serving = containers(schedule, gpu)
    return sum(_priced(mode, 0, call, model_w, model_h, schedule, serving, clip).seconds for call in plan_segment(mode, total, keys, clip))


def segment_gpu_seconds(plan: Plan, mode: str, schedule: str) -> float:
    """GPU seconds of every generation call of one mode and schedule in ``plan``."""
    return sum(c.seconds for c in plan.calls if c.mode == mode and c.schedule == schedule)


def cost_entry(schedule: StepSchedule) -> dict:
    """This engine's entry in ``schemas/gpu-cost.json``: a ``generate`` call (one segment, all
    its fanned-out GPU calls) as base + seconds per megapixel-frame of its output, fitted at
    832x480 and the native 16 fps over 1..10-s segments, taking the largest slope (IT2V); each
    keyframe beyond the first as one more first/last-frame call of the fewest frames: its fixed part
    (``secondsPerKeyframe``) and its latent work per megapixel of the generated frame
    (``secondsPerKeyframeFrameMegapixel``); the native rate and area the Worker counts frames and keyframes at
    (``nativeFps``, ``nativeMaxPixels``); and ``encode`` per megapixel-frame of the source at 24 fps."""
    points = []
    for seconds in (1, 2, 5, 10):
        plan = plan_clip(seconds, 16, 832, 480, [schedule], DEFAULT_GPU, CALL_LIMIT_SECONDS)
        mpf = seconds * 16 * 832 * 480 / 1e6
        gen = max(segment_gpu_seconds(plan, m, schedule.name) for m in ("tt2v", "it2v"))
        enc = sum(c.seconds for c in plan.calls if c.mode == "encode")
        points.append((mpf, gen, enc * 16 / 24))
    slope = max((g - CALL_OVERHEAD_SECONDS) / m for m, g, _ in points)
    encode_slope = max((e - CALL_OVERHEAD_SECONDS) / m for m, _, e in points)
    clip = ClipConfig()
    bridge = containers(schedule, DEFAULT_GPU)["flf2v"]
    shortest = model_frame_count(2, clip.temporal_multiple)
    fixed = CALL_OVERHEAD_SECONDS * GPUS[bridge.gpu][1]
    per_frame_megapixel = (call_seconds("flf2v", shortest, 832, 480, model_schedule(schedule, "flf2v"), bridge.gpu, clip) - fixed) / (832 * 480 / 1e6)
    return {
        "encode": {"baseSeconds": CALL_OVERHEAD_SECONDS, "secondsPerMegapixelFrame": round(encode_slope, 3)},
        "generate": {
            "baseSeconds": CALL_OVERHEAD_SECONDS,
            "secondsPerMegapixelFrame": round(slope, 3),
            "secondsPerKeyframe": round(fixed, 3),
            "secondsPerKeyframeFrameMegapixel": round(per_frame_megapixel, 3),
        },
        "interpolate": {"baseSeconds": 0.0, "secondsPerMegapixelFrame": 0.0},
        "assemble": {"baseSeconds": 0.0, "secondsPerMegapixelFrame": 0.0},
        "callLimitSeconds": CALL_LIMIT_SECONDS,
        "nativeFps": clip.native_fps,
        "nativeMaxPixels": clip.max_area,
    }
