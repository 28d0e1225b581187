"""Which weight files are fetched, their verification, and the offline start check. Torch-free;
``huggingface_hub`` is replaced at its two calls."""

from __future__ import annotations

import hashlib
import json
import sys
import types
from pathlib import Path

import pytest

from cmvc_gpu.engines.model import weights
from cmvc_gpu.engines.model.config import ModelEngineConfig, ModelRef

CONFIG = ModelEngineConfig()

#: A Wan diffusers repository as the hub lists it: sharded bf16 transformer, fp32 copies, .bin.
WAN_FILES = [
    "model_index.json",
    "scheduler/scheduler_config.json",
    "transformer/config.json",
    "transformer/diffusion_pytorch_model-00001-of-00002.safetensors",
    "transformer/diffusion_pytorch_model-00002-of-00002.safetensors",
    "transformer/diffusion_pytorch_model.safetensors.index.json",
    "transformer/diffusion_pytorch_model.fp32-00001-of-00004.safetensors",
    "text_encoder/config.json",
    "text_encoder/model-00001-of-00001.safetensors",
    "text_encoder/model.safetensors.index.json",
    "text_encoder/pytorch_model.bin",
    "tokenizer/tokenizer.json",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
    "image_encoder/config.json",
    "image_encoder/model.safetensors",
    "image_processor/preprocessor_config.json",
    "README.md",
    "assets/demo.mp4",
]


def test_only_what_the_loaders_read_is_fetched():
    i2v = weights.selected(WAN_FILES, weights.allow_patterns("i2v", CONFIG))
    assert "transformer/diffusion_pytorch_model.fp32-00001-of-00004.safetensors" not in i2v
    assert not [f for f in i2v if f.endswith((".bin", ".md", ".mp4"))]
    assert "vae/diffusion_pytorch_model.safetensors" in i2v and "image_encoder/model.safetensors" in i2v
    flf2v = weights.selected(WAN_FILES, weights.allow_patterns("flf2v", CONFIG))
    assert not [f for f in flf2v if f.startswith(("text_encoder/", "vae/", "image_encoder/"))]  # shared from i2v
    clip = weights.selected(
        ["config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack"],
        weights.allow_patterns("embedder", CONFIG),
    )
    assert clip == ["config.json", "model.safetensors"]


def test_incomplete_shards_are_caught():
    indexes = {
        "transformer/diffusion_pytorch_model.safetensors.index.json": {
            "weight_map": {"a": "diffusion_pytorch_model-00001-of-00002.safetensors",
                           "b": "diffusion_pytorch_model-00002-of-00002.safetensors"}},
        "text_encoder/model.safetensors.index.json": {"weight_map": {"a": "model-00001-of-00001.safetensors"}},
    }
    index = indexes.__getitem__
    files = [f for f in WAN_FILES if "00002-of-00002" not in f]
    with pytest.raises(weights.MissingWeights, match="shards that are missing"):
        weights.check_complete("flf2v", files, index)
    weights.check_complete("flf2v", WAN_FILES, index)
    weights.check_complete("i2v", WAN_FILES, index)
    with pytest.raises(weights.MissingWeights, match="neither vae/diffusion_pytorch_model.safetensors"):
        weights.check_complete("i2v", [f for f in WAN_FILES if not f.startswith("vae/")], index)


def fake_hub(monkeypatch, tmp_path: Path, files: dict[str, bytes], corrupt: str = "") -> None:
    """``huggingface_hub`` with one repository of ``files`` (``corrupt`` is written wrong)."""

    class Sibling:
        def __init__(self, name: str, data: bytes):
            self.rfilename = name
            self.lfs = types.SimpleNamespace(sha256=hashlib.sha256(data).hexdigest())

    class Api:
        def model_info(self, repo_id, revision, files_metadata):
            return types.SimpleNamespace(sha=revision, siblings=[Sibling(n, d) for n, d in files.items()])

    def snapshot_download(repo_id, revision, cache_dir, allow_patterns):
        folder = weights.snapshot_dir(cache_dir, ModelRef(repo_id, revision))
        for name in allow_patterns:
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"wrong" if name == corrupt else files[name])
        return str(folder)

    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(HfApi=Api, snapshot_download=snapshot_download))


def test_download_verifies_records_and_serving_checks(monkeypatch, tmp_path):
    files = {"config.json": b"{}", "model.safetensors": b"weights", "pytorch_model.bin": b"old"}
    fake_hub(monkeypatch, tmp_path, files)
    manifest = weights.download(CONFIG, str(tmp_path), ["embedder"], log=lambda _: None)
    entry = manifest["roles"]["embedder"]
    assert entry["files"] == ["config.json", "model.safetensors"] and entry["resolved"] == CONFIG.encoder.embedder.revision
    assert json.loads((tmp_path / weights.MANIFEST).read_text()) == manifest
    weights.check_present(CONFIG, str(tmp_path), ["embedder"])

    (weights.snapshot_dir(tmp_path, CONFIG.encoder.embedder) / "model.safetensors").unlink()
    with pytest.raises(weights.MissingWeights, match="1 files of openai/clip-vit-base-patch32@.* missing, e.g. model.safetensors"):
        weights.check_present(CONFIG, str(tmp_path), ["embedder"])
    with pytest.raises(weights.MissingWeights, match="mllm: Qwen/Qwen2.5-VL-7B-Instruct@.* is not on the Volume"):
        weights.check_present(CONFIG, str(tmp_path), ["mllm"])


def test_a_file_that_does_not_match_the_hub_is_refused(monkeypatch, tmp_path):
    files = {"config.json": b"{}", "model.safetensors": b"weights"}
    fake_hub(monkeypatch, tmp_path, files, corrupt="model.safetensors")
    with pytest.raises(weights.MissingWeights, match="does not match the hub's SHA-256"):
        weights.download(CONFIG, str(tmp_path), ["embedder"], log=lambda _: None)


def test_nothing_downloaded_is_a_clear_start_error(tmp_path):
    with pytest.raises(weights.MissingWeights, match="never downloaded; run `modal run .*download_weights`"):
        weights.check_present(CONFIG, str(tmp_path), ["i2v"])
    with pytest.raises(weights.MissingWeights, match="HF_HUB_CACHE is not set"):
        weights.check_present(CONFIG, None, ["i2v"])


def test_download_compares_the_shared_components_across_repositories(tmp_path):
    """Defect 13 of issue 24: the generator's docstring said download_weights checks that the text
    encoder, VAE and image encoder are the same files in every Wan repository; it did not. It now
    compares the hub's SHA-256 of each repository's own copy with i2v's, the one every pipeline loads,
    records which are identical and which differ, and says so (nothing more is downloaded)."""
    i2v = {"text_encoder/model.safetensors": "t5", "vae/diffusion_pytorch_model.safetensors": "vae", "image_encoder/model.safetensors": "clip"}
    t2v = {"text_encoder/model.safetensors": "t5", "vae/diffusion_pytorch_model.safetensors": "vae", "transformer/x.safetensors": "dit"}
    flf2v = {"text_encoder/model.safetensors": "t5", "vae/diffusion_pytorch_model.safetensors": "vae", "image_encoder/model.safetensors": "other"}
    assert weights.shared_components(i2v, t2v) == {"identical": ["text_encoder", "vae"], "different": []}
    assert weights.shared_components(i2v, flf2v) == {"identical": ["text_encoder", "vae"], "different": ["image_encoder"]}


def test_download_records_the_comparison_in_the_manifest(monkeypatch, tmp_path):
    files = {
        "model_index.json": b"{}",
        "transformer/config.json": b"{}",
        "transformer/diffusion_pytorch_model.safetensors": b"dit",
        "text_encoder/config.json": b"{}",
        "text_encoder/model.safetensors": b"t5",
        "vae/config.json": b"{}",
        "vae/diffusion_pytorch_model.safetensors": b"vae",
        "image_encoder/config.json": b"{}",
        "image_encoder/model.safetensors": b"clip",
    }
    fake_hub(monkeypatch, tmp_path, files)
    lines = []
    manifest = weights.download(CONFIG, str(tmp_path), ["i2v", "flf2v"], log=lines.append)
    assert manifest["shared"]["flf2v"] == {"identical": ["text_encoder", "vae", "image_encoder"], "different": []}
    assert not any("differ" in line for line in lines)
