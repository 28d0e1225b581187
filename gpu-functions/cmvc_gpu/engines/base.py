"""What an engine provides: one method per contract function, taking the validated request (a dict
with the schema's defaults applied) and returning the contract's response dict.

Each method takes an optional progress callback, called with a fraction in [0, 1]; long work
should call it now and then (submitted calls report it when polled). Failures the client should
see are ``cmvc_gpu.errors.ContractError``; anything else is reported as ``engine_failure``.
"""

from __future__ import annotations

from typing import Optional, Protocol

from ..progress import Progress


class Engine(Protocol):
    def info(self) -> dict:
        """``{"id", "version", "models"}``: recorded in every response."""
        ...

    def encode(self, request: dict, progress: Optional[Progress] = None) -> dict:
        """encode.request → encode.response."""
        ...

    def generate(self, request: dict, progress: Optional[Progress] = None) -> dict:
        """generate.request → generate.response."""
        ...

    def interpolate(self, request: dict, progress: Optional[Progress] = None) -> dict:
        """interpolate.request → interpolate.response."""
        ...

    def assemble(self, request: dict, progress: Optional[Progress] = None) -> dict:
        """assemble.request → assemble.response."""
        ...
