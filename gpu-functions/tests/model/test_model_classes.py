"""The model classes through the real libraries with tiny random models (CPU, two steps), and
their orchestration with injected fakes where a case needs exact control."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="the model engine tests need torch (pip install -r gpu-functions/requirements-model.txt)"
)
pytest.importorskip("diffusers", reason="the model engine tests need diffusers (requirements-model.txt)")
pytest.importorskip("transformers", reason="the model engine tests need transformers (requirements-model.txt)")

from PIL import Image  # noqa: E402

from _tiny_models import tiny_clip, tiny_config, tiny_qwen, tiny_wan  # noqa: E402
from cmvc_gpu.engines.model import prompts  # noqa: E402
from cmvc_gpu.engines.model.encoder import Encoder  # noqa: E402
from cmvc_gpu.engines.model.errors import AdapterNotFound, AdapterRequired, ModelInputError  # noqa: E402
from cmvc_gpu.engines.model.generator import Generator  # noqa: E402
from cmvc_gpu.engines.model.interpolator import Interpolator  # noqa: E402

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
    return Generator(tiny_wan("t2v"), tiny_wan("i2v"), CONFIG.generator)


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

            def __call__(self, text, videos, fps, do_sample_frames, return_tensors):
                self.seen.append(("call", text, videos, fps, do_sample_frames))
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
        assert call[0] == "call" and call[1] == ["CHAT"] and call[3] == 6.0 and call[4] is False
        np.testing.assert_array_equal(call[2][0], frames)


class TestGenerator:
    def test_tt2v_has_the_asked_geometry_and_frame_count(self, generator):
        frames = generator.generate("tt2v", "a red square", "moves left", None, 40, 24, 8.0, 7, seed=1)
        assert frames.shape == (7, 24, 40, 3) and frames.dtype == np.uint8

    def test_same_seed_same_frames(self, generator):
        args = ("tt2v", "a red square", "moves left", None, 32, 32, 8.0, 5)
        a = generator.generate(*args, seed=7)
        np.testing.assert_array_equal(a, generator.generate(*args, seed=7))
        assert not np.array_equal(a, generator.generate(*args, seed=8))

    def test_it2v_starts_from_the_keyframe_and_continues_long_segments(self, generator):
        calls = []
        real = generator.i2v

        class Spy:
            def __call__(self, **kwargs):
                calls.append((kwargs["num_frames"], np.asarray(kwargs["image"]).copy()))
                return real(**kwargs)

        keyframe = Image.fromarray(moving_square(1, seed=2)[0])
        generator.i2v = Spy()
        try:
            frames = generator.generate("it2v", "a red square", "moves left", keyframe, 32, 32, 8.0, 14, seed=3)
        finally:
            generator.i2v = real
        assert [n for n, _ in calls] == [9, 9]
        np.testing.assert_array_equal(calls[0][1], np.asarray(keyframe))
        assert frames.shape == (14, 32, 32, 3)

    def test_check_inputs_names_the_argument(self, generator):
        with pytest.raises(ModelInputError, match="mode 'it2v' needs the segment's keyframe"):
            generator.generate("it2v", "c", "m", None, 32, 32, 8.0, 5, seed=0)
        with pytest.raises(ModelInputError, match="mode must be 'tt2v' or 'it2v', got 'x'"):
            generator.generate("x", "c", "m", None, 32, 32, 8.0, 5, seed=0)  # type: ignore[arg-type]
        with pytest.raises(ModelInputError, match="fps must be positive, got 0"):
            generator.generate("tt2v", "c", "m", None, 32, 32, 0, 5, seed=0)
        with pytest.raises(ValueError, match="seed must be in"):
            generator.generate("tt2v", "c", "m", None, 32, 32, 8.0, 5, seed=-1)

    def test_long_tt2v_without_i2v_is_refused(self):
        only_t2v = Generator(tiny_wan("t2v"), None, CONFIG.generator)
        with pytest.raises(ModelInputError, match="more than one call"):
            only_t2v.generate("tt2v", "c", "m", None, 32, 32, 8.0, 30, seed=0)


class TestInterpolatorWithoutAdapter:
    def test_no_adapter_is_an_error_not_a_fallback(self, tmp_path):
        interpolator = Interpolator(tiny_wan("flf2v"), tiny_config(str(tmp_path)).interpolator)
        with pytest.raises(AdapterRequired, match="needs a LoRA adapter"):
            interpolator.interpolate(moving_square(3), 2, None)
        with pytest.raises(AdapterNotFound, match="no LoRA adapter 'interp-lora-v1-r4-missing'"):
            interpolator.interpolate(moving_square(3), 2, "interp-lora-v1-r4-missing")
        with pytest.raises(ModelInputError, match="adapterId must match"):
            interpolator.interpolate(moving_square(3), 2, "../../etc/passwd")
        with pytest.raises(ModelInputError, match="factor must be in 2..8, got 9"):
            interpolator.interpolate(moving_square(3), 9, "x")
