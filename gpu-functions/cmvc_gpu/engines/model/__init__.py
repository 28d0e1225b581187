"""The model engine (production, on Modal GPUs): an MLLM for the content and motion texts, TT2V and
IT2V diffusion pipelines, and a LoRA-tuned first/last-frame interpolation model.

Torch is imported only by the model classes (``encoder``, ``generator``, ``interpolator``,
``runtime``); ``config``, ``prompts``, ``sampling``, ``errors`` and ``dispatch`` are torch-free.
See ``gpu-functions/docs/model-engine.md``.
"""
