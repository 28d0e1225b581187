"""The reference engine: the GPU function contract served with classical methods on the CPU —
deterministic, and honest about being no generative model.

encode: streaming decode passes. Pass 1 at ``ANALYSIS_WIDTH`` computes a colour histogram per frame
and the global motion of each consecutive pair; scene cuts come from histogram change. Each
segment's most representative frame (closest to its mean histogram) is the subject of the content
text; the motion text summarises the segment's pairs. Keyframes: without ``targetKbps``, that frame,
one per segment, under ``keyframeBudgetBytes``; with it, as many as the rate pays for, where the
frames are least predictable, sized and scaled by :mod:`.rate`. Their frame indices travel in the
contract (not in the motion text). The sound is coded per segment as Opus (:mod:`...media.audio`).

generate: IT2V puts each keyframe at its frame and fills the rest by in-betweening from both
neighbouring keyframes along the motion between them (extrapolating along the motion text outside
them); TT2V paints the content text's colour grid with a seeded texture and moves it along the
motion text. interpolate: motion-compensated in-betweens. assemble: a remux of the parts' packets.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Optional

import numpy as np

from ...errors import ContractError
from ...limits import Limits
from ...media import audio, decode, global_motion, keyframe, scenes, video_io
from ...media import rate as shared_rate
from ...media.assemble import assemble_parts, video_file
from ...media.inbetween import interpolate_stream, resize
from ...media.sources import read_source
from ...modes import per_mode
from ...progress import Progress, no_progress
from ...stream_limits import max_keyframes_for
from . import content, motion, rate, render

__all__ = ["ENGINE_ID", "ENGINE_VERSION", "Limits", "ReferenceEngine", "frames_psnr"]

ENGINE_ID = "reference"
ENGINE_VERSION = "0.2.0"
#: Width (pixels) frames are analysed at during encode.
ANALYSIS_WIDTH = 160
#: How often (frames) long loops report progress.
PROGRESS_EVERY = 16


def _seconds(started: float) -> dict:
    return {"gpu": 0.0, "cpu": round(time.perf_counter() - started, 4)}


class ReferenceEngine:
    """The reference engine with ``limits`` (default: the contract's defaults)."""

    #: ``targetKbps`` is planned (``media.rate``), never ignored.
    plans_rate = True

    def __init__(self, limits: Optional[Limits] = None) -> None:
        self.limits = limits if limits is not None else Limits()

    def info(self) -> dict:
        return {"id": ENGINE_ID, "version": ENGINE_VERSION, "models": {}}

    # --- encode ---------------------------------------------------------------------------------

    def encode(self, request: dict, progress: Optional[Progress] = None) -> dict:
        """encode.request (options filled in) → encode.response. Units: seconds, bytes, pixels."""
        progress = progress or no_progress
        started = time.perf_counter()
        options = request["options"]
        # 1. check the options against each other
        if options["minSegmentSeconds"] > options["maxSegmentSeconds"]:
            raise ContractError(
                "invalid_request",
                f"options.minSegmentSeconds={options['minSegmentSeconds']} is above options.maxSegmentSeconds={options['maxSegmentSeconds']}",
                details={"field": "options.minSegmentSeconds"},
            )
        # 2. read and probe the source
        data = read_source(request["video"], self.limits.max_upload_bytes)
        info = decode.probe(data, self.limits, options.get("frameRate"))
        progress(0.05)
        # 3. pass 1: histograms and pair motion at the analysis resolution (grey frames kept for rate control)
        histograms: list[np.ndarray] = []
        pairs: list[global_motion.PairMotion] = []
        greys: list[np.ndarray] = []
        previous: Optional[np.ndarray] = None
        expected = max(1, info.declared_frames)
        rate_controlled = options.get("targetKbps") is not None
        for index, frame in decode.frames(data, self.limits, ANALYSIS_WIDTH, info):
            histograms.append(scenes.histogram(frame))
            current = global_motion.grey(frame)
            if previous is not None:
                pairs.append(global_motion.pair_motion(previous, current))
            if rate_controlled:
                greys.append(current)
            previous = current
            if index % PROGRESS_EVERY == 0:
                progress(0.05 + 0.7 * min(1.0, index / expected))
        assert previous is not None  # decode.frames raises when no frame decodes
        analysis_h, analysis_w = previous.shape
        count, fps = len(histograms), info.fps
        # 4. scene cuts and representative frames
        distances = [scenes.distance(a, b) for a, b in zip(histograms, histograms[1:])]
        min_frames = max(1, round(options["minSegmentSeconds"] * fps))
        max_frames = max(min_frames, round(options["maxSegmentSeconds"] * fps))
        starts = scenes.cut_points(distances, min_frames, max_frames)
        ends = starts[1:] + [count]
        picks = [start + scenes.representative(histograms[start:end]) for start, end in zip(starts, ends)]
        # 5. the texts of each segment (from its representative frame and its motion)
        representatives = dict(decode.frames(data, self.limits, options["keyframeMaxWidth"], info, wanted=set(picks)))
        texts = [
            (
                content.describe_content(representatives[pick], info.width, info.height, options["maxTextChars"]),
                content.shorten(motion.describe_motion(motion.summarise(pairs[start : end - 1], fps, analysis_w, analysis_h)).split("; "), options["maxTextChars"]),
            )
            for start, end, pick in zip(starts, ends, picks)
        ]
        progress(0.8)
        # 6. keyframes: where, how many, how big (one per segment under keyframeBudgetBytes without a target rate)
        if rate_controlled:
            chosen, budget, width = self._rate_plan(data, info, options, greys, pairs, starts, ends, picks, texts, representatives)
        else:
            chosen, budget, width = picks, options["keyframeBudgetBytes"], options["keyframeMaxWidth"]
        images = dict(decode.frames(data, self.limits, options["keyframeMaxWidth"], info, wanted=set(chosen))) if chosen else {}
        progress(0.9)
        priority = shared_rate.priorities(chosen)
        files = {f: keyframe.code_keyframe(images[f], options["keyframeCodec"], budget, width) for f in chosen}
        segments = []
        for index, (start, end) in enumerate(zip(starts, ends)):
            keyframes = []
            for frame in sorted(f for f in chosen if start <= f < end):
                coded, w, h = files[frame]
                text = base64.b64encode(coded).decode("ascii")
                keyframes.append({"codec": options["keyframeCodec"], "width": w, "height": h, "data": text, "frameIndex": frame - start, "priority": priority[frame]})
            segments.append({"index": index, "startFrame": start, "frameCount": end - start, "contentText": texts[index][0], "motionText": texts[index][1], "keyframes": keyframes})
        # 7. the sound, once, per segment
        sound, warnings = audio.encode_audio(data, options, [(start, end - start) for start, end in zip(starts, ends)], fps, count)
        progress(1.0)
        return {
            "engine": self.info(),
            "video": {
                "width": info.width,
                "height": info.height,
                "fps": fps,
                "frameCount": count,
                "durationSeconds": count / fps,
                "codec": info.codec[:64],
                "rotation": info.rotation,
            },
            "segments": segments,
            "audio": sound,
            "warnings": warnings,
            "seconds": _seconds(started),
        }

    def _rate_plan(
        self,
        data: bytes,
        info: decode.StreamInfo,
        options: dict,
        greys: list[np.ndarray],
        pairs: list[global_motion.PairMotion],
        starts: list[int],
        ends: list[int],
        picks: list[int],
        texts: list[tuple[str, str]],
        representatives: dict[int, np.ndarray],
    ) -> tuple[list[int], int, int]:
        """``(keyframe frames in priority order, budget bytes each, width)`` for ``options.targetKbps``
        (the shared planner, :func:`cmvc_gpu.media.rate.plan_keyframes`, with this engine's anchors — each
        segment's representative frame — and widths judged by the video it renders); no keyframe when
        the target is at or below the texts-only floor."""
        analysis_h, analysis_w = greys[0].shape
        motions = [motion.summarise(pairs[start : end - 1], info.fps, analysis_w, analysis_h) for start, end in zip(starts, ends)]
        longest = max(range(len(starts)), key=lambda n: ends[n] - starts[n])

        def judge(chosen: list[int], budget: int, widths: list[int]) -> int:
            return self._best_width(data, info, options, chosen, budget, widths, starts, ends, texts)

        plan = shared_rate.plan_keyframes(
            greys, info.fps, starts, ends, picks, motions, texts, self.info(), options["targetKbps"],
            options["keyframeCodec"], options["keyframeMaxWidth"], representatives[picks[longest]],
            # what a reconstruction of a video this size may hold (the bitstream's limits)
            per_segment=[max_keyframes_for(info.width, info.height)] * len(starts), judge_widths=judge,
        )
        return plan.frames, plan.budget_bytes, plan.width

    def _best_width(
        self, data: bytes, info: decode.StreamInfo, options: dict, chosen: list[int], budget: int, widths: list[int], starts: list[int], ends: list[int], texts: list[tuple[str, str]]
    ) -> int:
        """The one of ``widths`` (pixels) at which the ``chosen`` keyframes, each coded in ``budget``
        bytes, reconstruct the video closest to it (:func:`rate.reconstruction_error`, on up to
        ``shared_rate.RECONSTRUCTED_FRAMES`` frames at the largest of ``widths``); the narrower on a tie."""
        count = ends[-1]
        sample = dict(decode.frames(data, self.limits, max(widths), info, wanted=set(range(0, count, max(1, -(-count // shared_rate.RECONSTRUCTED_FRAMES))))))
        images = dict(decode.frames(data, self.limits, options["keyframeMaxWidth"], info, wanted=set(chosen)))
        motions = [motion.parse_motion(motion_text) for _, motion_text in texts]

        def error(width: int) -> float:
            pixels = {f: keyframe.decode_keyframe(keyframe.code_keyframe(images[f], options["keyframeCodec"], budget, width)[0]) for f in chosen}
            return rate.reconstruction_error(sample, pixels, starts, ends, motions, info.fps)

        return min(widths, key=lambda w: (error(w), w))

    # --- generate -------------------------------------------------------------------------------

    def generate(self, request: dict, progress: Optional[Progress] = None) -> dict:
        """generate.request → generate.response: ``frameCount`` frames at ``fps`` of ``width`` x
        ``height`` pixels (both even), the same bytes for the same request."""
        progress = progress or no_progress
        started = time.perf_counter()
        width, height, fps, count = request["width"], request["height"], request["fps"], request["frameCount"]
        frames = self.frames(request)
        progress(0.1)
        # 3. write the video
        with video_io.VideoWriter(width, height, fps, request["container"]) as writer:
            for i, frame in enumerate(frames):
                writer.write(frame)
                if i % PROGRESS_EVERY == 0:
                    progress(0.1 + 0.85 * i / count)
        return self._video(writer.data, request["container"], width, height, fps, writer.frame_count, started)

    def frames(self, request: dict) -> Iterator[np.ndarray]:
        """The frames ``generate`` codes for a generate.request: RGB ``uint8`` ``(height, width, 3)``, lazily
        (the client decoder in src/client/decode/ mirrors this and is tested against it)."""
        count = request["frameCount"]
        # 1. check inputs
        video_io.check_even(request["width"], request["height"])
        if count > self.limits.max_frame_count:
            raise ContractError("too_large", f"frameCount={count} is above the limit of {self.limits.max_frame_count}", details={"field": "frameCount"})
        moves = motion.parse_motion(request["segment"]["motionText"])
        # 2. the frames as the mode makes them (MODE_FRAMES)
        return MODE_FRAMES[request["mode"]](request, moves)

    # --- interpolate ----------------------------------------------------------------------------

    def interpolate(self, request: dict, progress: Optional[Progress] = None) -> dict:
        """interpolate.request → interpolate.response: ``factor`` times the frames at ``factor``
        times the frame rate (originals kept at positions 0, f, 2f, …). ``adapterId`` is ignored:
        the reference engine has no LoRA."""
        progress = progress or no_progress
        started = time.perf_counter()
        factor = request["factor"]
        data = read_source(request["video"], self.limits.max_upload_bytes)
        info = decode.probe(data, self.limits)
        video_io.check_even(info.width, info.height, field="video")
        expected = max(1, info.declared_frames * factor)
        fps = info.fps * factor
        frames = (image for _, image in decode.frames(data, self.limits, None, info))
        with video_io.VideoWriter(info.width, info.height, fps, request["container"]) as writer:
            for i, frame in enumerate(interpolate_stream(frames, factor)):
                writer.write(frame)
                if i % PROGRESS_EVERY == 0:
                    progress(min(0.95, i / expected))
        return self._video(writer.data, request["container"], info.width, info.height, fps, writer.frame_count, started)

    # --- assemble -------------------------------------------------------------------------------

    def assemble(self, request: dict, progress: Optional[Progress] = None) -> dict:
        """assemble.request → assemble.response: the parts' packets concatenated, not re-encoded."""
        progress = progress or no_progress
        started = time.perf_counter()
        return {"engine": self.info(), "video": assemble_parts(request, self.limits, progress), "seconds": _seconds(started)}

    def _video(self, data: bytes, container: str, width: int, height: int, fps: float, count: int, started: float) -> dict:
        return {"engine": self.info(), "video": video_file(data, container, width, height, fps, count), "seconds": _seconds(started)}


def _it2v_frames(request: dict, moves: motion.Motion) -> Iterator[np.ndarray]:
    """IT2V: the keyframes in place, the frames between them in-betweened from both neighbours along the motion."""
    coded = request["segment"]["keyframes"]
    if not coded:
        raise ContractError("invalid_request", "segment.keyframes must not be empty in it2v mode", details={"field": "segment.keyframes"})
    width, height = request["width"], request["height"]
    pixels = [(k["frameIndex"], resize(_keyframe_pixels(k, i), width, height)) for i, k in enumerate(coded)]
    return render.from_keyframes(pixels, moves, request["fps"], request["frameCount"])


def _tt2v_frames(request: dict, moves: motion.Motion) -> Iterator[np.ndarray]:
    """TT2V: the content text painted (seeded texture), moved along the motion; keyframes are not read."""
    painted = render.paint(content.parse_content(request["segment"]["contentText"]), request["width"], request["height"], request["seed"])
    return render.along_motion(painted, moves, request["fps"], request["frameCount"])


#: How each mode makes a segment's frames (the client decoder, src/client/decode/decoder.ts, mirrors each).
MODE_FRAMES = per_mode("engines/reference generate", {"tt2v": _tt2v_frames, "it2v": _it2v_frames})


def _keyframe_pixels(coded: dict, index: int) -> np.ndarray:
    """The RGB pixels of ``segment.keyframes[index]`` (inline, or fetched by its URL);
    ``invalid_request`` naming it when its data is not base64 or not an image."""
    return keyframe.request_keyframe_pixels(coded, f"segment.keyframes[{index}]")


def frames_psnr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """PSNR in dB over two equally long frame lists of one geometry (RGB, peak 255)."""
    mse = float(np.mean([np.mean((x.astype(np.float32) - y.astype(np.float32)) ** 2) for x, y in zip(a, b)]))
    return float("inf") if mse == 0 else float(10 * np.log10(255**2 / mse))
