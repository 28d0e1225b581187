"""What an engine provides: one method per contract function, taking and returning contract JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

#: Progress callback: a fraction in [0, 1].
Progress = Callable[[float], None]


class Engine(Protocol):
    def info(self) -> dict:
        """``{"id", "version", "models"}``: recorded in every response."""

    def encode(self, request: dict, progress: Progress) -> dict: ...

    def generate(self, request: dict, progress: Progress) -> dict: ...

    def interpolate(self, request: dict, progress: Progress) -> dict: ...

    def assemble(self, request: dict, progress: Progress) -> dict: ...
