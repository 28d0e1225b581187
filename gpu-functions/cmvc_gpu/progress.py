"""The progress callback every engine, call and endpoint passes along: called with the fraction of
the work done, in [0, 1] (submitted calls report the latest when polled)."""

from __future__ import annotations

from collections.abc import Callable

#: Progress callback: a fraction in [0, 1].
Progress = Callable[[float], None]


def no_progress(_fraction: float) -> None:
    """The progress callback used when the caller passes none."""
