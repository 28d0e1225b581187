"""What an engine provides: ``info()``, and one method per contract function, named after it, taking
the validated request (a dict with the schema's defaults applied) and returning the contract's
response dict. The functions are the exported schema's (``contract.function_names()``), so this module
lists none: a new function is a method on each engine, which :func:`check_engine` (at server start and
in the tests) requires.

Each method takes an optional progress callback, called with a fraction in [0, 1]; long work
should call it now and then (submitted calls report it when polled). Failures the client should
see are ``cmvc_gpu.errors.ContractError``; anything else is reported as ``engine_failure``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional, Protocol

from ..contract import function_names
from ..errors import ContractError
from ..progress import Progress

#: An engine's method for one contract function: ``{fn}.request`` → ``{fn}.response``.
EngineMethod = Callable[[dict, Optional[Progress]], dict]


class Engine(Protocol):
    def info(self) -> dict:
        """``{"id", "version", "models"}``: recorded in every response."""
        ...


def missing_functions(engine: Any) -> list[str]:
    """The contract functions ``engine`` (an engine or its class) has no method for, in the schema's order."""
    return [function for function in function_names() if not callable(getattr(engine, function, None))]


def check_engine(engine: Any) -> None:
    """Raises ``TypeError`` naming every contract function ``engine`` has no method for."""
    missing = missing_functions(engine)
    if missing:
        raise TypeError(f"{type(engine).__name__} has no method for the contract functions {', '.join(missing)}")


def engine_method(engine: Any, function: str) -> EngineMethod:
    """The method of ``engine`` that serves contract function ``function``."""
    method = getattr(engine, function, None)
    if not callable(method):
        raise TypeError(f"{type(engine).__name__} has no method for the contract function {function!r}")
    return method


def check_honoured(engine: Any, function: str, request: dict) -> None:
    """Raises ``invalid_request`` naming ``engine`` when ``request`` asks for a target rate
    (``options.targetKbps``) that the engine does not plan keyframes for (it says it does with
    ``plans_rate = True``): refused before it runs, never ignored, so no view reports a target nobody
    honoured. Both engines here plan it (``cmvc_gpu.media.rate``)."""
    if function != "encode" or (request.get("options") or {}).get("targetKbps") is None or getattr(engine, "plans_rate", False):
        return
    info = engine.info()
    raise ContractError(
        "invalid_request",
        f"the {info['id']}@{info['version']} engine cannot honour options.targetKbps; encode without it",
        details={"field": "options.targetKbps"},
    )
