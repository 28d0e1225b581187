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

from safetensors.torch import load_file  # noqa: E402

from _tiny_models import tiny_config, tiny_wan  # noqa: E402
from cmvc_gpu.engines.model.interpolator import LORA_WEIGHTS, Interpolator  # noqa: E402
from cmvc_gpu.training import data  # noqa: E402
from cmvc_gpu.training.lora import LoraTrainingConfig, train_interpolation_lora  # noqa: E402
from test_model_classes import moving_square  # noqa: E402


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
    clips = data.make_clips([moving_square(30, seed=s) for s in range(2)], clip_frames=5, stride=1, width=32, height=32)
    lines: list[str] = []
    config = LoraTrainingConfig(rank=4, alpha=4, steps=30, learning_rate=5e-3, eval_clips=2, loss_probe=2)
    result = train_interpolation_lora(
        pipe,
        clips,
        config,
        adapters,
        "tiny/random@" + "0" * 40,
        tiny_config(str(adapters)).interpolator,
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


def test_saved_adapter_loads_back_through_the_interpolator(trained):
    trained_pipe, _, result, adapters, _ = trained
    config = tiny_config(str(adapters)).interpolator
    fresh = Interpolator(tiny_wan("flf2v"), config)
    fresh.use_adapter(result.adapter_id)
    reference = Interpolator(trained_pipe, config)
    reference.use_adapter(result.adapter_id)
    clip = moving_square(5, seed=4)
    a = fresh.between(clip[0], clip[-1], 3, torch.Generator().manual_seed(0))
    b = reference.between(clip[0], clip[-1], 3, torch.Generator().manual_seed(0))
    np.testing.assert_array_equal(a, b)

    untuned = tiny_wan("flf2v")
    untuned.set_progress_bar_config(disable=True)
    plain = Interpolator.__new__(Interpolator)
    plain.pipe, plain.config, plain.device = untuned, config, torch.device("cpu")
    c = plain.between(clip[0], clip[-1], 3, torch.Generator().manual_seed(0))
    assert not np.array_equal(a, c)

    frames = fresh.interpolate(moving_square(3), 3, result.adapter_id, seed=1)
    assert frames.shape == (9, 32, 32, 3)
    np.testing.assert_array_equal(frames[0], moving_square(3)[0])
    np.testing.assert_array_equal(frames[3], moving_square(3)[1])
