"""Measures the reference engine's cost model and writes its entry into ``schemas/gpu-cost.json``.

For each function it times calls of several shapes on synthetic clips (made here with NumPy and the
engine's own H.264 writer, nothing downloaded), takes the median of ``--runs`` of each (not the best:
a reservation should cover a call on a busy machine too), and fits
``seconds = baseSeconds + secondsPerMegapixelFrame × megapixel-frames`` by least squares, where
megapixel-frames = frames × width × height / 1e6 of the call's output (for ``encode``: of its source).
The coefficients are rounded up to the next 0.001 s and scaled by ``--margin`` (default 1.25), so the
Worker's reservations sit slightly above what a call spends on this machine.

    cd gpu-functions && .venv/bin/python scripts/measure_cost.py [--runs 3] [--margin 1.25] [--dry-run]
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

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
    args = parser.parse_args()
    points = measure(ReferenceEngine(), args.runs)
    entry = {}
    for function, samples in points.items():
        base, slope = fit(samples)
        entry[function] = {"baseSeconds": round_up(base * args.margin), "secondsPerMegapixelFrame": round_up(slope * args.margin)}
    print(json.dumps({"engine": ENGINE_ID, "entry": entry, "samples": points}, indent=2))
    if args.dry_run:
        return
    cost = json.loads(COST_FILE.read_text()) if COST_FILE.exists() else {"version": 1, "engines": {}}
    cost["engines"][ENGINE_ID] = entry
    COST_FILE.write_text(json.dumps(cost, indent=2, sort_keys=True) + "\n")
    print(f"wrote {COST_FILE.relative_to(HERE.parents[1])}", file=sys.stderr)


if __name__ == "__main__":
    main()
