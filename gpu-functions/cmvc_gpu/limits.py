"""Input limits of the GPU functions, from the environment with safe defaults.

Units: bytes, seconds, pixels, frames. Reported by ``GET /v1/info`` and enforced by the engines
(while fetching, before decoding from the container header, and again while decoding).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one call may ask for.

    max_upload_bytes: size of one video source (inline or fetched), bytes. Env ``CMVC_MAX_UPLOAD_BYTES``.
    max_duration_seconds: duration of one source video, seconds. Env ``CMVC_MAX_DURATION_SECONDS``.
    max_width / max_height: display geometry of a source video, pixels.
    max_frame_count: decoded frames of one source video.
    """

    max_upload_bytes: int = 256 * MIB
    max_duration_seconds: float = 600.0
    max_width: int = 4096
    max_height: int = 4096
    max_frame_count: int = 10_000

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_duration_seconds", "max_width", "max_height", "max_frame_count"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Limits":
        """Limits from ``CMVC_MAX_UPLOAD_BYTES`` and ``CMVC_MAX_DURATION_SECONDS`` (defaults otherwise)."""
        defaults = cls()

        def read(name: str, default: float, kind: type) -> float:
            raw = environ.get(name)
            if raw is None or raw.strip() == "":
                return default
            try:
                return kind(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a valid {kind.__name__}") from None

        return cls(
            max_upload_bytes=int(read("CMVC_MAX_UPLOAD_BYTES", defaults.max_upload_bytes, int)),
            max_duration_seconds=float(read("CMVC_MAX_DURATION_SECONDS", defaults.max_duration_seconds, float)),
        )

    def as_contract(self) -> dict:
        """The ``limits`` object of ``info.response``."""
        return {
            "maxUploadBytes": self.max_upload_bytes,
            "maxDurationSeconds": self.max_duration_seconds,
            "maxWidth": self.max_width,
            "maxHeight": self.max_height,
            "maxFrameCount": self.max_frame_count,
        }
