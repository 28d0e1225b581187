"""The one rate knob on the model engine (issue 24, defect 12): ``targetKbps`` through the local GPU
server's ``CMVC_ENGINE=model`` (tiny models), planned by the rate planner both engines share
(``cmvc_gpu.media.rate``) with this engine's cost: its keyframes anchored at each segment's first frame
and capped per segment. Bytes are counted as the Worker's writer codes them (the e2e test writes the
bitstream itself: test/e2e/model-engine.test.ts)."""

from __future__ import annotations

import base64

import pytest

pytest.importorskip("torch", reason="the model engine needs the model extra (requirements-model.txt)")

from fastapi.testclient import TestClient  # noqa: E402

from cmvc_gpu.app import create_app, engine_from_env  # noqa: E402
from cmvc_gpu.media import rate  # noqa: E402


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CMVC_ENGINE", "model")
        engine = engine_from_env()
    assert engine.info()["id"] == "model"
    return TestClient(create_app(engine=engine))


def bitstream_kbps(result: dict) -> tuple[float, float]:
    """``(kbps, texts-only kbps)`` of the bitstream the Worker writes from this encode response."""
    segments = result["segments"]
    floor = rate.texts_only_bytes(result["engine"], [(s["contentText"], s["motionText"]) for s in segments])
    total = floor
    for segment in segments:
        top = max((k["priority"] for k in segment["keyframes"]), default=None)
        for k in segment["keyframes"]:
            overhead = rate.ANCHOR_OVERHEAD_BYTES if k["priority"] == top else rate.EXTRA_OVERHEAD_BYTES
            total += overhead + len(base64.b64decode(k["data"]))
    seconds = result["video"]["frameCount"] / result["video"]["fps"]
    return total * 8 / seconds / 1000, floor * 8 / seconds / 1000


@pytest.mark.parametrize("target", [5.0, 10.0, 30.0])
def test_target_kbps_lands_within_a_fifth_with_more_keyframe_bytes_as_it_rises(client, sample_bytes, target):
    answer = client.post("/v1/encode", json={"video": {"data": base64.b64encode(sample_bytes).decode()}, "options": {"targetKbps": target}})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    kbps, floor = bitstream_kbps(result)
    assert floor < target and abs(kbps - target) <= 0.2 * target, (kbps, floor)
    keyframes = [k for s in result["segments"] for k in s["keyframes"]]
    priorities = [k["priority"] for k in keyframes]
    assert len(set(priorities)) == len(priorities) and max(priorities) == 255
    for segment in result["segments"]:
        # The first frame anchors the segment (its image-to-video starts there): kept longest within it.
        first = min(segment["keyframes"], key=lambda k: k["frameIndex"])
        assert first["frameIndex"] == 0 and first["priority"] == max(k["priority"] for k in segment["keyframes"])


def test_keyframes_per_segment_are_capped_at_the_engines_cost(client, sample_bytes):
    engine = client.app.state.engine
    result = client.post("/v1/encode", json={"video": {"data": base64.b64encode(sample_bytes).decode()}, "options": {"targetKbps": 400.0}}).json()
    fps = result["video"]["fps"]
    for segment in result["segments"]:
        assert 1 <= len(segment["keyframes"]) <= engine.keyframe_cap(segment["frameCount"], fps)


def test_below_the_texts_only_floor_it_codes_texts_only(client, sample_bytes):
    result = client.post("/v1/encode", json={"video": {"data": base64.b64encode(sample_bytes).decode()}, "options": {"targetKbps": 0.2}}).json()
    assert all(s["keyframes"] == [] for s in result["segments"])
