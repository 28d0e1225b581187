"""Measures the reference engine's cost model and writes its entry into ``schemas/gpu-cost.json``.

For each function it times calls of several shapes on synthetic clips (made here with NumPy and the
engine's own H.264 writer, nothing downloaded), takes the median of ``--runs`` of each (not the best:
a reservation should cover a call on a busy machine too), and fits
``seconds = baseSeconds + secondsPerMegapixelFrame × megapixel-frames`` by least squares, where
megapixel-frames = frames × width × height / 1e6 of the call's output (for ``encode``: of its source).
The coefficients are rounded up to the next 0.001 s and scaled by ``--margin`` (default 1.25), so the
Worker's reservations sit slightly above what a call spends on this machine.

``generate`` in IT2V also spends time on its keyframes, so it is also timed on three larger shapes with 1 and 2
keyframes (first and last frame) of the output's size and with one on every frame, of its size and of a quarter of
its sides, and all its timings are fitted together (least squares, every coefficient >= 0) as ``baseSeconds`` +
``secondsPerMegapixelFrame`` × megapixel-frames + ``secondsPerMegapixelFrameBetweenKeyframes`` × megapixel-frames
in-betweened (from the first keyframe to the last, keyframes' own frames not counted) +
``secondsPerKeyframeMegapixel`` × the keyframe images' megapixels (decoding) + ``secondsPerKeyframeFrameMegapixel``
× keyframes × the output's megapixels (resizing, the motion between neighbours) + ``secondsPerKeyframe`` × keyframes
beyond the first (reading and decoding each, whatever its size): the terms of the Worker's estimate
(``src/gpu/cost-model.ts``). ``--keyframes-only`` keeps the entry's base and slope and fits the keyframe terms alone.

    cd gpu-functions && .venv/bin/python scripts/measure_cost.py [--runs 3] [--margin 1.25] [--dry-run] [--keyframes-only]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cmvc_gpu.engines.reference import ReferenceEngine  # noqa: E402
from cmvc_gpu.engines.reference.engine import ENGINE_ID  # noqa: E402
from cmvc_gpu.media import video_io  # noqa: E402

COST_FILE = HERE.parents[1] / "schemas" / "gpu-cost.json"
#: Output shapes timed per function: (width, height, frames).
SHAPES = [(160, 120, 24), (320, 240, 24), (320, 240, 72), (640, 480, 48)]
ENCODE_OPTIONS = {"minSegmentSeconds": 1, "maxSegmentSeconds": 10, "keyframeBudgetBytes": 1024, "keyframeCodec": "webp", "keyframeMaxWidth": 320, "maxTextChars": 600}


def panning_clip(width: int, height: int, frames: int, fps: float = 24.0) -> bytes:
    """A textured still panned right one pixel a frame, as H.264 MP4 bytes."""
    rng = np.random.default_rng(width * height + frames)
    still = (rng.random((height, width * 2, 3)) * 255).astype(np.uint8)
    return video_io.encode((still[:, i : i + width] for i in range(frames)), fps)


def median_of(runs: int, call: Callable[[], object]) -> float:
    """The median wall-clock time of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``(base, slope)`` of seconds over megapixel-frames, both clamped at >= 0."""
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])
    slope, base = np.polyfit(xs, ys, 1)
    return max(0.0, float(base)), max(0.0, float(slope))


#: Output shapes ``(width, height, frames)`` timed for the keyframe terms (large enough that keyframes cost more
#: than the noise of a busy machine), and ``(count, keyframe side / output side)`` of the keyframes timed on each.
KEYFRAME_SHAPES = [(320, 240, 64), (640, 480, 48), (1152, 864, 64)]
#: ``None``: a keyframe on every frame (no in-betweens: what keyframes alone cost).
KEYFRAME_SETS = ((1, 1), (2, 1), (None, 1), (None, 4))


def keyframe_files(clip_frames: list[np.ndarray], count: int, frames: int, shrink: int) -> list[dict]:
    """``count`` keyframes (WebP of ``clip_frames``, 1/``shrink`` of the output's sides) spread from the first frame to the last."""
    out = []
    for n in range(count):
        index = 0 if count == 1 else round(n * (frames - 1) / (count - 1))
        image = Image.fromarray(clip_frames[index])
        if shrink > 1:
            image = image.resize((image.width // shrink, image.height // shrink), Image.BICUBIC)
        buffer = io.BytesIO()
        image.save(buffer, format="WEBP", quality=80)
        out.append({"codec": "webp", "width": image.width, "height": image.height, "data": base64.b64encode(buffer.getvalue()).decode(), "frameIndex": index, "priority": 1})
    return out


#: A generate's features, as the Worker's estimate weighs them: (1, megapixel-frames, megapixel-frames in-betweened,
#: keyframe image megapixels, keyframes x output megapixels, keyframes beyond the first).
Features = tuple[float, float, float, float, float, float]


def measure_keyframes(engine: ReferenceEngine, runs: int) -> list[tuple[Features, float]]:
    """IT2V generates of each keyframe set on each shape: ``(features, seconds)``."""
    samples = []
    for width, height, frames in KEYFRAME_SHAPES:
        rng = np.random.default_rng(width * height + frames)
        still = (rng.random((height, width * 2, 3)) * 255).astype(np.uint8)
        clip_frames = [still[:, i : i + width] for i in range(frames)]
        megapixels = width * height / 1e6
        for count, shrink in KEYFRAME_SETS:
            n = count or frames
            keyframes = keyframe_files(clip_frames, n, frames, shrink)
            segment = {"contentText": "a cup", "motionText": "the camera pans right slowly", "keyframes": keyframes}
            request = {"mode": "it2v", "segment": segment, "width": width, "height": height, "fps": 24, "frameCount": frames, "seed": 0, "container": "mp4"}
            first, last = keyframes[0]["frameIndex"], keyframes[-1]["frameIndex"]
            features = (1.0, frames * megapixels, (last - first + 1 - n) * megapixels, sum(k["width"] * k["height"] for k in keyframes) / 1e6, n * megapixels, n - 1.0)
            samples.append((features, median_of(runs, lambda: engine.generate(request))))
    return samples


def nonnegative_fit(xs: np.ndarray, ys: np.ndarray) -> list[float]:
    """Least squares with every coefficient >= 0: the most negative is dropped and the rest refitted, until none is."""
    active = list(range(xs.shape[1]))
    while True:
        coefficients, *_ = np.linalg.lstsq(xs[:, active], ys, rcond=None)
        if all(c >= -1e-9 for c in coefficients) or len(active) == 1:  # rounding, not a negative cost
            out = [0.0] * xs.shape[1]
            for i, c in zip(active, coefficients):
                out[i] = max(0.0, float(c))
            return out
        active.pop(int(np.argmin(coefficients)))


def fit_generate(points: list[tuple[float, float]], keyframe_samples: list[tuple[Features, float]], fixed: Optional[tuple[float, float]] = None) -> list[float]:
    """``[base, per megapixel-frame, per megapixel-frame in-betweened, per keyframe image megapixel, per keyframe
    output megapixel, per keyframe beyond the first]`` over ``points`` (the generate shapes: megapixel-frames,
    seconds) and ``keyframe_samples``; ``fixed``: keep ``(base, slope)`` and fit the keyframe terms to what is left."""
    rows = [((1.0, mpf, 0.0, 0.0, 0.0, 0.0), seconds) for mpf, seconds in points] + keyframe_samples
    xs = np.array([features for features, _ in rows])
    ys = np.array([seconds for _, seconds in rows])
    if fixed is None:
        return nonnegative_fit(xs, ys)
    rest = nonnegative_fit(xs[:, 2:], ys - fixed[0] - fixed[1] * xs[:, 1])
    return [fixed[0], fixed[1], *rest]


def measure(engine: ReferenceEngine, runs: int) -> dict[str, list[tuple[float, float]]]:
    """Per function, (megapixel-frames, seconds) of every shape timed."""
    points: dict[str, list[tuple[float, float]]] = {f: [] for f in ("encode", "generate", "interpolate", "assemble")}
    for width, height, frames in SHAPES:
        mpf = frames * width * height / 1e6
        clip = panning_clip(width, height, frames)
        source = {"data": base64.b64encode(clip).decode()}
        points["encode"].append((mpf, median_of(runs, lambda: engine.encode({"video": source, "options": ENCODE_OPTIONS}))))
        segment = engine.encode({"video": source, "options": ENCODE_OPTIONS})["segments"][0]
        texts = {k: segment[k] for k in ("contentText", "motionText", "keyframes")}
        request = {"segment": texts, "width": width, "height": height, "fps": 24, "frameCount": frames, "seed": 0, "container": "mp4"}
        tt2v = median_of(runs, lambda: engine.generate({**request, "mode": "tt2v"}))
        it2v = median_of(runs, lambda: engine.generate({**request, "mode": "it2v"}))
        points["generate"].append((mpf, max(tt2v, it2v)))
        half = panning_clip(width, height, frames // 2)
        points["interpolate"].append((mpf, median_of(runs, lambda: engine.interpolate({"video": {"data": base64.b64encode(half).decode()}, "factor": 2, "adapterId": None, "container": "mp4"}))))
        quarter = {"data": base64.b64encode(panning_clip(width, height, frames // 4)).decode()}
        points["assemble"].append((mpf, median_of(runs, lambda: engine.assemble({"parts": [quarter] * 4, "container": "mpegts", "timeOffsetSeconds": 0}))))
    return points


def round_up(value: float) -> float:
    return math.ceil(value * 1000) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--margin", type=float, default=1.25)
    parser.add_argument("--dry-run", action="store_true", help="print the entry, write nothing")
    parser.add_argument("--keyframes-only", action="store_true", help="measure and write only generate's keyframe terms, keeping the rest of the entry")
    args = parser.parse_args()
    engine = ReferenceEngine()
    cost = json.loads(COST_FILE.read_text()) if COST_FILE.exists() else {"version": 1, "engines": {}}
    if args.keyframes_only:
        entry = cost["engines"][ENGINE_ID]
        points: dict = {"generate": []}
        fixed: Optional[tuple[float, float]] = (entry["generate"]["baseSeconds"], entry["generate"]["secondsPerMegapixelFrame"])
    else:
        points = measure(engine, args.runs)
        entry = {}
        for function, samples in points.items():
            base, slope = fit(samples)
            entry[function] = {"baseSeconds": round_up(base * args.margin), "secondsPerMegapixelFrame": round_up(slope * args.margin)}
        fixed = None
    keyframe_samples = measure_keyframes(engine, args.runs)
    base, slope, between, per_image, per_frame, per_keyframe = fit_generate(
        points["generate"], keyframe_samples, None if fixed is None else (fixed[0] / args.margin, fixed[1] / args.margin)
    )
    entry["generate"] = {
        "baseSeconds": round_up(base * args.margin),
        "secondsPerMegapixelFrame": round_up(slope * args.margin),
        "secondsPerKeyframeMegapixel": round_up(per_image * args.margin),
        "secondsPerKeyframeFrameMegapixel": round_up(per_frame * args.margin),
        "secondsPerMegapixelFrameBetweenKeyframes": round_up(between * args.margin),
        "secondsPerKeyframe": round_up(per_keyframe * args.margin),
    }
    points["generate.keyframes"] = keyframe_samples
    print(json.dumps({"engine": ENGINE_ID, "entry": entry, "samples": points}, indent=2))
    if args.dry_run:
        return
    cost["engines"][ENGINE_ID] = entry
    COST_FILE.write_text(json.dumps(cost, indent=2, sort_keys=True) + "\n")
    print(f"wrote {COST_FILE.relative_to(HERE.parents[1])}", file=sys.stderr)


if __name__ == "__main__":
    main()
