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

from ...contract import modes, timing
from .config import SCHEDULES, ClipConfig, StepSchedule, model_schedule
from .sampling import keyframe_positions, model_frame_count, model_geometry
from .segment_plan import SEGMENT_MODES, ModelCall, native_frame_count, native_keyframes, plan_segment

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

# ── weights: parameters, and bytes per parameter as loaded and as stored ──────────────────────
#: Loaded: transformers and T5 in bf16, VAE and CLIP image encoder in fp32 (the model cards' advice).
#: Stored, what a cold start reads from the Volume: the hub's diffusers checkpoints of Wan keep the
#: transformers, umT5 and the CLIP image encoder in fp32 (twice the bf16 bytes they are loaded as;
#: ``download_weights`` records the real sizes in the manifest); Qwen2.5-VL and the few-step LoRA bf16.
PARAMETERS: dict[str, tuple[float, int, int]] = {
    "wan14b_transformer": (16.4e9, 2, 4),
    "wan1_3b_transformer": (1.42e9, 2, 4),
    "umt5_xxl": (5.68e9, 2, 4),
    "clip_h_fp32": (0.632e9, 4, 4),
    "wan_vae_fp32": (0.127e9, 4, 4),
    "distill_lora_rank128": (0.37e9, 2, 2),
    "interp_lora": (0.05e9, 4, 4),
    "qwen25_vl_7b": (8.29e9, 2, 2),
    "clip_b32": (0.088e9, 2, 4),
}
#: Bytes as loaded (resident on the GPU).
WEIGHTS = {name: int(count * loaded) for name, (count, loaded, _) in PARAMETERS.items()}
#: Bytes as stored on the Volume (read at a cold start).
STORED_BYTES = {name: int(count * stored) for name, (count, _, stored) in PARAMETERS.items()}
#: The read rate a cold start's weights are planned at: Modal's Volumes "are designed to provide up to
#: 2.5 GB/s of bandwidth" (modal.com/docs/guide/volumes). It is the documented ceiling, so a planned
#: cold start is a lower bound; the generation deadline keeps a margin several times the planned one.
VOLUME_READ_BYTES_PER_SECOND = 2.5e9
#: Container start before ``@modal.enter`` reads weights (the image's Python imports torch, diffusers
#: and transformers; the CUDA context), seconds. An allowance, not a measurement.
CONTAINER_START_SECONDS = 15.0
#: Segments are cut no longer than what ends within this share of the generation deadline
#: (``GENERATION_TIMING.maxSegmentSeconds``; a test keeps the two in step): the rest absorbs cold starts
#: slower than the cited read rate (one at a third of it adds about two minutes).
DEADLINE_HEADROOM = 0.75
#: How long an idle GPU container stays up (``scaledown_window``; ``CMVC_<ROLE>_SCALEDOWN_SECONDS``
#: in modal_app.py, whose default this is), billed while it waits.
SCALEDOWN_SECONDS = 300

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

    def stored_bytes(self) -> int:
        """Bytes a cold start reads from the Volume (as stored, see ``STORED_BYTES``)."""
        return sum(STORED_BYTES[w] for w in self.weights)

    def cold_start_seconds(self) -> float:
        """A new container of this class until it can serve: start, then its weights read from the Volume."""
        return CONTAINER_START_SECONDS + self.stored_bytes() / VOLUME_READ_BYTES_PER_SECOND

    def host_memory_bytes(self) -> int:
        """Host memory a container of this class requests: its weights as loaded (diffusers and
        transformers read them tensor by tensor, cast, onto the CPU before ``.to(cuda)``) plus the
        runtime's own 8 GB."""
        return self.resident_bytes() + 8 * GB


def containers(schedule: StepSchedule, gpu: str = "H100") -> dict[str, Container]:
    """The classes ``modal_app.py`` deploys, by the model calls they serve. The generator holds
    T2V 1.3B and I2V 14B sharing one text encoder, VAE and image encoder; the bridge holds FLF2V
    14B with its own (a second 14B model would not fit one 80 GB GPU)."""
    def distill(model: str) -> tuple[str, ...]:
        return ("distill_lora_rank128",) if schedule.distill_lora is not None and model in schedule.distilled else ()

    shared = ("umt5_xxl", "clip_h_fp32", "wan_vae_fp32")
    generator = Container("Generator", gpu, ("wan14b_transformer", "wan1_3b_transformer", *shared, *distill("i2v")))
    bridge = Container("Bridge", gpu, ("wan14b_transformer", *shared, "interp_lora", *distill("flf2v")))
    return {"t2v": generator, "i2v": generator, "flf2v": bridge}


def encoder_container() -> Container:
    """The ``Encoder`` class (Qwen2.5-VL 7B + CLIP B/32) on its GPU."""
    return Container("Encoder", ENCODER_GPU[0], ("qwen25_vl_7b", "clip_b32"))


def host_memory_bytes(name: str) -> int:
    """Host memory a container of the generation class ``name`` requests: the larger of its two
    schedules (the few-step one adds the distilled LoRA)."""
    return max(c.host_memory_bytes() for schedule in SCHEDULES.values() for c in containers(schedule).values() if c.name == name)


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


@dataclass(frozen=True)
class PlannedSegment:
    """One segment's wall time as its calls are scheduled (``schedule_segment``), against the
    generation deadline (the ``gpu:plan`` ``segments`` row)."""

    mode: str
    schedule: str
    index: int
    wall_seconds: float
    cold_start_seconds: float
    deadline_seconds: float
    containers: int

    @property
    def late(self) -> bool:
        return self.wall_seconds > self.deadline_seconds

    def as_json(self) -> dict:
        return {
            "mode": self.mode,
            "schedule": self.schedule,
            "index": self.index,
            "wallSeconds": round(self.wall_seconds, 1),
            "coldStartSeconds": round(self.cold_start_seconds, 1),
            "deadlineSeconds": self.deadline_seconds,
        }


@dataclass(frozen=True)
class CostRow:
    """What one mode under one schedule costs for the whole clip, as a user pays it (the ``gpu:plan``
    ``cost`` row): the calls' seconds plus every container's cold start (``gpu_seconds``), and the
    ``scaledown_window`` each container idles after its last call (``idle_seconds``), at
    ``price_per_gpu_hour``."""

    mode: str
    schedule: str
    calls: int
    gpu_seconds: float
    cold_starts: int
    idle_seconds: float
    price_per_gpu_hour: float

    @property
    def usd(self) -> float:
        return (self.gpu_seconds + self.idle_seconds) / 3600 * self.price_per_gpu_hour

    def as_json(self) -> dict:
        return {
            "mode": self.mode,
            "schedule": self.schedule,
            "calls": self.calls,
            "gpuSeconds": round(self.gpu_seconds, 1),
            "coldStarts": self.cold_starts,
            "idleSeconds": round(self.idle_seconds, 1),
            "usd": round(self.usd, 2),
            "pricePerGpuHour": self.price_per_gpu_hour,
        }


def schedule_segment(calls: Sequence[ModelCall], seconds: Sequence[float], serving: dict[str, Container]) -> tuple[float, float, int, float]:
    """``(wall seconds, cold-start seconds on its critical path, containers started, their cold-start
    seconds together)`` of one segment,
    its calls scheduled as ``generator.run_segment`` runs them on Modal: the calls conditioned on
    keyframes only start together, each on a container of its own; the others start in plan order
    once every call before them has ended, on a container of their class free by then. Every
    container starts cold (nothing is warm: the worst case, and a fresh deployment's). The CPU
    function's own start counts as one ``CONTAINER_START_SECONDS``."""
    free: dict[str, list[float]] = {}
    colds: list[float] = []

    def place(container: Container, at: float) -> tuple[float, float]:
        pool = free.setdefault(container.name, [])
        for i, ready in enumerate(pool):
            if ready <= at:
                pool.pop(i)
                return at, 0.0
        colds.append(container.cold_start_seconds())
        return at + colds[-1], colds[-1]

    begin = CONTAINER_START_SECONDS
    independent = [all(src is None or src.kind == "keyframe" for src in (c.first, c.last)) for c in calls]
    ends: dict[int, tuple[float, float]] = {}
    for i, call in enumerate(calls):
        if independent[i]:
            ready, cold = place(serving[call.model], begin)
            ends[i] = (ready + seconds[i], cold)
    for i, (end, _) in ends.items():
        free[serving[calls[i].model].name].append(end)
    clock, path_cold = begin, CONTAINER_START_SECONDS
    for i, call in enumerate(calls):
        if independent[i]:
            end, cold = ends[i]
            if end >= clock:
                clock, path_cold = end, CONTAINER_START_SECONDS + cold
            continue
        ready, cold = place(serving[call.model], clock)
        clock, path_cold = ready + seconds[i], path_cold + cold
        free[serving[call.model].name].append(clock)
    return clock, path_cold, len(colds), sum(colds)


def segment_wall_seconds(calls: Sequence[ModelCall], width: int, height: int, schedule: StepSchedule, clip: ClipConfig,
                         gpu: str = DEFAULT_GPU) -> float:
    """A segment's wall time as ``schedule_segment`` plans it, its calls priced at ``width`` x ``height``
    (the model geometry) on ``gpu``."""
    serving = containers(schedule, gpu)
    seconds = [
        call_seconds(c.model, c.num_frames, width, height, model_schedule(schedule, c.model), serving[c.model].gpu, clip)
        for c in calls
    ]
    return schedule_segment(calls, seconds, serving)[0]


@dataclass
class Plan:
    gpu: str
    gpu_memory_bytes: int
    call_limit_seconds: float
    deadline_seconds: float = 0.0
    calls: list[PlannedCall] = field(default_factory=list)
    segments: list[PlannedSegment] = field(default_factory=list)
    costs: list[CostRow] = field(default_factory=list)

    def too_long(self) -> list[PlannedCall]:
        return [c for c in self.calls if c.seconds > self.call_limit_seconds]

    def too_big(self) -> list[PlannedCall]:
        """Calls whose peak exceeds their GPU's memory (``gpuMemoryBytes`` for the generation
        classes, the L40S's for ``encode``)."""
        memory = {**{name: m for name, (m, _) in GPUS.items()}, ENCODER_GPU[0]: ENCODER_GPU[1]}
        return [c for c in self.calls if c.peak_memory_bytes > memory[c.gpu]]

    def late(self) -> list[PlannedSegment]:
        """Segments whose wall time, cold starts included, passes the generation deadline."""
        return [s for s in self.segments if s.late]

    def as_json(self) -> dict:
        return {
            "gpu": self.gpu,
            "gpuMemoryBytes": self.gpu_memory_bytes,
            "callLimitSeconds": self.call_limit_seconds,
            "deadlineSeconds": self.deadline_seconds,
            "calls": [c.as_json() for c in self.calls],
            "segments": [s.as_json() for s in self.segments],
            "cost": [c.as_json() for c in self.costs],
        }


def segment_keyframes(start: int, count: int, fps: float, clip: ClipConfig, keyframes: Optional[int]) -> list[int]:
    """Where a segment's keyframes are: the encoder's placement (one at most every
    ``max_keyframe_gap_seconds``), or ``keyframes`` of them evenly spaced from its first frame."""
    if keyframes is None:
        return keyframe_positions(start, count, fps, clip.max_keyframe_gap_seconds)
    if keyframes < 1:
        raise ValueError(f"keyframes must be at least 1, got {keyframes}")
    return sorted({start + int(j * count / keyframes) for j in range(min(keyframes, count))})


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
    deadline_seconds: Optional[float] = None,
    keyframes: Optional[int] = None,
) -> Plan:
    """Every GPU call each mode makes for a clip of that shape, under each schedule; each segment's
    wall time against ``deadline_seconds`` (default: the contract's generation deadline); and what
    each mode and schedule costs. ``keyframes``: IT2V keyframes per segment (default: the encoder's)."""
    if gpu not in GPUS:
        raise ValueError(f"gpu must be one of {sorted(GPUS)}, got {gpu!r}")
    if seconds <= 0 or fps <= 0 or width < 16 or height < 16:
        raise ValueError(f"a clip needs seconds > 0, fps > 0 and 16x16 or more, got {seconds}, {fps}, {width}x{height}")
    if max_segment_seconds <= 0:
        raise ValueError(f"segment seconds must be positive, got {max_segment_seconds}")
    clip = clip if clip is not None else ClipConfig()
    deadline = float(timing()["generationDeadlineSeconds"]) if deadline_seconds is None else float(deadline_seconds)
    frame_count = max(1, int(round(seconds * fps)))
    model_w, model_h = model_geometry(width, height, clip.spatial_multiple, clip.max_area)
    plan = Plan(gpu, GPUS[gpu][0], call_limit_seconds, deadline)
    plan.calls.extend(encode_calls(frame_count, fps, width, height, min_segment_seconds))
    for schedule in schedules:
        serving = containers(schedule, gpu)
        for mode in modes():
            calls, busy, cold_starts, cold_seconds = 0, 0.0, 0, 0.0
            for index, (start, count) in enumerate(segment_bounds(frame_count, fps, max_segment_seconds)):
                total = native_frame_count(count, fps, clip)
                positions = segment_keyframes(start, count, fps, clip, keyframes)
                keys = native_keyframes([p - start for p in positions], fps, total, clip)
                planned = plan_segment(mode, total, keys, clip)
                priced = [_priced(mode, index, call, model_w, model_h, schedule, serving, clip) for call in planned]
                plan.calls.extend(priced)
                wall, cold, started, starting = schedule_segment(planned, [c.seconds for c in priced], serving)
                plan.segments.append(PlannedSegment(mode, schedule.name, index, wall, cold, deadline, started))
                calls += len(priced)
                busy += sum(c.seconds for c in priced)
                cold_starts += started
                cold_seconds += starting
            plan.costs.append(
                CostRow(mode, schedule.name, calls, busy + cold_seconds, cold_starts, cold_starts * SCALEDOWN_SECONDS, PRICE_PER_HOUR[gpu])
            )
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
    keys = native_keyframes(keyframe_indices, fps, total, clip) if SEGMENT_MODES[mode].reads_keyframes else []
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
    (``secondsPerKeyframeFrameMegapixel``); ``encode`` per megapixel-frame of the source at 24 fps; and the
    geometry and rate the models generate at (``generation``), on which the Worker counts a call's frames and
    keyframes."""
    points = []
    for seconds in (1, 2, 5, 10):
        plan = plan_clip(seconds, 16, 832, 480, [schedule], DEFAULT_GPU, CALL_LIMIT_SECONDS)
        mpf = seconds * 16 * 832 * 480 / 1e6
        gen = max(segment_gpu_seconds(plan, m, schedule.name) for m in modes())
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
        # The size the models generate at (``sampling.model_geometry``): a larger request is that,
        # scaled up, and the Worker says so in a response header (CMVC-Generated-Size).
        "generation": {"maxPixels": clip.max_area, "sizeMultiple": clip.spatial_multiple, "fps": clip.native_fps},
    }
