"""The Modal app object, built by importing modal_app.py with the real ``modal`` package and no
credentials or network: its functions, classes, GPUs, volumes, web endpoint and settings.

Timeouts and autoscaler settings are read from the function definitions Modal prepares for a
deploy (``inspect.getclosurevars`` of the loader); that is Modal-internal, so a failure there after
a ``modal`` upgrade means this test needs updating, not necessarily the app.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from cmvc_gpu import contract

ROOT = Path(__file__).resolve().parents[2]  # gpu-functions/, where modal_app.py is

modal = pytest.importorskip(
    "modal", reason="the Modal app test needs modal (pip install -r gpu-functions/requirements-modal.txt)"
)


@pytest.fixture(scope="module")
def modal_app(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        for key in ("MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "MODAL_PROFILE", "CMVC_MODAL_APP"):
            mp.delenv(key, raising=False)
        mp.setenv("HOME", str(home))
        mp.setenv("MODAL_CONFIG_PATH", str(home / "absent.toml"))
        mp.setenv("CMVC_GENERATOR_MIN_CONTAINERS", "2")
        mp.setenv("CMVC_GENERATOR_SCALEDOWN_SECONDS", "900")
        mp.setenv("CMVC_SOURCE_ORIGINS", "https://cmvc.example")
        sys.modules.pop("modal_app", None)
        module = importlib.import_module("modal_app")
    yield module
    sys.modules.pop("modal_app", None)


def functions(app) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(app._local_state.functions)  # the unwrapped _Function objects


def settings(function) -> dict:
    return inspect.getclosurevars(function._load).nonlocals


def test_app_and_its_functions(modal_app):
    app = modal_app.app
    assert app.name == "cmvc-gpu"
    fns = functions(app)
    assert set(fns) == {
        "Encoder.*",
        "Generator.*",
        "Bridge.*",
        *contract.function_names(),  # encode, generate, interpolate, assemble, …
        "web",
        "download_weights",
        "train_interpolation_lora",
        "smoke",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert set(app.registered_classes) == {"Encoder", "Generator", "Bridge"}
        assert app.registered_web_endpoints == ["web"]


def test_classes_load_once_and_check_their_weights_first(modal_app, monkeypatch):
    """Each class's ``@modal.enter`` runs the offline weight check before loading anything: with
    an empty cache it fails with the clear error, not a loader's network error."""
    from cmvc_gpu.engines.model.weights import MissingWeights

    monkeypatch.setenv("HF_HUB_CACHE", "/nonexistent-cache")
    monkeypatch.setenv("CMVC_DEVICE", "cpu")  # this machine has no GPU; see the CUDA test below
    for cls_name, method in (("Encoder", "describe"), ("Generator", "run_call"), ("Bridge", "run_call")):
        user_cls = getattr(modal_app, cls_name)._get_user_cls()
        assert isinstance(getattr(user_cls, method), modal.partial_function.PartialFunction)
        enter = user_cls.load
        assert isinstance(enter, modal.partial_function.PartialFunction)
        instance = user_cls.__new__(user_cls)
        with pytest.raises(MissingWeights, match="download_weights"):
            enter._get_raw_f()(instance)


def test_a_gpu_class_whose_cuda_does_not_work_fails_loudly_at_start(modal_app, monkeypatch):
    """Defect 7 of issue 24: the device fell back to the CPU silently (``resolve_device(None)``) and
    the image set none, so a container whose CUDA failed would load 14B models in fp32 on its CPU.
    A GPU class asks for CUDA and fails at ``@modal.enter``, before reading a weight."""
    import torch

    from cmvc_gpu.engines.model.runtime import CudaUnavailable, resolve_device

    monkeypatch.delenv("CMVC_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for cls_name in ("Encoder", "Generator", "Bridge"):
        user_cls = getattr(modal_app, cls_name)._get_user_cls()
        with pytest.raises(CudaUnavailable, match="torch.cuda.is_available\\(\\) is False"):
            user_cls.load._get_raw_f()(user_cls.__new__(user_cls))
    with pytest.raises(CudaUnavailable):
        resolve_device("cuda")
    assert resolve_device(None).type == "cpu"  # local development without CMVC_DEVICE: the CPU, with a warning


def test_modal_app_deploys_what_the_time_model_assumes(modal_app):
    from cmvc_gpu.engines.model import cost
    from cmvc_gpu.engines.model.config import DEFAULT_SCHEDULE

    assert modal_app.DEFAULT_GPU == cost.DEFAULT_GPU
    assert modal_app.CALL_TIMEOUT == cost.CALL_LIMIT_SECONDS
    assert modal_app.BRIDGE_SCALING.gpu == modal_app.GENERATOR_SCALING.gpu == cost.DEFAULT_GPU
    serving = cost.containers(DEFAULT_SCHEDULE, cost.DEFAULT_GPU)
    assert {c.name for c in serving.values()} == {"Generator", "Bridge"}


def test_gpus_and_volumes(modal_app):
    fns = functions(modal_app.app)
    assert fns["Encoder.*"]._spec_.gpus == "L40S"
    assert fns["Generator.*"]._spec_.gpus == "H100"
    assert fns["Bridge.*"]._spec_.gpus == "H100"
    assert fns["train_interpolation_lora"]._spec_.gpus == "H100"
    for cpu_only in ("web", "encode", "generate", "interpolate", "assemble", "smoke"):
        assert fns[cpu_only]._spec_.gpus is None, cpu_only
    for name in ("Encoder.*", "Generator.*", "Bridge.*", "download_weights", "train_interpolation_lora"):
        volumes = fns[name]._spec_.volumes
        assert sorted(volumes) == ["/adapters", "/vol"], name
        assert repr(volumes["/vol"]) == "modal.Volume.from_name('cmvc-gpu-models')", name
        assert repr(volumes["/adapters"]) == "modal.Volume.from_name('cmvc-gpu-adapters')", name
    assert modal_app.HF_HUB_CACHE.startswith("/vol/")


def test_web_endpoint_requires_proxy_auth(modal_app):
    config = functions(modal_app.app)["web"]._webhook_config
    assert config.requires_proxy_auth is True
    from modal_proto import api_pb2

    assert config.type == api_pb2.WEBHOOK_TYPE_ASGI_APP


def test_timeouts_and_scaling_from_configuration(modal_app):
    fns = functions(modal_app.app)
    for name in ("Encoder.*", "Generator.*", "Bridge.*", "interpolate", "assemble", "web"):
        assert settings(fns[name])["timeout"] == 10 * 60, name
    for waiting in ("generate", "smoke"):  # CPU only: they wait for their GPU calls, up to the generation deadline
        assert settings(fns[waiting])["timeout"] == contract.timing()["generationDeadlineSeconds"], waiting
    assert settings(fns["encode"])["timeout"] == 60 * 60  # it uploads no file: no target to outlive
    generator = settings(fns["Generator.*"])
    assert (generator["min_containers"], generator["scaledown_window"]) == (2, 900)
    encoder = settings(fns["Encoder.*"])
    assert (encoder["min_containers"], encoder["scaledown_window"]) == (0, 300)
    assert settings(fns["Bridge.*"])["startup_timeout"] == 20 * 60


def test_a_generation_waits_as_long_as_the_worker_polls_and_the_upload_target_lives(modal_app):
    """Defect 2 of issue 24: the Worker gave up after 10 minutes, the upload URL lived 15 and the
    generate function 60. One figure now: the contract's GENERATION_TIMING (schemas/gpu/timing.json),
    which the Worker's deadline and transfer lifetime read on the TypeScript side."""
    timing = json.loads((contract.schemas_dir() / "timing.json").read_text())
    assert modal_app.SEGMENT_TIMEOUT == timing["generationDeadlineSeconds"] == contract.timing()["generationDeadlineSeconds"]
    assert settings(functions(modal_app.app)["generate"])["timeout"] == modal_app.SEGMENT_TIMEOUT


def test_gpu_classes_request_the_host_memory_their_loading_needs(modal_app):
    """Defect 6: no ``memory=`` request, so a container loading 50 GB of weights onto the CPU first
    ran on Modal's default reservation."""
    from cmvc_gpu.engines.model import cost

    fns = functions(modal_app.app)
    for name in ("Generator", "Bridge"):
        memory = fns[f"{name}.*"]._spec_.memory
        assert memory == cost.host_memory_bytes(name) // 2**20 and memory * 2**20 > 50e9, name
    assert fns["Encoder.*"]._spec_.memory == cost.encoder_container().host_memory_bytes() // 2**20
    assert modal_app.GENERATOR_SCALING.scaledown_window in (cost.SCALEDOWN_SECONDS, 900)  # 900: this module's env


def test_the_smoke_job_runs_through_the_deployed_classes(modal_app):
    """Defect 8 of issue 24: the smoke job loaded every model inside one 600-s H200 function (~165 GB
    of reads). It is a CPU function now, waiting up to the generation deadline for the classes' calls,
    each class loading only its own models; it mounts no weights."""
    fns = functions(modal_app.app)
    assert fns["smoke"]._spec_.gpus is None and not fns["smoke"]._spec_.volumes
    assert settings(fns["smoke"])["timeout"] == modal_app.SEGMENT_TIMEOUT


def test_a_generation_reports_the_gpu_seconds_of_its_calls_not_its_cpu_wall_time(modal_app, monkeypatch):
    """Keys are charged ``seconds.gpu`` (or the wall time, whichever is larger). On Modal the
    ``generate`` function is a CPU one: it reported ``gpu: 0`` and its wall time, which undercounts
    calls run side by side on two GPUs. It reports the seconds its GPU calls held their GPUs."""
    import numpy as np

    from cmvc_gpu.engines.model.tiny import tiny_config

    class Method:
        def __init__(self, seconds):
            self.seconds = seconds

        def remote(self, index, call, prompt, first, last, width, height, seed, adapter_id=None):
            return {"ok": True, "result": np.zeros((call.frames, height, width, 3), np.uint8), "seconds": self.seconds}

        def spawn(self, *args, **kwargs):
            answer = self.remote(*args, **kwargs)
            return type("Handle", (), {"get": lambda self: answer})()

    monkeypatch.setattr(modal_app, "Generator", lambda: type("Cls", (), {"run_call": Method(300.0)})())
    monkeypatch.setattr(modal_app, "Bridge", lambda: type("Cls", (), {"run_call": Method(500.0)})())
    monkeypatch.setattr(modal_app.ModelEngineConfig, "from_env", classmethod(lambda cls, env=None: tiny_config(default_adapter_id="a")))
    key = {"codec": "jpeg", "width": 32, "height": 32, "priority": 255}
    from cmvc_gpu.engines.model import media

    coded = media.code_keyframe(np.zeros((32, 32, 3), np.uint8), 4096, "jpeg", 32)
    keyframes = [{**key, **coded, "frameIndex": 0}, {**key, **coded, "frameIndex": 8, "priority": 1}]
    response = modal_app._engine().generate_json(
        {"mode": "it2v", "segment": {"contentText": "c", "motionText": "m", "keyframes": keyframes},
         "width": 32, "height": 32, "fps": 8.0, "frameCount": 16, "seed": 0}
    )
    assert response["seconds"]["gpu"] == 800.0  # a bridge (500 s) and an extrapolation (300 s), side by side


def test_scaling_reads_env():
    from modal_app import Scaling

    s = Scaling.from_env("encoder", "L40S", {"CMVC_ENCODER_MIN_CONTAINERS": "1", "CMVC_ENCODER_GPU": "A100-80GB"})
    assert (s.gpu, s.min_containers, s.max_containers, s.scaledown_window) == ("A100-80GB", 1, None, 300)
    assert Scaling.from_env("web", None, {"CMVC_WEB_GPU": ""}).gpu is None


def test_the_containers_get_the_origins_sources_may_come_from(modal_app):
    # Without it every input by URL (all of interpolate's and assemble's) is refused in production.
    assert modal_app.MODEL_ENV["CMVC_SOURCE_ORIGINS"] == "https://cmvc.example"


def test_image_pins_every_package(modal_app):
    """The image installs the requirements files (read by uv when the image is built, not when the
    module is imported: a container has no requirements file beside its entry file)."""
    lines = []
    for file in modal_app.REQUIREMENTS:
        lines += [raw.split("#", 1)[0].strip() for raw in Path(file).read_text().splitlines()]
    pins = [line for line in lines if line]
    assert pins and all("==" in p for p in pins)
    assert any(p.startswith("torch==") for p in pins) and any(p.startswith("diffusers==") for p in pins)


def test_importing_the_app_reads_no_file_beside_it(modal_app, tmp_path):
    """Defect found in review: module-level code read requirements files beside the entry file, so
    every container failed at import. The whole container layout is ``npm run gpu:container-check``;
    this is its first step, alone: the entry file copied where nothing else is, imported."""
    (tmp_path / "modal_app.py").write_text((ROOT / "modal_app.py").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_")}
    env |= {"HOME": str(tmp_path), "MODAL_CONFIG_PATH": str(tmp_path / "absent.toml"), "PYTHONPATH": str(ROOT)}
    env["CMVC_SCHEMAS_DIR"] = str(contract.schemas_dir())
    probe = "import sys; sys.path.insert(0, '.'); import modal_app; print(modal_app.__file__)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == str(tmp_path / "modal_app.py")


def test_training_is_runnable_with_modal_run(tmp_path):
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "MODAL_CONFIG_PATH": str(tmp_path / "absent.toml")}
    out = subprocess.run(
        [sys.executable, "-m", "modal", "run", "modal_app.py::train_interpolation_lora", "--help"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    for option in ("--rank INTEGER", "--alpha INTEGER", "--steps INTEGER", "--dataset TEXT", "--width INTEGER"):
        assert option in out.stdout


def test_a_new_adapter_reloads_only_the_adapters_volume(modal_app, monkeypatch):
    """The weights Volume is never reloaded under loaded (memory-mapped) models; an adapter the
    Bridge has not loaded reloads the adapters Volume first."""
    from types import SimpleNamespace

    events = []
    monkeypatch.setattr(modal_app, "adapters_volume", SimpleNamespace(reload=lambda: events.append("adapters")))
    monkeypatch.setattr(modal_app, "volume", SimpleNamespace(reload=lambda: events.append("weights")))
    bridge_cls = modal_app.Bridge._get_user_cls()
    bridge = bridge_cls.__new__(bridge_cls)
    loaded = {"interp-lora-old": "interp_lora_old"}
    bridge.generator = SimpleNamespace(
        adapters=SimpleNamespace(loaded=loaded), run_call=lambda *a, **k: events.append(("call", k["adapter_id"])) or "frames"
    )
    run_call = bridge_cls.run_call._get_raw_f()
    answer = run_call(bridge, 0, None, adapter_id="interp-lora-old")
    assert (answer["ok"], answer["result"]) == (True, "frames") and answer["seconds"] >= 0
    assert run_call(bridge, 0, None, adapter_id="interp-lora-new")["ok"] is True
    assert events == [("call", "interp-lora-old"), "adapters", ("call", "interp-lora-new")]


#: What ``npx cmvc gpu`` looks up in the deployed app: the CLI's ``GPU_TARGETS``
#: (``src/gpu/modal-targets.ts``), exported by ``npm run schemas``.
CLI_TARGETS = Path(__file__).resolve().parents[3] / "schemas" / "gpu-targets.json"


def cli_targets() -> list[tuple[str, str, str]]:
    targets = json.loads(CLI_TARGETS.read_text(encoding="utf-8"))["targets"]
    assert targets, f"no targets in {CLI_TARGETS}"
    return [(t["kind"], t["name"], t.get("method", "")) for t in targets]


def test_the_modal_app_defines_what_the_cli_targets(modal_app):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classes = modal_app.app.registered_classes
        fns = functions(modal_app.app)
        for kind, name, method in cli_targets():
            if kind == "cls":
                assert name in classes, f"the CLI targets class {name}; the app has {sorted(classes)}"
                assert method in classes[name]._get_method_names(), f"{name} has no method {method}"
            else:
                assert name in fns, f"the CLI targets function {name}; the app has {sorted(fns)}"


def test_the_modal_app_serves_every_contract_function(modal_app):
    fns = functions(modal_app.app)
    assert [name for name in contract.function_names() if name not in fns] == []



def test_a_function_added_to_the_schemas_is_deployed_with_its_timeout(tmp_path):
    """A new contract function needs no edit here: its request schema makes it a Modal function, allowed
    ``SEGMENT_TIMEOUT`` when it calls GPU classes and ``CALL_TIMEOUT`` when it calls none."""
    schemas = tmp_path / "gpu"
    shutil.copytree(contract.schemas_dir(), schemas)
    for name, classes in (("sharpen", ["Generator"]), ("remux", [])):
        request = json.loads((schemas / "interpolate.request.json").read_text())
        request[contract.GPU_CLASSES_KEY] = classes
        (schemas / f"{name}.request.json").write_text(json.dumps(request))
        shutil.copy(schemas / "interpolate.response.json", schemas / f"{name}.response.json")
    probe = (
        "import inspect, json, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "import modal_app\n"
        "fns = modal_app.app._local_state.functions\n"
        "timeout = lambda f: inspect.getclosurevars(f._load).nonlocals['timeout']\n"
        "print(json.dumps({n: timeout(fns[n]) for n in ('sharpen', 'remux')} | {'web': sorted(modal_app.CONTRACT_FUNCTIONS)}))\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_")}
    env |= {"CMVC_SCHEMAS_DIR": str(schemas), "HOME": str(home), "MODAL_CONFIG_PATH": str(home / "absent.toml")}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert (seen["sharpen"], seen["remux"]) == (contract.timing()["generationDeadlineSeconds"], 10 * 60)
    assert {"assemble", "encode", "generate", "interpolate", "remux", "sharpen"} <= set(seen["web"])
