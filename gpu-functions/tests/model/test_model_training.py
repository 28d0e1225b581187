"""LoRA training of the interpolation model, a few steps on a tiny FLF2V pipeline (CPU)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="the LoRA training tests need torch (pip install -r gpu-functions/requirements-model.txt)"
)
pytest.importorskip("peft", reason="the LoRA training tests need peft (requirements-model.txt)")
pytest.importorskip("diffusers", reason="the LoRA training tests need diffusers (requirements-model.txt)")

from _tiny_models import tiny_config, tiny_wan  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from test_model_classes import moving_square  # noqa: E402

from cmvc_gpu.engines.model import sampling  # noqa: E402
from cmvc_gpu.engines.model.adapters import LORA_WEIGHTS, AdapterSet, peft_name  # noqa: E402
from cmvc_gpu.engines.model.generator import Generator  # noqa: E402
from cmvc_gpu.engines.model.segment_plan import ModelCall, Source  # noqa: E402
from cmvc_gpu.training import data  # noqa: E402
from cmvc_gpu.training.lora import LoraTrainingConfig, train_interpolation_lora  # noqa: E402

CONFIG = tiny_config()
SERVED_FRAMES = CONFIG.generator.clip.max_frames_per_call  # the tiny clip: 9 frames, 32x32
NATIVE_FPS = CONFIG.generator.clip.native_fps  # clips taken at the rate the model serves


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {
        name.replace(".base_layer", ""): p.detach().clone()
        for name, p in module.named_parameters()
        if "lora_" not in name
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    adapters = tmp_path_factory.mktemp("adapters")
    pipe = tiny_wan("flf2v")
    before = {name: snapshot(getattr(pipe, name)) for name in ("transformer", "text_encoder", "vae", "image_encoder")}
    clips = data.make_clips([(moving_square(30, seed=s), NATIVE_FPS) for s in range(3)], SERVED_FRAMES, NATIVE_FPS, 32, 32)
    lines: list[str] = []
    config = LoraTrainingConfig(rank=4, alpha=8, steps=30, learning_rate=5e-3, eval_clips=2, loss_probe=2)
    result = train_interpolation_lora(
        pipe,
        clips,
        config,
        adapters,
        "tiny/random@" + "0" * 40,
        tiny_config(str(adapters)).generator,
        log=lines.append,
    )
    return pipe, before, result, adapters, lines


def test_loss_falls(trained):
    _, _, result, _, _ = trained
    assert result.probe_loss_after < result.probe_loss_before
    third = len(result.losses) // 3
    assert np.mean(result.losses[-third:]) < np.mean(result.losses[:third])


def test_only_adapter_weights_change(trained):
    pipe, before, result, _, _ = trained
    for name, params in before.items():
        after = snapshot(getattr(pipe, name))
        assert after.keys() == params.keys(), name
        for key, value in params.items():
            assert torch.equal(after[key], value), f"{name}.{key} changed"
    lora = {n: p for n, p in pipe.transformer.named_parameters() if "lora_" in n}
    assert lora and result.trainable_parameters > 0
    assert all(not p.requires_grad for p in pipe.text_encoder.parameters())


def test_adapter_saved_under_a_versioned_id_with_its_record(trained):
    _, _, result, adapters, lines = trained
    assert re.fullmatch(r"interp-lora-v1-r4-[0-9a-f]{10}", result.adapter_id)
    folder = adapters / result.adapter_id
    weights = load_file(str(folder / LORA_WEIGHTS))
    assert weights and all("lora_" in k for k in weights)
    assert any(k.endswith("lora_B.weight") and v.abs().max() > 0 for k, v in weights.items())
    record = json.loads((folder / "adapter.json").read_text())
    assert record["adapterId"] == result.adapter_id
    assert record["config"]["rank"] == 4 and record["baseModel"].startswith("tiny/random@")
    assert len(result.evaluation) == 2 and {"psnr_lora", "psnr_blend"} <= result.evaluation[0].keys()
    assert "PSNR of the middle frame" in lines[-1] and "mean:" in lines[-1]


def run_bridge(pipe, adapters, adapter_id: str | None, clip: np.ndarray) -> np.ndarray:
    generator = Generator({"flf2v": pipe}, tiny_config(str(adapters)).generator)
    call = ModelCall("flf2v", 0, len(clip), len(clip), Source("keyframe", 0), Source("keyframe", 1))
    if adapter_id is None:  # the un-tuned model, bypassing the adapter requirement
        generator.adapters.use = lambda _: None
        adapter_id = "none"
    return generator.run_call(0, call, "p", clip[0], clip[-1], 32, 32, seed=0, adapter_id=adapter_id)


def test_saved_adapter_loads_back_as_served(trained):
    trained_pipe, _, result, adapters, _ = trained
    clip = moving_square(SERVED_FRAMES, seed=4)
    a = run_bridge(tiny_wan("flf2v"), adapters, result.adapter_id, clip)
    b = run_bridge(trained_pipe, adapters, result.adapter_id, clip)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, run_bridge(tiny_wan("flf2v"), adapters, None, clip))


def test_alpha_survives_save_and_load(trained):
    """Trained with r=4, alpha=8: loaded back, every LoRA layer scales its update by 8/4."""
    _, _, result, adapters, _ = trained
    pipe = tiny_wan("flf2v")
    AdapterSet(pipe, adapters).use(result.adapter_id)
    name = peft_name(result.adapter_id)
    assert pipe.transformer.peft_config[name].lora_alpha == 8
    scalings = [m.scaling[name] for m in pipe.transformer.modules() if hasattr(m, "scaling") and name in m.scaling]
    assert scalings and all(s == 2.0 for s in scalings)


def test_training_refuses_clips_that_are_not_the_served_shape(tmp_path):
    clips = data.make_clips([(moving_square(30), NATIVE_FPS)], 5, NATIVE_FPS, 32, 32)
    with pytest.raises(ValueError, match=r"served shape \(frames, height, width\) \(9, 32, 32\)"):
        train_interpolation_lora(
            tiny_wan("flf2v"), clips, LoraTrainingConfig(rank=4, alpha=8, steps=1, eval_clips=0), tmp_path, "x@y",
            CONFIG.generator,
        )


def test_timesteps_follow_the_serving_schedule_in_float32(tmp_path, monkeypatch):
    """Training draws noise levels with the serving scheduler's shift and hands the transformer a
    float32 timestep even when it runs in bf16 (as the pipeline does at inference)."""
    shifts = []
    real = sampling.shifted_sigma
    monkeypatch.setattr(sampling, "shifted_sigma", lambda u, shift: shifts.append(shift) or real(u, shift))
    pipe = tiny_wan("flf2v")
    pipe.transformer.to(torch.bfloat16)
    timesteps = []
    pipe.transformer.register_forward_pre_hook(
        lambda module, args, kwargs: timesteps.append(kwargs["timestep"]), with_kwargs=True
    )
    clips = data.make_clips([(moving_square(20), NATIVE_FPS)], SERVED_FRAMES, NATIVE_FPS, 32, 32)
    train_interpolation_lora(
        pipe, clips, LoraTrainingConfig(rank=4, alpha=8, steps=2, eval_clips=0, loss_probe=1), tmp_path, "x@y",
        CONFIG.generator, log=lambda _: None,
    )
    assert shifts and set(shifts) == {CONFIG.generator.schedule.flow_shift}
    # The tiny pipeline's scheduler (flow-matching Euler) hands float timesteps: so does training.
    assert timesteps and all(t.dtype == torch.float32 for t in timesteps)
    assert CONFIG.generator.schedule.flow_shift == 3.0 and real(0.5, 3.0) == pytest.approx(0.75)


def test_clips_are_prompted_as_served_bridge_calls(tmp_path):
    """With a video's texts, training encodes the prompt a served bridge call gets."""
    from cmvc_gpu.engines.model import prompts

    pipe = tiny_wan("flf2v")
    seen = []
    real = pipe.encode_prompt
    pipe.encode_prompt = lambda prompt, **kwargs: seen.append(prompt) or real(prompt=prompt, **kwargs)
    clips = data.make_clips([(moving_square(20), NATIVE_FPS)], SERVED_FRAMES, NATIVE_FPS, 32, 32)
    texts = [{"contentText": "a red square", "motionText": "it moves right"}] * len(clips)
    train_interpolation_lora(
        pipe, clips, LoraTrainingConfig(rank=4, alpha=8, steps=1, eval_clips=0, loss_probe=1), tmp_path, "x@y",
        CONFIG.generator, log=lambda _: None, texts=texts,
    )
    assert seen == [prompts.it2v_prompt("a red square", "it moves right")]
    assert data.clip_prompt(None) == prompts.INTERPOLATION_PROMPT


def test_training_videos_are_decoded_one_at_a_time_keeping_only_the_clip_frames(tmp_path, monkeypatch):
    """Defect 9 of issue 24: every training video was decoded whole into memory at once (a 1080p
    minute is 9 GB). Now each video streams, keeping only the frames its clips use, at training size."""
    from cmvc_gpu.engines.model import media
    from cmvc_gpu.engines.model.config import ClipConfig
    from cmvc_gpu.media import video_io
    from cmvc_gpu.training import run

    clip = ClipConfig()  # 81 frames at 16 frames/s: 5-s clips
    for name in ("a", "b"):
        (tmp_path / f"{name}.mp4").write_bytes(video_io.encode(list(moving_square(24 * 11, size=64, seed=1)), 24.0))
    (tmp_path / "a.json").write_text(json.dumps({"contentText": "a square", "motionText": "it moves"}))
    monkeypatch.setattr(media, "decode_video", lambda *a, **k: pytest.fail("a whole video was decoded"))
    asked = []
    real = media.stream_frames

    def spy(data, info, wanted=None, *rest, **kwargs):
        asked.append(None if wanted is None else set(wanted))
        return real(data, info, wanted, *rest, **kwargs)

    monkeypatch.setattr(media, "stream_frames", spy)
    held = [run.video_clips(path, clip, 32, 16) for path in run.video_paths(tmp_path)]
    assert [len(clips) for clips, _ in held] == [2, 2] and held[0][1] == {"contentText": "a square", "motionText": "it moves"}
    assert all(c.shape == (81, 16, 32, 3) for clips, _ in held for c in clips)
    assert asked and all(wanted is not None and len(wanted) == 2 * 81 for wanted in asked)


def test_prepared_clips_wait_in_host_memory(tmp_path, monkeypatch):
    """Prepared clips (latents, conditions) are held on the CPU and moved to the training device
    a step at a time, not all kept on the GPU."""
    from cmvc_gpu.training import lora

    held = []
    real = lora._Prepared.to

    def spy(self, device):
        moved = real(self, device)
        held.append(device.type)
        return moved

    monkeypatch.setattr(lora._Prepared, "to", spy)
    clips = data.make_clips([(moving_square(20), NATIVE_FPS)], SERVED_FRAMES, NATIVE_FPS, 32, 32)
    train_interpolation_lora(
        tiny_wan("flf2v"), clips, LoraTrainingConfig(rank=4, alpha=8, steps=2, eval_clips=0, loss_probe=1), tmp_path, "x@y",
        CONFIG.generator, log=lambda _: None,
    )
    prepared = len(clips)
    assert held[:prepared] == ["cpu"] * prepared  # each stored on the host once prepared
    assert len(held) >= prepared + 2  # then one move per step (and per probe)


def test_an_adapter_records_its_schedule_and_is_refused_under_another(trained, tmp_path):
    """Defect 4 of issue 24: the adapter id omitted the schedule, so an adapter trained alone at the
    full schedule was stacked on the few-step LoRA at 4 steps, silently."""
    from cmvc_gpu.engines.model.errors import AdapterMismatch

    _, _, result, adapters, _ = trained
    record = json.loads((adapters / result.adapter_id / "adapter.json").read_text())
    assert record["schedule"] == "default" and "-few-" not in result.adapter_id
    with pytest.raises(AdapterMismatch, match="'default' schedule; here they run under 'few'"):
        AdapterSet(tiny_wan("flf2v"), adapters, schedule="few").use(result.adapter_id)
    AdapterSet(tiny_wan("flf2v"), adapters, schedule="default").use(result.adapter_id)


def test_under_few_step_bridges_the_adapter_trains_stacked_on_the_distilled_lora(tmp_path):
    """Served stacked on the few-step LoRA, trained stacked on it: both adapters active in every
    training forward pass, only the new one learning; its record and id name the schedule."""
    from dataclasses import replace

    from peft import LoraConfig

    from cmvc_gpu.engines.model.adapters import DISTILL_ADAPTER
    from cmvc_gpu.engines.model.config import FEW_STEP_BRIDGES

    pipe = tiny_wan("flf2v")
    pipe.transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_v"], init_lora_weights="gaussian"), adapter_name=DISTILL_ADAPTER)
    distill_before = {n: p.detach().clone() for n, p in pipe.transformer.named_parameters() if DISTILL_ADAPTER in n}
    active = []
    pipe.transformer.register_forward_pre_hook(lambda module, args: active.append(tuple(sorted(module.active_adapters()))))
    generator_config = replace(CONFIG.generator, schedule=replace(FEW_STEP_BRIDGES, models=()))
    clips = data.make_clips([(moving_square(20), NATIVE_FPS)], SERVED_FRAMES, NATIVE_FPS, 32, 32)
    result = train_interpolation_lora(
        pipe, clips, LoraTrainingConfig(rank=4, alpha=8, steps=2, eval_clips=0, loss_probe=1), tmp_path, "x@y", generator_config, log=lambda _: None,
    )
    assert active and set(active) == {tuple(sorted(["default", DISTILL_ADAPTER]))}
    for name, parameter in pipe.transformer.named_parameters():
        if name in distill_before:
            assert torch.equal(parameter, distill_before[name]), name
    assert "-few-" in result.adapter_id
    assert json.loads((tmp_path / result.adapter_id / "adapter.json").read_text())["schedule"] == "few"


def test_training_timesteps_are_what_the_served_scheduler_hands_the_transformer():
    """Defect 13 of issue 24: training said its float32 ``1000 σ`` was what the pipeline passes; the
    served scheduler (UniPC, as the Wan repositories configure it) passes int64, and the time
    projection's sinusoids reach a radian per timestep, so 999.6 and 1000 embed differently.
    Training now hands the transformer what the served scheduler does."""
    from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler

    from cmvc_gpu.training.lora import integer_timesteps, training_timestep

    unipc = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    unipc.set_timesteps(40)
    assert unipc.timesteps.dtype == torch.int64 and integer_timesteps(unipc)
    assert not integer_timesteps(FlowMatchEulerDiscreteScheduler(shift=3.0))
    project = tiny_wan("flf2v").transformer.condition_embedder.timesteps_proj
    sigma = torch.tensor([0.9996])
    served = torch.round(sigma * 1000).long()
    assert torch.equal(training_timestep(sigma, True), served)
    assert torch.equal(project(training_timestep(sigma, True)), project(served))
    assert (project(training_timestep(sigma, False)) - project(served)).abs().max() > 0.1  # why it matters
    assert training_timestep(sigma, False).dtype == torch.float32
