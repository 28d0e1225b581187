"""The package's rooms and what each may import, stated once (``MAY_IMPORT``): the modules at the package's root
(errors, limits, progress, the contract and its stream limits, calls, outputs, metrics) are the ground every room
stands on; ``media/`` is the shared media library; the two engines use it without importing each other; the app
(``app.py``) picks an engine and nothing imports it. A package or module without a rule fails, and the rules must
point down (no loop). The README's table of the Python rooms is checked against them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cmvc_gpu"
README = Path(__file__).resolve().parents[2] / "README.md"

#: Room → the rooms it may import (its own always). ``cmvc_gpu`` is the package's root modules but ``app`` and ``smoke``.
MAY_IMPORT: dict[str, list[str]] = {
    "cmvc_gpu": [],
    "cmvc_gpu.media": ["cmvc_gpu"],
    "cmvc_gpu.engines": ["cmvc_gpu"],
    "cmvc_gpu.engines.reference": ["cmvc_gpu", "cmvc_gpu.media", "cmvc_gpu.engines"],
    "cmvc_gpu.engines.model": ["cmvc_gpu", "cmvc_gpu.media", "cmvc_gpu.engines"],
    "cmvc_gpu.training": ["cmvc_gpu", "cmvc_gpu.media", "cmvc_gpu.engines", "cmvc_gpu.engines.model"],
    "cmvc_gpu.smoke": ["cmvc_gpu", "cmvc_gpu.media", "cmvc_gpu.engines", "cmvc_gpu.engines.model"],
    "cmvc_gpu.app": ["cmvc_gpu", "cmvc_gpu.media", "cmvc_gpu.engines", "cmvc_gpu.engines.reference", "cmvc_gpu.engines.model"],
}

#: Knots the rules must refuse: an engine reaching into the other, media into an engine, an engine into the app.
KNOTS = [
    ("cmvc_gpu.engines.model.render", "cmvc_gpu.engines.reference.render"),
    ("cmvc_gpu.engines.reference.engine", "cmvc_gpu.engines.model.media"),
    ("cmvc_gpu.media.decode", "cmvc_gpu.engines.reference"),
    ("cmvc_gpu.engines.model.web", "cmvc_gpu.app"),
    ("cmvc_gpu.contract", "cmvc_gpu.media.rate"),
]


def imported_modules(source: str, package: str) -> set[str]:
    """Absolute names of every module (or module attribute) ``source``, a module of ``package``,
    imports, relative imports resolved."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def room_of(module: str) -> str | None:
    """The room of a module of the package: the longest rule naming it or a package above it; a root module's is
    ``cmvc_gpu``. None for a module outside the package."""
    if module != "cmvc_gpu" and not module.startswith("cmvc_gpu."):
        return None
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        if ".".join(parts[:n]) in MAY_IMPORT:
            return ".".join(parts[:n])
    return "cmvc_gpu"


def modules() -> list[tuple[str, Path]]:
    """Every module of the package with its dotted name (a package's ``__init__`` named as the package)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return found


def violations(edges: list[tuple[str, str]]) -> list[str]:
    """The imports that break a rule, as ``from -> to`` (``from ... import contract`` names the package itself,
    which is the root room)."""
    found = []
    for source, target in edges:
        a, b = room_of(source), room_of(target)
        if a is None or b is None or a == b or b in MAY_IMPORT[a]:
            continue
        found.append(f"{source} -> {target} ({a} may import {', '.join(MAY_IMPORT[a]) or 'nothing'})")
    return found


def edges_of_package() -> list[tuple[str, str]]:
    edges = []
    for name, path in modules():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for imported in imported_modules(path.read_text(encoding="utf-8"), package):
            edges.append((name, imported))
    return edges


def test_every_package_and_module_has_a_room() -> None:
    packages = {name for name, path in modules() if path.name == "__init__.py"}
    unruled = sorted(p for p in packages if p not in MAY_IMPORT and p != "cmvc_gpu")
    assert unruled == [], f"packages without a rule in MAY_IMPORT: {unruled}"
    assert all(room_of(name) in MAY_IMPORT for name, _ in modules())
    assert sorted(r for r in MAY_IMPORT if not any(room_of(name) == r for name, _ in modules())) == []


def test_every_import_keeps_its_rooms_rule() -> None:
    assert violations(edges_of_package()) == []


def test_the_rules_point_down() -> None:
    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in MAY_IMPORT.get(start, []):
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    assert [room for room in MAY_IMPORT if reaches(room, room, set())] == []


@pytest.mark.parametrize(("source", "target"), KNOTS)
def test_refuses_each_knot(source: str, target: str) -> None:
    assert len(violations([(source, target)])) == 1


def test_the_check_sees_relative_imports() -> None:
    """``from ..reference import render`` in ``engines/model`` reads as the reference engine, so the
    checks above can fail."""
    names = imported_modules("from ..reference import render\nfrom ...media import decode\n", "cmvc_gpu.engines.model")
    assert names == {"cmvc_gpu.engines.reference", "cmvc_gpu.engines.reference.render", "cmvc_gpu.media", "cmvc_gpu.media.decode"}
    assert violations([("cmvc_gpu.engines.model.engine", name) for name in names]) != []


def test_the_readme_states_the_same_rules() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("| Python room | may import |")
    table: dict[str, list[str]] = {}
    for row in text[start:].splitlines()[2:]:
        if not row.startswith("|"):
            break
        room, allowed = (cell.strip() for cell in row.split("|")[1:3])
        table[re.findall(r"`([^`]+)`", room)[0]] = [] if allowed == "—" else re.findall(r"`([^`]+)`", allowed)
    assert {k: sorted(v) for k, v in table.items()} == {k: sorted(v) for k, v in MAY_IMPORT.items()}
