"""The reference engine on synthetic clips with known motion and cuts, and on the sample clip."""

import base64

import numpy as np
import pytest
from written import written_bytes

from clips import b64, decode_frames, duration_seconds, encode_frames, encode_webp, pan_clip, smooth_texture
from cmvc_gpu.engines.reference import ReferenceEngine
from cmvc_gpu.engines.reference.engine import frames_psnr
from cmvc_gpu.engines.reference.motion import parse_motion
from cmvc_gpu.errors import ContractError
from cmvc_gpu.media import rate
from cmvc_gpu.media.inbetween import interpolate, warp

OPTIONS = {"minSegmentSeconds": 0.5, "maxSegmentSeconds": 10, "keyframeBudgetBytes": 1024, "keyframeCodec": "webp", "keyframeMaxWidth": 320, "maxTextChars": 600}
engine = ReferenceEngine()


def encode(data: bytes, **options):
    return engine.encode({"video": {"data": b64(data)}, "options": {**OPTIONS, **options}})


def generate(segment: dict, mode: str = "it2v", **fields) -> dict:
    texts = {"contentText": segment["contentText"], "motionText": segment["motionText"], "keyframes": segment.get("keyframes", [])}
    request = {"mode": mode, "segment": texts, "width": 320, "height": 240, "fps": 24, "frameCount": 24, "seed": 0, "container": "mp4"}
    return engine.generate({**request, **fields})


@pytest.mark.parametrize("pixels_per_frame", [2.0, 0.75, 3.4])
def test_pan_direction_and_speed_within_20_percent(pixels_per_frame):
    data, _ = pan_clip(pixels_per_frame, frames=36)
    segments = encode(data)["segments"]
    assert len(segments) == 1
    text = segments[0]["motionText"]
    assert "pans right" in text and "tilt" not in text and "zoom" not in text, text
    truth = pixels_per_frame * 24 / 320  # fraction of the width per second
    assert abs(parse_motion(text).pan_x - truth) <= 0.2 * truth, (text, truth)


def test_tilt_diagonal_and_zoom_are_named():
    still = smooth_texture(480, 360, 3)
    tilt = [np.ascontiguousarray(still[i * 2 : i * 2 + 240, 80:400]) for i in range(30)]
    text = encode(encode_frames(tilt))["segments"][0]["motionText"]
    assert "tilts down" in text and abs(parse_motion(text).pan_y - 2 * 24 / 240) <= 0.2 * 2 * 24 / 240, text
    diagonal = [np.ascontiguousarray(still[60 - i : 300 - i, 100 - 2 * i : 420 - 2 * i]) for i in range(30)]
    text = encode(encode_frames(diagonal))["segments"][0]["motionText"]
    assert "diagonally, panning left" in text and "tilting up" in text, text
    base = smooth_texture(320, 240, 4)
    zoom_in = encode(encode_frames([warp(base, 0, 0, 1.01**i) for i in range(30)]))["segments"][0]["motionText"]
    zoom_out = encode(encode_frames([warp(base, 0, 0, 1.01**-i) for i in range(30)]))["segments"][0]["motionText"]
    assert "zooms in" in zoom_in and "pans" not in zoom_in, zoom_in
    assert "zooms out" in zoom_out and "pans" not in zoom_out, zoom_out
    assert 0.1 < parse_motion(zoom_in).zoom < 0.4  # truth 1.01 ** 24 - 1 = 0.27


def test_cut_found_within_two_frames():
    a = smooth_texture(320, 240, 5, tint=(0.4, 0.6, 1.2))
    b = smooth_texture(320, 240, 6, tint=(1.2, 0.5, 0.3))
    frames = [warp(a, i, 0, 1.0) for i in range(30)] + [warp(b, 0, i, 1.0) for i in range(30)]
    segments = encode(encode_frames(frames))["segments"]
    assert [abs(s["startFrame"] - t) <= 2 for s, t in zip(segments, (0, 30))] == [True, True]
    assert segments[0]["frameCount"] + segments[1]["frameCount"] == 60
    assert "pans right" in segments[0]["motionText"] and "tilts down" in segments[1]["motionText"]
    # A minimum segment length longer than either scene keeps them together.
    assert len(encode(encode_frames(frames), minSegmentSeconds=1.5)["segments"]) == 1


def test_max_segment_length_splits_long_scenes():
    data, _ = pan_clip(1.0, frames=48)
    segments = encode(data, maxSegmentSeconds=0.5)["segments"]
    assert [s["frameCount"] for s in segments] == [12, 12, 12, 12]
    assert [s["startFrame"] for s in segments] == [0, 12, 24, 36]


def test_keyframe_meets_its_budget_and_max_width():
    data, _ = pan_clip(1.0, frames=12, width=640, height=480)
    for codec, budget in (("webp", 300), ("jpeg", 2000), ("webp", 20_000)):
        [kf] = encode(data, keyframeCodec=codec, keyframeBudgetBytes=budget, keyframeMaxWidth=200)["segments"][0]["keyframes"]
        raw = base64.b64decode(kf["data"])
        assert kf["priority"] == 255 and 0 <= kf["frameIndex"] < 12
        assert len(raw) <= budget and kf["codec"] == codec and kf["width"] <= 200
        assert raw[:4] == (b"RIFF" if codec == "webp" else b"\xff\xd8\xff\xe0")
    with pytest.raises(ContractError) as error:
        encode(data, keyframeCodec="jpeg", keyframeBudgetBytes=64)
    assert error.value.code == "invalid_request" and "keyframeBudgetBytes" in error.value.message


def test_it2v_of_a_pure_pan_reaches_25_db():
    data, source = pan_clip(pixels_per_frame=1.5, frames=24)
    segment = encode(data, keyframeBudgetBytes=24_000)["segments"][0]
    frames = decode_frames(generate(segment)["video"]["data"])
    assert len(frames) == 24
    psnr = frames_psnr(frames, source)
    assert psnr >= 25, psnr


def test_sample_clip_reads_as_a_static_camera_with_object_motion(sample_bytes):
    result = encode(sample_bytes, minSegmentSeconds=1)
    video = result["video"]
    assert (video["width"], video["height"], video["frameCount"], video["codec"]) == (320, 240, 108, "h264")
    assert abs(video["durationSeconds"] - 4.03) < 0.05
    for segment in result["segments"]:
        assert segment["motionText"].startswith("the camera is static"), segment["motionText"]
        assert "object motion" in segment["motionText"] and not segment["motionText"].startswith("the camera is static; no object")
        assert segment["contentText"].startswith("a scene 320x240; top-left: ")
    total = sum(len(s["contentText"]) + len(s["motionText"]) + sum(len(base64.b64decode(k["data"])) for k in s["keyframes"]) for s in result["segments"])
    assert total < 0.02 * len(sample_bytes)
    # Both modes reconstruct every segment at the source geometry.
    for mode in ("it2v", "tt2v"):
        segment = result["segments"][0]
        frames = decode_frames(generate(segment, mode, frameCount=segment["frameCount"], fps=video["fps"])["video"]["data"])
        assert len(frames) == segment["frameCount"] and frames[0].shape == (240, 320, 3)


def test_same_seed_same_frames_and_other_seed_other_frames():
    segment = {
        "contentText": "a scene 64x48; top-left: blue; centre: white; bottom: dark green; contrast medium",
        "motionText": "the camera pans left about 5.0% of the width per second; little object motion",
        "keyframes": [],
    }
    fields = {"width": 64, "height": 48, "fps": 12, "frameCount": 12, "seed": 7}
    first = generate(segment, "tt2v", **fields)["video"]["data"]
    again = generate(segment, "tt2v", **fields)["video"]["data"]
    other = generate(segment, "tt2v", **{**fields, "seed": 8})["video"]["data"]
    frames_first, frames_again = decode_frames(first), decode_frames(again)
    assert len(frames_first) == 12 and all(np.array_equal(a, b) for a, b in zip(frames_first, frames_again))
    assert not np.array_equal(frames_first[0], decode_frames(other)[0])
    # The painted grid shows the named colours: blue top-left, white centre.
    top_left, centre = frames_first[0][:8, :8].reshape(-1, 3).mean(0), frames_first[0][20:28, 28:36].reshape(-1, 3).mean(0)
    assert top_left[2] > top_left[0] + 40 and centre.min() > 180


def test_generate_checks_its_inputs():
    segment = {"contentText": "a", "motionText": "b", "keyframes": []}
    for fields, field in (({"width": 33}, "width"), ({"height": 31}, "height")):
        with pytest.raises(ContractError) as error:
            generate(segment, "tt2v", **fields)
        assert error.value.code == "invalid_request" and error.value.details == {"field": field}
    with pytest.raises(ContractError) as error:
        generate(segment, "it2v")
    assert error.value.details == {"field": "segment.keyframes"}
    good = {"codec": "webp", "width": 2, "height": 2, "data": b64(encode_webp(np.zeros((2, 2, 3), np.uint8))), "frameIndex": 0, "priority": 9}
    with pytest.raises(ContractError) as error:
        generate({**segment, "keyframes": [good, {**good, "data": b64(b"not an image"), "frameIndex": 5}]}, "it2v")
    assert error.value.details == {"field": "segment.keyframes[1].data"}


def test_webm_output_is_vp9():
    segment = {"contentText": "a scene 64x48; centre: red", "motionText": "the camera is static", "keyframes": []}
    video = generate(segment, "tt2v", width=64, height=48, frameCount=6, container="webm")["video"]
    data = video["data"]
    assert video["mimeType"] == "video/webm" and data[:4] == b"\x1a\x45\xdf\xa3" and len(decode_frames(data)) == 6


def test_interpolation_multiplies_frames_and_keeps_originals():
    _, shots = pan_clip(2.0, frames=6, width=64, height=48)
    tripled = interpolate(shots, 3)
    assert len(tripled) == 18
    for i, shot in enumerate(shots):
        assert np.array_equal(tripled[3 * i], shot)
    assert all(np.array_equal(f, shots[-1]) for f in tripled[-3:])  # the last original is held
    # An in-between of a pan is the pan half-way, closer to it than either neighbour.
    still = smooth_texture(128, 48, 1)
    a, b, middle = still[:, 0:64], still[:, 4:68], still[:, 2:66]
    between = interpolate([a, b], 2)[1]
    assert frames_psnr([between], [middle]) > max(frames_psnr([a], [middle]), frames_psnr([b], [middle])) + 5


def test_interpolate_and_assemble_through_the_engine(store):
    data, _ = pan_clip(2.0, frames=8, width=64, height=48)
    doubled = engine.interpolate({"video": store.source("engine/pan.mp4", data), "factor": 2, "adapterId": None, "container": "mp4"})["video"]
    assert (doubled["frameCount"], doubled["fps"]) == (16, 48)
    assert len(decode_frames(doubled["data"])) == 16
    segment = {"contentText": "a scene 64x48; centre: red", "motionText": "the camera pans right about 10.0% of the width per second", "keyframes": []}
    parts = [generate(segment, "tt2v", width=64, height=48, frameCount=n, seed=n)["video"]["data"] for n in (12, 24, 6)]
    sources = [store.source(f"engine/part-{i}.mp4", p) for i, p in enumerate(parts)]
    joined = engine.assemble({"parts": sources, "container": "mp4", "timeOffsetSeconds": 0})["video"]
    data = joined["data"]
    assert joined["frameCount"] == 42 and len(decode_frames(data)) == 42
    assert abs(duration_seconds(data) - 42 / 24) < 1e-3
    assert abs(duration_seconds(data) - sum(duration_seconds(p) for p in parts)) < 1e-3


def test_rotation_metadata_is_applied():
    frame = np.zeros((32, 64, 3), dtype=np.uint8)
    frame[:16, :32] = 255  # white top-left
    result = encode(encode_frames([frame] * 6, rotation=90))
    assert (result["video"]["width"], result["video"]["height"], result["video"]["rotation"]) == (32, 64, 90)
    assert result["segments"][0]["contentText"].startswith("a scene 32x64; top-left: black")
    assert "bottom-left: white" in result["segments"][0]["contentText"]


def test_other_containers_and_codecs_decode():
    _, shots = pan_clip(1.0, frames=12, width=96, height=64)
    for codec, fmt in (("mpeg4", "avi"), ("libvpx-vp9", "webm")):
        result = encode(encode_frames(shots, codec=codec, fmt=fmt))
        assert result["video"]["frameCount"] == 12 and result["video"]["codec"] in ("mpeg4", "vp9", "libvpx-vp9")


def _fade_clip(frames: int = 24, width: int = 160, height: int = 120) -> tuple[bytes, list[np.ndarray]]:
    """A static camera over a scene that turns into another (a slow crossfade): no motion explains
    it, only a later keyframe does."""
    a, b = smooth_texture(width, height, 3), smooth_texture(width, height, 4, tint=(1.0, 0.8, 0.6))
    shots = [np.clip(a * (1 - i / (frames - 1)) + b * (i / (frames - 1)) + 0.5, 0, 255).astype(np.uint8) for i in range(frames)]
    return encode_frames(shots), shots


def _keyframe(frame: np.ndarray, index: int, priority: int) -> dict:
    height, width = frame.shape[:2]
    return {"codec": "webp", "width": width, "height": height, "data": b64(encode_webp(frame, 95)), "frameIndex": index, "priority": priority}


def test_in_betweens_use_both_neighbouring_keyframes():
    _, shots = _fade_clip()
    segment = {"contentText": "a", "motionText": "the camera is static; no object motion"}
    fields = {"width": 160, "height": 120, "fps": 24, "frameCount": 24}
    one = decode_frames(generate({**segment, "keyframes": [_keyframe(shots[0], 0, 255)]}, **fields)["video"]["data"])
    two = decode_frames(generate({**segment, "keyframes": [_keyframe(shots[0], 0, 255), _keyframe(shots[23], 23, 200)]}, **fields)["video"]["data"])
    middle = slice(8, 16)
    assert frames_psnr(two[middle], shots[middle]) > frames_psnr(one[middle], shots[middle]) + 6
    # each keyframe shows at its own frame, and a keyframe placed mid-segment is extrapolated on both sides
    assert frames_psnr([two[23]], [shots[23]]) > 28 and frames_psnr([two[0]], [shots[0]]) > 28
    mid = decode_frames(generate({**segment, "keyframes": [_keyframe(shots[12], 12, 255)]}, **fields)["video"]["data"])
    assert frames_psnr([mid[12]], [shots[12]]) > 28 and len(mid) == 24


def test_in_betweens_follow_the_motion_between_keyframes():
    data, shots = pan_clip(pixels_per_frame=2.0, frames=24)
    segment = {"contentText": "a", "motionText": "the camera is static; no object motion"}  # the text says nothing: the keyframes do
    keyframes = [_keyframe(shots[0], 0, 255), _keyframe(shots[23], 23, 100)]
    frames = decode_frames(generate({**segment, "keyframes": keyframes})["video"]["data"])
    assert frames_psnr(frames[6:18], shots[6:18]) >= 25


def test_target_rate_spends_more_on_keyframes_as_the_rate_rises_and_lands_near_it():
    """Judged on the bitstream the Worker writes for each encode (its bytes over the clip's 2 s), at three rates
    above the texts-only floor and one below it."""
    data, shots = _fade_clip(frames=48, width=160, height=120)
    seconds = 48 / 24
    results = {}
    for kbps in (0.3, 4.0, 8.0, 16.0):
        result = encode(data, targetKbps=kbps, minSegmentSeconds=2)
        [segment] = result["segments"]
        keyframes = segment["keyframes"]
        assert [k["frameIndex"] for k in keyframes] == sorted({k["frameIndex"] for k in keyframes})
        results[kbps] = (keyframes, written_bytes(result) * 8 / seconds / 1000)
    keyframes, written = results[0.3]
    assert keyframes == [] and written > 0.3  # below the texts-only floor: texts only
    assert 0 < len(results[4.0][0]) <= len(results[8.0][0]) <= len(results[16.0][0])
    spent = {kbps: sum(len(base64.b64decode(k["data"])) for k in results[kbps][0]) for kbps in (4.0, 8.0, 16.0)}
    assert spent[16.0] > 2 * spent[4.0] and spent[4.0] < spent[8.0] < spent[16.0]
    for kbps in (4.0, 8.0, 16.0):
        assert abs(results[kbps][1] - kbps) <= 0.2 * kbps, f"{results[kbps][1]:.2f} kbps written for {kbps}"
    # priorities: distinct, the anchor highest
    priorities = [k["priority"] for k in results[16.0][0]]
    assert len(set(priorities)) == len(priorities) and max(priorities) == 255


def test_text_chunk_bytes_match_the_writer_for_a_known_text():
    # "static" codes to 6 bytes with dictionary v1 (docs/bitstream.md's example: tag, varint 6, 4 DEFLATE bytes)
    assert rate.text_chunk_bytes("static") <= 7
    assert rate.text_chunk_bytes("cup") == 4  # plain: tag + 3 bytes
