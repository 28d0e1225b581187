"""The HTTP contract: validation both ways, submit/poll, metrics, and typed errors for bad input."""

import base64
import time

import pytest
from fastapi.testclient import TestClient

from clips import b64, pan_clip
from cmvc_gpu import contract
from cmvc_gpu.app import create_app
from cmvc_gpu.engines.reference import ReferenceEngine
from cmvc_gpu.engines.reference.engine import Limits


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(ReferenceEngine(Limits(max_duration_seconds=4.5))))


def wait(client, call_id):
    deadline = time.time() + 60
    while time.time() < deadline:
        status = client.get(f"/v1/calls/{call_id}").json()
        contract.check_response("call.status", status)
        if status["status"] != "pending":
            return status
        time.sleep(0.05)
    raise AssertionError("call did not finish")


def test_health_info_and_metrics(client):
    assert client.get("/healthz").json()["ok"] is True
    info = client.get("/v1/info").json()
    contract.check_response("info.response", info)
    assert info["limits"]["maxDurationSeconds"] == 4.5
    assert 'cmvc_gpu_calls_total{function="generate"}' in client.get("/metrics").text


def test_submit_poll_and_every_response_conforms(client):
    data, _ = pan_clip(2.0, frames=24)
    before = client.get("/metrics").text
    submitted = client.post("/v1/encode/submit", json={"video": {"data": b64(data)}})
    assert submitted.status_code == 202
    status = wait(client, submitted.json()["callId"])
    assert status["status"] == "succeeded"
    encoded = contract.check_response("encode.response", status["result"])
    segment = encoded["segments"][0]
    generated = client.post(
        "/v1/generate",
        json={"mode": "it2v", "segment": {k: segment[k] for k in ("contentText", "motionText", "keyframe")}, "width": 160, "height": 120, "fps": 24, "frameCount": 12, "seed": 1},
    )
    assert generated.status_code == 200
    contract.check_response("generate.response", generated.json())
    assert generated.json()["video"]["frameCount"] == 12
    after = client.get("/metrics").text
    count = lambda text, fn: float(text.split(f'cmvc_gpu_calls_total{{function="{fn}"}} ')[1].split()[0])  # noqa: E731
    assert count(after, "encode") - count(before, "encode") == 1
    assert count(after, "generate") - count(before, "generate") == 1


def encode_error(client, body, submit=False):
    response = client.post("/v1/encode/submit" if submit else "/v1/encode", json=body) if not isinstance(body, (bytes, str)) else client.post("/v1/encode", content=body)
    return response.status_code, response.json()["error"]["code"]


def test_bad_input_gets_typed_errors_and_the_server_keeps_serving(client, sample_bytes):
    long_data, _ = pan_clip(0.5, frames=24 * 6, width=64, height=48)  # 6 s, over the 4.5 s limit
    cases = [
        ({"video": {"data": b64(sample_bytes[: len(sample_bytes) // 3])}}, (422, "undecodable_video")),
        ({"video": {"data": b64(b"hello, I am a text file\n" * 50)}}, (422, "undecodable_video")),
        ({"video": {"data": ""}}, (422, "undecodable_video")),
        ({"video": {"data": b64(long_data)}}, (422, "too_long")),
        ({"video": {"data": "not base64!"}}, (422, "invalid_request")),
        ({"video": {"data": b64(sample_bytes)}, "options": {"keyframeCodec": "gif"}}, (422, "invalid_request")),
        ({"video": {"data": b64(sample_bytes)}, "unknown": 1}, (422, "invalid_request")),
        (b"{not json", (422, "invalid_request")),
    ]
    for body, expected in cases:
        assert encode_error(client, body) == expected, body if isinstance(body, bytes) else str(body)[:80]
    # Submitted work fails the same way, asynchronously.
    submitted = client.post("/v1/encode/submit", json={"video": {"data": b64(b"garbage" * 100)}})
    assert wait(client, submitted.json()["callId"])["error"]["code"] == "undecodable_video"
    assert client.get("/v1/calls/call-doesnotexist").status_code == 404
    assert client.post("/v1/nonsense", json={}).json()["error"]["code"] == "not_found"
    odd = client.post("/v1/generate", json={"mode": "tt2v", "segment": {"contentText": "a", "motionText": "b"}, "width": 33, "height": 32, "fps": 8, "frameCount": 4, "seed": 0})
    assert (odd.status_code, odd.json()["error"]["code"]) == (422, "invalid_request")
    # Still serving.
    assert client.post("/v1/encode", json={"video": {"data": b64(sample_bytes)}}).status_code == 200


def test_assemble_concatenates_and_makes_hls_segments(client):
    data, _ = pan_clip(1.0, frames=12)
    parts = [{"data": b64(data)}, {"data": b64(data)}]
    joined = client.post("/v1/assemble", json={"parts": parts}).json()
    assert joined["video"]["frameCount"] == 24
    ts = client.post("/v1/assemble", json={"parts": parts[:1], "container": "mpegts", "timeOffsetSeconds": 2.0}).json()
    assert ts["video"]["mimeType"] == "video/mp2t"
    assert base64.b64decode(ts["video"]["data"])[0] == 0x47  # MPEG-TS sync byte


def test_interpolate_multiplies_frames(client):
    data, _ = pan_clip(2.0, frames=8, width=64, height=48)
    result = client.post("/v1/interpolate", json={"video": {"data": b64(data)}, "factor": 2}).json()
    assert result["video"]["frameCount"] == 16
    assert result["video"]["fps"] == 48
