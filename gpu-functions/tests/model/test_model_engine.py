"""The model engine end to end through the real libraries with tiny random models (contract JSON
in, contract JSON out, validated against schemas/gpu), and its orchestration with fakes."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="the model engine tests need torch (pip install -r gpu-functions/requirements-model.txt)"
)
pytest.importorskip("diffusers", reason="the model engine tests need diffusers (requirements-model.txt)")
pytest.importorskip("peft", reason="the model engine tests need peft (requirements-model.txt)")
jsonschema = pytest.importorskip("jsonschema")

from _tiny_models import tiny_clip, tiny_config, tiny_qwen, tiny_wan, with_adapters  # noqa: E402
from test_model_classes import moving_square  # noqa: E402

from cmvc_gpu.engines.model import media, prompts, sampling  # noqa: E402
from cmvc_gpu.engines.model.dispatch import envelope  # noqa: E402
from cmvc_gpu.engines.model.encoder import Encoder  # noqa: E402
from cmvc_gpu.engines.model.engine import ModelEngine  # noqa: E402
from cmvc_gpu.engines.model.generator import Generator  # noqa: E402
from cmvc_gpu.engines.model.tiny import save_tiny_adapter, tiny_pipes  # noqa: E402
from cmvc_gpu.media import video_io  # noqa: E402
from cmvc_gpu.outputs import deliver  # noqa: E402

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "gpu"
FFPROBE = "/usr/bin/ffprobe"
ADAPTER = "interp-lora-v1-r4-test"


def validate(name: str, body: dict) -> None:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(body)


def probe(data: bytes, tmp_path: Path) -> dict:
    path = tmp_path / "probe.mp4"
    path.write_bytes(data)
    out = subprocess.run(
        [
            FFPROBE,
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames,avg_frame_rate",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)["streams"][0]


def two_scene_video() -> np.ndarray:
    first = moving_square(8, seed=0)
    second = 255 - moving_square(8, seed=1)
    second[:, :, :, 1] = 30
    return np.concatenate([first, second])


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> ModelEngine:
    adapters = tmp_path_factory.mktemp("adapters")
    save_tiny_adapter(str(adapters), ADAPTER, rank=4, alpha=8)
    config = with_adapters(tiny_config(), str(adapters))
    mllm, processor = tiny_qwen()
    embedder, embed_processor = tiny_clip()
    return ModelEngine(
        config,
        encoder=Encoder(mllm, processor, embedder, embed_processor, config.encoder),
        generator=Generator(tiny_pipes(), config.generator),
    )


def keyframe_at(frame: np.ndarray, index: int, priority: int = 255) -> dict:
    return {**media.code_keyframe(frame, 4096), "frameIndex": index, "priority": priority}


def data_source(frames: np.ndarray, fps: float) -> dict:
    return {"data": base64.b64encode(video_io.encode(list(frames), fps)).decode("ascii")}


class TestEndToEnd:
    def test_encode_returns_schema_valid_texts_and_keyframes(self, engine):
        request = {
            "video": data_source(two_scene_video(), 8.0),
            "options": {"minSegmentSeconds": 0.5, "maxSegmentSeconds": 10, "maxTextChars": 120},
        }
        validate("encode.request", request)
        progress: list[float] = []
        response = engine.encode_json(request, progress.append)
        validate("encode.response", response)
        assert response["engine"]["id"] == "model" and response["engine"]["models"]["mllm"] == "tiny/random@" + "0" * 40
        assert response["video"]["frameCount"] == 16
        assert sum(s["frameCount"] for s in response["segments"]) == 16
        for segment in response["segments"]:
            assert 1 <= len(segment["contentText"]) <= 120 and 1 <= len(segment["motionText"]) <= 120
            keyframes = segment["keyframes"]
            assert keyframes and all(0 <= k["frameIndex"] < segment["frameCount"] for k in keyframes)
            assert keyframes[0]["codec"] == "webp" and len(base64.b64decode(keyframes[0]["data"])) <= 2048
        assert progress[-1] == 1.0 and progress == sorted(progress)

    def test_generate_returns_a_playable_mp4_of_the_asked_geometry(self, engine, tmp_path, store):
        request = {
            "mode": "tt2v",
            "segment": {"contentText": "a red square", "motionText": "moves left"},
            "width": 48,
            "height": 32,
            "fps": 8,
            "frameCount": 11,
            "seed": 5,
            "output": store.target("model/generate.mp4"),
        }
        validate("generate.request", request)
        response = deliver(request, engine.generate_json(request))
        validate("generate.response", response)
        video = response["video"]
        assert (video["width"], video["height"], video["frameCount"], video["fps"]) == (48, 32, 11, 8.0)
        stream = probe(store.objects["model/generate.mp4"], tmp_path)
        assert (stream["codec_name"], stream["width"], stream["height"], int(stream["nb_read_frames"])) == (
            "h264",
            48,
            32,
            11,
        )
        assert stream["avg_frame_rate"] == "8/1"

    def test_it2v_bridges_keyframes_with_the_adapter_and_is_deterministic(self, engine):
        frames = moving_square(16)
        segment = {
            "contentText": "a red square",
            "motionText": "moves left",
            "keyframes": [keyframe_at(frames[0], 0), keyframe_at(frames[8], 8, 100)],
        }
        request = {"mode": "it2v", "segment": segment, "width": 32, "height": 32, "fps": 8, "frameCount": 16,
                   "seed": 11, "adapterId": ADAPTER}
        response = engine.generate_json(request)
        assert response["engine"]["models"]["bridgeAdapter"] == ADAPTER
        # The engine hands back the file's bytes; the app uploads them to the request's target.
        a = media.decode_video(response["video"]["data"])[0]
        b = media.decode_video(engine.generate_json(request)["video"]["data"])[0]
        c = media.decode_video(engine.generate_json({**request, "seed": 12})["video"]["data"])[0]
        assert a.shape == (16, 32, 32, 3)
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)

    def test_it2v_reads_the_contract_1_single_keyframe(self, engine):
        keyframe = media.code_keyframe(moving_square(1)[0], 4096)
        request = {
            "mode": "it2v",
            "segment": {"contentText": "a red square", "motionText": "moves left", "keyframes": [{**keyframe, "frameIndex": 0, "priority": 255}]},
            "width": 32,
            "height": 32,
            "fps": 8,
            "frameCount": 6,
            "seed": 11,
        }
        assert engine.generate_json(request)["video"]["frameCount"] == 6

    def test_interpolate_raises_the_frame_rate_without_a_model(self, engine, tmp_path, store):
        square = video_io.encode(list(moving_square(4)), 4.0)
        request = {"video": store.source("model/square.mp4", square), "factor": 2, "output": store.target("model/x2.mp4")}
        validate("interpolate.request", request)
        response = deliver(request, engine.interpolate_json(request))
        validate("interpolate.response", response)
        assert (response["video"]["frameCount"], response["video"]["fps"]) == (8, 8.0)
        assert int(probe(store.objects["model/x2.mp4"], tmp_path)["nb_read_frames"]) == 8

    def test_errors_become_contract_codes(self, engine):
        def run(call, request):
            answer = envelope(lambda report: call(request, report), log=lambda _: None)
            assert answer["ok"] is False
            validate("error", {"error": answer["error"]})
            return answer["error"]["code"]

        frames = moving_square(16)
        it2v = {
            "mode": "it2v",
            "segment": {"contentText": "c", "motionText": "m", "keyframes": []},
            "width": 32,
            "height": 32,
            "fps": 8,
            "frameCount": 16,
            "seed": 0,
        }
        assert run(engine.generate_json, it2v) == "invalid_request"
        two = {**it2v, "segment": {**it2v["segment"], "keyframes": [keyframe_at(frames[0], 0), keyframe_at(frames[8], 8)]}}
        assert run(engine.generate_json, two) == "invalid_request"  # bridging needs an adapter
        assert run(engine.generate_json, {**two, "adapterId": "interp-lora-v9-none"}) == "not_found"
        assert run(engine.generate_json, {**two, "adapterId": "../x"}) == "invalid_request"
        late = {**it2v, "segment": {**it2v["segment"], "keyframes": [keyframe_at(frames[0], 16)]}}
        assert run(engine.generate_json, late) == "invalid_request"
        assert run(engine.encode_json, {"video": {"data": ""}}) == "undecodable_video"
        assert run(engine.generate_json, {**it2v, "mode": "tt2v", "width": 33}) == "invalid_request"
        source = data_source(moving_square(3), 4.0)
        assert run(engine.interpolate_json, {"video": source, "factor": 9}) == "invalid_request"
        bare = ModelEngine(engine.config)
        assert run(bare.generate_json, {**it2v, "mode": "tt2v"}) == "engine_failure"


class TestLongEncodes:
    def test_encode_streams_frames_instead_of_stacking_the_video(self, monkeypatch):
        """The decoded video is never held whole: peak traced memory stays far below the size of
        the stacked frames (300 frames of 320x240 = 69 MB)."""
        import tracemalloc

        class Light:
            def embed(self, frames):
                return np.stack([np.array([1.0, float(f.mean() > 1e9)], np.float32) for f in frames])

            def describe(self, frames, fps, kind, max_chars):
                return "a scene"

            def frames_for(self, seconds):
                return 16

        video = np.repeat(moving_square(300, size=32), 8, axis=1)  # 300 x 256 x 32
        video = np.repeat(video, 10, axis=2)[:, :240, :320]
        data = data_source(video, 24.0)
        engine = ModelEngine(tiny_config(), encoder=Light())
        tracemalloc.start()
        try:
            response = engine.encode_json({"video": data, "options": {"maxSegmentSeconds": 10}})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert response["video"]["frameCount"] == 300
        assert peak < video.nbytes / 4, f"peak {peak / 1e6:.1f} MB for a {video.nbytes / 1e6:.1f} MB video"


class FakeEncoder:
    """Embeddings that put frames 0-7 and 8-15 in two scenes; frame 5 and frame 12 closest to
    their scene's mean; descriptions that need cleaning."""

    def __init__(self):
        self.described: list[tuple] = []

    def embed(self, frames):
        rows = []
        for f in frames:
            index = int(f[0, 0, 0])
            angle = 0.0 if index < 8 else np.pi / 2
            spread = 0.0 if index in (5, 12) else 0.3 * (1 if index % 2 else -1)
            rows.append([np.cos(angle + spread), np.sin(angle + spread)])
        return np.array(rows, np.float32)

    def describe(self, frames, fps, kind, max_chars):
        self.described.append(([int(f[0, 0, 0]) for f in frames], fps, kind, max_chars))
        return f"**{kind.title()}:** " + "word " * 100

    def frames_for(self, seconds):
        return tiny_config().encoder.frames_per_segment


class TestOrchestration:
    def test_scenes_keyframes_sampling_and_texts(self, monkeypatch):
        from cmvc_gpu.media.decode import StreamInfo

        frames = np.zeros((16, 32, 32, 3), np.uint8)
        for i in range(16):
            frames[i] = i  # the frame's index is its pixel value
        info = StreamInfo(32, 32, 8.0, "h264", 0, 16, 2.0)
        monkeypatch.setattr(media, "read_source", lambda source: b"video")
        monkeypatch.setattr(media, "probe_video", lambda data, frame_rate=None: info)
        monkeypatch.setattr(
            media,
            "stream_frames",
            lambda data, info, wanted=None: ((i, f) for i, f in enumerate(frames) if wanted is None or i in wanted),
        )
        coded = []
        monkeypatch.setattr(
            media,
            "code_keyframe",
            lambda frame, budget_bytes, codec, max_width: (
                coded.append((int(frame[0, 0, 0]), budget_bytes, codec, max_width))
                or {"codec": codec, "width": 8, "height": 8, "data": ""}
            ),
        )
        fake = FakeEncoder()
        engine = ModelEngine(tiny_config(), encoder=fake)
        response = engine.encode_json(
            {
                "video": {"data": ""},
                "options": {"minSegmentSeconds": 0.5, "maxTextChars": 40, "keyframeBudgetBytes": 999},
            }
        )
        assert [(s["startFrame"], s["frameCount"]) for s in response["segments"]] == [(0, 8), (8, 8)]
        # each segment's first frame (the tiny clip bridges 1 s, so one keyframe per 1-s segment)
        assert coded == [(0, 999, "webp", 320), (8, 999, "webp", 320)]
        n = engine.config.encoder.frames_per_segment
        assert [d[0] for d in fake.described] == [sampling.sample_indices(0, 8, n)] * 2 + [
            sampling.sample_indices(8, 8, n)
        ] * 2
        assert [d[2] for d in fake.described] == ["content", "motion", "content", "motion"]
        assert all(d[1] == n / (8 / 8.0) and d[3] == 40 for d in fake.described)
        texts = [s["contentText"] for s in response["segments"]] + [s["motionText"] for s in response["segments"]]
        assert all(len(t) <= 40 and "*" not in t for t in texts)
        assert response["segments"][0]["contentText"].startswith("Content: word")

    def test_encode_is_an_analysis_then_describe_calls_over_groups(self, monkeypatch):
        from cmvc_gpu.engines.model import cost

        seen = []
        analysis = {"video": {"fps": 8.0, "frameCount": 24}, "segments": [[0, 8], [8, 8], [16, 8]]}

        def describe(request, got, indices):
            seen.append(indices)
            return [{"index": i} for i in indices]

        monkeypatch.setattr(cost, "encode_groups", lambda segments, frames: [[0, 1], [2]])
        engine = ModelEngine(tiny_config(), run_analyse=lambda request: analysis, run_describe=describe)
        response = engine.encode_json({"video": {"data": ""}})
        assert seen == [[0, 1], [2]] and [s["index"] for s in response["segments"]] == [0, 1, 2]
        assert response["video"] == analysis["video"]

    def test_keyframes_follow_the_exported_contract(self, monkeypatch):
        keyframes = [{"codec": "webp", "width": 8, "height": 8, "data": "", "frameIndex": 0, "priority": 255}]
        monkeypatch.setattr(media, "_segment_properties", lambda schema: {"keyframes": {}})
        assert media.segment_keyframes(keyframes) == {"keyframes": keyframes}
        monkeypatch.setattr(media, "_segment_properties", lambda schema: {"keyframe": {}})
        assert media.segment_keyframes(keyframes) == {"keyframe": {"codec": "webp", "width": 8, "height": 8, "data": ""}}

    def test_generate_plans_the_calls_and_passes_the_request_through(self):
        seen = []

        def run_call(index, call, prompt, first, last, width, height, seed, adapter_id):
            seen.append((index, call.model, call.start, call.frames, prompt, width, height, seed, adapter_id,
                         None if first is None else first.shape))
            return np.full((call.frames, height, width, 3), 50 * index, np.uint8)

        engine = ModelEngine(tiny_config(default_adapter_id="interp-default"), run_call=run_call)
        frames = moving_square(30)
        response = engine.generate_json(
            {
                "mode": "it2v",
                "segment": {"contentText": "c", "motionText": "m",
                            "keyframes": [keyframe_at(frames[12], 12), keyframe_at(frames[0], 0)]},
                "width": 64,
                "height": 48,
                "fps": 12.0,
                "frameCount": 24,
                "seed": 42,
            }
        )
        # 2 s at the tiny native 8 frames/s: keyframes at 0 and 8, then image-to-video to 15
        assert seen == [
            (0, "flf2v", 0, 9, prompts.it2v_prompt("c", "m"), 32, 32, 42, "interp-default", (32, 32, 3)),
            (1, "i2v", 8, 8, prompts.it2v_prompt("c", "m"), 32, 32, 42, "interp-default", (32, 32, 3)),
        ]
        assert response["video"]["frameCount"] == 24 and response["video"]["width"] == 64

        started = []

        def start_call(index, call, *rest):
            started.append((index, call.model, rest[-1]))
            return lambda: run_call(index, call, *rest)

        seen.clear()
        spawning = ModelEngine(tiny_config(default_adapter_id="interp-default"), run_call=run_call, start_call=start_call)
        again = spawning.generate_json(
            {
                "mode": "it2v",
                "segment": {"contentText": "c", "motionText": "m",
                            "keyframes": [keyframe_at(frames[12], 12), keyframe_at(frames[0], 0)]},
                "width": 64,
                "height": 48,
                "fps": 12.0,
                "frameCount": 24,
                "seed": 42,
            }
        )
        assert started == [(0, "flf2v", "interp-default"), (1, "i2v", "interp-default")]
        assert again["video"]["data"] == response["video"]["data"]


def test_load_reads_every_model_through_from_pretrained(tmp_path):
    """The production loading path (`ModelEngine.load` → each class's `from_pretrained`), on tiny
    models saved to local folders standing in for the hub repositories."""
    from dataclasses import replace

    from cmvc_gpu.engines.model.config import ModelRef

    def ref(name: str) -> ModelRef:
        return ModelRef(str(tmp_path / name), "0" * 40)

    mllm, processor = tiny_qwen()
    mllm.save_pretrained(tmp_path / "mllm")
    processor.save_pretrained(tmp_path / "mllm")
    embedder, embed_processor = tiny_clip()
    embedder.save_pretrained(tmp_path / "embedder")
    embed_processor.save_pretrained(tmp_path / "embedder")
    for kind in ("t2v", "i2v", "flf2v"):
        tiny_wan(kind).save_pretrained(tmp_path / kind)

    base = tiny_config()
    config = replace(
        base,
        encoder=replace(base.encoder, mllm=ref("mllm"), embedder=ref("embedder")),
        generator=replace(base.generator, t2v=ref("t2v"), i2v=ref("i2v"), flf2v=ref("flf2v")),
    )
    engine = ModelEngine.load(config)
    pipes = engine.generator.pipes
    assert pipes["t2v"].text_encoder is pipes["i2v"].text_encoder is pipes["flf2v"].text_encoder  # one copy
    assert pipes["flf2v"].vae is pipes["i2v"].vae and pipes["flf2v"].image_encoder is pipes["i2v"].image_encoder
    assert engine.engine_info()["models"]["t2v"] == f"{tmp_path / 't2v'}@{'0' * 40}"
    response = engine.generate_json(
        {"mode": "tt2v", "segment": {"contentText": "a", "motionText": "b"}, "width": 32, "height": 32,
         "fps": 8, "frameCount": 5, "seed": 0}
    )
    assert response["video"]["frameCount"] == 5
    assert set(ModelEngine.load(config, roles=("bridge",)).generator.pipes) == {"flf2v"}
    assert engine.encoder.embed(moving_square(2)).shape == (2, 8)
    assert isinstance(engine.encoder.describe(moving_square(2), 8.0, "content", 50), str)
    with pytest.raises(ValueError, match="unknown roles"):
        ModelEngine.load(config, roles=("decoder",))


def test_few_step_schedule_loads_the_distilled_lora_and_runs_unguided(tmp_path):
    """``CMVC_STEPS=few`` as served: the distilled LoRA loaded through diffusers on the 14B
    pipelines next to the bridge adapter, 4 steps, one transformer pass per step (a local folder
    stands in for the hub repository)."""
    from dataclasses import replace

    from diffusers import WanImageToVideoPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    from test_model_classes import count_passes

    from cmvc_gpu.engines.model.adapters import DISTILL_ADAPTER
    from cmvc_gpu.engines.model.config import DEFAULT_SCHEDULE, FEW_STEP_SCHEDULE, ModelRef, model_schedule
    from cmvc_gpu.engines.model.errors import AdapterMismatch
    from cmvc_gpu.engines.model.segment_plan import ModelCall, Source

    donor = tiny_wan("i2v")
    donor.transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_v"], init_lora_weights="gaussian"))
    WanImageToVideoPipeline.save_lora_weights(
        str(tmp_path / "distill" / "Lightx2v"), transformer_lora_layers=get_peft_model_state_dict(donor.transformer),
        weight_name="tiny_distill.safetensors",
    )
    for kind in ("i2v", "flf2v"):
        tiny_wan(kind).save_pretrained(tmp_path / kind)
    save_tiny_adapter(str(tmp_path / "adapters"), ADAPTER, schedule="few")  # trained stacked, as served
    schedule = replace(
        FEW_STEP_SCHEDULE, distill_lora=ModelRef(str(tmp_path / "distill"), "0" * 40),
        distill_lora_file="Lightx2v/tiny_distill.safetensors", distilled=("i2v", "flf2v"),  # CMVC_FEW_STEP_BRIDGES=1
    )
    base = tiny_config(str(tmp_path / "adapters"))
    generator_config = replace(
        base.generator, schedule=schedule,
        i2v=ModelRef(str(tmp_path / "i2v"), "0" * 40), flf2v=ModelRef(str(tmp_path / "flf2v"), "0" * 40),
    )
    generator = Generator.from_pretrained(generator_config, device="cpu", dtype="float32", models=("i2v", "flf2v"))
    i2v, flf2v = generator.pipes["i2v"], generator.pipes["flf2v"]
    assert i2v.get_active_adapters() == [DISTILL_ADAPTER]
    assert {p.scheduler.config.shift for p in (i2v, flf2v)} == {5.0}
    passes = count_passes(i2v)
    key = moving_square(2)
    generator.run_call(0, ModelCall("i2v", 0, 5, 5, Source("keyframe", 0)), "p", key[0], None, 32, 32, seed=0)
    assert passes[0] == 4  # 4 steps, guidance off
    bridge = ModelCall("flf2v", 0, 5, 5, Source("keyframe", 0), Source("keyframe", 1))
    generator.run_call(0, bridge, "p", key[0], key[1], 32, 32, seed=0, adapter_id=ADAPTER)
    assert sorted(flf2v.get_active_adapters()) == sorted([DISTILL_ADAPTER, ADAPTER.replace("-", "_")])
    t2v = Generator({"t2v": tiny_wan("t2v")}, generator_config)  # the LoRA is for the 14B models
    assert t2v.pipes["t2v"].scheduler.config.shift == model_schedule(DEFAULT_SCHEDULE, "t2v").flow_shift == 5.0

    # By default the distilled LoRA runs on I2V alone (distilled from it); bridges keep Wan's FLF2V
    # sampling (50 steps, shift 16, guidance), and an adapter trained stacked on the LoRA is refused there.
    plain = replace(generator_config, schedule=replace(schedule, distilled=("i2v",)))
    served = Generator.from_pretrained(plain, device="cpu", dtype="float32", models=("i2v", "flf2v"))
    assert served.pipes["flf2v"].scheduler.config.shift == 16.0 and DISTILL_ADAPTER not in served.pipes["flf2v"].get_list_adapters().get("transformer", [])
    with pytest.raises(AdapterMismatch, match="trained for first/last-frame calls sampled under the 'few' schedule; here they run under 'default'"):
        served.run_call(0, bridge, "p", key[0], key[1], 32, 32, seed=0, adapter_id=ADAPTER)


def test_a_segment_that_cannot_finish_inside_the_deadline_is_refused_before_any_call():
    """Defect 2 of issue 24: a minute-long TT2V segment (an imported bitstream's; the encoder cuts at
    most 15 s) is 12 calls one after another, ~4,700 s: refused as ``too_long`` before a GPU second."""
    from cmvc_gpu.engines.model.config import ModelEngineConfig
    from cmvc_gpu.errors import ContractError

    calls = []

    def run_call(index, call, *rest):
        calls.append(call)
        raise RuntimeError("the calls ran")

    engine = ModelEngine(ModelEngineConfig(device="cpu"), run_call=run_call)
    request = {"mode": "tt2v", "segment": {"contentText": "c", "motionText": "m"}, "width": 832, "height": 480, "fps": 24.0, "seed": 1}
    with pytest.raises(ContractError, match="past the 1800-s generation deadline") as refused:
        engine.generate_json({**request, "frameCount": 60 * 24})
    assert refused.value.code == "too_long" and calls == []
    with pytest.raises(RuntimeError, match="the calls ran"):  # ten seconds fit: planned, then run
        engine.generate_json({**request, "frameCount": 10 * 24})
