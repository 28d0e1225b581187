"""The reference engine: classical, deterministic, CPU only, honest about being no generative model."""

from .engine import ReferenceEngine

__all__ = ["ReferenceEngine"]
