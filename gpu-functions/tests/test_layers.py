"""The package's rooms: ``media/`` is the shared media library, and the two engines use it without
importing each other (nor does ``media/`` import an engine)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cmvc_gpu"


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


def imports_into(room: str, forbidden: str) -> list[str]:
    found = []
    for path in sorted((PACKAGE / room).rglob("*.py")):
        package = ".".join(path.relative_to(PACKAGE.parent).parts[:-1])
        for name in imported_modules(path.read_text(encoding="utf-8"), package):
            if name == forbidden or name.startswith(forbidden + "."):
                found.append(f"{path.relative_to(PACKAGE)} imports {name}")
    return found


@pytest.mark.parametrize(
    ("room", "forbidden"),
    [
        ("engines/model", "cmvc_gpu.engines.reference"),
        ("engines/reference", "cmvc_gpu.engines.model"),
        ("media", "cmvc_gpu.engines"),
    ],
)
def test_room_does_not_import(room: str, forbidden: str) -> None:
    assert imports_into(room, forbidden) == []


def test_the_check_sees_relative_imports() -> None:
    """``from ..reference import render`` in ``engines/model`` reads as the reference engine, so the
    checks above can fail."""
    names = imported_modules("from ..reference import render\nfrom ...media import decode\n", "cmvc_gpu.engines.model")
    assert names == {"cmvc_gpu.engines.reference", "cmvc_gpu.engines.reference.render", "cmvc_gpu.media", "cmvc_gpu.media.decode"}
