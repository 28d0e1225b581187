"""The tiny random models, from the package (``npm run gpu:smoke`` builds the same ones)."""

from cmvc_gpu.engines.model.tiny import *  # noqa: F401,F403
from cmvc_gpu.engines.model.tiny import tiny_clip, tiny_config, tiny_qwen, tiny_wan, with_adapters  # noqa: F401
