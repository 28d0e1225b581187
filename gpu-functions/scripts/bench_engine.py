"""Throughput of the reference engine on this machine, beside plain PyAV in the same run.

Prints JSON: encode and generate (tt2v, it2v) in frames per second for the sample clip, with the
baseline of decoding it with PyAV and of encoding the same frame count with PyAV, and the ratios.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cmvc_gpu.engines.reference import ReferenceEngine  # noqa: E402
from cmvc_gpu.engines.reference import video_io  # noqa: E402

SAMPLE = HERE.parents[2] / "shared" / "samples" / "cup-4s.mp4"
OPTIONS = {"minSegmentSeconds": 1, "maxSegmentSeconds": 10, "keyframeBudgetBytes": 1024, "keyframeCodec": "webp", "keyframeMaxWidth": 320, "maxTextChars": 600}


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    engine = ReferenceEngine()
    data = SAMPLE.read_bytes()
    decoded = video_io.decode(data, 600, 10_000)
    n = len(decoded.frames)
    source = {"data": base64.b64encode(data).decode()}
    encoded = engine.encode({"video": source, "options": OPTIONS}, lambda _p: None)
    segment = encoded["segments"][0]
    request = {"segment": {k: segment[k] for k in ("contentText", "motionText", "keyframe")}, "width": 320, "height": 240, "fps": decoded.fps, "frameCount": n, "seed": 0, "container": "mp4"}
    seconds = {
        "pyav_decode": best_of(3, lambda: video_io.decode(data, 600, 10_000)),
        "pyav_encode": best_of(3, lambda: video_io.encode(decoded.frames, decoded.fps)),
        "encode": best_of(3, lambda: engine.encode({"video": source, "options": OPTIONS}, lambda _p: None)),
        "generate_tt2v": best_of(3, lambda: engine.generate({**request, "mode": "tt2v"}, lambda _p: None)),
        "generate_it2v": best_of(3, lambda: engine.generate({**request, "mode": "it2v"}, lambda _p: None)),
    }
    fps = {name: n / s for name, s in seconds.items()}
    print(
        json.dumps(
            {
                "clip": SAMPLE.name,
                "frames": n,
                "framesPerSecond": {k: round(v, 1) for k, v in fps.items()},
                "ratios": {
                    "encode_vs_pyav_decode": round(seconds["pyav_decode"] / seconds["encode"], 3),
                    "generate_tt2v_vs_pyav_encode": round(seconds["pyav_encode"] / seconds["generate_tt2v"], 3),
                    "generate_it2v_vs_pyav_encode": round(seconds["pyav_encode"] / seconds["generate_it2v"], 3),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
