"""The model engine: the GPU function contract served with video-generation models.

It orchestrates two model classes, each loaded once: :class:`~.encoder.Encoder` (MLLM + CLIP) and
:class:`~.generator.Generator` (the Wan pipelines). A segment's generation is planned as pipeline
calls (``segment_plan``) that each fit the call limit; they run in process, or one GPU call each
on Modal (``run_call``). ``interpolate`` raises the frame rate with blended motion-compensated
in-betweens (no model). Everything around the models (video decoding and MP4 writing, keyframe
coding, remuxing) is the shared :mod:`cmvc_gpu.media`, through :mod:`.media`, so both engines write the same
files. A call needing a class that is not loaded fails with ``engine_failure`` naming it.

``*_json`` methods take and return contract JSON (``schemas/gpu``); the Engine protocol methods
wrap them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Optional

import numpy as np

from ...contract import modes, timing
from ...media import global_motion, rate
from ...media.audio import encode_audio
from ...progress import Progress, no_progress
from ...stream_limits import max_keyframes_for
from . import cost, media, prompts, sampling
from .adapters import resolve_adapter
from .config import ENGINE_ID, ENGINE_VERSION, ModelEngineConfig
from .errors import ContractError, ModelCapacityError, ModelInputError, is_out_of_memory
from .segment_plan import SEGMENT_MODES, native_frame_count, native_keyframes, plan_segment

#: ``generator``: T2V + I2V; ``bridge``: FLF2V with its LoRA adapters (one Generator in process).
ROLES = ("encoder", "generator", "bridge")
#: ``run_call(index, call, prompt, first, last, width, height, seed, adapter_id) -> frames``.
RunCall = Callable[..., np.ndarray]


def _plain(request: Any) -> dict:
    """A request as contract JSON: a dict as is, a pydantic model dumped by alias."""
    if isinstance(request, dict):
        return request
    dump = getattr(request, "model_dump", None)
    if dump is None:
        raise TypeError(f"a request must be a dict or a pydantic model, got {type(request).__name__}")
    return dict(dump(mode="json", by_alias=True))


def _guarded(call: Callable[[dict, Progress], dict], request: dict, progress: Progress) -> dict:
    """Runs ``call``; CUDA running out of memory becomes ``too_large`` rather than a crash."""
    try:
        return call(request, progress)
    except ContractError:
        raise
    except Exception as error:
        if is_out_of_memory(error):
            raise ModelCapacityError(f"the call does not fit the GPU's memory: {error}") from error
        raise


class ModelEngine:
    """The production engine.

    Args:
        config: model ids, revisions and settings.
        encoder: a loaded :class:`~.encoder.Encoder` (or a stand-in with ``embed``/``describe``).
        generator: a loaded :class:`~.generator.Generator` (or a stand-in with ``run_call``).
        run_call: runs one planned call; default ``generator.run_call`` in this process (the Modal
            app passes one that makes each call a GPU call of its own).
        start_call: starts one planned call and returns a function waiting for its frames (the
            Modal app's ``spawn``), so calls independent of each other run side by side; ``None``
            runs every call in turn.
        run_analyse: the encode's analysis call; default :meth:`analyse_json` in this process.
        run_describe: one encode describe call; default :meth:`describe_json` in this process.
        gpu_seconds: the GPU seconds spent so far by the calls made elsewhere for this engine (on Modal:
            the GPU classes', ``dispatch.GpuMeter.total``): the response's ``seconds.gpu`` is what it
            grew by during the call; default: the call's own wall time when this process computes on CUDA.
        clock: seconds, for the response's ``seconds`` (injectable for tests).
    """

    id = ENGINE_ID
    version = ENGINE_VERSION
    #: ``targetKbps`` is planned (``cmvc_gpu.media.rate``), never ignored.
    plans_rate = True

    def __init__(
        self,
        config: ModelEngineConfig,
        encoder: Any = None,
        generator: Any = None,
        run_call: Optional[RunCall] = None,
        start_call: Optional[Callable[..., Callable[[], np.ndarray]]] = None,
        run_analyse: Optional[Callable[[dict], dict]] = None,
        run_describe: Optional[Callable[[dict, dict, list[int]], list[dict]]] = None,
        gpu_seconds: Optional[Callable[[], float]] = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.config = config
        self.encoder = encoder
        self.generator = generator
        self.run_call = run_call
        self.start_call = start_call
        self.run_analyse = run_analyse
        self.run_describe = run_describe
        self.gpu_seconds = gpu_seconds
        self.clock = clock
        self.limits = media.LIMITS  # served in /v1/info

    @classmethod
    def load(cls, config: ModelEngineConfig, roles: Iterable[str] = ROLES) -> "ModelEngine":
        """Loads the model classes of ``roles`` (``"encoder"``, ``"generator"``, ``"bridge"``)."""
        roles = tuple(roles)
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; known: {ROLES}")
        kwargs = dict(device=config.device, dtype=config.dtype, cache_dir=config.cache_dir)
        encoder = generator = None
        if "encoder" in roles:
            from .encoder import Encoder

            encoder = Encoder.from_pretrained(config.encoder, **kwargs)
        models = (("t2v", "i2v") if "generator" in roles else ()) + (("flf2v",) if "bridge" in roles else ())
        if models:
            from .generator import Generator

            generator = Generator.from_pretrained(config.generator, models=models, **kwargs)
        return cls(config, encoder=encoder, generator=generator)

    # ── the Engine protocol: the same methods as the reference engine ───────────────────────────
    def info(self) -> dict:
        """``EngineInfo`` of this engine."""
        return self.engine_info()

    def encode(self, request: Any, progress: Optional[Progress] = None) -> dict:
        return _guarded(self.encode_json, _plain(request), progress or no_progress)

    def generate(self, request: Any, progress: Optional[Progress] = None) -> dict:
        return _guarded(self.generate_json, _plain(request), progress or no_progress)

    def interpolate(self, request: Any, progress: Optional[Progress] = None) -> dict:
        return _guarded(self.interpolate_json, _plain(request), progress or no_progress)

    def assemble(self, request: Any, progress: Optional[Progress] = None) -> dict:
        return _guarded(self.assemble_json, _plain(request), progress or no_progress)

    # ── identity ─────────────────────────────────────────────────────────────────────────────
    def engine_info(self, extra: Optional[dict[str, str]] = None) -> dict:
        """``EngineInfo``: id, version, and every model as ``id@revision`` (plus ``extra``)."""
        models = self.config.models()
        if extra:
            models.update(extra)
        return {"id": self.id, "version": self.version, "models": models}

    def _require(self, role: str) -> Any:
        model = getattr(self, role)
        if model is None:
            raise RuntimeError(f"this deployment of the model engine has no {role} loaded")
        return model

    def _started(self) -> tuple[float, float]:
        """When a call starts: the clock, and the GPU seconds spent elsewhere so far."""
        return self.clock(), self.gpu_seconds() if self.gpu_seconds is not None else 0.0

    def _seconds(self, started: tuple[float, float]) -> dict:
        wall = max(0.0, self.clock() - started[0])
        if self.gpu_seconds is not None:
            return {"gpu": max(0.0, self.gpu_seconds() - started[1]), "cpu": wall}
        device = getattr(self.config, "device", None)
        on_gpu = media.gpu_in_use() if device is None else device.startswith("cuda")
        return {"gpu": wall if on_gpu else 0.0, "cpu": wall}

    # ── encode ───────────────────────────────────────────────────────────────────────────────
    def encode_json(self, request: dict, progress: Progress = no_progress) -> dict:
        """``EncodeRequest`` → ``EncodeResponse``, as one analysis call and describe calls over
        groups of segments (``cost.encode_groups``), so that no GPU call outlives the call limit
        however long the video (on Modal each is a GPU call of its own: ``run_analyse``,
        ``run_describe``).
        """
        started = self._started()
        analyse = self.run_analyse if self.run_analyse is not None else self.analyse_json
        describe = self.run_describe if self.run_describe is not None else self.describe_json
        analysis = analyse(request)
        progress(0.15)
        groups = cost.encode_groups(len(analysis["segments"]), analysis["video"]["frameCount"])
        segments: list[dict] = []
        for done, group in enumerate(groups):
            segments += describe(request, analysis, group)
            progress(0.15 + 0.8 * (done + 1) / len(groups))
        options = media.encode_options(request)
        if options["targetKbps"] is not None:
            segments = self._rate_controlled(request, analysis["video"], segments, options)
        sound, warnings = self.encode_sound(request, analysis)
        progress(1.0)
        return {
            "engine": self.engine_info(),
            "video": analysis["video"],
            "segments": segments,
            "audio": sound,
            "warnings": warnings,
            "seconds": self._seconds(started),
        }

    def encode_sound(self, request: dict, analysis: dict) -> tuple[Optional[dict], list[dict]]:
        """The source's sound coded per segment of ``analysis`` and the job's warnings (no model: the CPU
        codes it, as the reference engine does; see ``cmvc_gpu.media.audio.encode_audio``)."""
        video = analysis["video"]
        segments = [(start, count) for start, count in analysis["segments"]]
        return encode_audio(media.read_source(request["video"]), media.encode_options(request), segments, float(video["fps"]), int(video["frameCount"]))

    def analyse_json(self, request: dict) -> dict:
        """Decodes once, embedding frames at ``analysis_fps`` as they stream by (no frame is
        kept), and cuts scenes where the embedding jumps (``sampling.scene_segments``) within the
        requested segment lengths. Returns ``{"video": VideoMeta, "segments": [[start, count]…]}``."""
        encoder = self._require("encoder")
        options = media.encode_options(request)
        if options["minSegmentSeconds"] > options["maxSegmentSeconds"]:
            raise ModelInputError(
                f"options.minSegmentSeconds ({options['minSegmentSeconds']}) exceeds "
                f"options.maxSegmentSeconds ({options['maxSegmentSeconds']})"
            )
        data = media.read_source(request["video"])
        info = media.probe_video(data, frame_rate=media.encode_options(request)["frameRate"])
        fps = float(info.fps)
        step = max(1, int(round(fps / self.config.encoder.analysis_fps)))
        analysed: list[int] = []
        rows: list[np.ndarray] = []
        batch: list[np.ndarray] = []
        total = 0
        for index, frame in media.stream_frames(data, info):
            total = index + 1
            if index % step == 0:
                analysed.append(index)
                batch.append(frame)
                if len(batch) == self.config.encoder.embed_batch_size:
                    rows.append(encoder.embed(np.stack(batch)))
                    batch = []
        if batch:
            rows.append(encoder.embed(np.stack(batch)))
        segments = sampling.scene_segments(
            np.concatenate(rows, axis=0),
            analysed,
            total,
            fps,
            self.config.encoder.scene_threshold,
            options["minSegmentSeconds"],
            options["maxSegmentSeconds"],
        )
        return {"video": media.video_meta(info, total), "segments": [list(s) for s in segments]}

    def describe_json(self, request: dict, analysis: dict, indices: list[int]) -> list[dict]:
        """The encoded segments ``indices`` of ``analysis``: decodes again, keeping one segment's
        frames at a time, its keyframes (its first frame, then one at most every
        ``ClipConfig.max_keyframe_gap_seconds``, the longest gap one generation call bridges)
        coded under the byte budget, and frames sampled uniformly (``Encoder.frames_for``: at most
        ``frames_per_segment``, fewer for a short segment), given to the MLLM with their real timing
        for the content and the motion text."""
        options = media.encode_options(request)
        data = media.read_source(request["video"])
        info = media.probe_video(data, frame_rate=media.encode_options(request)["frameRate"])
        fps = float(analysis["video"]["fps"])
        encoder = self._require("encoder")
        gap = self.config.generator.clip.max_keyframe_gap_seconds
        chosen = [(i, *analysis["segments"][i]) for i in indices]
        # With a target rate the keyframes are chosen once every text is known (``_rate_controlled``).
        keyframed = options["targetKbps"] is None
        wanted = {
            i: (
                sampling.sample_indices(start, count, encoder.frames_for(count / fps)),
                sampling.keyframe_positions(start, count, fps, gap) if keyframed else [],
            )
            for i, start, count in chosen
        }
        pending = {f for picked, keys in wanted.values() for f in (*picked, *keys)}
        frames_in = media.stream_frames(data, info, pending)
        held: dict[int, np.ndarray] = {}
        out = []
        for index, start, count in sorted(chosen, key=lambda c: c[1]):
            picked, keys = wanted[index]
            last = max(*picked, *keys)
            while last not in held:
                frame_index, frame = next(frames_in)
                held[frame_index] = frame
            out.append(self._encode_segment(index, start, count, fps, held, picked, keys, options))
            held = {i: f for i, f in held.items() if i > last}
        return out

    def _encode_segment(
        self,
        index: int,
        start: int,
        count: int,
        fps: float,
        held: dict[int, np.ndarray],
        picked: list[int],
        keys: list[int],
        options: dict,
    ) -> dict:
        encoder = self._require("encoder")
        n = len(picked)
        sampled = np.stack([held[i] for i in picked])
        sampled_fps = n / (count / fps)
        max_chars = int(options["maxTextChars"])
        texts = {}
        for kind, fallback in (("content", "A video scene."), ("motion", "The camera is static.")):
            raw = encoder.describe(sampled, sampled_fps, kind, max_chars)
            texts[kind] = sampling.clean_text(raw, max_chars, fallback)
        keyframes = []
        for rank, position in enumerate(keys):
            coded = media.code_keyframe(
                held[position],
                budget_bytes=int(options["keyframeBudgetBytes"]),
                codec=str(options["keyframeCodec"]),
                max_width=int(options["keyframeMaxWidth"]),
            )
            # The first keyframe starts the segment's generation: kept longest.
            keyframes.append({**coded, "frameIndex": position - start, "priority": 255 if rank == 0 else max(1, 128 - rank)})
        return {
            "index": index,
            "startFrame": start,
            "frameCount": count,
            "contentText": texts["content"],
            "motionText": texts["motion"],
            **media.segment_keyframes(keyframes),
        }

    def keyframe_cap(self, frames: int, fps: float) -> int:
        """The most keyframes a segment of ``frames`` frames at ``fps`` carries on this engine: each
        keyframe pair is one 14B first/last-frame call on a container of its own (a cold start and an
        idle window; ``gpu:plan --keyframes N`` prices them), so at most two keyframes per span one call
        bridges — twice the encoder's own placement (``sampling.keyframe_positions``)."""
        gap = self.config.generator.clip.max_keyframe_gap_seconds
        return 2 * len(sampling.keyframe_positions(0, frames, fps, gap))

    def _rate_controlled(self, request: dict, video: dict, segments: list[dict], options: dict) -> list[dict]:
        """``segments`` with keyframes chosen, sized and coded for ``options.targetKbps`` by the shared
        planner (:func:`cmvc_gpu.media.rate.plan_keyframes`): each segment's first frame anchors it (its
        image-to-video starts there), at most :meth:`keyframe_cap` keyframes a segment, priorities in
        the plan's order so a ``maxKbps`` cut drops what the plan would have added last. Runs where the
        encode runs (on Modal, its CPU function): one decode at ``rate.ANALYSIS_WIDTH``, one of the
        chosen frames."""
        data = media.read_source(request["video"])
        info = media.probe_video(data, frame_rate=media.encode_options(request)["frameRate"])
        fps = float(video["fps"])
        greys = [global_motion.grey(frame) for _, frame in media.stream_frames(data, info, max_width=rate.ANALYSIS_WIDTH)]
        starts = [int(s["startFrame"]) for s in segments]
        ends = [start + int(s["frameCount"]) for start, s in zip(starts, segments)]
        longest = max(range(len(segments)), key=lambda n: ends[n] - starts[n])
        max_width, codec = int(options["keyframeMaxWidth"]), str(options["keyframeCodec"])
        [(_, sample)] = media.stream_frames(data, info, {starts[longest]}, max_width=max_width)
        plan = rate.plan_keyframes(
            greys,
            fps,
            starts,
            ends,
            starts,
            [rate.StillMotion()] * len(segments),
            [(s["contentText"], s["motionText"]) for s in segments],
            self.engine_info(),
            float(options["targetKbps"]),
            codec,
            max_width,
            sample,
            per_segment=[min(self.keyframe_cap(end - start, fps), max_keyframes_for(int(video["width"]), int(video["height"]))) for start, end in zip(starts, ends)],
        )
        images = dict(media.stream_frames(data, info, set(plan.frames), max_width=max_width)) if plan.frames else {}
        priority = rate.priorities(plan.frames)
        out = []
        for segment, start, end in zip(segments, starts, ends):
            keyframes = [
                {**media.code_keyframe(images[f], plan.budget_bytes, codec, plan.width), "frameIndex": f - start, "priority": priority[f]}
                for f in sorted(f for f in plan.frames if start <= f < end)
            ]
            out.append({**segment, **media.segment_keyframes(keyframes)})
        return out

    # ── generate ─────────────────────────────────────────────────────────────────────────────
    def generate_json(self, request: dict, progress: Progress = no_progress) -> dict:
        """``GenerateRequest`` → ``GenerateResponse``: the segment's video at the asked geometry,
        frame rate and frame count, the same for the same seed.

        1. Check the request. 2. Plan the pipeline calls on the native frame grid
        (``segment_plan.plan_segment``). 3. Run them (each one GPU call on Modal). 4. Resample
        to the request's frame count and size.
        """
        started = self._started()
        # 1. Check.
        width, height = int(request["width"]), int(request["height"])
        fps, frame_count, seed = float(request["fps"]), int(request["frameCount"]), int(request["seed"])
        mode = request["mode"]
        media.check_even(width, height)
        if mode not in modes():
            raise ModelInputError(f"mode must be one of {', '.join(modes())}, got {mode!r}")
        if width < 16 or height < 16:
            raise ModelInputError(f"width and height must be at least 16, got {width}x{height}")
        if fps <= 0 or frame_count < 1:
            raise ModelInputError(f"fps and frameCount must be positive, got {fps} and {frame_count}")
        segment = request["segment"]
        reads_keyframes = SEGMENT_MODES[mode].reads_keyframes
        listed = media.request_keyframes(segment) if reads_keyframes else []
        if reads_keyframes and not listed:
            raise ModelInputError(f"mode {mode!r} needs at least one keyframe in segment.keyframes, got none")
        for keyframe in listed:
            if int(keyframe.get("frameIndex", 0)) >= frame_count:
                raise ModelInputError(
                    f"segment.keyframes[].frameIndex must be < frameCount ({frame_count}), got {keyframe['frameIndex']}"
                )
        run_call = self.run_call if self.run_call is not None else self._require("generator").run_call

        # 2. Plan.
        clip = self.config.generator.clip
        model_w, model_h = sampling.model_geometry(width, height, clip.spatial_multiple, clip.max_area)
        total = native_frame_count(frame_count, fps, clip)
        positions: list[int] = []
        images: list[np.ndarray] = []
        for keyframe in listed:
            position = native_keyframes([int(keyframe.get("frameIndex", 0))], fps, total, clip)[0]
            if position not in positions:  # two keyframes on one native frame: the first stays
                positions.append(position)
                images.append(media.keyframe_array(keyframe, model_w, model_h))
        calls = plan_segment(mode, total, positions, clip)
        # A segment longer than the encoder cuts (an imported bitstream) could outlive the deadline the
        # Worker waits for and the Modal function runs to: refused before any GPU second is spent.
        deadline = float(timing()["generationDeadlineSeconds"])
        wall = cost.segment_wall_seconds(calls, model_w, model_h, self.config.generator.schedule, clip)
        if wall > deadline:
            raise ContractError(
                "too_long",
                f"this {frame_count / fps:.1f}-s {mode} segment would take about {wall:.0f} s to generate ({len(calls)} calls), "
                f"past the {deadline:.0f}-s generation deadline; segments of at most {timing()['maxSegmentSeconds']:g} s fit",
                details={"field": "frameCount"},
            )
        bridged = any(call.model == "flf2v" for call in calls)
        adapter_id = (
            resolve_adapter(request.get("adapterId"), self.config.generator.default_adapter_id) if bridged else None
        )

        # 3. Run.
        prompt = prompts.PROMPTS[mode](segment["contentText"], segment["motionText"])
        from .generator import run_segment

        def run(index: int, call: Any, first: Optional[np.ndarray], last: Optional[np.ndarray]) -> np.ndarray:
            frames = run_call(index, call, prompt, first, last, model_w, model_h, seed, adapter_id)
            progress(0.95 * (index + 1) / max(1, len(calls)))
            return frames

        start = None
        if self.start_call is not None:
            start_call = self.start_call

            def start(index: int, call: Any, first: Optional[np.ndarray], last: Optional[np.ndarray]) -> Any:
                return start_call(index, call, prompt, first, last, model_w, model_h, seed, adapter_id)

        video = run_segment(calls, images, positions, total, run, start)

        # 4. To the request.
        frames = sampling.fit_clip(video, width, height, frame_count)
        container = request.get("container", "mp4")
        out = media.video_file(frames, fps, container)
        progress(1.0)
        extra = {"bridgeAdapter": adapter_id} if adapter_id is not None else None
        return {"engine": self.engine_info(extra), "video": out, "seconds": self._seconds(started)}

    # ── interpolate ──────────────────────────────────────────────────────────────────────────
    def interpolate_json(self, request: dict, progress: Progress = no_progress) -> dict:
        """``InterpolateRequest`` → ``InterpolateResponse``: ``factor`` times the frames at
        ``factor`` times the rate, by blended motion-compensated in-betweens (no model; the
        generative work between keyframes is done in ``generate``)."""
        started = self._started()
        factor = int(request["factor"])
        if not 2 <= factor <= self.config.interpolator.max_factor:
            raise ModelInputError(f"factor must be in 2..{self.config.interpolator.max_factor}, got {factor}")
        data = media.read_source(request["video"])
        info = media.probe_video(data)
        frames = np.stack([frame for _, frame in media.stream_frames(data, info)])
        out = np.stack(list(media.in_betweens(frames, factor)))
        container = request.get("container", "mp4")
        video = media.video_file(out, float(info.fps) * factor, container)
        progress(1.0)
        return {"engine": self.engine_info(), "video": video, "seconds": self._seconds(started)}

    # ── assemble ─────────────────────────────────────────────────────────────────────────────
    def assemble_json(self, request: dict, progress: Progress = no_progress) -> dict:
        """``AssembleRequest`` → ``AssembleResponse``: the parts remuxed (no model)."""
        started = self._started()
        video = media.assemble(request, progress)
        return {"engine": self.engine_info(), "video": video, "seconds": self._seconds(started)}


def from_env() -> ModelEngine:
    """The engine for ``CMVC_ENGINE=model``: every model class loaded, configuration from the
    environment (see ``ModelEngineConfig.from_env``)."""
    return ModelEngine.load(ModelEngineConfig.from_env())
