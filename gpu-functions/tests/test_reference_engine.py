"""The reference engine on synthetic clips with known motion and cuts, and on the sample clip."""

import base64

import numpy as np
import pytest

from cmvc_gpu.engines.reference import ReferenceEngine
from cmvc_gpu.engines.reference.content import PALETTE, describe_content, parse_content
from cmvc_gpu.engines.reference.engine import frames_psnr
from cmvc_gpu.engines.reference.motion import Motion, describe_motion, parse_motion
from cmvc_gpu.engines.reference.render import interpolate

from clips import b64, decode_frames, encode_frames, pan_clip, smooth_texture

OPTIONS = {"minSegmentSeconds": 0.5, "maxSegmentSeconds": 10, "keyframeBudgetBytes": 1024, "keyframeCodec": "webp", "keyframeMaxWidth": 320, "maxTextChars": 600}
engine = ReferenceEngine()
noop = lambda _p: None  # noqa: E731


def encode(data: bytes, **options):
    return engine.encode({"video": {"data": b64(data)}, "options": {**OPTIONS, **options}}, noop)


def test_pan_direction_and_speed_within_20_percent():
    data, _ = pan_clip(pixels_per_frame=2.0, frames=36)
    result = encode(data)
    assert len(result["segments"]) == 1
    text = result["segments"][0]["motionText"]
    assert "pans right" in text, text
    truth = 2.0 * 24 / 320 * 100  # % of the width per second
    measured = parse_motion(text).pan_x
    assert abs(measured - truth) <= 0.2 * truth, (measured, truth, text)


def test_tilt_and_zoom_are_named():
    still = smooth_texture(480, 360, 3)
    tilt = [np.ascontiguousarray(still[i * 2 : i * 2 + 240, 80:400]) for i in range(30)]
    assert "tilts down" in encode(encode_frames(tilt))["segments"][0]["motionText"]
    from cmvc_gpu.engines.reference.render import warp

    base = smooth_texture(320, 240, 4)
    zoom = [warp(base, 0, 0, 1.01**i) for i in range(30)]
    assert "zooms in" in encode(encode_frames(zoom))["segments"][0]["motionText"]


def test_cut_found_within_two_frames():
    a = smooth_texture(320, 240, 5, tint=(0.4, 0.6, 1.2))
    b = smooth_texture(320, 240, 6, tint=(1.2, 0.5, 0.3))
    frames = [a] * 30 + [b] * 30
    segments = encode(encode_frames(frames))["segments"]
    assert len(segments) == 2
    assert abs(segments[1]["startFrame"] - 30) <= 2


def test_max_segment_length_splits_long_scenes():
    data, _ = pan_clip(1.0, frames=48)
    segments = encode(data, maxSegmentSeconds=0.5)["segments"]
    assert [s["frameCount"] for s in segments] == [12, 12, 12, 12]


def test_it2v_of_a_pure_pan_reaches_25_db():
    data, source = pan_clip(pixels_per_frame=1.0, frames=24)
    result = encode(data, keyframeBudgetBytes=24_000)
    segment = result["segments"][0]
    generated = engine.generate(
        {"mode": "it2v", "segment": {k: segment[k] for k in ("contentText", "motionText", "keyframe")}, "width": 320, "height": 240, "fps": 24, "frameCount": 24, "seed": 0, "container": "mp4"},
        noop,
    )
    frames = decode_frames(base64.b64decode(generated["video"]["data"]))
    assert len(frames) == 24
    psnr = frames_psnr(frames, source)
    assert psnr >= 25, psnr


def test_same_seed_same_frames_and_other_seed_other_frames():
    request = {
        "mode": "tt2v",
        "segment": {"contentText": "a scene 64x48; top-left: blue; centre: white; bottom: dark green; contrast medium", "motionText": "the camera pans left about 5.0% of the width per second; little object motion", "keyframe": None},
        "width": 64,
        "height": 48,
        "fps": 12,
        "frameCount": 12,
        "seed": 7,
        "container": "mp4",
    }
    first = decode_frames(base64.b64decode(engine.generate(request, noop)["video"]["data"]))
    again = decode_frames(base64.b64decode(engine.generate(request, noop)["video"]["data"]))
    other = decode_frames(base64.b64decode(engine.generate({**request, "seed": 8}, noop)["video"]["data"]))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_interpolation_doubles_frames_and_keeps_originals():
    frames = [smooth_texture(64, 48, 9)[:, :]] * 1
    _, shots = pan_clip(2.0, frames=6, width=64, height=48)
    doubled = interpolate(shots, 2)
    assert len(doubled) == 12
    for i, shot in enumerate(shots):
        assert np.array_equal(doubled[2 * i], shot)
    middle = doubled[1]
    assert frames_psnr([middle], [shots[0]]) < frames_psnr([middle], [middle])


def test_motion_grammar_round_trips():
    for m in [Motion(2.1, 0, 3.0, 0.1), Motion(-4.5, -2.0, 0, 0.4), Motion(0, 0, -12.0, 0.8), Motion(0, 0, 0, 0.1)]:
        text = describe_motion(m)
        back = parse_motion(text)
        for field in ("pan_x", "pan_y", "zoom"):
            assert abs(getattr(back, field) - getattr(m, field)) < 0.06, (text, back)
    assert describe_motion(Motion(0, 0, 0, 0.1)) == "the camera is static; little object motion"


def test_content_text_names_the_colours_it_saw():
    frame = np.zeros((90, 90, 3), dtype=np.uint8)
    frame[:30, :30] = PALETTE["blue"]
    frame[30:60, 30:60] = PALETTE["white"]
    text = describe_content(frame, 90, 90)
    assert "top-left: blue" in text and "centre: white" in text
    parsed = parse_content(text)
    assert parsed.grid[0] == PALETTE["blue"] and parsed.grid[4] == PALETTE["white"]
    assert (parsed.width, parsed.height) == (90, 90)


def test_sample_clip_encodes_to_a_small_description(sample_bytes):
    result = encode(sample_bytes)
    assert result["video"]["width"] == 320 and result["video"]["height"] == 240
    assert abs(result["video"]["durationSeconds"] - 4.0) < 0.1
    total = sum(len(s["contentText"]) + len(s["motionText"]) + len(s["keyframe"]["data"]) * 3 // 4 for s in result["segments"])
    assert total < 0.02 * len(sample_bytes)
