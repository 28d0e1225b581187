"""Per-mode statements. The reconstruction modes are the contract's (``contract.modes()``: the exported
``generate.request`` enum, declared once in ``src/shared/modes.ts``). A place that does something per mode says it
for every mode through :func:`per_mode`, which refuses, when its module is imported, a table that leaves out a mode
the contract has or names one it lacks. So a mode added to ``MODES`` fails every test that imports such a place
(and the server's start) until that place says what the new mode does; ``tests/test_modes.py`` also fails on a mode
compared by name anywhere else in the package."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from .contract import modes

T = TypeVar("T")

#: Every per-mode statement made so far, by where it is made (``tests/test_modes.py`` reads them).
STATEMENTS: dict[str, Mapping[str, object]] = {}


def per_mode(where: str, table: Mapping[str, T]) -> Mapping[str, T]:
    """``table`` (mode → what ``where`` does in that mode), checked against the contract's modes.

    Raises:
        RuntimeError: naming ``where`` and the modes it leaves out or does not know.
    """
    known = modes()
    missing = [m for m in known if m not in table]
    unknown = [m for m in table if m not in known]
    if missing or unknown:
        raise RuntimeError(
            f"{where} must say what each reconstruction mode does ({', '.join(known)}): "
            f"missing {missing or 'none'}, not in the contract {unknown or 'none'}"
        )
    STATEMENTS[where] = table
    return table
