"""Throughput of the reference engine on this machine, beside plain PyAV in the same run.

Prints JSON: encode and generate (TT2V, IT2V) in frames per second on the sample clip, with two
baselines measured in the same run — decoding the clip with PyAV, and encoding the same number of
frames of its geometry with PyAV (the engine's own H.264 writer) — and the ratios between them.
Each figure is the best of ``--runs`` runs (wall clock).

    cd gpu-functions && .venv/bin/python scripts/bench_engine.py [CLIP] [--runs N]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cmvc_gpu.engines.reference import ReferenceEngine  # noqa: E402
from cmvc_gpu.media import video_io  # noqa: E402

SAMPLE = HERE.parents[1] / "test" / "fixtures" / "cup-4s.mp4"
OPTIONS = {"minSegmentSeconds": 1, "maxSegmentSeconds": 10, "keyframeBudgetBytes": 1024, "keyframeCodec": "webp", "keyframeMaxWidth": 320, "maxTextChars": 600}


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """The shortest of ``runs`` wall-clock timings of ``fn()``, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", nargs="?", type=Path, default=SAMPLE)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    engine = ReferenceEngine()
    data = args.clip.read_bytes()
    decoded = video_io.decode(data, 600, 10_000)
    n = len(decoded.frames)
    height, width = decoded.frames[0].shape[:2]
    width, height = width - width % 2, height - height % 2
    frames = [f[:height, :width] for f in decoded.frames]
    source = {"data": base64.b64encode(data).decode()}
    encoded = engine.encode({"video": source, "options": OPTIONS})
    segment = encoded["segments"][0]
    request = {"segment": {k: segment[k] for k in ("contentText", "motionText", "keyframe")}, "width": width, "height": height, "fps": decoded.fps, "frameCount": n, "seed": 0, "container": "mp4"}
    seconds = {
        "pyav_decode": best_of(args.runs, lambda: video_io.decode(data, 600, 10_000)),
        "pyav_encode": best_of(args.runs, lambda: video_io.encode(frames, decoded.fps)),
        "encode": best_of(args.runs, lambda: engine.encode({"video": source, "options": OPTIONS})),
        "generate_tt2v": best_of(args.runs, lambda: engine.generate({**request, "mode": "tt2v"})),
        "generate_it2v": best_of(args.runs, lambda: engine.generate({**request, "mode": "it2v"})),
    }
    fps = {name: n / s for name, s in seconds.items()}
    print(
        json.dumps(
            {
                "clip": args.clip.name,
                "geometry": f"{width}x{height}",
                "frames": n,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "processor": platform.machine()},
                "framesPerSecond": {k: round(v, 1) for k, v in fps.items()},
                "ratios": {
                    "encode_vs_pyav_decode": round(fps["encode"] / fps["pyav_decode"], 3),
                    "generate_tt2v_vs_pyav_encode": round(fps["generate_tt2v"] / fps["pyav_encode"], 3),
                    "generate_it2v_vs_pyav_encode": round(fps["generate_it2v"] / fps["pyav_encode"], 3),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
