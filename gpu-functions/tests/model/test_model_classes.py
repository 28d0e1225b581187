"""The model classes through the real libraries with tiny random models (CPU, two steps, guidance
on as served), and their orchestration with injected fakes where a case needs exact control."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="the model engine tests need torch (pip install -r gpu-functions/requirements-model.txt)"
)
pytest.importorskip("diffusers", reason="the model engine tests need diffusers (requirements-model.txt)")
pytest.importorskip("transformers", reason="the model engine tests need transformers (requirements-model.txt)")

from _tiny_models import tiny_clip, tiny_config, tiny_qwen  # noqa: E402

from cmvc_gpu.engines.model import prompts  # noqa: E402
from cmvc_gpu.engines.model.adapters import AdapterSet, resolve_adapter  # noqa: E402
from cmvc_gpu.engines.model.encoder import Encoder  # noqa: E402
from cmvc_gpu.engines.model.errors import AdapterNotFound, AdapterRequired, ModelInputError  # noqa: E402
from cmvc_gpu.engines.model.generator import Generator, run_segment  # noqa: E402
from cmvc_gpu.engines.model.segment_plan import ModelCall, Source, plan_segment  # noqa: E402
from cmvc_gpu.engines.model.tiny import tiny_pipes, tiny_wan  # noqa: E402

CONFIG = tiny_config()


def moving_square(frames: int, size: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    video = np.empty((frames, size, size, 3), np.uint8)
    video[:] = rng.integers(0, 90, 3, dtype=np.uint8)
    for i in range(frames):
        x = (2 * i + 3 * seed) % (size - 8)
        video[i, 8:16, x : x + 8] = (240, 40, 40)
    return video


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    mllm, processor = tiny_qwen()
    embedder, embed_processor = tiny_clip()
    return Encoder(mllm, processor, embedder, embed_processor, CONFIG.encoder)


@pytest.fixture(scope="module")
def generator() -> Generator:
    return Generator(tiny_pipes(), CONFIG.generator)


class TestEncoder:
    def test_embeds_every_frame(self, encoder):
        embeddings = encoder.embed(moving_square(5))
        assert embeddings.shape == (5, 8) and embeddings.dtype == np.float32
        np.testing.assert_array_equal(embeddings, encoder.embed(moving_square(5)))

    def test_describes_with_the_real_mllm(self, encoder):
        text = encoder.describe(moving_square(4), 8.0, "content", 100)
        assert isinstance(text, str)
        assert text == encoder.describe(moving_square(4), 8.0, "content", 100)  # greedy: deterministic

    def test_rejects_odd_frame_counts(self, encoder):
        with pytest.raises(ModelInputError, match="even number >= 2"):
            encoder.describe(moving_square(3), 8.0, "motion", 100)

    @pytest.mark.parametrize("fps", [1.6, 4.0])
    def test_the_model_sees_the_sampled_frame_rate(self, encoder, fps):
        """Qwen2.5-VL's temporal positions: each grid step of 2 frames spans 2 / fps seconds at
        the rate the frames were sampled at (a bare ``fps=`` was ignored: 24 frames/s, 0.083 s)."""
        inputs = encoder.inputs(moving_square(4), fps, "motion", 100)
        assert inputs["second_per_grid_ts"].tolist() == pytest.approx([2.0 / fps])

    def test_prompts_and_frames_reach_the_model_as_documented(self):
        class FakeInputs(dict):
            def to(self, device):
                return self

        class FakeProcessor:
            def __init__(self):
                self.seen = []

            def apply_chat_template(self, messages, add_generation_prompt, tokenize):
                self.seen.append(("chat", messages, add_generation_prompt, tokenize))
                return "CHAT"

            def __call__(self, text, videos, video_metadata, do_sample_frames, return_tensors):
                self.seen.append(("call", text, videos, video_metadata, do_sample_frames))
                return FakeInputs(input_ids=torch.zeros((1, 3), dtype=torch.long))

            def batch_decode(self, ids, skip_special_tokens):
                return [f"decoded {ids.shape[1]} tokens"]

        class FakeMllm(torch.nn.Module):
            def generate(self, input_ids, max_new_tokens, do_sample):
                assert (max_new_tokens, do_sample) == (CONFIG.encoder.max_new_tokens, False)
                return torch.ones((1, input_ids.shape[1] + 2), dtype=torch.long)

        processor = FakeProcessor()
        embedder, embed_processor = tiny_clip()
        encoder = Encoder(FakeMllm(), processor, embedder, embed_processor, CONFIG.encoder)
        frames = moving_square(4)
        assert encoder.describe(frames, 6.0, "motion", 77) == "decoded 2 tokens"
        chat, call = processor.seen
        assert chat == ("chat", prompts.describe_messages("motion", 77), True, False)
        assert call[1] == ["CHAT"] and call[4] is False
        assert call[3] == [{"fps": 6.0, "total_num_frames": 4, "frames_indices": [0, 1, 2, 3]}]
        np.testing.assert_array_equal(call[2][0], frames)


def count_passes(pipe) -> list[int]:
    calls = [0]

    def hook(module, args, kwargs):
        calls[0] += 1

    pipe.transformer.register_forward_pre_hook(hook, with_kwargs=True)
    return calls


class TestTemporalPositions:
    """Defect 10 of issue 24: 16 frames always, so under ~4 s a Qwen2.5-VL 7B (2 tokens per second)
    gave two temporal patches one time position and read frames as simultaneous."""

    @pytest.mark.parametrize("seconds", [0.5, 1.0, 2.0, 3.0, 8.0])
    def test_short_segments_get_fewer_frames_with_distinct_time_positions(self, seconds):
        mllm, processor = tiny_qwen()
        mllm.config.vision_config.tokens_per_second = 2  # as Qwen2.5-VL-7B-Instruct's config
        embedder, embed_processor = tiny_clip()
        encoder = Encoder(mllm, processor, embedder, embed_processor, replace(CONFIG.encoder, frames_per_segment=16))
        n = encoder.frames_for(seconds)
        assert n % 2 == 0 and 2 <= n <= 16 and (n == 16 or seconds < 4)
        inputs = encoder.inputs(moving_square(n), n / seconds, "content", 100)
        positions, _ = mllm.model.get_rope_index(
            inputs["input_ids"], inputs["mm_token_type_ids"], None, inputs["video_grid_thw"], inputs["second_per_grid_ts"]
        )
        video = inputs["mm_token_type_ids"][0] == 2
        per_patch = positions[0, 0, video].view(n // 2, -1)[:, 0].tolist()
        assert len(set(per_patch)) == n // 2, per_patch  # one time position per temporal patch


class TestGenerator:
    def test_pipelines_share_one_text_encoder_vae_and_image_encoder(self, generator):
        t2v, i2v, flf2v = (generator.pipes[m] for m in ("t2v", "i2v", "flf2v"))
        assert t2v.text_encoder is i2v.text_encoder is flf2v.text_encoder
        assert t2v.vae is i2v.vae is flf2v.vae and i2v.image_encoder is flf2v.image_encoder

    def test_guidance_runs_the_unconditional_pass(self):
        """Guidance on (as served): two transformer passes per step; off (few-step): one."""
        for scale, passes in ((5.0, 4), (1.0, 2)):
            schedule = replace(CONFIG.generator.schedule, guidance_scale=scale)
            generator = Generator({"t2v": tiny_wan("t2v")}, replace(CONFIG.generator, schedule=schedule))
            calls = count_passes(generator.pipes["t2v"])
            generator.run_call(0, ModelCall("t2v", 0, 5, 5), "a red square", None, None, 32, 32, seed=1)
            assert calls[0] == passes, scale

    def test_the_schedule_sets_the_scheduler_shift(self, generator):
        assert {p.scheduler.config.shift for p in generator.pipes.values()} == {CONFIG.generator.schedule.flow_shift}

    def test_each_model_samples_with_its_own_steps_and_shift(self):
        """Defect 5 of issue 24: one flow shift per schedule, never per model. Wan's own settings:
        T2V 50 steps at shift 5, I2V 40 at shift 3 (480p), FLF2V 50 at shift 16."""
        from cmvc_gpu.engines.model.config import DEFAULT_SCHEDULE, FEW_STEP_SCHEDULE, model_schedule

        wanted = {"t2v": (50, 5.0), "i2v": (40, 3.0), "flf2v": (50, 16.0)}
        assert {m: (model_schedule(DEFAULT_SCHEDULE, m).num_inference_steps, model_schedule(DEFAULT_SCHEDULE, m).flow_shift) for m in wanted} == wanted
        few = {m: model_schedule(FEW_STEP_SCHEDULE, m) for m in wanted}
        assert (few["i2v"].num_inference_steps, few["i2v"].flow_shift, few["i2v"].guided) == (4, 5.0, False)
        assert (few["flf2v"].num_inference_steps, few["flf2v"].flow_shift) == (50, 16.0)  # unmeasured there: opt-in only
        served = replace(CONFIG.generator.schedule, models=DEFAULT_SCHEDULE.models)
        generator = Generator(tiny_pipes(), replace(CONFIG.generator, schedule=served))
        assert {m: p.scheduler.config.shift for m, p in generator.pipes.items()} == {m: shift for m, (_, shift) in wanted.items()}
        passes = count_passes(generator.pipes["i2v"])
        generator.run_call(0, ModelCall("i2v", 0, 5, 5, Source("keyframe", 0)), "p", moving_square(1)[0], None, 32, 32, seed=0)
        assert passes[0] == 2 * 40  # its own 40 steps, each with the unconditional pass

    def test_calls_make_their_planned_frames_deterministically(self, generator):
        key = moving_square(1, seed=2)[0]
        t2v = ModelCall("t2v", 0, 7, 9)
        a = generator.run_call(0, t2v, "a red square", None, None, 32, 32, seed=7)
        assert a.shape == (7, 32, 32, 3) and a.dtype == np.uint8
        np.testing.assert_array_equal(a, generator.run_call(0, t2v, "a red square", None, None, 32, 32, seed=7))
        assert not np.array_equal(a, generator.run_call(0, t2v, "a red square", None, None, 32, 32, seed=8))
        assert not np.array_equal(a, generator.run_call(1, t2v, "a red square", None, None, 32, 32, seed=7))
        i2v = generator.run_call(0, ModelCall("i2v", 0, 6, 9, Source("keyframe", 0)), "p", key, None, 32, 32, 0)
        assert i2v.shape == (6, 32, 32, 3)

    def test_bridge_calls_need_an_adapter(self, generator, tmp_path):
        bridge = ModelCall("flf2v", 0, 7, 9, Source("keyframe", 0), Source("keyframe", 1))
        key = moving_square(2)
        with pytest.raises(ModelInputError, match="needs an adapter id"):
            generator.run_call(0, bridge, "p", key[0], key[1], 32, 32, 0)
        with pytest.raises(AdapterNotFound, match="no LoRA adapter 'interp-lora-v1-r4-missing'"):
            generator.run_call(0, bridge, "p", key[0], key[1], 32, 32, 0, adapter_id="interp-lora-v1-r4-missing")
        with pytest.raises(ModelInputError, match="adapterId must match"):
            AdapterSet(generator.pipes["flf2v"], tmp_path).use("../../etc/passwd")
        with pytest.raises(AdapterRequired, match="needs a LoRA adapter"):
            resolve_adapter(None, None)
        assert resolve_adapter(None, "default-one") == "default-one"

    def test_a_pipeline_that_is_not_loaded_is_named(self):
        only_t2v = Generator({"t2v": tiny_wan("t2v")}, CONFIG.generator)
        with pytest.raises(ModelInputError, match="no 'i2v' pipeline"):
            only_t2v.run_call(0, ModelCall("i2v", 0, 5, 5, Source("keyframe", 0)), "p", None, None, 32, 32, 0)

    def test_served_dtypes_run(self):
        """bf16 transformer and text encoder with a float32 VAE and image encoder, as served."""
        pipes = tiny_pipes(torch.bfloat16)
        i2v = pipes["i2v"]
        assert i2v.transformer.dtype == torch.bfloat16 and i2v.text_encoder.dtype == torch.bfloat16
        assert i2v.vae.dtype == torch.float32 and i2v.image_encoder.dtype == torch.float32
        generator = Generator({"i2v": i2v}, CONFIG.generator)
        out = generator.run_call(0, ModelCall("i2v", 0, 5, 5, Source("keyframe", 0)), "p", moving_square(1)[0], None, 32, 32, 0)
        assert out.shape == (5, 32, 32, 3)


class TestRunSegment:
    def test_results_are_laid_on_the_timeline_and_sources_resolved(self):
        keys = [np.full((2, 2, 3), 10, np.uint8), np.full((2, 2, 3), 20, np.uint8)]
        calls = plan_segment("it2v", 24, [3, 11], CONFIG.generator.clip)  # at most 9 frames a call
        seen = []

        def run(index, call, first, last):
            seen.append((call.model, int(first[0, 0, 0]), None if last is None else int(last[0, 0, 0])))
            clip = np.zeros((call.frames, 2, 2, 3), np.uint8)
            clip[:] = 100 + index
            return clip

        video = run_segment(calls, keys, [3, 11], 24, run)
        assert seen == [("flf2v", 10, 20), ("i2v", 20, None), ("i2v", 101, None)]
        assert video.shape == (24, 2, 2, 3)
        # frames 0-2 hold the first made frame; each call's frames from its start
        assert [int(v) for v in video[:, 0, 0, 0]] == [100] * 11 + [101] * 8 + [102] * 5

    def test_a_tail_too_short_for_a_call_holds_the_last_frame_made(self):
        keys = [np.full((2, 2, 3), 10, np.uint8), np.full((2, 2, 3), 20, np.uint8)]
        calls = plan_segment("it2v", 22, [3, 11], CONFIG.generator.clip)  # 19..21: 3 frames, under a call's 5
        video = run_segment(calls, keys, [3, 11], 22, lambda i, call, f, la: np.full((call.frames, 2, 2, 3), 100 + i, np.uint8))
        assert len(calls) == 2 and [int(v) for v in video[:, 0, 0, 0]] == [100] * 11 + [101] * 11

    def test_calls_on_keyframes_only_start_side_by_side(self):
        keys = [np.full((2, 2, 3), 10, np.uint8), np.full((2, 2, 3), 20, np.uint8)]
        calls = plan_segment("it2v", 24, [3, 11], CONFIG.generator.clip)
        events = []

        def make(index, call):
            clip = np.zeros((call.frames, 2, 2, 3), np.uint8)
            clip[:] = 100 + index
            return clip

        def start(index, call, first, last):
            events.append(("start", index))
            return lambda: events.append(("wait", index)) or make(index, call)

        def run(index, call, first, last):
            events.append(("run", index, int(first[0, 0, 0])))
            return make(index, call)

        parallel = run_segment(calls, keys, [3, 11], 24, run, start)
        # the bridge (0) and the extrapolation from the last keyframe (1) start together; the
        # continuation (2) needs call 1's last frame and runs after it
        assert events == [("start", 0), ("start", 1), ("wait", 0), ("wait", 1), ("run", 2, 101)]
        np.testing.assert_array_equal(parallel, run_segment(calls, keys, [3, 11], 24, lambda i, c, f, la: make(i, c)))

    def test_a_call_that_makes_the_wrong_count_is_an_error(self):
        calls = [ModelCall("t2v", 0, 5, 5)]
        with pytest.raises(RuntimeError, match="made 4 frames, planned 5"):
            run_segment(calls, [], [], 5, lambda *a: np.zeros((4, 2, 2, 3), np.uint8))
