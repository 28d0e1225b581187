"""The model engine (production, on Modal GPUs): an MLLM for the content and motion texts, and the
Wan 2.1 pipelines (text-to-video, image-to-video, first/last-frame with a LoRA adapter) running
the planned calls of each segment.

Torch is imported only by the model classes (``encoder``, ``generator``, ``runtime``) and
``training``; ``config``, ``prompts``, ``sampling``, ``segment_plan``, ``cost``, ``weights``,
``adapters``, ``errors`` and ``dispatch`` are torch-free. See ``gpu-functions/docs/model-engine.md``.
"""
