"""Engines behind the GPU function contract: ``reference`` (CPU, classical) and ``model`` (GPU)."""
