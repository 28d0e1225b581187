"""Device, dtype and per-call random generators for the model classes (imports torch)."""

from __future__ import annotations

import logging
from typing import Any, Optional

import torch

log = logging.getLogger("cmvc_gpu")

_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def resolve_device(device: Optional[str]) -> torch.device:
    """``device`` as given, or cuda when available, else the CPU (with a warning: a GPU container
    names ``cuda``). A CUDA device that does not work raises :class:`CudaUnavailable` here, at load,
    rather than 14B models being loaded in float32 on a CPU."""
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        log.warning("no CUDA device: the models run on the CPU (set CMVC_DEVICE=cuda where a GPU is required)")
        return torch.device("cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda":
        require_cuda(resolved)
    return resolved


class CudaUnavailable(RuntimeError):
    """CUDA was asked for and does not work in this process."""


def require_cuda(device: torch.device) -> None:
    """Raises :class:`CudaUnavailable` naming why, unless ``device`` takes an allocation."""
    if not torch.cuda.is_available():
        raise CudaUnavailable(
            f"CUDA device {device} asked for, but torch.cuda.is_available() is False (no GPU in this container, or a "
            f"driver/runtime mismatch: torch {torch.__version__} built for CUDA {torch.version.cuda}); refusing to load on the CPU"
        )
    try:
        torch.zeros(1, device=device)
    except Exception as error:  # noqa: BLE001 (any failure to allocate is the finding)
        raise CudaUnavailable(f"CUDA device {device} does not take an allocation: {error}") from error


def resolve_dtype(dtype: Optional[str], device: torch.device) -> torch.dtype:
    """``dtype`` by name, or bfloat16 on cuda and float32 on the CPU."""
    if dtype is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    return _DTYPES[dtype]


def seeded(seed: int, device: torch.device) -> torch.Generator:
    """A fresh generator for one call: same seed, same noise, whatever ran before."""
    if not 0 <= seed <= 2**32 - 1:
        raise ValueError(f"seed must be in [0, 2**32 - 1], got {seed}")
    generator_device = device if device.type == "cuda" else torch.device("cpu")
    return torch.Generator(device=generator_device).manual_seed(seed)


def eval_modules(*objects: Any) -> None:
    """Puts every torch module among ``objects`` (or a pipeline's components) in eval mode, so
    dropout never makes two calls with the same seed differ."""
    for obj in objects:
        components = getattr(obj, "components", None)
        items = components.values() if isinstance(components, dict) else [obj]
        for item in items:
            if isinstance(item, torch.nn.Module):
                item.eval()
