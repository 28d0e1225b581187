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
from cmvc_gpu.engines.model import media, prompts, sampling  # noqa: E402
from cmvc_gpu.engines.model.dispatch import envelope  # noqa: E402
from cmvc_gpu.engines.model.encoder import Encoder  # noqa: E402
from cmvc_gpu.engines.model.engine import ModelEngine  # noqa: E402
from cmvc_gpu.engines.model.generator import Generator  # noqa: E402
from cmvc_gpu.engines.model.interpolator import LORA_WEIGHTS, Interpolator  # noqa: E402
from cmvc_gpu.engines.reference import video_io  # noqa: E402
from test_model_classes import moving_square  # noqa: E402

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "gpu"
FFPROBE = "/usr/bin/ffprobe"
ADAPTER = "interp-lora-v1-r4-test"


def validate(name: str, body: dict) -> None:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(body)


def probe(data_b64: str, tmp_path: Path) -> dict:
    path = tmp_path / "probe.mp4"
    path.write_bytes(base64.b64decode(data_b64))
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


def save_random_adapter(adapters: Path) -> None:
    from diffusers import WanImageToVideoPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    pipe = tiny_wan("flf2v")
    pipe.transformer.add_adapter(
        LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v"], init_lora_weights="gaussian")
    )
    state = get_peft_model_state_dict(pipe.transformer)
    WanImageToVideoPipeline.save_lora_weights(
        str(adapters / ADAPTER), transformer_lora_layers=state, weight_name=LORA_WEIGHTS
    )


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> ModelEngine:
    adapters = tmp_path_factory.mktemp("adapters")
    save_random_adapter(adapters)
    config = with_adapters(tiny_config(), str(adapters))
    mllm, processor = tiny_qwen()
    embedder, embed_processor = tiny_clip()
    return ModelEngine(
        config,
        encoder=Encoder(mllm, processor, embedder, embed_processor, config.encoder),
        generator=Generator(tiny_wan("t2v"), tiny_wan("i2v"), config.generator),
        interpolator=Interpolator(tiny_wan("flf2v"), config.interpolator),
    )


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
            [keyframe] = segment["keyframes"]
            assert keyframe["codec"] == "webp" and 0 <= keyframe["frameIndex"] < segment["frameCount"]
            assert len(base64.b64decode(keyframe["data"])) <= 2048
        assert progress[-1] == 1.0 and progress == sorted(progress)

    def test_generate_returns_a_playable_mp4_of_the_asked_geometry(self, engine, tmp_path):
        request = {
            "mode": "tt2v",
            "segment": {"contentText": "a red square", "motionText": "moves left"},
            "width": 48,
            "height": 32,
            "fps": 8,
            "frameCount": 11,
            "seed": 5,
        }
        validate("generate.request", request)
        response = engine.generate_json(request)
        validate("generate.response", response)
        video = response["video"]
        assert (video["width"], video["height"], video["frameCount"], video["fps"]) == (48, 32, 11, 8.0)
        stream = probe(video["data"], tmp_path)
        assert (stream["codec_name"], stream["width"], stream["height"], int(stream["nb_read_frames"])) == (
            "h264",
            48,
            32,
            11,
        )
        assert stream["avg_frame_rate"] == "8/1"

    def test_same_seed_same_frames(self, engine):
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
        a = media.decode_video(base64.b64decode(engine.generate_json(request)["video"]["data"]))[0]
        b = media.decode_video(base64.b64decode(engine.generate_json(request)["video"]["data"]))[0]
        c = media.decode_video(base64.b64decode(engine.generate_json({**request, "seed": 12})["video"]["data"]))[0]
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)

    def test_interpolate_multiplies_the_frame_count(self, engine, tmp_path):
        request = {"video": data_source(moving_square(4), 4.0), "factor": 2, "adapterId": ADAPTER}
        validate("interpolate.request", request)
        response = engine.interpolate_json(request)
        validate("interpolate.response", response)
        assert (response["video"]["frameCount"], response["video"]["fps"]) == (8, 8.0)
        assert int(probe(response["video"]["data"], tmp_path)["nb_read_frames"]) == 8
        assert response["engine"]["models"]["interpolationAdapter"] == ADAPTER

    def test_errors_become_contract_codes(self, engine):
        def run(call, request):
            answer = envelope(lambda report: call(request, report), log=lambda _: None)
            assert answer["ok"] is False
            validate("error", {"error": answer["error"]})
            return answer["error"]["code"]

        source = data_source(moving_square(3), 4.0)
        assert run(engine.interpolate_json, {"video": source, "factor": 2, "adapterId": None}) == "invalid_request"
        assert (
            run(engine.interpolate_json, {"video": source, "factor": 2, "adapterId": "interp-lora-v9-none"})
            == "not_found"
        )
        it2v = {
            "mode": "it2v",
            "segment": {"contentText": "c", "motionText": "m", "keyframes": []},
            "width": 32,
            "height": 32,
            "fps": 8,
            "frameCount": 4,
            "seed": 0,
        }
        assert run(engine.generate_json, it2v) == "invalid_request"
        assert run(engine.encode_json, {"video": {"data": ""}}) == "undecodable_video"
        assert run(engine.generate_json, {**it2v, "mode": "tt2v", "width": 33}) == "invalid_request"
        assert run(engine.interpolate_json, {"video": source, "factor": 2, "adapterId": "../x"}) == "invalid_request"
        bare = ModelEngine(engine.config)
        assert run(bare.generate_json, {**it2v, "mode": "tt2v"}) == "engine_failure"


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


class TestOrchestration:
    def test_scenes_keyframes_sampling_and_texts(self, monkeypatch):
        frames = np.zeros((16, 32, 32, 3), np.uint8)
        for i in range(16):
            frames[i] = i  # the frame's index is its pixel value
        meta = {
            "width": 32,
            "height": 32,
            "fps": 8.0,
            "frameCount": 16,
            "durationSeconds": 2.0,
            "codec": "h264",
            "rotation": 0,
        }
        monkeypatch.setattr(media, "read_source", lambda source: b"video")
        monkeypatch.setattr(media, "decode_video", lambda data: (frames, meta))
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
        assert coded == [(5, 999, "webp", 320), (12, 999, "webp", 320)]
        n = engine.config.encoder.frames_per_segment
        assert [d[0] for d in fake.described] == [sampling.sample_indices(0, 8, n)] * 2 + [
            sampling.sample_indices(8, 8, n)
        ] * 2
        assert [d[2] for d in fake.described] == ["content", "motion", "content", "motion"]
        assert all(d[1] == n / (8 / 8.0) and d[3] == 40 for d in fake.described)
        texts = [s["contentText"] for s in response["segments"]] + [s["motionText"] for s in response["segments"]]
        assert all(len(t) <= 40 and "*" not in t for t in texts)
        assert response["segments"][0]["contentText"].startswith("Content: word")

    def test_generate_passes_the_request_through(self, monkeypatch):
        seen = {}

        class FakeGenerator:
            def generate(self, **kwargs):
                seen.update(kwargs)
                return np.zeros((kwargs["frame_count"], kwargs["height"], kwargs["width"], 3), np.uint8)

        engine = ModelEngine(tiny_config(), generator=FakeGenerator())
        keyframe = media.code_keyframe(moving_square(1)[0], 4096)
        response = engine.generate_json(
            {
                "mode": "it2v",
                "segment": {"contentText": "c", "motionText": "m", "keyframes": [{**keyframe, "frameIndex": 0, "priority": 255}]},
                "width": 64,
                "height": 48,
                "fps": 12.5,
                "frameCount": 9,
                "seed": 42,
            }
        )
        assert {
            k: seen[k] for k in ("mode", "content_text", "motion_text", "width", "height", "fps", "frame_count", "seed")
        } == {
            "mode": "it2v",
            "content_text": "c",
            "motion_text": "m",
            "width": 64,
            "height": 48,
            "fps": 12.5,
            "frame_count": 9,
            "seed": 42,
        }
        assert seen["keyframe"].size == (keyframe["width"], keyframe["height"])
        assert response["video"]["frameCount"] == 9
        assert prompts.it2v_prompt("c", "m") == "m c"


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
        generator=replace(base.generator, t2v=ref("t2v"), i2v=ref("i2v")),
        interpolator=replace(base.interpolator, flf2v=ref("flf2v")),
    )
    engine = ModelEngine.load(config)
    assert engine.generator.t2v.text_encoder is engine.generator.i2v.text_encoder  # one copy on the GPU
    assert engine.engine_info()["models"]["t2v"] == f"{tmp_path / 't2v'}@{'0' * 40}"
    frames = engine.generator.generate("tt2v", "a red square", "moves left", None, 32, 32, 8.0, 5, seed=0)
    assert frames.shape == (5, 32, 32, 3)
    assert engine.encoder.embed(moving_square(2)).shape == (2, 8)
    assert isinstance(engine.encoder.describe(moving_square(2), 8.0, "content", 50), str)
    with pytest.raises(ValueError, match="unknown roles"):
        ModelEngine.load(config, roles=("decoder",))
