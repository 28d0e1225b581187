"""Modes are handled exhaustively: every place in the package that does something per reconstruction mode says it
for each mode the contract has (``cmvc_gpu.modes.per_mode``), and no other place compares a mode by name. Adding a
mode to ``MODES`` (``src/shared/modes.ts``, exported to ``schemas/gpu/generate.request.json``) fails here, naming
each place, until that place says what the new mode does."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from cmvc_gpu import modes as mode_statements
from cmvc_gpu.contract import modes

PACKAGE = Path(__file__).resolve().parents[1] / "cmvc_gpu"

#: The modules that make a per-mode statement (imported here so that each is made and checked).
PLACES = (
    "cmvc_gpu.engines.reference.engine",
    "cmvc_gpu.engines.model.segment_plan",
    "cmvc_gpu.engines.model.prompts",
)


@pytest.mark.parametrize("module", PLACES)
def test_each_place_says_what_every_mode_does(module: str) -> None:
    imported = importlib.import_module(module)
    statements = [value for value in vars(imported).values() if any(value is table for table in mode_statements.STATEMENTS.values())]
    assert statements, f"{module} makes no per-mode statement"
    for table in statements:
        assert sorted(table) == sorted(modes())


def test_every_place_that_makes_a_statement_is_checked_here() -> None:
    makers = {
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for path in PACKAGE.rglob("*.py")
        if path.name != "modes.py" and "per_mode(" in path.read_text(encoding="utf-8")
    }
    assert makers == set(PLACES)


def test_a_statement_that_leaves_a_mode_out_is_refused() -> None:
    first, *rest = modes()
    with pytest.raises(RuntimeError, match=rf"somewhere must say what each reconstruction mode does .*missing {re.escape(str(rest))}"):
        mode_statements.per_mode("somewhere", {first: 1})
    with pytest.raises(RuntimeError, match=r"not in the contract \['x2v'\]"):
        mode_statements.per_mode("somewhere", {**{m: 1 for m in modes()}, "x2v": 1})


def mode_comparisons(source: str) -> list[int]:
    """Lines of ``source`` that compare something with a mode's name (``== "it2v"``, ``in ("tt2v", "it2v")``)."""
    names = set(modes())
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            constants = [c for side in sides for c in ([side] if isinstance(side, ast.Constant) else getattr(side, "elts", []))]
            if any(isinstance(c, ast.Constant) and c.value in names for c in constants):
                lines.append(node.lineno)
    return lines


def test_no_place_switches_on_a_mode_by_name() -> None:
    found = [f"{path.relative_to(PACKAGE)}:{line}" for path in sorted(PACKAGE.rglob("*.py")) for line in mode_comparisons(path.read_text(encoding="utf-8"))]
    assert found == [], "compare modes through a per_mode statement (cmvc_gpu/modes.py), not by name"


def test_the_scan_sees_a_switch() -> None:
    assert mode_comparisons('if mode == "it2v":\n    pass\nx = m in ("tt2v", "it2v")\n') == [1, 3]
