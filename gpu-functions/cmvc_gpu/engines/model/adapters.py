"""LoRA adapters of the first/last-frame model, by id, on a folder (a Modal Volume of its own in
production, so reloading it never touches mapped weight files).

Adapters live in ``adapters_dir/<adapter id>/`` as diffusers LoRA files
(``pytorch_lora_weights.safetensors``) with their LoRA config in the file's metadata (so
``lora_alpha`` survives: see ``training.lora``), written by ``cmvc_gpu.training``. Without an
adapter keyframe bridging refuses (:class:`AdapterRequired`): the un-tuned model is not what the
codec was measured with, so it never stands in silently.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

from .errors import AdapterNotFound, AdapterRequired, ModelInputError

ADAPTER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
LORA_WEIGHTS = "pytorch_lora_weights.safetensors"
DISTILL_ADAPTER = "few_step_distill"


def adapter_dir(adapters_dir: str | Path, adapter_id: str) -> Path:
    """The folder of ``adapter_id``; raises :class:`ModelInputError` for an id that is not a plain
    name (so no id reaches outside ``adapters_dir``)."""
    if not ADAPTER_ID.match(adapter_id) or ".." in adapter_id:
        raise ModelInputError(f"adapterId must match {ADAPTER_ID.pattern} without '..', got {adapter_id!r}")
    return Path(adapters_dir) / adapter_id


def peft_name(adapter_id: str) -> str:
    """The adapter's name inside peft (which does not allow dots)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", adapter_id)


def resolve_adapter(adapter_id: Optional[str], default_adapter_id: Optional[str]) -> str:
    """The adapter a request uses: its own, else the configured default; raises
    :class:`AdapterRequired` when there is neither."""
    chosen = adapter_id if adapter_id is not None else default_adapter_id
    if chosen is None or chosen == "":
        raise AdapterRequired(
            "bridging keyframes needs a LoRA adapter: pass adapterId (e.g. 'interp-lora-v1-r16-…', trained with "
            "`modal run gpu-functions/modal_app.py::train_interpolation_lora`) or set CMVC_DEFAULT_ADAPTER; "
            "the un-tuned model is not used as a fallback"
        )
    return chosen


class AdapterSet:
    """The adapters loaded into one pipeline; switching ids only switches the active adapter.

    Args:
        pipe: a diffusers pipeline with ``load_lora_weights`` / ``set_adapters``.
        adapters_dir: the adapters' folder.
        always: peft names kept active next to the chosen adapter (the few-step LoRA).
    """

    def __init__(self, pipe: Any, adapters_dir: str | Path, always: tuple[str, ...] = ()) -> None:
        self.pipe = pipe
        self.adapters_dir = Path(adapters_dir)
        self.always = always
        self.loaded: dict[str, str] = {}
        self.active: Optional[str] = None

    def use(self, adapter_id: str) -> None:
        """Loads ``adapter_id`` (once) and makes it active.

        Raises:
            ModelInputError: the id is not a plain name.
            AdapterNotFound: there is no such adapter.
        """
        if adapter_id not in self.loaded:
            folder = adapter_dir(self.adapters_dir, adapter_id)
            if not (folder / LORA_WEIGHTS).is_file():
                raise AdapterNotFound(f"no LoRA adapter {adapter_id!r} (looked for {folder / LORA_WEIGHTS})")
            name = peft_name(adapter_id)
            present = {n for names in self.pipe.get_list_adapters().values() for n in names}
            if name not in present:
                self.pipe.load_lora_weights(str(folder), weight_name=LORA_WEIGHTS, adapter_name=name)
            self.loaded[adapter_id] = name
        if self.active != adapter_id:
            names = [self.loaded[adapter_id], *self.always]
            self.pipe.set_adapters(names, adapter_weights=[1.0] * len(names))
            self.active = adapter_id
