"""Validation against the contract's JSON Schemas in ``schemas/gpu`` (exported from the zod source
``src/gpu/contract.ts``).

The schemas are read once, from ``../schemas/gpu`` relative to ``gpu-functions`` or from the folder
named by ``CMVC_SCHEMAS_DIR``. Requests that break a schema are the client's fault
(``invalid_request``, naming the field path); responses that break one are this server's bug
(``engine_failure``) and never leave it.
"""

from __future__ import annotations

import copy
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from .errors import STATUS_BY_CODE, ContractError

__all__ = [
    "STATUS_BY_CODE", "ContractError", "SHARED_SCHEMA_NAMES", "bitstream_file", "check_request", "check_response",
    "apply_defaults", "function_names", "gpu_classes", "keyframes_problem", "modes", "load_all", "schema_names", "schemas_dir", "timing", "validator",
]

CONTRACT_VERSION = "2"
DEFAULT_SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas" / "gpu"
#: The schemas besides each function's own request and response, by file name without ``.json``.
SHARED_SCHEMA_NAMES = ("call.submit.response", "call.status", "info.response", "health.response", "error")
REQUEST_SUFFIX = ".request.json"
#: The key of a function's request schema naming the Modal GPU classes it calls (``GPU_CLASSES_KEY`` in
#: ``src/gpu/schema-export.ts``).
GPU_CLASSES_KEY = "x-cmvc-gpu-classes"


def schemas_dir() -> Path:
    """The folder the schemas are read from (``CMVC_SCHEMAS_DIR`` or ``../schemas/gpu``)."""
    return Path(os.environ.get("CMVC_SCHEMAS_DIR", DEFAULT_SCHEMAS_DIR))


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    """The validator of ``{schemas_dir}/{name}.json``, loaded and checked once."""
    path = schemas_dir() / f"{name}.json"
    try:
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
    except FileNotFoundError:
        raise RuntimeError(f"contract schema {name}.json not found in {schemas_dir()} (set CMVC_SCHEMAS_DIR)") from None
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def function_names() -> tuple[str, ...]:
    """The GPU functions, sorted: one per ``{name}.request.json`` in :func:`schemas_dir` (the one list;
    metrics, dispatch, the engines' check, the Modal app and ``/v1/info`` read it here). A function is
    its two schemas: :func:`load_all` fails when its ``{name}.response.json`` is missing."""
    return tuple(sorted(path.name[: -len(REQUEST_SUFFIX)] for path in schemas_dir().glob(f"*{REQUEST_SUFFIX}")))


def gpu_classes(function: str) -> tuple[str, ...]:
    """The Modal GPU classes ``function`` calls and waits for (its request schema's ``x-cmvc-gpu-classes``,
    from the contract's ``gpuClasses``); empty for a function that runs on the CPU alone."""
    return tuple(validator(f"{function}.request").schema.get(GPU_CLASSES_KEY, ()))


def modes() -> tuple[str, ...]:
    """The reconstruction modes: ``generate.request``'s ``mode`` enum."""
    return tuple(validator("generate.request").schema["properties"]["mode"]["enum"])


def schema_names() -> tuple[str, ...]:
    """Every schema this server uses, by file name without ``.json``: ``{fn}.request`` and
    ``{fn}.response`` of each function in :func:`function_names`, then the shared ones."""
    per_function = tuple(f"{fn}.{part}" for fn in function_names() for part in ("request", "response"))
    return per_function + SHARED_SCHEMA_NAMES


def load_all() -> None:
    """Loads every schema now, so a missing or broken schema stops the server at start."""
    for name in schema_names():
        validator(name)


def _path(error: ValidationError) -> str:
    """``options.keyframeCodec`` or ``parts[2].data``; ``(body)`` for the top level."""
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


def first_problem(name: str, value: Any) -> Optional[tuple[str, str]]:
    """``(field path, message)`` of the most relevant violation of schema ``name``, or None."""
    error = best_match(validator(name).iter_errors(value))
    if error is None:
        return None
    return _path(error), error.message


def keyframes_problem(keyframes: list[dict], frame_count: int) -> Optional[tuple[int, str]]:
    """``(index, message)`` of the first keyframe that breaks the order rules the JSON Schema cannot
    state (sorted by ``frameIndex``, unique, each below ``frame_count``), or None. The same rule as
    ``keyframesProblem`` in ``src/gpu/contract.ts``."""
    previous: Optional[int] = None
    for i, keyframe in enumerate(keyframes):
        index = keyframe["frameIndex"]
        if index >= frame_count:
            return i, f"frameIndex {index} is not below the frame count {frame_count}"
        if previous is not None and index <= previous:
            return i, f"frameIndex {index} is not above the previous {previous} (sorted, unique)"
        previous = index
    return None


@lru_cache(maxsize=None)
def timing() -> dict[str, float]:
    """The generation's timing, declared once in ``src/gpu/contract.ts`` (``GENERATION_TIMING``) and
    exported as ``timing.json``: ``generationDeadlineSeconds`` (the longest a generation's call runs:
    the Modal app's ``SEGMENT_TIMEOUT``, what ``gpu:plan`` fits each segment in), ``queueMarginSeconds``
    and ``maxSegmentSeconds``."""
    with open(schemas_dir() / "timing.json", encoding="utf-8") as f:
        return dict(json.load(f))


def bitstream_file(name: str) -> Path:
    """A file of ``schemas/bitstream`` (beside the folder :func:`schemas_dir` names), e.g. the text dictionary."""
    return schemas_dir().parent / "bitstream" / name


def check_request(function: str, body: Any) -> dict:
    """Validates a ``{function}.request`` and returns a copy with the schema's defaults applied.

    Raises ``ContractError("invalid_request")`` whose message and ``details.field`` name the path.
    """
    problem = first_problem(f"{function}.request", body)
    if problem is not None:
        field, message = problem
        if len(message) > 300:
            message = message[:300] + "…"
        raise ContractError("invalid_request", f"{field}: {message}", details={"field": field})
    request = apply_defaults(validator(f"{function}.request").schema, body)
    if function == "generate":
        order = keyframes_problem(request["segment"]["keyframes"], request["frameCount"])
        if order is not None:
            field = f"segment.keyframes[{order[0]}].frameIndex"
            raise ContractError("invalid_request", f"{field}: {order[1]}", details={"field": field})
        from .stream_limits import check_generate_keyframes  # reads this module's bitstream_file

        check_generate_keyframes(request)
    return request


def check_response(name: str, body: Any) -> Any:
    """Returns ``body`` if it conforms to schema ``name``; otherwise ``ContractError("engine_failure")``."""
    if validator(name).is_valid(body):  # the common case, without collecting every error to rank them
        if name == "encode.response":
            for n, segment in enumerate(body["segments"]):
                order = keyframes_problem(segment["keyframes"], segment["frameCount"])
                if order is not None:
                    field = f"segments[{n}].keyframes[{order[0]}].frameIndex"
                    raise ContractError("engine_failure", "the engine produced a result that breaks the contract", details={"schema": name, "field": field})
        return body
    problem = first_problem(name, body)
    if problem is not None:
        raise ContractError("engine_failure", "the engine produced a result that breaks the contract", details={"schema": name, "field": problem[0]})
    return body


def is_valid(name: str, body: Any) -> bool:
    return validator(name).is_valid(body)


def apply_defaults(schema: dict, value: Any) -> Any:
    """A copy of ``value`` with every missing object property that has a ``default`` filled in,
    recursively through object properties (the contract's defaults live there)."""
    if not isinstance(value, dict) or schema.get("type") != "object":
        return value
    out = dict(value)
    for key, prop in schema.get("properties", {}).items():
        if key not in out and "default" in prop:
            out[key] = copy.deepcopy(prop["default"])
        if key in out:
            out[key] = apply_defaults(prop, out[key])
    return out
