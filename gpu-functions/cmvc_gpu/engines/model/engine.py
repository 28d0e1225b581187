"""The model engine: the GPU function contract served with video-generation models.

It orchestrates three model classes, each loaded once: :class:`~.encoder.Encoder` (MLLM + CLIP),
:class:`~.generator.Generator` (TT2V / IT2V) and :class:`~.interpolator.Interpolator` (FLF2V +
LoRA). Everything around the models (video decoding and MP4 writing, keyframe coding, fetching
sources, remuxing) is the reference engine's, through :mod:`.media`, so both engines write the
same files. A deployment may load only some classes (one Modal class per function); a call
needing a class that is not loaded fails with ``engine_failure`` naming it.

``*_json`` methods take and return contract JSON (``schemas/gpu``); the Engine protocol methods
wrap them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Optional

from . import media, sampling
from .config import ENGINE_ID, ENGINE_VERSION, ModelEngineConfig
from .errors import ContractError, ModelCapacityError, ModelInputError, is_out_of_memory

Progress = Callable[[float], None]

ROLES = ("encoder", "generator", "interpolator")


def _no_progress(_: float) -> None:
    return None


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
        generator: a loaded :class:`~.generator.Generator` (or a stand-in with ``generate``).
        interpolator: a loaded :class:`~.interpolator.Interpolator` (or a stand-in with
            ``interpolate``).
        clock: seconds, for the response's ``seconds`` (injectable for tests).
    """

    id = ENGINE_ID
    version = ENGINE_VERSION

    def __init__(
        self,
        config: ModelEngineConfig,
        encoder: Any = None,
        generator: Any = None,
        interpolator: Any = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.config = config
        self.encoder = encoder
        self.generator = generator
        self.interpolator = interpolator
        self.clock = clock
        self.limits = media.LIMITS  # served in /v1/info

    @classmethod
    def load(cls, config: ModelEngineConfig, roles: Iterable[str] = ROLES) -> "ModelEngine":
        """Loads the model classes of ``roles`` (``"encoder"``, ``"generator"``, ``"interpolator"``)."""
        roles = tuple(roles)
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; known: {ROLES}")
        kwargs = dict(device=config.device, dtype=config.dtype, cache_dir=config.cache_dir)
        encoder = generator = interpolator = None
        if "encoder" in roles:
            from .encoder import Encoder

            encoder = Encoder.from_pretrained(config.encoder, **kwargs)
        if "generator" in roles:
            from .generator import Generator

            generator = Generator.from_pretrained(config.generator, **kwargs)
        if "interpolator" in roles:
            from .interpolator import Interpolator

            interpolator = Interpolator.from_pretrained(config.interpolator, **kwargs)
        return cls(config, encoder=encoder, generator=generator, interpolator=interpolator)

    # ── the Engine protocol: the same methods as the reference engine ───────────────────────────
    def info(self) -> dict:
        """``EngineInfo`` of this engine."""
        return self.engine_info()

    def encode(self, request: Any, progress: Optional[Progress] = None) -> dict:
        return _guarded(self.encode_json, _plain(request), progress or _no_progress)

    def generate(self, request: Any, progress: Optional[Progress] = None) -> dict:
        return _guarded(self.generate_json, _plain(request), progress or _no_progress)

    def interpolate(self, request: Any, progress: Optional[Progress] = None) -> dict:
        return _guarded(self.interpolate_json, _plain(request), progress or _no_progress)

    def assemble(self, request: Any, progress: Optional[Progress] = None) -> dict:
        return _guarded(self.assemble_json, _plain(request), progress or _no_progress)

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

    def _seconds(self, started: float) -> dict:
        wall = max(0.0, self.clock() - started)
        device = getattr(self.config, "device", None)
        on_gpu = media.gpu_in_use() if device is None else device.startswith("cuda")
        return {"gpu": wall if on_gpu else 0.0, "cpu": wall}

    # ── encode ───────────────────────────────────────────────────────────────────────────────
    def encode_json(self, request: dict, progress: Progress = _no_progress) -> dict:
        """``EncodeRequest`` → ``EncodeResponse``.

        1. Decode the video. 2. Embed frames at ``analysis_fps`` and cut scenes where the
        embedding jumps (``sampling.scene_segments``), within the requested segment lengths.
        3. Per scene: the keyframe is the frame closest to the scene's mean embedding, coded
        under the byte budget; ``frames_per_segment`` frames sampled uniformly go to the MLLM
        once for the content text and once for the motion text.
        """
        started = self.clock()
        encoder = self._require("encoder")
        options = media.encode_options(request)
        if options["minSegmentSeconds"] > options["maxSegmentSeconds"]:
            raise ModelInputError(
                f"options.minSegmentSeconds ({options['minSegmentSeconds']}) exceeds "
                f"options.maxSegmentSeconds ({options['maxSegmentSeconds']})"
            )
        frames, meta = media.decode_video(media.read_source(request["video"]))
        fps = float(meta["fps"])
        total = len(frames)
        progress(0.05)

        analysed = sampling.analysis_indices(total, fps, self.config.encoder.analysis_fps)
        embeddings = encoder.embed(frames[analysed])
        segments = sampling.scene_segments(
            embeddings,
            analysed,
            total,
            fps,
            self.config.encoder.scene_threshold,
            options["minSegmentSeconds"],
            options["maxSegmentSeconds"],
        )
        progress(0.15)

        out = []
        n = self.config.encoder.frames_per_segment
        max_chars = int(options["maxTextChars"])
        for index, (start, count) in enumerate(segments):
            members = [i for i, f in enumerate(analysed) if start <= f < start + count]
            if members:
                keyframe_index = analysed[members[sampling.representative_index(embeddings[members])]]
            else:  # a scene between two analysed frames (sparse analysis): its middle frame
                keyframe_index = start + count // 2
            picked = sampling.sample_indices(start, count, n)
            sampled = frames[picked]
            sampled_fps = n / (count / fps)
            texts = {}
            for kind, fallback in (("content", "A video scene."), ("motion", "The camera is static.")):
                raw = encoder.describe(sampled, sampled_fps, kind, max_chars)
                texts[kind] = sampling.clean_text(raw, max_chars, fallback)
            keyframe = media.code_keyframe(
                frames[keyframe_index],
                budget_bytes=int(options["keyframeBudgetBytes"]),
                codec=str(options["keyframeCodec"]),
                max_width=int(options["keyframeMaxWidth"]),
            )
            out.append(
                {
                    "index": index,
                    "startFrame": start,
                    "frameCount": count,
                    "contentText": texts["content"],
                    "motionText": texts["motion"],
                    "keyframes": [{**keyframe, "frameIndex": keyframe_index - start, "priority": 255}],
                }
            )
            progress(0.15 + 0.85 * (index + 1) / len(segments))
        return {"engine": self.engine_info(), "video": meta, "segments": out, "seconds": self._seconds(started)}

    # ── generate ─────────────────────────────────────────────────────────────────────────────
    def generate_json(self, request: dict, progress: Progress = _no_progress) -> dict:
        """``GenerateRequest`` → ``GenerateResponse``: the segment's video at the asked geometry,
        frame rate and frame count, the same for the same seed."""
        started = self.clock()
        media.check_even(int(request["width"]), int(request["height"]))
        generator = self._require("generator")
        segment = request["segment"]
        # contract v2 carries several keyframes; this engine still conditions on the first (issue 13 rewrites it)
        keyframes = segment.get("keyframes") or []
        image = media.decode_keyframe(keyframes[0]) if keyframes else None
        frames = generator.generate(
            mode=request["mode"],
            content_text=segment["contentText"],
            motion_text=segment["motionText"],
            keyframe=image,
            width=int(request["width"]),
            height=int(request["height"]),
            fps=float(request["fps"]),
            frame_count=int(request["frameCount"]),
            seed=int(request["seed"]),
            progress=lambda f: progress(0.95 * f),
        )
        container = request.get("container", "mp4")
        video = media.video_file(frames, float(request["fps"]), container)
        progress(1.0)
        return {"engine": self.engine_info(), "video": video, "seconds": self._seconds(started)}

    # ── interpolate ──────────────────────────────────────────────────────────────────────────
    def interpolate_json(self, request: dict, progress: Progress = _no_progress) -> dict:
        """``InterpolateRequest`` → ``InterpolateResponse``: ``factor`` times the frames at
        ``factor`` times the rate, made by the LoRA-tuned model (never without an adapter)."""
        started = self.clock()
        interpolator = self._require("interpolator")
        factor = int(request["factor"])
        adapter_id = interpolator.resolve_adapter(request.get("adapterId"))
        frames, meta = media.decode_video(media.read_source(request["video"]))
        out = interpolator.interpolate(frames, factor, adapter_id, progress=lambda f: progress(0.95 * f))
        container = request.get("container", "mp4")
        video = media.video_file(out, float(meta["fps"]) * factor, container)
        progress(1.0)
        info = self.engine_info({"interpolationAdapter": adapter_id})
        return {"engine": info, "video": video, "seconds": self._seconds(started)}

    # ── assemble ─────────────────────────────────────────────────────────────────────────────
    def assemble_json(self, request: dict, progress: Progress = _no_progress) -> dict:
        """``AssembleRequest`` → ``AssembleResponse``: the reference engine's remux (no model)."""
        started = self.clock()
        response = media.assemble(request, progress)
        response["engine"] = self.engine_info()
        response["seconds"] = self._seconds(started)
        return response


def from_env() -> ModelEngine:
    """The engine for ``CMVC_ENGINE=model``: every model class loaded, configuration from the
    environment (see ``ModelEngineConfig.from_env``)."""
    return ModelEngine.load(ModelEngineConfig.from_env())
