"""The model engine's torch-free parts: sampling, scene cuts, geometry, text cleanup, prompts,
configuration, the Modal dispatch layer and the training data. Plain pytest, no torch."""

from __future__ import annotations

import numpy as np
import pytest

from cmvc_gpu.engines.model import prompts, sampling
from cmvc_gpu.engines.model.config import ClipConfig, ModelEngineConfig, ModelRef
from cmvc_gpu.engines.model.dispatch import Dispatcher, DispatchError, envelope, unwrap, unwrap_value
from cmvc_gpu.engines.model.errors import (
    AdapterNotFound,
    AdapterRequired,
    ModelCapacityError,
    ModelInputError,
    error_code,
)
from cmvc_gpu.training import data


class TestSampling:
    def test_sample_indices_are_bin_centres(self):
        assert sampling.sample_indices(0, 8, 4) == [1, 3, 5, 7]
        assert sampling.sample_indices(100, 16, 4) == [102, 106, 110, 114]
        assert sampling.sample_indices(10, 3, 4) == [10, 11, 11, 12]
        assert sampling.sample_indices(5, 1, 2) == [5, 5]

    @pytest.mark.parametrize("start,count,n", [(0, 1, 1), (0, 7, 16), (3, 100, 16), (0, 33, 2)])
    def test_sample_indices_stay_inside_and_increase(self, start, count, n):
        picked = sampling.sample_indices(start, count, n)
        assert len(picked) == n
        assert all(start <= i < start + count for i in picked)
        assert picked == sorted(picked)

    def test_sample_indices_rejects_empty(self):
        with pytest.raises(ValueError, match="count must be positive, got 0"):
            sampling.sample_indices(0, 0, 4)

    def test_analysis_indices(self):
        assert sampling.analysis_indices(10, 8.0, 4.0) == [0, 2, 4, 6, 8]
        assert sampling.analysis_indices(3, 8.0, 30.0) == [0, 1, 2]

    def test_scene_segments_cut_at_a_jump(self):
        a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
        embeddings = np.stack([a] * 5 + [b] * 5)
        indices = list(range(0, 20, 2))
        segments = sampling.scene_segments(embeddings, indices, 20, 8.0, 0.25, 0.5, 10.0)
        assert segments == [(0, 10), (10, 10)]

    def test_scene_segments_respect_min_and_max(self):
        a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
        embeddings = np.stack([a, b, a, b, a, b, a, b])
        indices = list(range(8))
        # min 0.5 s at 4 fps: two frames; cuts only where a scene has 2 frames already
        assert sampling.scene_segments(embeddings, indices, 8, 4.0, 0.25, 0.5, 10.0) == [(0, 2), (2, 2), (4, 2), (6, 2)]
        # max 1 s at 4 fps on a still video: cut every 4 frames, covering everything
        still = np.stack([a] * 10)
        assert sampling.scene_segments(still, list(range(10)), 10, 4.0, 0.25, 0.5, 1.0) == [(0, 4), (4, 4), (8, 2)]

    def test_scene_segments_cover_every_frame_when_sparse(self):
        segments = sampling.scene_segments(np.ones((3, 4)), [0, 10, 20], 25, 10.0, 0.2, 0.1, 0.7)
        assert sum(c for _, c in segments) == 25
        assert all(c <= 7 for _, c in segments)
        assert [s for s, _ in segments] == sorted(s for s, _ in segments)

    def test_representative_index_is_closest_to_mean(self):
        embeddings = np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0], [0.7, 0.7]])
        assert sampling.representative_index(embeddings) == 4

    def test_model_geometry(self):
        assert sampling.model_geometry(32, 32, 16, 32 * 32) == (32, 32)
        assert sampling.model_geometry(1920, 1080, 16, 832 * 480) == (832, 480)
        assert sampling.model_geometry(40, 24, 16, 10_000) == (48, 32)
        assert sampling.model_geometry(17, 17, 16, 10) == (16, 16)

    def test_frame_counts(self):
        assert [sampling.model_frame_count(n, 4) for n in (1, 2, 5, 6, 9)] == [1, 5, 5, 9, 9]

    def test_resample_and_fit(self):
        assert sampling.resample_indices(9, 5) == [0, 2, 4, 6, 8]
        assert sampling.resample_indices(3, 5) == [0, 0, 1, 2, 2]
        clip = np.arange(9, dtype=np.uint8).reshape(9, 1, 1, 1).repeat(3, axis=3).repeat(16, axis=1).repeat(16, axis=2)
        fitted = sampling.fit_clip(clip, 24, 20, 5)
        assert fitted.shape == (5, 20, 24, 3)
        assert list(fitted[:, 0, 0, 0]) == [0, 2, 4, 6, 8]

    def test_to_uint8(self):
        assert sampling.to_uint8(np.array([-0.5, 0.0, 0.5, 1.0, 2.0])).tolist() == [0, 0, 128, 255, 255]

    def test_clean_text(self):
        assert sampling.clean_text("Sure! Here is the description: **A red** car.", 100, "x") == "A red car."
        assert sampling.clean_text("- one\n- two", 100, "x") == "one two"
        assert sampling.clean_text("   ", 100, "A video scene.") == "A video scene."
        long = "A red car drives. It is night. The street is wet and shiny under the lamps."
        assert sampling.clean_text(long, 40, "x") == "A red car drives. It is night."
        assert sampling.clean_text("word " * 20, 18, "x") == "word word word"
        cut = sampling.clean_text("x" * 50, 16, "y")
        assert len(cut) == 16

    @pytest.mark.parametrize("max_chars", [16, 17, 40, 600])
    def test_clean_text_never_exceeds_the_budget(self, max_chars):
        rng = np.random.default_rng(max_chars)
        words = ["a", "red", "car.", "moves", "left,", "then", "stops!", "**bold**", "\n-", "1."]
        for _ in range(50):
            text = " ".join(rng.choice(words, size=rng.integers(0, 60)))
            out = sampling.clean_text(text, max_chars, "A video scene.")
            assert 1 <= len(out) <= max_chars

    def test_psnr(self):
        a = np.zeros((4, 4, 3), np.uint8)
        assert sampling.psnr(a, a) == float("inf")
        assert round(sampling.psnr(a, a + 255), 6) == 0.0


class TestPrompts:
    def test_messages_are_system_then_video_and_instruction(self):
        messages = prompts.describe_messages("motion", 123)
        assert [m["role"] for m in messages] == ["system", "user"]
        assert messages[0]["content"] == [{"type": "text", "text": prompts.SYSTEM_PROMPT}]
        assert messages[1]["content"][0] == {"type": "video"}
        assert messages[1]["content"][1]["text"] == prompts.MOTION_INSTRUCTION.format(max_chars=123)
        assert "At most 123 characters." in messages[1]["content"][1]["text"]

    def test_content_and_motion_do_not_overlap(self):
        assert "Do not describe any movement" in prompts.CONTENT_INSTRUCTION
        assert "do not describe its appearance" in prompts.MOTION_INSTRUCTION

    def test_bad_kind(self):
        with pytest.raises(ValueError, match="kind must be 'content' or 'motion', got 'colour'"):
            prompts.describe_messages("colour", 10)  # type: ignore[arg-type]

    def test_generation_prompts(self):
        assert prompts.tt2v_prompt(" A red car. ", "It drives left. ") == "A red car. It drives left."
        assert prompts.it2v_prompt("A red car.", "It drives left.") == "It drives left. A red car."


class TestConfig:
    def test_every_model_is_pinned_to_a_commit(self):
        for role, ref in ModelEngineConfig().refs().items():
            assert len(ref.revision) == 40 and all(c in "0123456789abcdef" for c in ref.revision), role
        assert set(ModelEngineConfig().models()) == {"mllm", "embedder", "t2v", "i2v", "flf2v"}
        few = ModelEngineConfig.from_env({"CMVC_STEPS": "few"})
        assert few.models()["distill"] == "Kijai/WanVideo_comfy@29d93f7394d49ed7ef070709ff92a316c1a6aa41"
        assert (few.generator.schedule.num_inference_steps, few.generator.schedule.guided) == (4, False)

    def test_from_env(self):
        config = ModelEngineConfig.from_env(
            {
                "CMVC_MODEL_T2V": "me/t2v@abc",
                "CMVC_DEFAULT_ADAPTER": "interp-lora-v1-r16-x",
                "CMVC_DEVICE": "cpu",
                "HF_HUB_CACHE": "/vol/hf",
            }
        )
        assert config.generator.t2v == ModelRef("me/t2v", "abc")
        assert config.models()["t2v"] == "me/t2v@abc"
        assert config.generator.default_adapter_id == "interp-lora-v1-r16-x"
        assert (config.device, config.cache_dir) == ("cpu", "/vol/hf")
        assert ModelEngineConfig.from_env({}).generator.t2v == ModelEngineConfig().generator.t2v

    def test_bad_values_name_themselves(self):
        with pytest.raises(ValueError, match="'id@revision', got 'no-revision'"):
            ModelRef.parse("no-revision")
        with pytest.raises(ValueError, match="max_frames_per_call must be 4\\*k\\+1, got 80"):
            ClipConfig(max_frames_per_call=80)
        with pytest.raises(ValueError, match="CMVC_STEPS must be one of \\['default', 'few'\\], got 'fast'"):
            ModelEngineConfig.from_env({"CMVC_STEPS": "fast"})


class TestErrors:
    def test_codes(self):
        assert error_code(ModelInputError("x")) == "invalid_request"
        assert error_code(AdapterRequired("x")) == "invalid_request"
        assert error_code(AdapterNotFound("x")) == "not_found"
        assert error_code(ModelCapacityError("x")) == "too_large"
        assert error_code(RuntimeError("x")) == "engine_failure"


class FakeCall:
    def __init__(self, object_id, outcome):
        self.object_id = object_id
        self.outcome = outcome

    def get(self, timeout=None):
        assert timeout == 0
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class FakeMethod:
    def __init__(self, answer):
        self.answer = answer
        self.spawned = []

    def remote(self, request):
        return self.answer(request)

    def spawn(self, request):
        self.spawned.append(request)
        return FakeCall("fc-abc123", None)


class Expired(Exception):
    pass


class TestDispatch:
    def test_envelope_wraps_results_and_errors(self):
        store = {}
        ok = envelope(lambda report: (report(0.5), {"x": 1})[1], store, "fc-1")
        assert ok.pop("seconds") >= 0 and ok == {"ok": True, "result": {"x": 1}}
        assert store == {"fc-1": 0.5}
        bad = envelope(lambda report: (_ for _ in ()).throw(AdapterNotFound("no adapter 'a'")), store, "fc-1")
        assert bad.pop("seconds") >= 0 and bad == {"ok": False, "error": {"code": "not_found", "message": "no adapter 'a'"}}
        logged = []
        crash = envelope(lambda report: 1 / 0, None, None, log=logged.append)
        assert crash["error"]["code"] == "engine_failure"
        assert "ZeroDivisionError" in logged[0]

    def test_run_submit_poll(self):
        calls = {}
        method = FakeMethod(lambda request: {"ok": True, "result": {"echo": request}})
        dispatcher = Dispatcher(
            {"generate": method},
            from_id=lambda i: calls[i],
            progress_store={"fc-abc123": 0.25},
            timeout_errors=(TimeoutError,),
            expired_errors=(Expired,),
        )
        assert dispatcher.run("generate", {"a": 1}) == {"echo": {"a": 1}}
        call_id = dispatcher.submit("generate", {"a": 2})
        assert call_id == "generate~fc-abc123"
        assert method.spawned == [{"a": 2}]
        calls["fc-abc123"] = FakeCall("fc-abc123", TimeoutError())
        assert dispatcher.poll(call_id) == {"status": "pending", "progress": 0.25}
        calls["fc-abc123"] = FakeCall("fc-abc123", {"ok": True, "result": {"done": True}})
        assert dispatcher.poll(call_id) == {"status": "succeeded", "result": {"done": True}}
        assert dispatcher.progress_store == {}
        calls["fc-abc123"] = FakeCall("fc-abc123", {"ok": False, "error": {"code": "invalid_request", "message": "m"}})
        assert dispatcher.poll(call_id) == {"status": "failed", "error": {"code": "invalid_request", "message": "m"}}
        calls["fc-abc123"] = FakeCall("fc-abc123", Expired())
        for unknown in ("generate~fc-abc123", "generate~nonsense", "../etc"):
            with pytest.raises(DispatchError) as raised:
                dispatcher.poll(unknown)
            assert raised.value.code == "not_found"

    def test_unwrap_value_carries_any_result_and_the_error_code(self):
        frames = np.zeros((2, 2, 2, 3), np.uint8)
        assert unwrap_value(envelope(lambda report: frames)) is frames
        with pytest.raises(DispatchError) as caught:
            unwrap_value(envelope(lambda report: (_ for _ in ()).throw(AdapterNotFound("no adapter 'x'")), log=lambda _: None))
        assert caught.value.code == "not_found"

    def test_unwrap(self):
        with pytest.raises(Exception, match="no envelope"):
            unwrap({"x": 1})


class TestTrainingData:
    def test_windows_do_not_overlap(self):
        assert data.clip_windows(12, 16.0, 3, 8.0) == [[0, 2, 4], [5, 7, 9]]
        assert data.clip_windows(10, 8.0, 5, 8.0) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
        assert data.clip_windows(4, 8.0, 5, 8.0) == []

    @pytest.mark.parametrize("fps", [24.0, 25.0, 30.0, 29.97, 16.0, 60.0])
    def test_a_clip_spans_what_a_served_bridge_spans_at_any_source_rate(self, fps):
        """Defect 3 of issue 24: a whole-frame stride (round(fps / 16)) made 81-frame clips at 24 or
        25 frames/s span 6.4-6.7 s, while a served bridge spans at most 5 s. By timestamp, 5 s."""
        from cmvc_gpu.engines.model.config import ClipConfig

        clip = ClipConfig()
        windows = data.clip_windows(int(60 * fps), fps, clip.max_frames_per_call, clip.native_fps)
        assert len(windows) >= 10
        for window in windows:
            span = (window[-1] - window[0]) / fps
            assert span == pytest.approx(clip.max_keyframe_gap_seconds, abs=0.5 / fps)
            steps = np.diff(window) / fps
            assert np.all(np.abs(steps - 1 / clip.native_fps) <= 1 / fps + 1e-9)  # each step nearest 1/16 s
        assert all(b[0] > a[-1] for a, b in zip(windows, windows[1:]))

    def test_make_clips_split_and_blend(self):
        video = np.random.default_rng(0).integers(0, 255, (20, 24, 40, 3), dtype=np.uint8)
        clips = data.make_clips([(video, 8.0)], 5, 8.0, 32, 16)
        assert len(clips) == 4 and clips[0].shape == (5, 16, 32, 3)
        train, held = data.split(clips, 1)
        assert (len(train), len(held)) == (3, 1)
        assert data.fingerprint(clips) != data.fingerprint(clips[:3])
        first, last = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 200, np.uint8)
        assert data.blend(first, last, 0.5).max() == 100


class FakeDict(dict):
    """A ``modal.Dict`` as the dispatcher uses it: ``put`` may refuse to replace a key."""

    def put(self, key, value, *, skip_if_exists=False):
        if skip_if_exists and key in self:
            return False
        self[key] = value
        return True


class TestWebRoutes:
    """The submit/poll routes the Modal web endpoint puts in front of the shared FastAPI app."""

    def test_a_submit_sent_again_with_its_idempotency_key_spawns_nothing(self):
        from fastapi import FastAPI
        from fastapi.testclient import TestClient

        from cmvc_gpu.engines.model.web import install_call_routes

        method = FakeMethod(lambda request: {"ok": True, "result": {}})
        app = FastAPI()
        install_call_routes(app, Dispatcher({"generate": method}, from_id=lambda i: None, submit_store=FakeDict()))
        client = TestClient(app)
        body = {"mode": "tt2v", "segment": {"contentText": "c", "motionText": "m"}, "width": 32, "height": 32, "fps": 8, "frameCount": 4, "seed": 1, "output": {"url": "https://store.example/a.mp4"}}
        first = client.post("/v1/generate/submit", json=body, headers={"Idempotency-Key": "gen-1"})
        again = client.post("/v1/generate/submit", json=body, headers={"Idempotency-Key": "gen-1"})
        assert first.status_code == again.status_code == 202 and first.json() == again.json()
        assert len(method.spawned) == 1
        assert client.post("/v1/generate/submit", json=body, headers={"Idempotency-Key": "gen-2"}).status_code == 202
        assert len(method.spawned) == 2
        bad = client.post("/v1/generate/submit", json=body, headers={"Idempotency-Key": "no spaces"})
        assert bad.status_code == 422 and bad.json()["error"]["details"] == {"field": "Idempotency-Key"}

    def test_a_submit_whose_spawn_failed_leaves_its_key_free(self):
        class Failing(FakeMethod):
            def spawn(self, request):
                raise RuntimeError("Modal is down")

        store = FakeDict()
        with pytest.raises(RuntimeError):
            Dispatcher({"generate": Failing(None)}, from_id=lambda i: None, submit_store=store).submit("generate", {}, "generate:k")
        assert store == {}
        method = FakeMethod(None)
        assert Dispatcher({"generate": method}, from_id=lambda i: None, submit_store=store).submit("generate", {}, "generate:k") == "generate~fc-abc123"
        assert store == {"generate:k": "generate~fc-abc123"} and len(method.spawned) == 1

    def make(self):
        from fastapi import FastAPI
        from fastapi.testclient import TestClient

        from cmvc_gpu.engines.model.web import install_call_routes

        calls = {}
        method = FakeMethod(lambda request: {"ok": True, "result": {}})
        dispatcher = Dispatcher({"generate": method}, from_id=lambda i: calls[i], progress_store={})
        app = FastAPI()

        @app.post("/v1/{fn}/submit")
        def shadowed(fn: str):  # the shared app's own route, which the Modal one must precede
            return {"callId": "local"}

        install_call_routes(app, dispatcher)
        return TestClient(app), method, calls

    def test_submit_validates_then_spawns(self):
        client, method, calls = self.make()
        body = {
            "mode": "tt2v",
            "segment": {"contentText": "c", "motionText": "m"},
            "width": 32,
            "height": 32,
            "fps": 8,
            "frameCount": 4,
            "seed": 1,
            "output": {"url": "https://store.example/a.mp4"},
        }
        answer = client.post("/v1/generate/submit", json=body)
        assert (answer.status_code, answer.json()) == (202, {"callId": "generate~fc-abc123"})
        # spawned with the contract's defaults applied
        defaults = {"segment": {**body["segment"], "keyframes": []}, "container": "mp4", "output": {**body["output"], "headers": {}}}
        assert method.spawned == [{**body, **defaults}]
        bad = client.post("/v1/generate/submit", json={**body, "width": 8})
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "invalid_request" and "width" in bad.json()["error"]["message"]
        assert client.post("/v1/nope/submit", json={}).status_code == 404
        calls["fc-abc123"] = FakeCall("fc-abc123", TimeoutError())
        assert client.get("/v1/calls/generate~fc-abc123").json() == {"status": "pending", "progress": None}
        calls["fc-abc123"] = FakeCall("fc-abc123", {"ok": True, "result": {"video": 1}})
        assert client.get("/v1/calls/generate~fc-abc123").json() == {"status": "succeeded", "result": {"video": 1}}
        assert client.get("/v1/calls/unknown").status_code == 404
        calls["fc-abc123"] = FakeCall(
            "fc-abc123", {"ok": False, "error": {"code": "not_found", "message": "no adapter"}}
        )
        failed = client.get("/v1/calls/generate~fc-abc123")
        assert failed.status_code == 200 and failed.json()["status"] == "failed"


class TestModalWebApp:
    """The web endpoint's app: the shared FastAPI app around a DispatchEngine, plus Modal's
    submit/poll routes in front."""

    def test_serves_the_shared_app_through_the_dispatcher(self, monkeypatch):
        from fastapi.testclient import TestClient

        monkeypatch.setenv("CMVC_NO_APP", "1")
        from cmvc_gpu.app import create_modal_web_app

        engine = {"id": "model", "version": "1.0.0", "models": ModelEngineConfig().models()}
        result = {
            "engine": engine,
            "video": {
                "container": "mp4",
                "mimeType": "video/mp4",
                "width": 32,
                "height": 32,
                "fps": 8.0,
                "frameCount": 4,
                "bytes": 3,
                "sha256": "ab" * 32,
            },
            # As the GPU container reports them: its input fetches and its upload apart from the compute.
            "seconds": {"gpu": 1.0, "cpu": 1.0, "fetch": 0.05, "upload": 0.1},
        }
        calls = {}
        method = FakeMethod(lambda request: {"ok": True, "result": result})
        failing = FakeMethod(
            lambda request: {"ok": False, "error": {"code": "not_found", "message": "no LoRA adapter 'x'"}}
        )
        dispatcher = Dispatcher(
            {"generate": method, "interpolate": failing}, from_id=lambda i: calls[i], progress_store={}
        )
        client = TestClient(create_modal_web_app(dispatcher, ModelEngineConfig()))

        info = client.get("/v1/info").json()
        assert info["engine"] == engine and info["engine"]["models"]["flf2v"].startswith("Wan-AI/")
        body = {
            "mode": "tt2v",
            "segment": {"contentText": "c", "motionText": "m"},
            "width": 32,
            "height": 32,
            "fps": 8,
            "frameCount": 4,
            "seed": 1,
            "output": {"url": "https://store.example/a.mp4"},
        }
        assert client.post("/v1/generate", json=body).json() == result
        missing = client.post(
            "/v1/interpolate",
            json={"video": {"url": "https://store.example/b.mp4"}, "factor": 2, "adapterId": "x", "output": body["output"]},
        )
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        submitted = client.post("/v1/generate/submit", json=body)
        assert submitted.status_code == 202 and submitted.json()["callId"] == "generate~fc-abc123"
        calls["fc-abc123"] = FakeCall("fc-abc123", {"ok": True, "result": result})
        assert client.get("/v1/calls/generate~fc-abc123").json() == {"status": "succeeded", "result": result}


class TestAspect:
    """Defect 11 of issue 24: a 16:9 source generated at 832x480 (aspect 1.733) was resized to the
    asked 16:9 size, stretching it by 2.5%; its keyframes went into the model stretched the other way."""

    def test_a_generated_clip_keeps_its_aspect_cropped_not_stretched(self):
        # A disc generated at the 832x480 aspect (104x60 here), asked at 16:9: it must stay round.
        h, w = 60, 104
        yy, xx = np.mgrid[0:h, 0:w]
        disc = ((xx + 0.5 - w / 2) ** 2 + (yy + 0.5 - h / 2) ** 2 <= 25**2).astype(np.uint8) * 255
        clip = np.repeat(disc[None, :, :, None], 3, axis=3).repeat(2, axis=0)
        fitted = sampling.fit_clip(clip, 640, 360, 2)[0, :, :, 0] > 127
        rows, cols = np.nonzero(fitted)
        ratio = (cols.max() - cols.min() + 1) / (rows.max() - rows.min() + 1)
        assert abs(ratio - 1.0) <= 0.01, ratio  # stretched to 16:9 it would be 2.6% wider than tall

    def test_cover_box_crops_the_longer_side_only(self):
        assert sampling.cover_box(100, 50, 50, 50) == (25, 0, 75, 50)
        assert sampling.cover_box(50, 100, 50, 50) == (0, 25, 50, 75)
        assert sampling.cover_box(64, 48, 32, 24) == (0, 0, 64, 48)

    def test_a_keyframe_goes_into_the_model_with_its_aspect(self):
        import base64
        import io

        from PIL import Image

        from cmvc_gpu.engines.model import media

        yy, xx = np.mgrid[0:90, 0:160]
        disc = (((xx - 80) ** 2 + (yy - 45) ** 2) <= 30**2).astype(np.uint8) * 255
        buffer = io.BytesIO()
        Image.fromarray(np.repeat(disc[:, :, None], 3, axis=2)).save(buffer, format="PNG")
        keyframe = {"codec": "webp", "width": 160, "height": 90, "data": base64.b64encode(buffer.getvalue()).decode(), "frameIndex": 0}
        array = media.keyframe_array(keyframe, 64, 48)[:, :, 0] > 127  # 4:3 model geometry from a 16:9 keyframe
        rows, cols = np.nonzero(array)
        assert abs((cols.max() - cols.min() + 1) / (rows.max() - rows.min() + 1) - 1.0) <= 0.06


def test_the_generated_size_table_the_worker_names_in_its_header_is_the_model_geometry():
    """The Worker's CMVC-Generated-Size header (``generatedSize`` in src/gpu/cost-model.ts) computes the
    model engine's geometry from what gpu-cost.json exports; both sides are held to one table."""
    import json
    from pathlib import Path

    from cmvc_gpu.engines.model import cost
    from cmvc_gpu.engines.model.config import ClipConfig

    root = Path(__file__).resolve().parents[3]
    table = json.loads((root / "test" / "fixtures" / "generated-sizes.json").read_text())["sizes"]
    clip = ClipConfig()
    for width, height, generated_w, generated_h in table:
        assert sampling.model_geometry(width, height, clip.spatial_multiple, clip.max_area) == (generated_w, generated_h)
    exported = json.loads((root / "schemas" / "gpu-cost.json").read_text())["engines"]["model"]["generation"]
    expected = {"maxPixels": clip.max_area, "sizeMultiple": clip.spatial_multiple, "fps": clip.native_fps}
    assert exported == expected == cost.cost_entry(cost.SCHEDULES["default"])["generation"]
