"""Coding efficiency of the reference engine on real clips, beside x264 and x265 at matched bytes.

For each clip: source bytes; the real CMVC bitstream bytes for IT2V (with keyframes) and TT2V
(texts only), written by the project's own bitstream writer; kbps; PSNR and SSIM of each mode's
reconstruction against the decoded source; and the same for x264 and x265 (FFmpeg) asked for the
IT2V bitrate (they may not reach it: the bytes they actually produced are reported).

SSIM is computed on luma in 8x8 blocks (the mean of per-block SSIM with the usual constants).

    .venv/bin/python scripts/quality_table.py [CLIP ...] [--json]
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))

from cmvc_gpu.engines.reference import ReferenceEngine  # noqa: E402
from cmvc_gpu.engines.reference.video_io import decode  # noqa: E402

DEFAULT_CLIPS = [ROOT.parent / "shared" / "samples" / "cup-4s.mp4"]
OPTIONS = {"minSegmentSeconds": 1, "maxSegmentSeconds": 10, "keyframeBudgetBytes": 1024, "keyframeCodec": "webp", "keyframeMaxWidth": 320, "maxTextChars": 600}


def luma(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def psnr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    mse = float(np.mean([(x.astype(np.float64) - y.astype(np.float64)) ** 2 for x, y in zip(a, b)]))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def ssim(a: list[np.ndarray], b: list[np.ndarray], block: int = 8) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = []
    for x, y in zip(a, b):
        lx, ly = luma(x), luma(y)
        h, w = (lx.shape[0] // block) * block, (lx.shape[1] // block) * block
        bx = lx[:h, :w].reshape(h // block, block, w // block, block).transpose(0, 2, 1, 3).reshape(-1, block * block)
        by = ly[:h, :w].reshape(h // block, block, w // block, block).transpose(0, 2, 1, 3).reshape(-1, block * block)
        mx, my = bx.mean(1), by.mean(1)
        vx, vy = bx.var(1), by.var(1)
        cov = ((bx - mx[:, None]) * (by - my[:, None])).mean(1)
        scores.append(float(np.mean(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))))
    return float(np.mean(scores))


def frames_of(data: bytes) -> list[np.ndarray]:
    return decode(data, max_duration_seconds=86_400, max_frames=10**6).frames


def bitstream_bytes(encoded: dict) -> dict:
    result = subprocess.run(["npx", "tsx", "scripts/bitstream-size.ts"], input=json.dumps(encoded).encode(), cwd=ROOT, capture_output=True, check=True)
    return json.loads(result.stdout.decode().strip().splitlines()[-1])


def reconstruct(engine: ReferenceEngine, encoded: dict, mode: str) -> list[np.ndarray]:
    video = encoded["video"]
    width, height = video["width"] - video["width"] % 2, video["height"] - video["height"] % 2
    frames: list[np.ndarray] = []
    for segment in encoded["segments"]:
        request = {
            "mode": mode,
            "segment": {k: segment[k] for k in ("contentText", "motionText", "keyframe")},
            "width": width,
            "height": height,
            "fps": video["fps"],
            "frameCount": segment["frameCount"],
            "seed": 0,
            "container": "mp4",
        }
        frames += frames_of(base64.b64decode(engine.generate(request, lambda _p: None)["video"]["data"]))
    return frames


def classical(path: Path, codec: str, kbps: float) -> tuple[bytes, list[np.ndarray]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mp4"
        params = ["-x265-params", "log-level=error"] if codec == "libx265" else []
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(path), "-an", "-c:v", codec, "-b:v", f"{max(kbps, 1):.2f}k", "-pix_fmt", "yuv420p", *params, str(out)], check=True)
        data = out.read_bytes()
    return data, frames_of(data)


def measure(path: Path) -> dict:
    engine = ReferenceEngine()
    source = path.read_bytes()
    encoded = engine.encode({"video": {"data": base64.b64encode(source).decode()}, "options": OPTIONS}, lambda _p: None)
    seconds = encoded["video"]["durationSeconds"]
    original = frames_of(source)
    sizes = bitstream_bytes(encoded)
    rows = {"source": {"bytes": len(source), "kbps": len(source) * 8 / 1000 / seconds}}
    for mode, key in (("it2v", "full"), ("tt2v", "tt2v")):
        frames = reconstruct(engine, encoded, mode)
        n = min(len(frames), len(original))
        crop = [f[: frames[0].shape[0], : frames[0].shape[1]] for f in original[:n]]
        rows[mode] = {"bytes": sizes[key], "kbps": sizes[key] * 8 / 1000 / seconds, "psnr": psnr(frames[:n], crop), "ssim": ssim(frames[:n], crop)}
    for name, codec in (("x264", "libx264"), ("x265", "libx265")):
        data, frames = classical(path, codec, rows["it2v"]["kbps"])
        n = min(len(frames), len(original))
        rows[name] = {"bytes": len(data), "kbps": len(data) * 8 / 1000 / seconds, "psnr": psnr(frames[:n], original[:n]), "ssim": ssim(frames[:n], original[:n])}
    return {"clip": path.name, "seconds": seconds, "segments": len(encoded["segments"]), "rows": rows}


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--json"]
    clips = [Path(a) for a in args] or DEFAULT_CLIPS
    results = [measure(clip) for clip in clips]
    if "--json" in sys.argv:
        print(json.dumps({"clips": results}, indent=2))
        return
    print("| clip | s | segs | codec | bytes | kbps | PSNR dB | SSIM |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        for name, row in r["rows"].items():
            quality = f"{row['psnr']:.2f} | {row['ssim']:.3f}" if "psnr" in row else "- | -"
            print(f"| {r['clip']} | {r['seconds']:.1f} | {r['segments']} | {name} | {row['bytes']} | {row['kbps']:.2f} | {quality} |")


if __name__ == "__main__":
    main()
