"""Sound: the source's audio coded per segment as Opus (encode), and decoded, joined and coded as AAC-LC beside
the video (assemble) — on the committed speech clip and on clips made here with known content."""

from __future__ import annotations

import base64
import io
from fractions import Fraction
from pathlib import Path
from typing import Optional

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient

from clips import b64
from cmvc_gpu import contract
from cmvc_gpu.app import create_app
from cmvc_gpu.engines.reference import ReferenceEngine
from cmvc_gpu.limits import Limits
from cmvc_gpu.media import audio, video_io

REPO = Path(__file__).resolve().parents[2]
SPEECH = REPO / "test" / "fixtures" / "cup-4s-speech.mp4"
AUDIO_VECTOR = REPO / "test" / "vectors" / "audio.cmvc"


def clip(seconds: float, fps: int = 24, rate: Optional[int] = 48_000, layout: str = "stereo", audio_seconds: Optional[float] = None, tone: float = 440.0, corrupt: bool = False) -> bytes:
    """An H.264 MP4 of ``seconds`` of grey frames at ``fps`` and, unless ``rate`` is None, an AAC stream of a
    ``tone`` Hz sine at ``rate`` Hz in ``layout`` lasting ``audio_seconds`` (default: the video). ``corrupt``
    replaces every audio packet's bytes with noise (the container stays valid)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as out:
        video = out.add_stream("libx264", rate=Fraction(fps))
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = None
        if rate is not None:
            sound = out.add_stream("aac", rate=rate, layout=layout)
        for i in range(round(seconds * fps)):
            for packet in video.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 + i % 200, np.uint8), format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            channels = sound.codec_context.layout.nb_channels
            total = round((audio_seconds if audio_seconds is not None else seconds) * rate)
            t = np.arange(total) / rate
            pcm = np.tile((0.3 * np.sin(2 * np.pi * tone * t)).astype(np.float32), (channels, 1))
            noise = np.random.default_rng(7)
            for at in range(0, total, 1024):
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, at : at + 1024]), format="fltp", layout=layout)
                frame.sample_rate, frame.pts = rate, at
                for packet in sound.encode(frame):
                    if corrupt:
                        packet = _noise_packet(packet, noise)
                    out.mux(packet)
            for packet in sound.encode(None):
                out.mux(_noise_packet(packet, noise) if corrupt else packet)
    return buffer.getvalue()


def _noise_packet(packet: "av.Packet", rng: np.random.Generator) -> "av.Packet":
    noisy = av.Packet(rng.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
    noisy.pts, noisy.dts, noisy.time_base, noisy.stream = packet.pts, packet.dts, packet.time_base, packet.stream
    return noisy


def decode_all(coded: dict) -> np.ndarray:
    """The PCM an ``EncodedAudio`` decodes to, segment after segment."""
    pieces = []
    for s in coded["segments"]:
        chunk = {"channels": coded["channels"], "sampleRate": coded["sampleRate"], "preSkip": s["preSkip"], "sampleCount": s["sampleCount"], "packets": [base64.b64decode(p) for p in s["packets"]]}
        pieces.append(audio.decode_chunk(chunk, coded["channels"]))
    return np.concatenate(pieces, axis=1)


def dominant_hz(pcm: np.ndarray, rate: int = audio.SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.mean(axis=0)))
    return float(np.argmax(spectrum) * rate / pcm.shape[1])


def audo_chunk(coded: dict, n: int) -> bytes:
    """Segment ``n`` of an ``EncodedAudio`` as an ``audo`` chunk's data (the layout of docs/bitstream.md)."""
    s = coded["segments"][n]
    out = bytearray([audio.OPUS_CODEC_ID, coded["channels"]]) + audio.SAMPLE_RATE.to_bytes(4, "big") + s["preSkip"].to_bytes(4, "big") + s["sampleCount"].to_bytes(4, "big")
    for text in s["packets"]:
        packet = base64.b64decode(text)
        length = len(packet)
        while length >= 0x80:
            out.append((length & 0x7F) | 0x80)
            length >>= 7
        out.append(length)
        out += packet
    return bytes(out)


def test_frame_rates_are_the_bitstream_headers_fractions():
    # the same cases as fpsToRational in src/jobs/bitstream-from-encode.ts
    assert audio.fps_fraction(24.0) == Fraction(24)
    assert audio.fps_fraction(30000 / 1001) == Fraction(30000, 1001)
    assert audio.fps_fraction(24000 / 1001) == Fraction(24000, 1001)
    assert audio.fps_fraction(26.777) == Fraction(26777, 1000)
    assert audio.fps_fraction(12.5) == Fraction(25, 2)
    # frame 1 of NTSC video begins at sample 1601 (1601.6 floored); a segment's samples tile exactly
    assert audio.sample_at(1, Fraction(30000, 1001)) == 1601
    assert audio.sample_at(30000, Fraction(30000, 1001)) == 48_048_000


def test_speech_clip_is_coded_per_segment_and_decodes_to_its_source():
    data = SPEECH.read_bytes()
    fps, frames = 26.777, 108
    segments = [(0, 40), (40, 68)]
    coded, warnings = audio.encode_audio(data, {"audioKbps": 16}, segments, fps, frames)
    assert warnings == []
    assert (coded["codec"], coded["channels"], coded["sampleRate"], coded["sourceChannels"], coded["sourceSampleRate"]) == ("opus", 1, 48_000, 2, 44_100)
    rate = audio.fps_fraction(fps)
    assert [s["sampleCount"] for s in coded["segments"]] == [audio.sample_at(40, rate), audio.sample_at(108, rate) - audio.sample_at(40, rate)]
    pcm = decode_all(coded)
    source, _ = audio.read_source_audio(data, pcm.shape[1], 1)
    assert np.corrcoef(pcm[0], source.pcm[0])[0, 1] > 0.9
    # about the rate asked for (VBR), counting the pre-roll each segment carries
    seconds = frames / fps
    kbps = sum(len(base64.b64decode(p)) for s in coded["segments"] for p in s["packets"]) * 8 / 1000 / seconds
    assert 10 < kbps < 20
    # each segment alone is its own samples: the boundary is as good as a continuous encode's (within 1.5 dB)
    whole = audio.encode_segment(source.pcm, 0, pcm.shape[1], 16)
    continuous = audio.decode_chunk({"channels": 1, **whole}, 1)
    b = coded["segments"][0]["sampleCount"]

    def snr(x: np.ndarray) -> float:
        ref = source.pcm[:, b - 480 : b + 480]
        return float(10 * np.log10(np.sum(ref**2) / np.sum((x[:, b - 480 : b + 480] - ref) ** 2)))

    assert snr(pcm) > snr(continuous) - 1.5


def test_stereo_from_32_kbps_and_silence_for_0():
    data = SPEECH.read_bytes()
    coded, _ = audio.encode_audio(data, {"audioKbps": 32}, [(0, 108)], 26.777, 108)
    assert coded["channels"] == 2
    pcm = decode_all(coded)
    # the clip says "Front Left" on the left and "Front Right" on the right, starting 50 ms apart
    left, right = (np.flatnonzero(np.abs(pcm[c]) > 0.05)[0] / audio.SAMPLE_RATE for c in (0, 1))
    assert 0.15 < left < right < 0.4
    assert audio.encode_audio(data, {"audioKbps": 0}, [(0, 108)], 26.777, 108) == (None, [])


def test_a_source_without_audio_gets_none_and_no_warning():
    assert audio.encode_audio(clip(1.0, rate=None), {"audioKbps": 16}, [(0, 24)], 24.0, 24) == (None, [])


def test_six_channels_are_downmixed():
    coded, warnings = audio.encode_audio(clip(1.0, layout="5.1"), {"audioKbps": 64}, [(0, 24)], 24.0, 24)
    assert warnings == [] and (coded["sourceChannels"], coded["channels"]) == (6, 2)
    pcm = decode_all(coded)
    assert abs(dominant_hz(pcm) - 440) < 5 and np.sqrt(np.mean(pcm**2)) > 0.05


def test_8_khz_is_resampled_to_48():
    coded, warnings = audio.encode_audio(clip(1.0, rate=8000, layout="mono", tone=1000.0), {"audioKbps": 16}, [(0, 24)], 24.0, 24)
    assert warnings == [] and (coded["sourceSampleRate"], coded["sampleRate"]) == (8000, 48_000)
    assert abs(dominant_hz(decode_all(coded)) - 1000) < 5


def test_audio_shorter_than_the_video_is_padded_with_silence_and_said():
    coded, warnings = audio.encode_audio(clip(3.0, audio_seconds=1.0), {"audioKbps": 16}, [(0, 36), (36, 36)], 24.0, 72)
    assert [w["code"] for w in warnings] == ["audio_short"]
    pcm = decode_all(coded)
    assert pcm.shape[1] == 3 * audio.SAMPLE_RATE
    assert np.sqrt(np.mean(pcm[:, : audio.SAMPLE_RATE // 2] ** 2)) > 0.05
    assert np.max(np.abs(pcm[:, int(1.2 * audio.SAMPLE_RATE) :])) < 0.01


def test_corrupt_audio_leaves_the_video_encoded_and_the_response_says_so():
    data = clip(2.0, corrupt=True)
    client = TestClient(create_app(ReferenceEngine(Limits(max_duration_seconds=10))))
    response = client.post("/v1/encode", json={"video": {"data": b64(data)}})
    assert response.status_code == 200, response.text
    encoded = contract.check_response("encode.response", response.json())
    assert encoded["video"]["frameCount"] == 48 and encoded["segments"]
    assert encoded["audio"] is None
    assert [w["code"] for w in encoded["warnings"]] == ["audio_undecodable"]


def test_a_named_stream_that_does_not_exist_is_a_warning():
    coded, warnings = audio.encode_audio(SPEECH.read_bytes(), {"audioKbps": 16, "audioStream": 1}, [(0, 108)], 26.777, 108)
    assert coded is None and [w["code"] for w in warnings] == ["audio_stream_missing"]


def test_encode_response_carries_the_sound_through_the_api():
    client = TestClient(create_app(ReferenceEngine(Limits(max_duration_seconds=10))))
    encoded = contract.check_response("encode.response", client.post("/v1/encode", json={"video": {"data": b64(SPEECH.read_bytes())}}).json())
    assert encoded["audio"]["channels"] == 1 and len(encoded["audio"]["segments"]) == len(encoded["segments"])
    assert encoded["warnings"] == []


def _chunks(data: bytes) -> list[tuple[str, bytes]]:
    """``(type, data)`` of every chunk after the 10-byte preamble (docs/bitstream.md, "Chunks")."""
    out, at = [], 10
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        out.append((data[at + 4 : at + 8].decode("ascii"), data[at + 8 : at + 8 + length]))
        at += 12 + length
    return out


def test_the_workers_audio_chunks_decode_here():
    # test/vectors/audio.cmvc is written by the Worker's writer: 0.5 s of 440 Hz, then 0.5 s of 660 Hz
    datas = [d for t, d in _chunks(AUDIO_VECTOR.read_bytes()) if t == "audo"]
    chunks = [audio.parse_audio_chunk(d) for d in datas]
    assert [(c["channels"], c["preSkip"], c["sampleCount"]) for c in chunks] == [(1, 312, 24_000), (1, 1272, 24_000)]
    tones = [dominant_hz(audio.decode_chunk(c, 1)) for c in chunks]
    assert abs(tones[0] - 440) < 5 and abs(tones[1] - 660) < 5
    with pytest.raises(contract.ContractError, match="codec 2 is not Opus"):
        audio.parse_audio_chunk(b"\x02" + datas[0][1:])


def _probe(data: bytes) -> dict:
    with av.open(io.BytesIO(data)) as container:
        out = {}
        for stream in container.streams:
            packets = [p for p in container.demux(stream) if p.size > 0 and p.pts is not None]
            container.seek(0)
            start = min(p.pts for p in packets) * stream.time_base
            end = max(p.pts + (p.duration or 0) for p in packets) * stream.time_base
            out[stream.type] = (float(start), float(end), stream.codec_context.name)
        return out


def test_assemble_carries_the_sound_in_mp4_and_gapless_hls_segments(store):
    data = SPEECH.read_bytes()
    fps, segments = 26.777, [(0, 40), (40, 68)]
    coded, _ = audio.encode_audio(data, {"audioKbps": 16}, segments, fps, 108)
    client = TestClient(create_app(ReferenceEngine(Limits(max_duration_seconds=10))))
    frames = [np.full((48, 64, 3), i, np.uint8) for i in range(108)]
    parts = []
    for n, (start, count) in enumerate(segments):
        store.objects[f"aud/{n}.mp4"] = video_io.encode(frames[start : start + count], fps)
        parts.append(store.source(f"aud/{n}.mp4"))
    chunks = [{"data": base64.b64encode(audo_chunk(coded, n)).decode()} for n in range(2)]
    # the whole video: one AAC track as long as the video, from its first frame
    whole = client.post("/v1/assemble", json={"parts": parts, "audio": {"parts": chunks, "startSample": 0}, "output": store.target("aud/all.mp4")})
    assert whole.status_code == 200, whole.text
    probe = _probe(store.objects["aud/all.mp4"])
    assert probe["audio"][2] == "aac" and probe["audio"][0] == 0
    assert abs(probe["audio"][1] - probe["video"][1]) < 1 / fps
    # two HLS segments, each from its neighbours' sound: their AAC frames continue each other exactly
    b = coded["segments"][0]["sampleCount"]
    total = b + coded["segments"][1]["sampleCount"]
    offsets = [0.0, round(b / audio.SAMPLE_RATE, 6)]
    windows = [(0, b), (b, total)]
    ts = []
    for n in range(2):
        body = {
            "parts": parts[n : n + 1],
            "container": "mpegts",
            "timeOffsetSeconds": offsets[n],
            "audio": {"parts": chunks, "startSample": 0, "window": {"start": windows[n][0], "end": windows[n][1]}, "grid": True},
            "output": store.target(f"aud/{n}.ts"),
        }
        assert client.post("/v1/assemble", json=body).status_code == 200
        ts.append(_probe(store.objects[f"aud/{n}.ts"])["audio"])
    assert ts[0][1] == pytest.approx(ts[1][0], abs=1e-4)  # no gap, no overlap
    assert ts[0][0] == pytest.approx(0.0, abs=1e-4)
    # decoded one after the other (as a player does), the sound is the whole video's within coding noise
    joined = b"".join(store.objects[f"aud/{n}.ts"] for n in range(2))
    with av.open(io.BytesIO(joined)) as container:
        pcm = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    reference = decode_all(coded)
    n = min(pcm.shape[1], reference.shape[1])
    lag = int(np.argmax(np.correlate(pcm[0, 20_000:60_000], reference[0, 20_000:40_000], mode="valid")))
    assert lag == 0  # the TS audio starts at the timeline's sample 0
    assert np.corrcoef(pcm[0, :n], reference[0, :n])[0, 1] > 0.95
    near = slice(b - 2048, b + 2048)
    assert np.corrcoef(pcm[0, near], reference[0, near])[0, 1] > 0.9
