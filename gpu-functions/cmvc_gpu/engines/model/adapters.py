"""LoRA adapters of the first/last-frame model, by id, on a folder (a Modal Volume of its own in
production, so reloading it never touches mapped weight files).

Adapters live in ``adapters_dir/<adapter id>/`` as diffusers LoRA files
(``pytorch_lora_weights.safetensors``) with their LoRA config in the file's metadata (so
``lora_alpha`` survives: see ``training.lora``), written by ``cmvc_gpu.training``, and a record
``adapter.json`` naming the sampling schedule its first/last-frame calls were trained under (an
adapter trained alone at 40 steps is not one trained stacked on the few-step LoRA): an adapter is
refused under another schedule (:class:`AdapterMismatch`); one without a record was trained before
records existed, alone, so under ``default``. Without an adapter keyframe bridging refuses
(:class:`AdapterRequired`): the un-tuned model is not what the codec was measured with, so it never
stands in silently.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional

from .errors import AdapterMismatch, AdapterNotFound, AdapterRequired, ModelInputError

ADAPTER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
LORA_WEIGHTS = "pytorch_lora_weights.safetensors"
#: An adapter's record beside its weights: its id, base model, training settings and ``schedule``.
ADAPTER_RECORD = "adapter.json"
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


def trained_schedule(folder: Path) -> str:
    """The sampling schedule the adapter in ``folder`` was trained under (``default`` without a record)."""
    record = folder / ADAPTER_RECORD
    return str(json.loads(record.read_text()).get("schedule", "default")) if record.is_file() else "default"


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
        schedule: the name of the schedule the pipeline's calls run with; an adapter trained under
            another is refused.
    """

    def __init__(self, pipe: Any, adapters_dir: str | Path, always: tuple[str, ...] = (), schedule: str = "default") -> None:
        self.pipe = pipe
        self.adapters_dir = Path(adapters_dir)
        self.always = always
        self.schedule = schedule
        self.loaded: dict[str, str] = {}
        self.active: Optional[str] = None

    def use(self, adapter_id: str) -> None:
        """Loads ``adapter_id`` (once) and makes it active.

        Raises:
            ModelInputError: the id is not a plain name.
            AdapterNotFound: there is no such adapter.
            AdapterMismatch: it was trained under another schedule.
        """
        if adapter_id not in self.loaded:
            folder = adapter_dir(self.adapters_dir, adapter_id)
            if not (folder / LORA_WEIGHTS).is_file():
                raise AdapterNotFound(f"no LoRA adapter {adapter_id!r} (looked for {folder / LORA_WEIGHTS})")
            trained = trained_schedule(folder)
            if trained != self.schedule:
                raise AdapterMismatch(
                    f"LoRA adapter {adapter_id!r} was trained for first/last-frame calls sampled under the {trained!r} "
                    f"schedule; here they run under {self.schedule!r} (CMVC_STEPS, CMVC_FEW_STEP_BRIDGES): train one "
                    "under this schedule (`modal run gpu-functions/modal_app.py::train_interpolation_lora` deployed with it)"
                )
            name = peft_name(adapter_id)
            present = {n for names in self.pipe.get_list_adapters().values() for n in names}
            if name not in present:
                self.pipe.load_lora_weights(str(folder), weight_name=LORA_WEIGHTS, adapter_name=name)
            self.loaded[adapter_id] = name
        if self.active != adapter_id:
            names = [self.loaded[adapter_id], *self.always]
            self.pipe.set_adapters(names, adapter_weights=[1.0] * len(names))
            self.active = adapter_id
