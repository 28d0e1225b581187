"""Errors the model engine raises, all :class:`cmvc_gpu.errors.ContractError` with a fixed code,
so the shared FastAPI app and the Modal envelope send them as contract errors.

===========================  =====================
exception                    contract code
===========================  =====================
:class:`ModelInputError`     ``invalid_request``
:class:`AdapterRequired`     ``invalid_request``
:class:`AdapterMismatch`     ``invalid_request``
:class:`AdapterNotFound`     ``not_found``
:class:`ModelCapacityError`  ``too_large`` (CUDA out of memory)
other ``ContractError``      its own code
anything else                ``engine_failure``
===========================  =====================
"""

from __future__ import annotations

from ...errors import ContractError

__all__ = ["AdapterMismatch", "AdapterNotFound", "AdapterRequired", "ContractError", "ModelCapacityError", "ModelInputError", "error_code"]


class ModelInputError(ContractError, ValueError):
    """An argument the model cannot take; the message names the argument and its value."""

    def __init__(self, message: str) -> None:
        ContractError.__init__(self, "invalid_request", message)


class AdapterRequired(ModelInputError):
    """Interpolation was asked for without a LoRA adapter (there is no silent un-tuned fallback)."""


class AdapterMismatch(ModelInputError):
    """The LoRA adapter was trained for another sampling schedule than its calls run with here."""


class AdapterNotFound(ContractError, LookupError):
    """The named LoRA adapter is not in the adapters directory."""

    def __init__(self, message: str) -> None:
        ContractError.__init__(self, "not_found", message)


class ModelCapacityError(ContractError, RuntimeError):
    """The call does not fit the accelerator (out of memory)."""

    def __init__(self, message: str) -> None:
        ContractError.__init__(self, "too_large", message)


def is_out_of_memory(error: BaseException) -> bool:
    """``torch.cuda.OutOfMemoryError`` (checked by name, so this module needs no torch)."""
    return type(error).__name__ == "OutOfMemoryError"


def error_code(error: BaseException) -> str:
    """The contract error code for an exception raised by the model engine."""
    if isinstance(error, ContractError):
        return error.code
    if is_out_of_memory(error):
        return "too_large"
    return "engine_failure"
