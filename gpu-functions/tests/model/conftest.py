"""Makes the tiny-model helpers importable as ``_tiny_models`` whatever pytest's import mode."""

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
ROOT = str(Path(__file__).resolve().parents[2])  # gpu-functions/, for `import cmvc_gpu` and `modal_app`
for path in (HERE, ROOT):
    if path not in sys.path:
        sys.path.insert(0, path)
