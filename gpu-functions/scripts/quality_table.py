"""Rate–distortion curves of CMVC IT2V (reference engine) beside x264, x265 and AV1 on real clips.

For each clip (cut to its first ``--seconds``, at its source size and frame rate): CMVC IT2V encoded
at several ``targetKbps`` (2, 5, 10, 20, 40, … up to the clip's x265 floor rate), its bytes from the
same writer as the Worker's, reconstructed by the reference engine; x264 and x265 at CRFs down to their
floor (51); AV1 (libaom, in Debian's FFmpeg) at CRFs down to 63, also downscaled to 1/2, 1/4 and 1/8 of
the size at 12 fps and scaled back (bicubic, frames repeated), which is how a conventional codec reaches
3–10 kbps. Each point: bytes, kbps, PSNR and SSIM of luma against the decoded clip. Then the BD-rate of
CMVC IT2V against x265 and against AV1 (all its points, Pareto front) over the PSNR range both reach, and
the curves drawn to a PNG.

Metrics are on luma (BT.601 weights, full range) over all frames: PSNR from the mean squared error
of all frames together; SSIM with the usual 11x11 Gaussian window (sigma 1.5, K1 0.01, K2 0.03),
averaged over pixels and frames.

    cd gpu-functions && .venv/bin/python scripts/quality_table.py [CLIP ...] [--png FILE] [--json] [--floor-only]

``--floor-only`` measures only what the target at x265's floor needs (x265 at CRF 51, CMVC IT2V at its
rate): minutes instead of the whole table, for iterating on the encoder.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))

from cmvc_gpu.engines.reference import ReferenceEngine  # noqa: E402
from cmvc_gpu.limits import Limits  # noqa: E402
from cmvc_gpu.media.decode import probe  # noqa: E402
from cmvc_gpu.media.video_io import decode  # noqa: E402

DEFAULT_CLIPS = [REPO / "test" / "fixtures" / "cup-4s.mp4"]
#: Encode options; keyframeMaxWidth is set to each clip's width, so the rate control may use its full size.
OPTIONS = {"minSegmentSeconds": 1, "maxSegmentSeconds": 10, "keyframeCodec": "webp", "maxTextChars": 600}
#: CMVC target rates (kbps); the ladder goes on doubling up to the clip's x265 floor rate.
CMVC_TARGETS = (2, 5, 10, 20, 40)
CRFS = {"libx264": (51, 45, 39, 33), "libx265": (51, 45, 39, 33), "libaom-av1": (63, 55, 45, 35)}
#: Downscaled AV1: fraction of the size, at this frame rate, at these CRFs.
AV1_SCALES = (2, 4, 8)
AV1_SCALED_FPS = 12
AV1_SCALED_CRFS = (63, 50)


def luma(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def psnr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """Luma PSNR in dB over all frames (peak 255)."""
    mse = float(np.mean([np.mean((luma(x) - luma(y)) ** 2) for x, y in zip(a, b)]))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def _gaussian(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size) - size // 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _filter(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable 'valid' convolution of a 2-D array with a 1-D kernel along both axes."""
    k = len(kernel)
    rows = sum(kernel[i] * image[i : image.shape[0] - k + 1 + i] for i in range(k))
    return sum(kernel[i] * rows[:, i : rows.shape[1] - k + 1 + i] for i in range(k))


def ssim(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """Mean luma SSIM (Wang et al. 2004; Gaussian 11x11, sigma 1.5) over pixels and frames."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    window = _gaussian()
    scores = []
    for x, y in zip(a, b):
        lx, ly = luma(x), luma(y)
        mx, my = _filter(lx, window), _filter(ly, window)
        vx = _filter(lx * lx, window) - mx**2
        vy = _filter(ly * ly, window) - my**2
        cov = _filter(lx * ly, window) - mx * my
        scores.append(float(np.mean(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))))
    return float(np.mean(scores))


def frames_of(data: bytes) -> list[np.ndarray]:
    return decode(data, max_duration_seconds=86_400, max_frames=10**6).frames


def bitstream_bytes(encoded: dict) -> dict:
    """Bitstream sizes in bytes: ``{"it2v": bytes, "tt2v": bytes, "exact": bool}``.

    The encode response goes through the same writer the Worker uses (``scripts/bitstream-size.ts``:
    the full stream, and its ``tt2v`` cut); the Node side must be installed (``npm install``).
    """
    node, tsx = REPO / "node_modules" / ".bin" / "node", REPO / "node_modules" / "tsx" / "dist" / "cli.mjs"
    if node.exists() and tsx.exists():
        done = subprocess.run(
            [str(node), str(tsx), str(REPO / "scripts" / "bitstream-size.ts")],
            input=json.dumps(encoded).encode(), capture_output=True, cwd=REPO, check=False,
        )
        if done.returncode == 0:
            sizes = json.loads(done.stdout)
            return {"it2v": sizes["full"], "tt2v": sizes["tt2v"], "exact": True}
        raise RuntimeError(f"bitstream-size.ts failed: {done.stderr.decode()[-300:]}")
    raise RuntimeError("the bitstream sizes need the Node side: run `npm install` at the repository root")


def reconstruct(engine: ReferenceEngine, encoded: dict) -> list[np.ndarray]:
    """IT2V of every segment (TT2V where the rate left a segment no keyframe) at the source geometry."""
    video = encoded["video"]
    width, height = video["width"] - video["width"] % 2, video["height"] - video["height"] % 2
    frames: list[np.ndarray] = []
    for segment in encoded["segments"]:
        request = {
            "mode": "it2v" if segment["keyframes"] else "tt2v",
            "segment": {k: segment[k] for k in ("contentText", "motionText", "keyframes")},
            "width": width,
            "height": height,
            "fps": video["fps"],
            "frameCount": segment["frameCount"],
            "seed": 0,
            "container": "mp4",
        }
        frames += frames_of(engine.generate(request)["video"]["data"])  # the file's bytes
    return frames


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def cut(path: Path, seconds: float, folder: Path) -> Path:
    """The first ``seconds`` of ``path`` at its size and frame rate, near-losslessly (x264 CRF 8): the
    source every codec here is measured against."""
    out = folder / f"{path.stem}-{seconds:g}s.mp4"
    ffmpeg("-i", str(path), "-t", f"{seconds}", "-an", "-c:v", "libx264", "-crf", "8", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(out))
    return out


def conventional(path: Path, codec: str, crf: int, folder: Path, scale: int = 1) -> tuple[int, list[np.ndarray]]:
    """``(bytes, frames at the source size and rate)`` of ``path`` coded by ``codec`` at ``crf``;
    ``scale`` > 1 codes it at 1/scale of the size and ``AV1_SCALED_FPS`` and scales it back."""
    source = frames_of(path.read_bytes())
    height, width = source[0].shape[:2]
    probe = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=r_frame_rate", "-of", "csv=p=0", str(path)]
    rate = subprocess.run(probe, capture_output=True, check=True).stdout.decode().strip()
    out = folder / f"{codec}-{crf}-{scale}.mkv"
    extra = {"libx265": ["-x265-params", "log-level=error"], "libaom-av1": ["-cpu-used", "8", "-row-mt", "1", "-b:v", "0"]}.get(codec, [])
    shrink = ["-vf", f"scale={max(16, width // scale // 2 * 2)}:{max(16, height // scale // 2 * 2)}:flags=area,fps={AV1_SCALED_FPS}"] if scale > 1 else []
    ffmpeg("-i", str(path), "-an", *shrink, "-c:v", codec, "-crf", str(crf), *extra, "-pix_fmt", "yuv420p", str(out))
    back = folder / f"{codec}-{crf}-{scale}-back.mp4"
    ffmpeg("-i", str(out), "-vf", f"scale={width}:{height}:flags=bicubic,fps={rate}", "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast", "-pix_fmt", "yuv444p", str(back))
    return out.stat().st_size, frames_of(back.read_bytes())


def point(data_bytes: int, seconds: float, frames: list[np.ndarray], original: list[np.ndarray], **extra) -> dict:
    n = min(len(frames), len(original))
    h, w = frames[0].shape[:2]
    source = [f[:h, :w] for f in original[:n]]
    return {"bytes": data_bytes, "kbps": round(data_bytes * 8 / 1000 / seconds, 3), "psnr": round(psnr(frames[:n], source), 3), "ssim": round(ssim(frames[:n], source), 4), **extra}


def pareto(points: list[dict]) -> list[dict]:
    """The points no other point beats on both rate and PSNR, by rising rate."""
    out: list[dict] = []
    for p in sorted(points, key=lambda p: (p["kbps"], -p["psnr"])):
        if not out or p["psnr"] > out[-1]["psnr"]:
            out.append(p)
    return out


def bd_rate(test: list[dict], anchor: list[dict]) -> float | None:
    """Bjøntegaard delta rate (%) of ``test`` against ``anchor``: the mean rate difference at equal
    PSNR over the PSNR range both curves reach (cubic fits of log rate against PSNR; fewer than 4
    points: piecewise linear). Negative: ``test`` needs fewer bits. None without an overlap."""
    curves = [pareto(test), pareto(anchor)]
    if any(len(c) < 2 for c in curves):
        return None
    low = max(c[0]["psnr"] for c in curves)
    high = min(c[-1]["psnr"] for c in curves)
    if high <= low:
        return None
    grid = np.linspace(low, high, 200)
    logs = []
    for c in curves:
        q, r = np.array([p["psnr"] for p in c]), np.log10([p["kbps"] for p in c])
        logs.append(np.polyval(np.polyfit(q, r, 3), grid) if len(c) >= 4 else np.interp(grid, q, r))
    return round(float((10 ** np.mean(logs[0] - logs[1]) - 1) * 100), 1)


def measure(path: Path, seconds: float, floor_only: bool = False) -> dict:
    """One clip's points; ``floor_only``: x265 at its floor (CRF 51) and CMVC IT2V at that rate only."""
    engine = ReferenceEngine(Limits(max_upload_bytes=2**31 - 1, max_duration_seconds=3600))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = cut(path, seconds, folder)
        source = clip.read_bytes()
        original = frames_of(source)
        points: dict[str, list[dict]] = {"x264": [], "x265": [], "av1": []}
        for name, codec in (("x264", "libx264"), ("x265", "libx265"), ("av1", "libaom-av1")):
            for crf in CRFS[codec][:1] if floor_only and name == "x265" else () if floor_only else CRFS[codec]:
                size, frames = conventional(clip, codec, crf, folder)
                points[name].append(point(size, seconds, frames, original, crf=crf))
        for scale in () if floor_only else AV1_SCALES:
            points[f"av1/{scale}"] = []
            for crf in AV1_SCALED_CRFS:
                size, frames = conventional(clip, "libaom-av1", crf, folder, scale)
                points[f"av1/{scale}"].append(point(size, seconds, frames, original, crf=crf))
        x265_floor = min(p["kbps"] for p in points["x265"])
        targets = [] if floor_only else list(CMVC_TARGETS)
        while targets and targets[-1] * 2 < x265_floor:
            targets.append(targets[-1] * 2)
        # the floor point gets x265's bytes: the encoder's rate is over the clip's frames (frames / fps),
        # which may last a little longer than --seconds, the span every kbps here is reported over
        duration = len(original) / probe(source, engine.limits).fps
        targets.append(min(p["bytes"] for p in points["x265"]) * 8 / 1000 / duration)
        points["cmvc-it2v"] = []
        encode_seconds = []
        for target in sorted(set(targets)):
            started = time.perf_counter()
            options = {**OPTIONS, "keyframeMaxWidth": original[0].shape[1], "targetKbps": target}
            encoded = engine.encode({"video": {"data": base64.b64encode(source).decode()}, "options": options})
            encode_seconds.append(time.perf_counter() - started)
            sizes = bitstream_bytes(encoded)
            keyframes = sum(len(s["keyframes"]) for s in encoded["segments"])
            floor = round(sizes["tt2v"] * 8 / 1000 / seconds, 3)
            points["cmvc-it2v"].append(point(sizes["it2v"], seconds, reconstruct(engine, encoded), original, targetKbps=round(target, 3), keyframes=keyframes, floorKbps=floor))
        video = encoded["video"]
    av1_all = [p for name, ps in points.items() if name.startswith("av1") for p in ps]
    return {
        "clip": path.name,
        "geometry": f"{video['width']}x{video['height']}",
        "fps": round(video["fps"], 3),
        "seconds": seconds,
        "segments": len(encoded["segments"]),
        "encodeSecondsMean": round(float(np.mean(encode_seconds)), 2),
        "x265FloorKbps": x265_floor,
        "points": points,
        "bdRate": {"vsX265": bd_rate(points["cmvc-it2v"], points["x265"]), "vsAv1": bd_rate(points["cmvc-it2v"], av1_all)},
    }


def draw(results: list[dict], png: Path) -> None:
    """PSNR and SSIM against kbps (log scale), one row per clip."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"cmvc-it2v": ("CMVC IT2V", "o-", "black"), "x264": ("x264", "s--", "tab:blue"), "x265": ("x265", "^--", "tab:orange"), "av1": ("AV1", "D--", "tab:green")}
    styles.update({f"av1/{s}": (f"AV1 1/{s} size, {AV1_SCALED_FPS} fps", "v:", c) for s, c in zip(AV1_SCALES, ("tab:olive", "tab:cyan", "tab:purple"))})
    fig, axes = plt.subplots(len(results), 2, figsize=(11, 3.2 * len(results)), squeeze=False)
    for row, r in zip(axes, results):
        for ax, metric in zip(row, ("psnr", "ssim")):
            for name, ps in r["points"].items():
                label, style, colour = styles[name]
                ps = sorted(ps, key=lambda p: p["kbps"])
                ax.plot([p["kbps"] for p in ps], [p[metric] for p in ps], style, color=colour, label=label, markersize=4)
            ax.set_xscale("log")
            ax.set_xlabel("kbps")
            ax.set_ylabel("PSNR-Y (dB)" if metric == "psnr" else "SSIM-Y")
            ax.set_title(f"{r['clip']} ({r['geometry']}, {r['fps']:g} fps, {r['seconds']:g} s)", fontsize=9)
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clips", nargs="*", type=Path, help="video files (default: the sample clip)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length each clip is cut to (default 4)")
    parser.add_argument("--png", type=Path, default=None, help="draw the curves to this PNG")
    parser.add_argument("--floor-only", action="store_true", help="only x265 at its floor (CRF 51) and CMVC IT2V at that rate: the quick check of the target while iterating")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown tables")
    parser.add_argument("--json-file", type=Path, default=None, help="also write the JSON to this file")
    args = parser.parse_args()
    results = [measure(clip, args.seconds, args.floor_only) for clip in args.clips or DEFAULT_CLIPS]
    if args.png is not None:
        draw(results, args.png)
    if args.json_file is not None:
        args.json_file.write_text(json.dumps({"clips": results}, indent=2) + "\n")
    if args.json:
        print(json.dumps({"clips": results}, indent=2))
        return
    for r in results:
        print(f"\n### {r['clip']}: {r['geometry']}, {r['fps']:g} fps, {r['seconds']:g} s, {r['segments']} segment(s); x265 floor {r['x265FloorKbps']:.1f} kbps")
        print(f"BD-rate of CMVC IT2V: {r['bdRate']['vsX265']}% against x265, {r['bdRate']['vsAv1']}% against AV1 (None: no PSNR range in common)\n")
        print("| coding | setting | bytes | kbps | PSNR-Y dB | SSIM-Y |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for name, ps in r["points"].items():
            for p in sorted(ps, key=lambda p: p["kbps"]):
                setting = f"target {p['targetKbps']:.4g} kbps, {p['keyframes']} keyframes" if "targetKbps" in p else f"CRF {p['crf']}"
                print(f"| {name} | {setting} | {p['bytes']} | {p['kbps']:.2f} | {p['psnr']:.2f} | {p['ssim']:.3f} |")


if __name__ == "__main__":
    main()
