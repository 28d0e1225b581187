"""The HTTP contract: validation both ways, submit/poll, metrics, and typed errors for bad input."""

import base64
import hashlib
import http.server
import re
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from clips import b64, duration_seconds, pan_clip
from cmvc_gpu import contract
from cmvc_gpu.app import create_app, engine_from_env
from cmvc_gpu.engines.reference import ReferenceEngine
from cmvc_gpu.engines.reference.engine import ENGINE_ID, ENGINE_VERSION
from cmvc_gpu.limits import Limits
from cmvc_gpu.media import video_io

REPO = Path(__file__).resolve().parents[2]

LIMITS = Limits(max_duration_seconds=4.5, max_upload_bytes=2_000_000)


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(ReferenceEngine(LIMITS)))


@pytest.fixture(scope="module")
def server(sample_bytes):
    """A local HTTP server: /cup.mp4, /big (over the upload limit), /hop (302 to /cup.mp4), /away (302
    to another host), anything else 404."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            redirects = {"/hop": "/cup.mp4", "/away": "http://203.0.113.7/cup.mp4"}
            if self.path in redirects:
                self.send_response(302)
                self.send_header("Location", redirects[self.path])
                self.end_headers()
                return
            body = {"/cup.mp4": sample_bytes, "/big": b"\0" * (LIMITS.max_upload_bytes + 1)}.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.end_headers()  # no Content-Length: the limit must hold while streaming
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def wait(client, call_id):
    deadline = time.time() + 60
    while time.time() < deadline:
        response = client.get(f"/v1/calls/{call_id}")
        assert response.status_code == 200
        status = contract.check_response("call.status", response.json())
        if status["status"] != "pending":
            return status
        assert status["progress"] is None or 0 <= status["progress"] <= 1
        time.sleep(0.02)
    raise AssertionError("call did not finish")


def calls_total(client, function):
    return int(re.search(rf'cmvc_gpu_calls_total{{function="{function}"}} (\d+)', client.get("/metrics").text).group(1))


def failures_total(client, function, code):
    found = re.search(rf'cmvc_gpu_failures_total{{function="{function}",code="{code}"}} (\d+)', client.get("/metrics").text)
    return int(found.group(1)) if found else 0


def test_health_info_and_metrics(client):
    health = client.get("/healthz")
    assert health.status_code == 200 and contract.check_response("health.response", health.json())["ok"] is True
    info = contract.check_response("info.response", client.get("/v1/info").json())
    assert info["limits"] == {"maxUploadBytes": 2_000_000, "maxDurationSeconds": 4.5, "maxWidth": 4096, "maxHeight": 4096, "maxFrameCount": 10_000}
    assert info["engine"] == {"id": ENGINE_ID, "version": ENGINE_VERSION, "models": {}}
    assert re.fullmatch(r"\d+\.\d+\.\d+", ENGINE_VERSION)
    # The Worker keys every artifact by GPU_ENGINE: it must name the engine that makes them.
    assert f'GPU_ENGINE = "{ENGINE_ID}@{ENGINE_VERSION}"' in (REPO / "wrangler.toml").read_text()
    assert info["functions"] == list(contract.function_names())
    assert {"assemble", "encode", "generate", "interpolate"} <= set(info["functions"])
    text = client.get("/metrics").text
    for function in ("encode", "generate", "interpolate", "assemble"):
        assert f'cmvc_gpu_calls_total{{function="{function}"}}' in text and f'cmvc_gpu_seconds_total{{function="{function}"}}' in text
    assert "cmvc_gpu_inflight 0" in text


def test_encode_generate_interpolate_assemble_all_conform(client, sample_bytes, store):
    before = {f: calls_total(client, f) for f in ("encode", "generate", "interpolate", "assemble")}
    submitted = client.post("/v1/encode/submit", json={"video": {"data": b64(sample_bytes)}})
    assert submitted.status_code == 202
    contract.check_response("call.submit.response", submitted.json())
    status = wait(client, submitted.json()["callId"])
    assert status["status"] == "succeeded"
    encoded = contract.check_response("encode.response", status["result"])
    assert encoded["seconds"]["gpu"] == 0 and encoded["seconds"]["cpu"] > 0
    assert wait(client, submitted.json()["callId"]) == status  # results are kept
    segment = encoded["segments"][0]
    parts = []
    for mode in ("it2v", "tt2v"):
        response = client.post(
            "/v1/generate",
            json={
                "mode": mode,
                # one keyframe per segment without a target rate; moved onto this request's 12-frame grid
                "segment": {"contentText": segment["contentText"], "motionText": segment["motionText"], "keyframes": [{**k, "frameIndex": min(k["frameIndex"], 11)} for k in segment["keyframes"]]},
                "width": 160,
                "height": 120,
                "fps": 12,
                "frameCount": 12,
                "seed": 1,
                "output": store.target(f"api/{mode}.mp4"),
            },
        )
        assert response.status_code == 200, response.text
        answer = contract.check_response("generate.response", response.json())
        video = answer["video"]
        assert (video["container"], video["mimeType"], video["frameCount"], video["width"]) == ("mp4", "video/mp4", 12, 160)
        # The bytes went to the upload target, not into the JSON: the answer names their size and hash.
        data = store.objects[f"api/{mode}.mp4"]
        assert "data" not in video and (video["bytes"], video["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        assert answer["seconds"]["upload"] > 0 and answer["seconds"]["cpu"] > 0
        assert data[4:8] == b"ftyp" and data.find(b"moov") < data.find(b"mdat")  # faststart
        parts.append(store.source(f"api/{mode}.mp4"))
    interpolated = client.post("/v1/interpolate/submit", json={"video": parts[0], "factor": 3, "output": store.target("api/x3.mp4")})
    result = contract.check_response("interpolate.response", wait(client, interpolated.json()["callId"])["result"])
    assert (result["video"]["frameCount"], result["video"]["fps"], result["video"]["bytes"]) == (36, 36, len(store.objects["api/x3.mp4"]))
    joined = client.post("/v1/assemble", json={"parts": parts, "output": store.target("api/joined.mp4")}).json()
    contract.check_response("assemble.response", joined)
    assert joined["video"]["frameCount"] == 24 and abs(duration_seconds(store.objects["api/joined.mp4"]) - 2.0) < 1e-3
    ts = client.post("/v1/assemble", json={"parts": parts[:1], "container": "mpegts", "timeOffsetSeconds": 2.0, "output": store.target("api/0.ts")}).json()
    contract.check_response("assemble.response", ts)
    assert ts["video"]["mimeType"] == "video/mp2t" and store.objects["api/0.ts"][0] == 0x47  # TS sync byte
    after = {f: calls_total(client, f) for f in before}
    assert {f: after[f] - before[f] for f in after} == {"encode": 1, "generate": 2, "interpolate": 1, "assemble": 2}
    # /metrics counts the uploads' seconds apart from the compute.
    assert float(re.search(r'cmvc_gpu_upload_seconds_total{function="generate"} ([\d.]+)', client.get("/metrics").text).group(1)) > 0


def test_a_retried_call_leaves_one_object_and_a_used_target_refuses_other_bytes(client, store):
    body = {"mode": "tt2v", "segment": {"contentText": "a scene 64x48; centre: red", "motionText": "the camera is static"}, "width": 64, "height": 48, "fps": 8, "frameCount": 4, "seed": 3}
    first = client.post("/v1/generate", json={**body, "output": store.target("retry/a.mp4")}).json()
    again = client.post("/v1/generate", json={**body, "output": store.target("retry/a.mp4")}).json()
    assert first["video"]["sha256"] == again["video"]["sha256"]  # deterministic: the retry's upload is the same bytes
    assert [status for name, status in store.puts if name == "retry/a.mp4"] == [201, 200]
    other = client.post("/v1/generate", json={**body, "seed": 4, "output": store.target("retry/a.mp4")})
    assert (other.status_code, other.json()["error"]["code"]) == (502, "upload_failed")
    assert hashlib.sha256(store.objects["retry/a.mp4"]).hexdigest() == first["video"]["sha256"]
    unreachable = client.post("/v1/generate", json={**body, "output": {"url": "http://127.0.0.1:9/nowhere"}})
    assert (unreachable.status_code, unreachable.json()["error"]["code"]) == (502, "upload_failed")
    inline = client.post("/v1/interpolate", json={"video": {"data": "AAAA"}, "factor": 2, "output": store.target("retry/b.mp4")}).json()
    assert inline["error"]["code"] == "invalid_request"  # artifacts never travel inline


def test_sources_by_url(client, server, monkeypatch):
    monkeypatch.setenv("CMVC_SOURCE_ORIGINS", f"{server}, http://127.0.0.1:9")
    for path in ("/cup.mp4", "/hop"):
        ok = client.post("/v1/encode", json={"video": {"url": f"{server}{path}"}})
        assert ok.status_code == 200 and ok.json()["video"]["frameCount"] == 108, path
    cases = (
        (f"{server}/missing", (502, "fetch_failed")),
        (f"{server}/big", (413, "too_large")),
        ("http://127.0.0.1:9/x", (502, "fetch_failed")),
        (f"{server}/away", (422, "invalid_request")),  # a redirect off the allowed origins is not followed
        ("http://203.0.113.7/cup.mp4", (422, "invalid_request")),  # another host: not even tried
        (f"{server.replace('http:', 'ftp:')}/cup.mp4", (422, "invalid_request")),
    )
    for url, expected in cases:
        response = client.post("/v1/encode", json={"video": {"url": url}})
        assert (response.status_code, response.json()["error"]["code"]) == expected, url


def test_no_url_is_fetched_without_configured_source_origins(client, server, monkeypatch):
    monkeypatch.delenv("CMVC_SOURCE_ORIGINS", raising=False)
    response = client.post("/v1/encode", json={"video": {"url": f"{server}/cup.mp4"}})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_request")


def bad_inputs(sample_bytes):
    long_data, _ = pan_clip(0.5, frames=24 * 6, width=64, height=48)  # 6 s, over the 4.5 s limit
    faststart = video_io.encode(pan_clip(2.0, frames=24)[1], 24)  # the index first, then the frames
    return [
        ("truncated faststart mp4", {"video": {"data": b64(faststart[: len(faststart) // 2])}}, 422, "undecodable_video"),
        ("truncated mp4", {"video": {"data": b64(sample_bytes[: len(sample_bytes) // 3])}}, 422, "undecodable_video"),
        ("truncated tail", {"video": {"data": b64(sample_bytes[len(sample_bytes) // 2 :])}}, 422, "undecodable_video"),
        ("text file", {"video": {"data": b64(b"hello, I am a text file\n" * 50)}}, 422, "undecodable_video"),
        ("0-byte video", {"video": {"data": ""}}, 422, "undecodable_video"),
        ("over the duration limit", {"video": {"data": b64(long_data)}}, 422, "too_long"),
        ("over the size limit", {"video": {"data": b64(b"\0" * 2_000_001)}}, 413, "too_large"),
        ("not base64", {"video": {"data": "not base64!"}}, 422, "invalid_request"),
        ("bad base64 padding", {"video": {"data": "abcde"}}, 422, "invalid_request"),
        ("bad option", {"video": {"data": b64(sample_bytes)}, "options": {"keyframeCodec": "gif"}}, 422, "invalid_request"),
        ("unknown field", {"video": {"data": b64(sample_bytes)}, "unknown": 1}, 422, "invalid_request"),
        ("min above max", {"video": {"data": b64(sample_bytes)}, "options": {"minSegmentSeconds": 5, "maxSegmentSeconds": 2}}, 422, "invalid_request"),
        ("not a URL scheme we fetch", {"video": {"url": "file:///etc/passwd"}}, 422, "invalid_request"),
        ("malformed JSON", b"{not json", 422, "invalid_request"),
        ("0-byte body", b"", 422, "invalid_request"),
        ("JSON that is no object", b"[1, 2]", 422, "invalid_request"),
    ]


def test_bad_input_gets_typed_errors_and_the_server_keeps_serving(client, sample_bytes, store):
    for name, body, status, code in bad_inputs(sample_bytes):
        if isinstance(body, bytes):
            response = client.post("/v1/encode", content=body, headers={"content-type": "application/json"})
        else:
            response = client.post("/v1/encode", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), name
        contract.check_response("error", response.json())
        assert "Traceback" not in response.text and "/tmp" not in response.text and "/work" not in response.text
    schema_error = client.post("/v1/encode", json={"video": {"data": b64(sample_bytes)}, "options": {"keyframeCodec": "gif"}}).json()["error"]
    assert schema_error["details"] == {"field": "options.keyframeCodec"} and "options.keyframeCodec" in schema_error["message"]
    output = {"url": "http://127.0.0.1:9/never-used"}
    segment = {"contentText": "a", "motionText": "b"}
    odd = client.post("/v1/generate", json={"mode": "tt2v", "segment": segment, "width": 33, "height": 32, "fps": 8, "frameCount": 4, "seed": 0, "output": output}).json()
    assert odd["error"]["code"] == "invalid_request" and odd["error"]["details"] == {"field": "width"}
    parts = [store.source("mixed/0.mp4", pan_clip(1, 4, 64, 48)[0]), store.source("mixed/1.mp4", pan_clip(1, 4, 96, 64)[0])]
    mixed = client.post("/v1/assemble", json={"parts": parts, "output": output}).json()
    assert mixed["error"]["code"] == "invalid_request" and mixed["error"]["details"] == {"field": "parts[1]"}
    # Submitted work fails the same way, asynchronously; a bad submit is refused at once.
    submitted = client.post("/v1/encode/submit", json={"video": {"data": b64(b"garbage" * 100)}})
    failed = wait(client, submitted.json()["callId"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "undecodable_video"
    # A failed call says what it spent (the Worker bills it), as the seconds /metrics counts.
    assert failed["error"]["details"]["seconds"]["gpu"] == 0.0 and failed["error"]["details"]["seconds"]["cpu"] > 0
    refused = client.post("/v1/encode/submit", json={"video": {"data": "not base64!"}})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "invalid_request")
    unknown = client.get("/v1/calls/call-doesnotexist")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert client.post("/v1/nonsense", json={}).json()["error"]["code"] == "not_found"
    assert client.get("/nowhere").json()["error"]["code"] == "not_found"
    assert (client.get("/v1/encode").status_code, client.get("/v1/encode").json()["error"]["code"]) == (405, "invalid_request")
    # Still serving.
    assert client.post("/v1/encode", json={"video": {"data": b64(sample_bytes)}}).status_code == 200


def seconds_total(client, metric="cmvc_gpu_seconds_total"):
    return sum(float(x) for x in re.findall(metric + r'\{function="\w+"\} ([\d.]+)', client.get("/metrics").text))


def test_a_call_reports_the_seconds_metrics_counts(client, store):
    """The Worker bills what a call reports (computing, then uploading its output); the GPU server's
    /metrics must count the same."""
    before, before_upload = seconds_total(client), seconds_total(client, "cmvc_gpu_upload_seconds_total")
    body = {"mode": "tt2v", "segment": {"contentText": "a scene 64x48; centre: red", "motionText": "static"}, "width": 64, "height": 48, "fps": 8, "frameCount": 16, "seed": 0,
            "output": store.target("api/seconds.mp4")}
    reported = client.post("/v1/generate", json=body).json()["seconds"]
    counted = seconds_total(client) - before
    uploaded = seconds_total(client, "cmvc_gpu_upload_seconds_total") - before_upload
    assert reported["gpu"] == 0.0 and abs(reported["cpu"] - counted) < 0.0002
    assert reported["upload"] > 0 and abs(reported["upload"] - uploaded) < 0.0002


def test_failures_are_counted_once_by_code(client):
    before_calls, before_failures = calls_total(client, "encode"), failures_total(client, "encode", "invalid_request")
    client.post("/v1/encode", json={"video": {"data": "not base64!"}})
    client.post("/v1/encode/submit", json={"unknown": True})
    assert calls_total(client, "encode") - before_calls == 2
    assert failures_total(client, "encode", "invalid_request") - before_failures == 2


class SlowEngine(ReferenceEngine):
    """A fake engine whose encode waits for a signal, then fails: for queueing and overload (its other
    functions are the reference engine's, since the server requires every contract function)."""

    def __init__(self):
        super().__init__(LIMITS)
        self.release = threading.Event()

    def info(self):
        return {"id": "slow", "version": "0", "models": {}}

    def encode(self, request, progress=None):
        progress(0.5)
        self.release.wait(10)
        raise RuntimeError("secret internal detail /tmp/x")


def test_the_server_refuses_an_engine_that_lacks_a_contract_function():
    class EncodeOnly:
        def info(self):
            return {"id": "encode-only", "version": "0", "models": {}}

        def encode(self, request, progress=None):
            return {}

    with pytest.raises(TypeError, match="EncodeOnly has no method for the contract functions assemble, generate, interpolate"):
        create_app(EncodeOnly())


def test_overload_progress_and_engine_failure_without_internals():
    engine = SlowEngine()
    client = TestClient(create_app(engine, workers=1, max_pending=2))
    body = {"video": {"data": "AAAA"}}
    first = client.post("/v1/encode/submit", json=body).json()["callId"]
    second = client.post("/v1/encode/submit", json=body).json()["callId"]
    over = client.post("/v1/encode/submit", json=body)
    assert (over.status_code, over.json()["error"]["code"]) == (503, "overloaded")
    deadline = time.time() + 5
    while client.get(f"/v1/calls/{first}").json()["progress"] != 0.5 and time.time() < deadline:
        time.sleep(0.01)
    assert client.get(f"/v1/calls/{first}").json() == {"status": "pending", "progress": 0.5}
    assert client.get(f"/v1/calls/{second}").json() == {"status": "pending", "progress": None}  # queued
    engine.release.set()
    failed = wait(client, first)
    assert failed["error"]["code"] == "engine_failure" and "secret" not in str(failed) and "/tmp" not in str(failed)
    assert failures_total(client, "encode", "overloaded") == 1 and failures_total(client, "encode", "engine_failure") >= 1


def test_an_engine_that_plans_no_rate_refuses_target_kbps_naming_itself(sample_bytes):
    """Issue 24: an engine ignoring ``targetKbps`` (the model engine did) made views report a target
    nobody honoured. An engine that does not plan it refuses it at once, naming itself."""

    class Unplanned(ReferenceEngine):
        plans_rate = False

        def info(self):
            return {"id": "unplanned", "version": "3", "models": {}}

    client = TestClient(create_app(Unplanned(LIMITS)))
    body = {"video": {"data": base64.b64encode(sample_bytes).decode()}, "options": {"targetKbps": 10}}
    for path in ("/v1/encode", "/v1/encode/submit"):
        refused = client.post(path, json=body)
        assert refused.status_code == 422, path
        assert refused.json()["error"]["details"] == {"field": "options.targetKbps"}
        assert "unplanned@3 engine cannot honour options.targetKbps" in refused.json()["error"]["message"]
    assert client.post("/v1/encode", json={**body, "options": {}}).status_code == 200


def test_engine_selection(monkeypatch):
    monkeypatch.setenv("CMVC_ENGINE", "reference")
    assert engine_from_env(LIMITS).info()["id"] == "reference"
    monkeypatch.setenv("CMVC_ENGINE", "magic")
    with pytest.raises(RuntimeError, match="CMVC_ENGINE='magic'"):
        engine_from_env(LIMITS)


def test_limits_from_env(monkeypatch):
    monkeypatch.setenv("CMVC_MAX_UPLOAD_BYTES", "1000")
    monkeypatch.setenv("CMVC_MAX_DURATION_SECONDS", "2.5")
    monkeypatch.delenv("CMVC_ENGINE", raising=False)
    client = TestClient(create_app())
    assert client.get("/v1/info").json()["limits"]["maxUploadBytes"] == 1000
    response = client.post("/v1/encode", json={"video": {"data": b64(b"\0" * 1001)}})
    assert (response.status_code, response.json()["error"]["code"]) == (413, "too_large")
    monkeypatch.setenv("CMVC_MAX_UPLOAD_BYTES", "lots")
    with pytest.raises(ValueError, match="CMVC_MAX_UPLOAD_BYTES"):
        Limits.from_env()


def test_schema_defaults_are_applied_after_validation():
    request = contract.check_request("encode", {"video": {"data": ""}, "options": {"keyframeCodec": "jpeg"}})
    assert request["options"] == {
        "minSegmentSeconds": 1, "maxSegmentSeconds": 10, "keyframeBudgetBytes": 1024, "keyframeCodec": "jpeg", "keyframeMaxWidth": 320, "maxTextChars": 600, "targetKbps": None,
        "audioKbps": 16, "audioStream": None,
    }
    output = {"url": "https://store.example/a.mp4"}
    segment = {"contentText": "a", "motionText": "b"}
    generate = contract.check_request("generate", {"mode": "tt2v", "segment": segment, "width": 32, "height": 32, "fps": 8, "frameCount": 4, "seed": 0, "output": output})
    assert generate["container"] == "mp4" and generate["segment"]["keyframes"] == [] and generate["output"]["headers"] == {}
    assemble = contract.check_request("assemble", {"parts": [{"url": "https://example.com/a.mp4"}], "output": output})
    assert (assemble["container"], assemble["timeOffsetSeconds"]) == ("mp4", 0)
    interpolate = contract.check_request("interpolate", {"video": {"url": "https://example.com/a.mp4"}, "factor": 2, "output": output})
    assert (interpolate["adapterId"], interpolate["container"]) == (None, "mp4")


def test_long_poll_answers_when_the_call_ends(client):
    data, _ = pan_clip(1.0, frames=12)
    call_id = client.post("/v1/encode/submit", json={"video": {"data": b64(data)}}).json()["callId"]
    started = time.time()
    status = client.get(f"/v1/calls/{call_id}", params={"waitSeconds": 20}).json()
    assert status["status"] == "succeeded"
    assert time.time() - started < 15
    assert client.get(f"/v1/calls/{call_id}", params={"waitSeconds": 99}).status_code == 422


def test_generate_keyframes_must_be_sorted_unique_and_inside_the_request():
    keyframe = {"codec": "webp", "width": 2, "height": 2, "data": "", "priority": 1}
    body = {"mode": "it2v", "segment": {"contentText": "a", "motionText": "b"}, "width": 32, "height": 32, "fps": 8, "frameCount": 4, "seed": 0, "output": {"url": "https://store.example/a.mp4"}}
    for indices, bad in (([2, 1], 1), ([1, 1], 1), ([0, 4], 1), ([5], 0)):
        with pytest.raises(contract.ContractError) as error:
            contract.check_request("generate", {**body, "segment": {**body["segment"], "keyframes": [{**keyframe, "frameIndex": i} for i in indices]}})
        assert error.value.code == "invalid_request" and error.value.details == {"field": f"segment.keyframes[{bad}].frameIndex"}
    assert contract.check_request("generate", {**body, "segment": {**body["segment"], "keyframes": [{**keyframe, "frameIndex": i} for i in (0, 3)]}})
    with pytest.raises(contract.ContractError) as error:
        contract.check_request("encode", {"video": {"data": ""}, "options": {"targetKbps": 0.1}})
    assert error.value.details == {"field": "options.targetKbps"}


def test_a_keyframe_named_by_url_and_byte_range_renders_as_the_same_image_inline(client, sample_bytes, store):
    encoded = client.post("/v1/encode", json={"video": {"data": b64(sample_bytes)}})
    assert encoded.status_code == 200, encoded.text
    segment = encoded.json()["segments"][0]
    inline = {**segment["keyframes"][0], "frameIndex": 0}
    image = base64.b64decode(inline["data"])
    # The image inside a larger stored object, as a keyframe lies inside its stored bitstream.
    store.objects["kf/stream.cmvc"] = b"x" * 1000 + image + b"y" * 500
    fields = {k: v for k, v in inline.items() if k != "data"}
    source = {"url": f"{store.base}/kf/stream.cmvc", "offset": 1000, "length": len(image)}

    def generate(keyframe: dict, name: str):
        body = {"mode": "it2v", "segment": {"contentText": segment["contentText"], "motionText": segment["motionText"], "keyframes": [keyframe]},
                "width": 160, "height": 120, "fps": 12, "frameCount": 6, "seed": 1, "output": store.target(name)}
        return client.post("/v1/generate", json=body)

    assert generate(inline, "kf/inline.mp4").status_code == 200
    assert generate({**fields, "source": source}, "kf/by-url.mp4").status_code == 200
    assert store.objects["kf/by-url.mp4"] == store.objects["kf/inline.mp4"]
    # A server that ignores Range sends the whole object: the image is cut out of it.
    store.ignore_range = True
    try:
        assert generate({**fields, "source": source}, "kf/whole.mp4").status_code == 200
    finally:
        store.ignore_range = False
    assert store.objects["kf/whole.mp4"] == store.objects["kf/inline.mp4"]
    # A range the object does not hold in full fails the call, naming the keyframe.
    short = generate({**fields, "source": {**source, "offset": 1000 + 600}}, "kf/short.mp4").json()["error"]
    assert short["code"] == "fetch_failed" and short["details"]["field"] == "segment.keyframes[0].source.url"
    assert "kf/short.mp4" not in store.objects


def test_the_seconds_a_call_spends_fetching_its_inputs_are_reported_and_counted_apart(client, sample_bytes, store):
    """A keyframe image read by URL (and any input fetched) is the edge's overhead, not the engine's
    work: ``seconds.fetch`` says how long the fetches took, ``cpu`` leaves them out, and /metrics
    counts them as ``cmvc_gpu_fetch_seconds_total``."""
    encoded = client.post("/v1/encode", json={"video": {"data": b64(sample_bytes)}}).json()
    segment = encoded["segments"][0]
    keyframe = {**segment["keyframes"][0], "frameIndex": 0}
    image = base64.b64decode(keyframe.pop("data"))
    store.objects["fetch/stream.cmvc"] = b"x" * 100 + image
    keyframe["source"] = {"url": f"{store.base}/fetch/stream.cmvc", "offset": 100, "length": len(image)}
    body = {"mode": "it2v", "segment": {"contentText": segment["contentText"], "motionText": segment["motionText"], "keyframes": [keyframe]},
            "width": 64, "height": 48, "fps": 8, "frameCount": 4, "seed": 1, "output": store.target("fetch/out.mp4")}
    metric = "cmvc_gpu_fetch_seconds_total"
    before, before_compute = seconds_total(client, metric), seconds_total(client)
    store.get_delay_seconds = 0.3
    try:
        began = time.perf_counter()
        answer = client.post("/v1/generate", json=body)
        wall = time.perf_counter() - began
    finally:
        store.get_delay_seconds = 0.0
    assert answer.status_code == 200, answer.text
    seconds = answer.json()["seconds"]
    assert 0.3 <= seconds["fetch"] < wall
    assert seconds["cpu"] + seconds["fetch"] + seconds["upload"] <= wall + 0.01
    assert abs(seconds_total(client, metric) - before - seconds["fetch"]) < 0.0002
    assert abs(seconds_total(client) - before_compute - seconds["cpu"]) < 0.0002
    # Inline inputs fetch nothing.
    inline = client.post("/v1/generate", json={**body, "segment": {**body["segment"], "keyframes": [{**segment["keyframes"][0], "frameIndex": 0}]}, "output": store.target("fetch/inline.mp4")})
    assert inline.json()["seconds"]["fetch"] == 0.0
    # A call that fails fetching reports what it spent, its fetch apart, for the Worker to bill.
    store.get_delay_seconds = 0.2
    try:
        missing = {**keyframe, "source": {**keyframe["source"], "url": f"{store.base}/fetch/missing"}}
        submitted = client.post("/v1/generate/submit", json={**body, "segment": {**body["segment"], "keyframes": [missing]}, "output": store.target("fetch/failed.mp4")})
        failed = wait(client, submitted.json()["callId"])
    finally:
        store.get_delay_seconds = 0.0
    assert failed["status"] == "failed" and failed["error"]["code"] == "fetch_failed"
    assert failed["error"]["details"]["seconds"]["fetch"] >= 0.2


def test_a_submit_sent_again_with_its_idempotency_key_answers_the_same_call_and_runs_once(client, store):
    body = {"mode": "tt2v", "segment": {"contentText": "a red ball", "motionText": "the camera is static"},
            "width": 64, "height": 48, "fps": 8, "frameCount": 4, "seed": 3, "output": store.target("idem/a.mp4")}
    before = calls_total(client, "generate")
    first = client.post("/v1/generate/submit", json=body, headers={"Idempotency-Key": "gen-idem-1"})
    again = client.post("/v1/generate/submit", json=body, headers={"Idempotency-Key": "gen-idem-1"})
    assert first.status_code == again.status_code == 202 and first.json() == again.json()
    assert wait(client, first.json()["callId"])["status"] == "succeeded"
    assert calls_total(client, "generate") == before + 1
    # Keys are per function and per key: another key, or the same key for another function, is another call.
    other = client.post("/v1/generate/submit", json={**body, "output": store.target("idem/b.mp4")}, headers={"Idempotency-Key": "gen-idem-2"})
    assert other.status_code == 202 and other.json() != first.json()
    bad = client.post("/v1/generate/submit", json=body, headers={"Idempotency-Key": "x" * 201})
    assert bad.status_code == 422 and bad.json()["error"]["details"] == {"field": "Idempotency-Key"}
