"""Device, dtype and per-call random generators for the model classes (imports torch)."""

from __future__ import annotations

from typing import Any, Optional

import torch

_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def resolve_device(device: Optional[str]) -> torch.device:
    """``device`` as given, or cuda when available, else the CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


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
