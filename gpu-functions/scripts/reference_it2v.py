"""The reference engine's side of the client decoder's agreement test (test/node/client-decode.test.ts).

    .venv/bin/python scripts/reference_it2v.py encode CLIP [--target-kbps N] [--audio-kbps N]   # encode.response JSON on stdout
    .venv/bin/python scripts/reference_it2v.py frames OUT.rgb < requests.json  # raw frames of generate requests
    .venv/bin/python scripts/reference_it2v.py sizes < requests.json           # bytes of the MP4 and MPEG-TS videos

CLIP is a video file, or ``pan:P`` / ``zoom:Z`` for a synthetic clip with a known motion (P pixels per frame
panning right, Z fractional zoom per frame; 48 frames of 320x240 at 24 fps). ``frames`` reads a JSON list of
generate requests and writes the frames the engine's ``generate`` renders for them (before video coding, which
would only add the H.264 loss), RGB, 8 bits, frame after frame.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from clips import encode_frames, smooth_texture  # noqa: E402
from cmvc_gpu.engines.reference import ReferenceEngine  # noqa: E402
from cmvc_gpu.media.inbetween import warp  # noqa: E402

OPTIONS = {"minSegmentSeconds": 0.5, "maxSegmentSeconds": 10, "keyframeBudgetBytes": 4096, "keyframeCodec": "webp", "keyframeMaxWidth": 320, "maxTextChars": 600}


def synthetic(spec: str) -> bytes:
    """A 48-frame 320x240 clip at 24 fps: ``pan:P`` or ``zoom:Z``."""
    kind, _, amount = spec.partition(":")
    value = float(amount)
    width, height, count = 320, 240, 48
    if kind == "pan":
        still = smooth_texture(width * 3, height, seed=3)
        frames = [np.ascontiguousarray(still[:, round(i * value) : round(i * value) + width]) for i in range(count)]
    elif kind == "zoom":
        still = smooth_texture(width, height, seed=4)
        frames = [warp(still, 0, 0, (1 + value) ** i) for i in range(count)]
    else:
        raise SystemExit(f"unknown synthetic clip {spec!r}; pan:P or zoom:Z")
    return encode_frames(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    enc = commands.add_parser("encode")
    enc.add_argument("clip")
    enc.add_argument("--target-kbps", type=float, default=None)
    enc.add_argument("--audio-kbps", type=int, default=0, help="the sound's rate (0: none, as before sound)")
    frames = commands.add_parser("frames")
    frames.add_argument("out")
    commands.add_parser("sizes")
    args = parser.parse_args()
    engine = ReferenceEngine()
    if args.command == "encode":
        data = synthetic(args.clip) if ":" in args.clip else Path(args.clip).read_bytes()
        options = {**OPTIONS, **({"targetKbps": args.target_kbps} if args.target_kbps is not None else {}), "audioKbps": args.audio_kbps}
        json.dump(engine.encode({"video": {"data": base64.b64encode(data).decode("ascii")}, "options": options}), sys.stdout)
    elif args.command == "sizes":
        # the MP4 each segment is generated as, and the MPEG-TS segment HLS serves (a remux of it, as the Worker asks)
        # (the engine returns a video's bytes raw, for the app to upload; a request's parts come as base64)
        mp4s = [engine.generate({**r, "container": "mp4"})["video"]["data"] for r in json.load(sys.stdin)]
        ts = [engine.assemble({"parts": [{"data": base64.b64encode(data).decode("ascii")}], "container": "mpegts", "timeOffsetSeconds": 0})["video"]["data"] for data in mp4s]
        json.dump({"mp4": sum(len(d) for d in mp4s), "mpegts": sum(len(d) for d in ts)}, sys.stdout)
    else:
        with open(args.out, "wb") as out:
            for request in json.load(sys.stdin):
                for frame in engine.frames(request):
                    out.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())


if __name__ == "__main__":
    main()
