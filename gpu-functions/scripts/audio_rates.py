"""The sound's rate against its quality: each ``audioKbps`` coded as the encode codes it (per segment, Opus, mono
below 32 kbps) and scored by PESQ (ITU-T P.862, wideband, 16 kHz; 1 bad … 4.6 transparent) against the source.

    .venv/bin/python scripts/audio_rates.py ../test/fixtures/cup-4s-speech.mp4 [--rates 6 8 12 16 24 32 64] [--segment-seconds 2]

Prints one row per rate: kbps asked, bytes per second coded (audo chunks with framing), channels, PESQ-WB. Needs
``pesq`` (requirements-bench.txt).
"""

from __future__ import annotations

import argparse
import base64
import io
import sys
from pathlib import Path

import av
import numpy as np
from pesq import pesq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cmvc_gpu.media import audio  # noqa: E402


def to_16k(pcm: np.ndarray) -> np.ndarray:
    """Mono 16 kHz of 48 kHz planar float PCM (FFmpeg's resampler)."""
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm.mean(axis=0, keepdims=True)), format="fltp", layout="mono")
    frame.sample_rate = audio.SAMPLE_RATE
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=16_000)
    out = [f.to_ndarray()[0] for f in resampler.resample(frame)] + [f.to_ndarray()[0] for f in resampler.resample(None)]
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("clip")
    parser.add_argument("--rates", type=int, nargs="+", default=[6, 8, 12, 16, 24, 32, 64])
    parser.add_argument("--segment-seconds", type=float, default=2.0)
    args = parser.parse_args()
    data = Path(args.clip).read_bytes()
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        frames = sum(1 for _ in container.decode(stream))
    step = max(1, round(args.segment_seconds * fps))
    segments = [(s, min(step, frames - s)) for s in range(0, frames, step)]
    source, _ = audio.read_source_audio(data, audio.sample_at(frames, audio.fps_fraction(fps)), 1)
    reference = to_16k(source.pcm)
    seconds = frames / fps
    print(f"{Path(args.clip).name}: {seconds:.2f} s, {len(segments)} segments of about {args.segment_seconds:g} s")
    print("| audioKbps | bytes/s | kbps | channels | PESQ-WB |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for kbps in args.rates:
        coded, _ = audio.encode_audio(data, {"audioKbps": kbps}, segments, fps, frames)
        chunk_bytes = sum(12 + 14 + sum(len(base64.b64decode(p)) + (1 if len(base64.b64decode(p)) < 128 else 2) for p in s["packets"]) for s in coded["segments"])
        decoded = []
        for s in coded["segments"]:
            chunk = {"channels": coded["channels"], "preSkip": s["preSkip"], "sampleCount": s["sampleCount"], "packets": [base64.b64decode(p) for p in s["packets"]]}
            decoded.append(audio.decode_chunk(chunk, coded["channels"]))
        score = pesq(16_000, reference, to_16k(np.concatenate(decoded, axis=1))[: len(reference)], "wb")
        print(f"| {kbps} | {chunk_bytes / seconds:.0f} | {chunk_bytes * 8 / 1000 / seconds:.1f} | {coded['channels']} | {score:.2f} |")


if __name__ == "__main__":
    main()
