"""Validation against the contract's JSON Schemas in ``schemas/gpu`` (generated from the zod source).

Requests that break the schema are the client's fault (``invalid_request``, naming the field);
responses that break it are this server's bug and never leave it.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from .errors import ContractError

DEFAULT_SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas" / "gpu"


def schemas_dir() -> Path:
    return Path(os.environ.get("CMVC_SCHEMAS_DIR", DEFAULT_SCHEMAS_DIR))


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    """The validator of ``schemas/gpu/{name}.json``, loaded once."""
    with open(schemas_dir() / f"{name}.json", encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _first_error(name: str, value: Any) -> str | None:
    errors = sorted(validator(name).iter_errors(value), key=lambda e: (len(e.path), str(e.path)))
    if not errors:
        return None
    error = errors[0]
    where = ".".join(str(p) for p in error.absolute_path) or "(body)"
    return f"{where}: {error.message}"


def check_request(function: str, body: Any) -> dict:
    """Validates a request and returns it with the schema's defaults applied (top level and options)."""
    problem = _first_error(f"{function}.request", body)
    if problem is not None:
        raise ContractError("invalid_request", f"the {function} request breaks the contract at {problem}")
    return apply_defaults(validator(f"{function}.request").schema, body)


def check_response(name: str, body: Any) -> Any:
    """Asserts a response conforms; a violation is an engine bug, reported as ``engine_failure``."""
    problem = _first_error(name, body)
    if problem is not None:
        raise ContractError("engine_failure", "the engine produced an invalid result", details={"at": problem})
    return body


def apply_defaults(schema: dict, value: Any) -> Any:
    """Fills ``default`` values of object properties, recursively (the schemas carry them)."""
    if not isinstance(value, dict) or schema.get("type") != "object":
        return value
    out = dict(value)
    for key, prop in schema.get("properties", {}).items():
        if key not in out and "default" in prop:
            out[key] = json.loads(json.dumps(prop["default"]))
        if key in out:
            out[key] = apply_defaults(prop, out[key])
    return out
