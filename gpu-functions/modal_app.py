"""CMVC Edge GPU functions on Modal: the model engine behind the GPU function contract.

Read top to bottom: App → Image → Volume → GPU classes (one per function, models loaded once in
``@modal.enter``) → the web endpoint (the same FastAPI app as the local server, proxy auth
required, submit/poll on ``spawn`` and ``FunctionCall``) → one-shot jobs (``download_weights``,
``train_interpolation_lora``) → helpers.

    modal deploy gpu-functions/modal_app.py                       # the app, named cmvc-gpu
    modal run gpu-functions/modal_app.py::download_weights        # once: weights onto the Volume
    modal run gpu-functions/modal_app.py::train_interpolation_lora --rank 16 --alpha 16 --steps 500

Scaling is configuration read when deploying (see ``Scaling.from_env``):
``CMVC_<ROLE>_GPU``, ``CMVC_<ROLE>_MIN_CONTAINERS``, ``CMVC_<ROLE>_MAX_CONTAINERS`` and
``CMVC_<ROLE>_SCALEDOWN_SECONDS`` for ROLE in ENCODER, GENERATOR, INTERPOLATOR, WEB; at run time
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

MINUTES = 60
HOURS = 60 * MINUTES
HERE = Path(__file__).resolve().parent

APP_NAME = os.environ.get("CMVC_MODAL_APP", "cmvc-gpu")
VOLUME_NAME = os.environ.get("CMVC_MODAL_VOLUME", "cmvc-gpu-models")
PROGRESS_DICT_NAME = f"{APP_NAME}-progress"
VOLUME_PATH = "/vol"
HF_HUB_CACHE = f"{VOLUME_PATH}/hf"
ADAPTERS_DIR = f"{VOLUME_PATH}/adapters"
DATASETS_DIR = f"{VOLUME_PATH}/datasets"
CALL_TIMEOUT = 10 * MINUTES
STARTUP_TIMEOUT = 20 * MINUTES


@dataclass(frozen=True)
class Scaling:
    """GPU type and autoscaling of one class, from ``CMVC_<ROLE>_*`` (defaults in brackets).

    Args:
        gpu: ``CMVC_<ROLE>_GPU`` [per role]; ``None`` for a CPU-only function.
        min_containers: ``CMVC_<ROLE>_MIN_CONTAINERS`` [0]: kept warm even when idle.
        max_containers: ``CMVC_<ROLE>_MAX_CONTAINERS`` [unset: Modal's limit].
        scaledown_window: ``CMVC_<ROLE>_SCALEDOWN_SECONDS`` [300]: idle seconds before a
            container stops (a cold start reloads weights from the Volume: minutes for 14B models).
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
            scaledown_window=int(env.get(prefix + "SCALEDOWN_SECONDS", str(5 * MINUTES))),
        )


ENCODER_SCALING = Scaling.from_env("encoder", "L40S")  # Qwen2.5-VL 7B + CLIP in bf16: ~18 GB
GENERATOR_SCALING = Scaling.from_env("generator", "H100")  # Wan 2.1 I2V 14B + T2V 1.3B, shared T5/VAE: ~50 GB
INTERPOLATOR_SCALING = Scaling.from_env("interpolator", "H100")  # Wan 2.1 FLF2V 14B + LoRA: ~45 GB
WEB_SCALING = Scaling.from_env("web", None)
TRAINING_GPU = os.environ.get("CMVC_TRAINING_GPU", "H100")


# ── App ─────────────────────────────────────────────────────────────────────────────────────────
app = modal.App(APP_NAME)


# ── Image: every package pinned, from the same requirements files as local development ─────────
def _pinned(*files: str) -> list[str]:
    """The ``name==version`` lines of requirements files (comments and ``-r`` includes skipped)."""
    lines: list[str] = []
    for name in files:
        for raw in (HERE / name).read_text().splitlines():
            line = raw.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                lines.append(line)
    return lines


#: Model configuration read in the containers (``ModelEngineConfig.from_env``), forwarded from the
#: deploying shell: ``CMVC_MODEL_<ROLE>=id@revision``, ``CMVC_DEFAULT_ADAPTER``, ``CMVC_DTYPE``.
MODEL_ENV = {
    key: value
    for key, value in sorted(os.environ.items())
    if key.startswith("CMVC_MODEL_") or key in ("CMVC_DEFAULT_ADAPTER", "CMVC_DTYPE")
}

image = (
    modal.Image.debian_slim(python_version="3.11")
    .uv_pip_install(*_pinned("requirements.txt", "requirements-model.txt"))
    .env(
        {
            "HF_HUB_CACHE": HF_HUB_CACHE,
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
)

with image.imports():
    from cmvc_gpu.engines.model.config import ModelEngineConfig
    from cmvc_gpu.engines.model.dispatch import envelope
    from cmvc_gpu.outputs import deliver


# ── Volume: weights (the Hugging Face cache), LoRA adapters and training videos ────────────────
volume = modal.Volume.from_name(VOLUME_NAME, create_if_missing=True)
progress = modal.Dict.from_name(PROGRESS_DICT_NAME, create_if_missing=True)
VOLUMES: dict[str | PurePosixPath, modal.Volume | modal.CloudBucketMount] = {VOLUME_PATH: volume}


def _run(engine_call, request: dict) -> dict:
    """Runs one engine call inside a GPU method: progress to the shared Dict, errors as data. The
    output file is uploaded from here, so its bytes never pass through Modal's result store."""
    return envelope(
        lambda report: deliver(request, engine_call(request, report)),
        progress_store=progress,
        call_id=modal.current_function_call_id(),
    )


# ── GPU classes: one per contract function, each loads its models once ────────────────────────
@app.cls(
    image=image,
    gpu=ENCODER_SCALING.gpu,
    volumes=VOLUMES,
    timeout=CALL_TIMEOUT,
    startup_timeout=STARTUP_TIMEOUT,
    min_containers=ENCODER_SCALING.min_containers,
    max_containers=ENCODER_SCALING.max_containers,
    scaledown_window=ENCODER_SCALING.scaledown_window,
)
class Encoder:
    """``encode``: scenes, keyframes, and the content and motion texts (MLLM + CLIP)."""

    @modal.enter()
    def load(self) -> None:
        from cmvc_gpu.engines.model.engine import ModelEngine

        self.engine = ModelEngine.load(ModelEngineConfig.from_env(), roles=("encoder",))

    @modal.method()
    def encode(self, request: dict) -> dict:
        return _run(self.engine.encode_json, request)


@app.cls(
    image=image,
    gpu=GENERATOR_SCALING.gpu,
    volumes=VOLUMES,
    timeout=CALL_TIMEOUT,
    startup_timeout=STARTUP_TIMEOUT,
    min_containers=GENERATOR_SCALING.min_containers,
    max_containers=GENERATOR_SCALING.max_containers,
    scaledown_window=GENERATOR_SCALING.scaledown_window,
)
class Generator:
    """``generate``: TT2V and IT2V (Wan 2.1 T2V 1.3B and I2V 14B)."""

    @modal.enter()
    def load(self) -> None:
        from cmvc_gpu.engines.model.engine import ModelEngine

        self.engine = ModelEngine.load(ModelEngineConfig.from_env(), roles=("generator",))

    @modal.method()
    def generate(self, request: dict) -> dict:
        return _run(self.engine.generate_json, request)


@app.cls(
    image=image,
    gpu=INTERPOLATOR_SCALING.gpu,
    volumes=VOLUMES,
    timeout=CALL_TIMEOUT,
    startup_timeout=STARTUP_TIMEOUT,
    min_containers=INTERPOLATOR_SCALING.min_containers,
    max_containers=INTERPOLATOR_SCALING.max_containers,
    scaledown_window=INTERPOLATOR_SCALING.scaledown_window,
)
class Interpolator:
    """``interpolate``: Wan 2.1 FLF2V 14B with a LoRA adapter from the Volume."""

    @modal.enter()
    def load(self) -> None:
        from cmvc_gpu.engines.model.engine import ModelEngine

        self.engine = ModelEngine.load(ModelEngineConfig.from_env(), roles=("interpolator",))

    @modal.method()
    def interpolate(self, request: dict) -> dict:
        adapter = request.get("adapterId") or os.environ.get("CMVC_DEFAULT_ADAPTER")
        if adapter not in self.engine.interpolator.loaded:
            volume.reload()  # a reader: see adapters trained since this container started
        return _run(self.engine.interpolate_json, request)


@app.function(image=image, volumes=VOLUMES, timeout=CALL_TIMEOUT, scaledown_window=WEB_SCALING.scaledown_window)
def assemble(request: dict) -> dict:
    """``assemble``: a remux on the CPU (no model)."""
    from cmvc_gpu.engines.model.engine import ModelEngine

    engine = ModelEngine(ModelEngineConfig.from_env())
    return envelope(
        lambda report: engine.assemble_json(request, report),
        progress_store=progress,
        call_id=modal.current_function_call_id(),
    )


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
    from cmvc_gpu.engines.model.dispatch import Dispatcher
    from cmvc_gpu.engines.model.web import create_modal_web_app

    dispatcher = Dispatcher(
        methods={
            "encode": Encoder().encode,
            "generate": Generator().generate,
            "interpolate": Interpolator().interpolate,
            "assemble": assemble,
        },
        from_id=modal.FunctionCall.from_id,
        progress_store=progress,
        timeout_errors=(modal.exception.TimeoutError, TimeoutError),
        expired_errors=(modal.exception.OutputExpiredError,),
        failed_errors=(modal.exception.FunctionTimeoutError, modal.exception.RemoteError),
    )
    return create_modal_web_app(dispatcher, ModelEngineConfig.from_env())


# ── One-shot jobs ───────────────────────────────────────────────────────────────────────────────
@app.function(image=image, volumes=VOLUMES, timeout=2 * HOURS)
def download_weights(roles: str = "all") -> list[str]:
    """Downloads every pinned model (or ``--roles mllm,t2v,…``) into the Volume's HF cache, once.

    Fails when a pinned revision does not exist, so a typo never deploys unnoticed.
    """
    from huggingface_hub import snapshot_download

    refs = ModelEngineConfig.from_env().refs()
    wanted = list(refs) if roles == "all" else [r.strip() for r in roles.split(",") if r.strip()]
    unknown = sorted(set(wanted) - set(refs))
    if unknown:
        raise ValueError(f"unknown roles {unknown}; known: {sorted(refs)}")
    done = []
    for role in wanted:
        ref = refs[role]
        print(f"{role}: {ref.pinned()}")
        snapshot_download(ref.id, revision=ref.revision, cache_dir=HF_HUB_CACHE)
        done.append(ref.pinned())
    Path(ADAPTERS_DIR).mkdir(parents=True, exist_ok=True)
    volume.commit()  # a writer: make the weights visible to every container
    return done


@app.function(image=image, gpu=TRAINING_GPU, volumes=VOLUMES, timeout=6 * HOURS)
def train_interpolation_lora(
    rank: int = 16,
    alpha: int = 16,
    steps: int = 500,
    dataset: str = "interpolation",
    learning_rate: float = 1e-4,
    clip_frames: int = 9,
    stride: int = 1,
    width: int = 576,
    height: int = 320,
    eval_clips: int = 4,
    version: str = "v1",
    seed: int = 0,
) -> str:
    """Trains a LoRA adapter for the interpolation model on the videos in
    ``/vol/datasets/<dataset>/`` (upload with ``modal volume put cmvc-gpu-models ./clips /datasets/interpolation``),
    saves it to ``/vol/adapters/<adapter id>/``, prints a short evaluation and returns the id."""
    from cmvc_gpu.training.run import train_from_directory

    adapter_id = train_from_directory(
        dataset_dir=f"{DATASETS_DIR}/{dataset}",
        adapters_dir=ADAPTERS_DIR,
        config=ModelEngineConfig.from_env(),
        rank=rank,
        alpha=alpha,
        steps=steps,
        learning_rate=learning_rate,
        clip_frames=clip_frames,
        stride=stride,
        width=width,
        height=height,
        eval_clips=eval_clips,
        version=version,
        seed=seed,
    )
    volume.commit()
    return adapter_id
