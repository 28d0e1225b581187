"""``frameRate``: a recording at a variable frame rate (a browser's MediaRecorder) coded at a constant one."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

from cmvc_gpu.engines.reference.engine import ReferenceEngine
from cmvc_gpu.limits import Limits
from cmvc_gpu.media import decode
from tests.clips import b64, encode_frames

LIMITS = Limits()


def vfr_webm(times: list[float], audio_seconds: float | None = None, size: int = 64) -> bytes:
    """A VP8 WebM whose frame i shows grey level 10 + 20 i at ``times[i]`` seconds (millisecond timestamps, as
    MediaRecorder writes), with silence lasting ``audio_seconds`` when given."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="webm") as out:
        video = out.add_stream("libvpx", rate=Fraction(1000))
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1, 1000)
        audio = out.add_stream("libopus", rate=48000) if audio_seconds is not None else None
        for i, at in enumerate(times):
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), 10 + 20 * i, np.uint8), format="rgb24")
            frame.pts = round(at * 1000)
            frame.time_base = Fraction(1, 1000)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if audio is not None:
            samples = int(audio_seconds * 48000)
            for start in range(0, samples, 960):
                chunk = av.AudioFrame.from_ndarray(np.zeros((1, min(960, samples - start)), np.int16), format="s16", layout="mono")
                chunk.sample_rate = 48000
                chunk.pts = start
                for packet in audio.encode(chunk):
                    out.mux(packet)
            for packet in audio.encode():
                out.mux(packet)
    return buffer.getvalue()


def levels(data: bytes, frame_rate: float) -> list[int]:
    info = decode.probe(data, LIMITS, frame_rate)
    return [int(round(float(frame[..., 0].mean()))) for _, frame in decode.frames(data, LIMITS, None, info)]


def test_frames_land_on_the_grid_by_their_timestamps():
    # frames at 0, 0.1, 0.15, 0.5 s at 10 fps: a gap repeats the frame before it, two in one step keep the later
    got = levels(vfr_webm([0.0, 0.1, 0.15, 0.5]), 10)
    # grid 0.0 0.1 0.2 0.3 0.4 0.5 | the last frame lasts the median step (0.1 s): 6 frames
    assert [round((g - 10) / 20) for g in got] == [0, 2, 2, 2, 2, 3]


def test_a_picture_that_stops_before_the_sound_is_held_to_the_end_of_the_recording():
    # a camera that sent its last frame at 1.0 s of a 2-s recording: 2 s are coded, the last picture held
    data = vfr_webm([0.0, 0.5, 1.0], audio_seconds=2.0)
    got = levels(data, 25)
    assert len(got) == 50
    assert {round((g - 10) / 20) for g in got[25:]} == {2}


def test_the_stream_own_rate_is_used_without_frame_rate():
    data = encode_frames([np.full((32, 32, 3), 100, np.uint8)] * 12, fps=24)
    assert decode.probe(data, LIMITS).fps == 24
    # the same file asked at 12 fps: half the frames, the same duration
    assert len(levels(data, 12)) == 6


def test_the_encode_codes_a_variable_rate_recording_at_the_frame_rate_asked():
    data = vfr_webm([0.0, 0.04, 0.3, 0.31, 0.9, 1.6], audio_seconds=2.0, size=96)
    result = ReferenceEngine().encode({"video": {"data": b64(data)}, "options": {**defaults(), "frameRate": 25}})
    assert result["video"]["fps"] == 25
    assert result["video"]["frameCount"] == 50
    assert sum(s["frameCount"] for s in result["segments"]) == 50


def defaults() -> dict:
    from cmvc_gpu.engines.model import media

    return media.encode_options({"video": {"data": ""}})
