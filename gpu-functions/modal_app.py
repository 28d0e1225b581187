"""CMVC Edge GPU functions on Modal: the model engine behind the GPU function contract.

Read top to bottom: App → Image → Volumes → GPU classes (models loaded once in ``@modal.enter``,
offline from the Volume) → the CPU functions that fan a segment out into GPU calls → the web
endpoint (the same FastAPI app as the local server, proxy auth required, submit/poll on ``spawn``
and ``FunctionCall``) → one-shot jobs (``download_weights``, ``train_interpolation_lora``,
``smoke``) → helpers.

    modal deploy gpu-functions/modal_app.py                       # the app, named cmvc-gpu
    modal run gpu-functions/modal_app.py::download_weights        # once: weights onto the Volume
    modal run gpu-functions/modal_app.py::train_interpolation_lora --rank 16 --alpha 32 --steps 500
    modal run gpu-functions/modal_app.py::smoke                   # the whole path through the deployed classes

Every GPU call is one planned pipeline call (``segment_plan``), sized to finish inside
``CALL_TIMEOUT`` (``npm run gpu:plan`` shows each); the ``generate`` function that waits for a
segment's calls runs on the CPU and spends no GPU time.

Scaling is configuration read when deploying (see ``Scaling.from_env``):
``CMVC_<ROLE>_GPU``, ``CMVC_<ROLE>_MIN_CONTAINERS``, ``CMVC_<ROLE>_MAX_CONTAINERS`` and
``CMVC_<ROLE>_SCALEDOWN_SECONDS`` for ROLE in ENCODER, GENERATOR, BRIDGE, WEB; at run time
``npx cmvc gpu warm --min N`` changes min containers without a deploy. See docs/model-engine.md.

This module imports with the real ``modal`` package and no credentials (the tests build the app
object and inspect it); GPU-only packages are imported inside ``with image.imports():``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Optional

import modal

from cmvc_gpu import contract
from cmvc_gpu.engines.model import cost

MINUTES = 60
HOURS = 60 * MINUTES
HERE = Path(__file__).resolve().parent

APP_NAME = os.environ.get("CMVC_MODAL_APP", "cmvc-gpu")
VOLUME_NAME = os.environ.get("CMVC_MODAL_VOLUME", "cmvc-gpu-models")
PROGRESS_DICT_NAME = f"{APP_NAME}-progress"
#: Submits' idempotency keys → call ids, so a submit sent again after a lost answer spawns nothing.
SUBMITS_DICT_NAME = f"{APP_NAME}-submits"
VOLUME_PATH = "/vol"
ADAPTERS_VOLUME_NAME = os.environ.get("CMVC_MODAL_ADAPTERS_VOLUME", "cmvc-gpu-adapters")
HF_HUB_CACHE = f"{VOLUME_PATH}/hf"
ADAPTERS_DIR = "/adapters"
DATASETS_DIR = f"{VOLUME_PATH}/datasets"
# Every GPU call; work is split to fit, never the limit raised. The time model's figures
# (cmvc_gpu/engines/model/cost.py), where gpu:plan checks every call against them.
CALL_TIMEOUT = cost.CALL_LIMIT_SECONDS
DEFAULT_GPU = cost.DEFAULT_GPU
#: The CPU function waiting for one segment's GPU calls: the generation deadline, declared once in the
#: contract (``GENERATION_TIMING``, exported as schemas/gpu/timing.json), which the Worker polls a call
#: for, its upload target outlives and gpu:plan fits each segment's wall time in.
SEGMENT_TIMEOUT = int(contract.timing()["generationDeadlineSeconds"])
#: A CPU function waiting for GPU calls that uploads no file (the encode: its analysis and describe calls
#: one after another); the Worker resumes it by id after its own deadline.
WAIT_TIMEOUT = 60 * MINUTES
STARTUP_TIMEOUT = 20 * MINUTES


@dataclass(frozen=True)
class Scaling:
    """GPU type and autoscaling of one class, from ``CMVC_<ROLE>_*`` (defaults in brackets).

    Args:
        gpu: ``CMVC_<ROLE>_GPU`` [per role]; ``None`` for a CPU-only function.
        min_containers: ``CMVC_<ROLE>_MIN_CONTAINERS`` [0]: kept warm even when idle.
        max_containers: ``CMVC_<ROLE>_MAX_CONTAINERS`` [unset: Modal's limit].
        scaledown_window: ``CMVC_<ROLE>_SCALEDOWN_SECONDS`` [``cost.SCALEDOWN_SECONDS``, 300]: idle
            seconds before a container stops, billed (a cold start reads the weights again: about a
            minute for the 14B classes; gpu:plan's cost counts both).
    """

    gpu: Optional[str]
    min_containers: int
    max_containers: Optional[int]
    scaledown_window: int

    @classmethod
    def from_env(cls, role: str, default_gpu: Optional[str], env: Optional[dict[str, str]] = None) -> "Scaling":
        env = dict(os.environ) if env is None else env
        prefix = f"CMVC_{role.upper()}_"
        gpu = env.get(prefix + "GPU")
        max_containers = env.get(prefix + "MAX_CONTAINERS")
        return cls(
            gpu=default_gpu if gpu is None else (gpu or None),
            min_containers=int(env.get(prefix + "MIN_CONTAINERS", "0")),
            max_containers=None if max_containers is None else int(max_containers),
            scaledown_window=int(env.get(prefix + "SCALEDOWN_SECONDS", str(cost.SCALEDOWN_SECONDS))),
        )


# Memory per class: docs/model-engine.md (generated from cmvc_gpu/engines/model/cost.py).
ENCODER_SCALING = Scaling.from_env("encoder", "L40S")  # Qwen2.5-VL 7B + CLIP B/32: ~23 GB peak
GENERATOR_SCALING = Scaling.from_env("generator", DEFAULT_GPU)  # I2V 14B + T2V 1.3B, one T5/VAE/CLIP: ~75 GB
BRIDGE_SCALING = Scaling.from_env("bridge", DEFAULT_GPU)  # FLF2V 14B + LoRA, its own T5/VAE/CLIP: ~73 GB
WEB_SCALING = Scaling.from_env("web", None)
TRAINING_GPU = os.environ.get("CMVC_TRAINING_GPU", "H100")


# ── App ─────────────────────────────────────────────────────────────────────────────────────────
app = modal.App(APP_NAME)


# ── Image: every package pinned, from the same requirements files as local development ─────────
#: Read by ``uv`` when the image is built (at ``modal deploy``, on the deploying machine), never when
#: this module is imported: a container holds only this file (as /root/modal_app.py) and what the
#: image adds below, not the requirements files beside it.
REQUIREMENTS = [str(HERE / "requirements.txt"), str(HERE / "requirements-model.txt")]


#: Configuration read in the containers, forwarded from the deploying shell: the models
#: (``ModelEngineConfig.from_env``: ``CMVC_MODEL_<ROLE>=id@revision``, ``CMVC_DEFAULT_ADAPTER``,
#: ``CMVC_DTYPE``, ``CMVC_STEPS``, ``CMVC_FEW_STEP_BRIDGES``) and ``CMVC_SOURCE_ORIGINS``, the origins input videos may be fetched
#: from (the Worker's ``PUBLIC_ORIGIN``, and the R2 S3 endpoint when transfers are presigned): unset, the
#: functions fetch no URL, and interpolate and assemble take their inputs by URL only.
FORWARDED = ("CMVC_DEFAULT_ADAPTER", "CMVC_DTYPE", "CMVC_STEPS", "CMVC_FEW_STEP_BRIDGES", "CMVC_SOURCE_ORIGINS")
MODEL_ENV = {key: value for key, value in sorted(os.environ.items()) if key.startswith("CMVC_MODEL_") or key in FORWARDED}

image = (
    modal.Image.debian_slim(python_version="3.11")
    .uv_pip_install(requirements=REQUIREMENTS)
    .env(
        {
            "HF_HUB_CACHE": HF_HUB_CACHE,
            "HF_HUB_OFFLINE": "1",  # serving reads the Volume only; download_weights turns this off
            "TRANSFORMERS_OFFLINE": "1",
            "HF_XET_HIGH_PERFORMANCE": "1",
            "CMVC_ADAPTERS_DIR": ADAPTERS_DIR,
            "CMVC_SCHEMAS_DIR": "/root/schemas/gpu",  # cmvc_gpu.contract validates against these
            "CMVC_NO_APP": "1",  # cmvc_gpu.app builds no default app on import; web() builds its own
            "TOKENIZERS_PARALLELISM": "false",
            **MODEL_ENV,
        }
    )
    .add_local_python_source("cmvc_gpu")
    .add_local_dir(HERE.parent / "schemas" / "gpu", "/root/schemas/gpu")
    # The bitstream's text dictionary: the rate planner sizes coded texts with it (contract.bitstream_file).
    .add_local_dir(HERE.parent / "schemas" / "bitstream", "/root/schemas/bitstream")
)

with image.imports():
    from cmvc_gpu.engines.model.config import ModelEngineConfig
    from cmvc_gpu.engines.model.dispatch import envelope
    from cmvc_gpu.media.sources import with_fetch_seconds
    from cmvc_gpu.outputs import deliver


# ── Volumes: weights (the Hugging Face cache) and training videos; LoRA adapters on their own ──
# Adapters are reloaded while a container runs (to see newly trained ones); the weights volume is
# never reloaded, because its files are memory-mapped by the loaded models.
volume = modal.Volume.from_name(VOLUME_NAME, create_if_missing=True)
adapters_volume = modal.Volume.from_name(ADAPTERS_VOLUME_NAME, create_if_missing=True)
progress = modal.Dict.from_name(PROGRESS_DICT_NAME, create_if_missing=True)
submits = modal.Dict.from_name(SUBMITS_DICT_NAME, create_if_missing=True)
VOLUMES: dict[str | PurePosixPath, modal.Volume | modal.CloudBucketMount] = {
    VOLUME_PATH: volume,
    ADAPTERS_DIR: adapters_volume,
}
ONLINE = modal.Secret.from_dict({"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0"})


def _run(engine_call, request: dict) -> dict:
    """Runs one engine call: progress to the shared Dict, errors as data. The output file is
    uploaded from here, so its bytes never pass through Modal's result store; the seconds its input
    fetches took are reported apart (``seconds.fetch``)."""
    return envelope(
        lambda report: deliver(request, with_fetch_seconds(lambda: engine_call(request, report))),
        progress_store=progress,
        call_id=modal.current_function_call_id(),
    )


def _gpu_config() -> "ModelEngineConfig":
    """The model configuration of a GPU container: its device is CUDA unless ``CMVC_DEVICE`` names
    another, checked first, so a container whose CUDA does not work fails loudly at start instead of
    loading 14B models in float32 on its CPU."""
    from dataclasses import replace

    from cmvc_gpu.engines.model.runtime import resolve_device

    config = ModelEngineConfig.from_env()
    config = replace(config, device=config.device or "cuda")
    resolve_device(config.device)
    return config


def _load_generator(models: tuple[str, ...]):
    """The Generator with ``models``, after checking every weight file it reads is on the Volume."""
    from cmvc_gpu.engines.model.generator import Generator
    from cmvc_gpu.engines.model.weights import check_present

    config = _gpu_config()
    check_present(config, config.cache_dir, ("i2v", *models, "distill"))
    return Generator.from_pretrained(
        config.generator, device=config.device, dtype=config.dtype, cache_dir=config.cache_dir, models=models
    )


# ── GPU classes: each loads its models once; each method call is one planned pipeline call ────
def gpu_class(scaling: Scaling, memory_bytes: int):
    """The ``@app.cls`` of a GPU class: its GPU and autoscaling (``scaling``), the host memory its
    loading needs (``memory_bytes``, from the time model's container of the class), the Volumes, and
    one call's ``CALL_TIMEOUT`` (seconds), so every GPU class is declared the same way."""
    return app.cls(
        image=image,
        gpu=scaling.gpu,
        memory=memory_bytes // 2**20,
        volumes=VOLUMES,
        timeout=CALL_TIMEOUT,
        startup_timeout=STARTUP_TIMEOUT,
        min_containers=scaling.min_containers,
        max_containers=scaling.max_containers,
        scaledown_window=scaling.scaledown_window,
    )


@gpu_class(ENCODER_SCALING, cost.encoder_container().host_memory_bytes())
class Encoder:
    """The encode's GPU calls: one analysis (decode, CLIP embeddings, scene cuts), then describe
    calls over groups of segments (keyframes, MLLM texts), each inside ``CALL_TIMEOUT``."""

    @modal.enter()
    def load(self) -> None:
        from cmvc_gpu.engines.model.engine import ModelEngine
        from cmvc_gpu.engines.model.weights import CLASS_ROLES, check_present

        config = _gpu_config()
        check_present(config, config.cache_dir, CLASS_ROLES["Encoder"])
        self.engine = ModelEngine.load(config, roles=("encoder",))

    @modal.method()
    def analyse(self, request: dict) -> dict:
        return envelope(lambda report: self.engine.analyse_json(request))

    @modal.method()
    def describe(self, request: dict, analysis: dict, indices: list[int]) -> dict:
        return envelope(lambda report: self.engine.describe_json(request, analysis, indices))


@gpu_class(GENERATOR_SCALING, cost.host_memory_bytes("Generator"))
class Generator:
    """Text-to-video and image-to-video calls (Wan 2.1 T2V 1.3B and I2V 14B, one T5/VAE/CLIP)."""

    @modal.enter()
    def load(self) -> None:
        self.generator = _load_generator(("t2v", "i2v"))

    @modal.method()
    def run_call(self, *args, **kwargs) -> dict:
        return envelope(lambda report: self.generator.run_call(*args, **kwargs))


@gpu_class(BRIDGE_SCALING, cost.host_memory_bytes("Bridge"))
class Bridge:
    """First/last-frame calls between two keyframes (Wan 2.1 FLF2V 14B + a LoRA adapter)."""

    @modal.enter()
    def load(self) -> None:
        self.generator = _load_generator(("flf2v",))

    @modal.method()
    def run_call(self, *args, **kwargs):
        adapter = kwargs.get("adapter_id")
        if adapter is not None and adapter not in self.generator.adapters.loaded:
            adapters_volume.reload()  # see adapters trained since this container started
        return envelope(lambda report: self.generator.run_call(*args, **kwargs))


# ── CPU functions, one per contract function: work fanned out into GPU calls, the remux ───────
def _engine():
    """The model engine of a contract function's container. It loads no model: the encode's analysis
    and describe calls go to ``Encoder``, each planned pipeline call to ``Generator`` or ``Bridge``
    (those conditioned on keyframes only run side by side), as GPU calls of their own inside
    ``CALL_TIMEOUT``; stitching, resampling, the frame-rate raise and the remux run here on the CPU.
    The seconds those GPU calls hold their GPUs, summed (``GpuMeter``), are the response's
    ``seconds.gpu``: what the key is charged, not this CPU container's wall time."""
    from cmvc_gpu.engines.model.dispatch import GpuMeter
    from cmvc_gpu.engines.model.engine import ModelEngine

    meter = GpuMeter()

    def target(call):
        return Bridge() if call.model == "flf2v" else Generator()

    def run_call(index, call, prompt, first, last, width, height, seed, adapter_id):
        answer = target(call).run_call.remote(index, call, prompt, first, last, width, height, seed, adapter_id=adapter_id)
        return meter.value(answer)

    def start_call(index, call, prompt, first, last, width, height, seed, adapter_id):
        handle = target(call).run_call.spawn(index, call, prompt, first, last, width, height, seed, adapter_id=adapter_id)
        return lambda: meter.value(handle.get())

    return ModelEngine(
        ModelEngineConfig.from_env(),
        run_analyse=lambda r: meter.value(Encoder().analyse.remote(r)),
        run_describe=lambda r, analysis, group: meter.value(Encoder().describe.remote(r, analysis, group)),
        run_call=run_call,
        start_call=start_call,
        gpu_seconds=meter.total,
    )


def contract_function(name: str):
    """The ``@app.function`` serving contract function ``name``: ``ModelEngine.{name}_json`` on the CPU.
    One that calls no GPU class is one call, inside ``CALL_TIMEOUT``. One that waits for the GPU classes
    it calls (``contract.gpu_classes``, from the contract's ``gpuClasses``) and uploads an output file
    (its request has an ``output`` target) waits up to ``SEGMENT_TIMEOUT``, the generation deadline its
    upload target is made to outlive; one that uploads nothing (``encode``) up to ``WAIT_TIMEOUT``."""

    def run(request: dict) -> dict:
        return _run(getattr(_engine(), f"{name}_json"), request)

    # Modal finds a function by its name in this module (assigned below), so it is named as served.
    run.__name__ = run.__qualname__ = name
    uploads = "output" in contract.validator(f"{name}.request").schema.get("properties", {})
    timeout = (SEGMENT_TIMEOUT if uploads else WAIT_TIMEOUT) if contract.gpu_classes(name) else CALL_TIMEOUT
    return app.function(image=image, timeout=timeout, scaledown_window=WEB_SCALING.scaledown_window)(run)


#: One Modal function per contract function (``schemas/gpu/{name}.request.json``), by name.
CONTRACT_FUNCTIONS = {name: contract_function(name) for name in contract.function_names()}
globals().update(CONTRACT_FUNCTIONS)


# ── Web endpoint: the same FastAPI app as the local server, forwarding to the classes ──────────
@app.function(
    image=image,
    timeout=CALL_TIMEOUT,
    min_containers=WEB_SCALING.min_containers,
    max_containers=WEB_SCALING.max_containers,
    scaledown_window=WEB_SCALING.scaledown_window,
)
@modal.concurrent(max_inputs=100)
@modal.asgi_app(requires_proxy_auth=True)
def web():
    """The contract over HTTPS. Callers send ``Modal-Key`` / ``Modal-Secret`` (a proxy auth token);
    long calls go through ``/v1/{fn}/submit`` and ``/v1/calls/{id}`` (spawn / FunctionCall)."""
    from cmvc_gpu.app import create_modal_web_app
    from cmvc_gpu.engines.model.dispatch import Dispatcher

    dispatcher = Dispatcher(
        methods=CONTRACT_FUNCTIONS,
        from_id=modal.FunctionCall.from_id,
        progress_store=progress,
        submit_store=submits,
        timeout_errors=(modal.exception.TimeoutError, TimeoutError),
        expired_errors=(modal.exception.OutputExpiredError,),
        failed_errors=(modal.exception.FunctionTimeoutError, modal.exception.RemoteError),
    )
    return create_modal_web_app(dispatcher, ModelEngineConfig.from_env())


# ── One-shot jobs ───────────────────────────────────────────────────────────────────────────────
@app.function(image=image, volumes=VOLUMES, timeout=2 * HOURS, secrets=[ONLINE])
def download_weights(roles: str = "all") -> dict:
    """Downloads exactly the files the loaders read for every pinned model (or ``--roles
    mllm,t2v,…``) into the Volume's HF cache, verifies each against the hub's SHA-256, and records
    the resolved revisions in ``/vol/hf/cmvc-weights.json`` (read at every container start).

    Fails when a pinned revision does not exist, so a typo never deploys unnoticed.
    """
    from cmvc_gpu.engines.model.weights import download

    wanted = None if roles == "all" else [r.strip() for r in roles.split(",") if r.strip()]
    manifest = download(ModelEngineConfig.from_env(), HF_HUB_CACHE, wanted)
    volume.commit()  # a writer: make the weights visible to every container
    return manifest


@app.function(image=image, gpu=TRAINING_GPU, volumes=VOLUMES, timeout=6 * HOURS)
def train_interpolation_lora(
    rank: int = 16,
    alpha: int = 32,
    steps: int = 500,
    dataset: str = "interpolation",
    learning_rate: float = 1e-4,
    width: int = 832,
    height: int = 480,
    eval_clips: int = 4,
    version: str = "v1",
    seed: int = 0,
) -> str:
    """Trains a LoRA adapter for the first/last-frame model on the videos in
    ``/vol/datasets/<dataset>/`` (upload with ``modal volume put cmvc-gpu-models ./clips /datasets/interpolation``),
    on clips of the served shape (``ClipConfig``), saves it to the adapters Volume, prints a short
    evaluation and returns the id."""
    from cmvc_gpu.training.run import train_from_directory

    adapter_id = train_from_directory(
        dataset_dir=f"{DATASETS_DIR}/{dataset}",
        adapters_dir=ADAPTERS_DIR,
        config=_gpu_config(),
        rank=rank,
        alpha=alpha,
        steps=steps,
        learning_rate=learning_rate,
        width=width,
        height=height,
        eval_clips=eval_clips,
        version=version,
        seed=seed,
    )
    adapters_volume.commit()
    return adapter_id


@app.function(image=image, timeout=SEGMENT_TIMEOUT)
def smoke(adapter_id: str = "", seconds: float = 2.0, width: int = 832, height: int = 480, fps: float = 16.0) -> list[dict]:
    """The smoke run of ``npm run gpu:smoke`` on the pinned weights: every stage through the deployed
    classes, as ``encode`` and ``generate`` run them (this function is a CPU one, waiting up to the
    generation deadline; each class loads only its own models, in its own container, and each call fits
    ``CALL_TIMEOUT``), with PSNR/SSIM against the source. The IT2V stage bridges to a second keyframe
    with ``--adapter-id`` or ``CMVC_DEFAULT_ADAPTER``; a fresh deployment without one runs it without
    the bridge and says so (``bridge``: None)."""
    from cmvc_gpu.smoke import run_stages

    rows = run_stages(
        _engine(), adapter_id=adapter_id or None, seconds=seconds, width=width, height=height, fps=fps, quality=True
    )
    for row in rows:
        print(row)
    return rows
