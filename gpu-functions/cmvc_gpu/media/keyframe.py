"""Keyframe coding under a byte budget.

The frame is resized to at most ``max_width`` pixels wide (aspect kept, Lanczos), then the highest
WebP (or JPEG) quality in [1, 95] whose file fits the budget is found by binary search; if even
quality 1 does not fit, the image is scaled by 3/4 and searched again, down to ``MIN_WIDTH``.
"""

from __future__ import annotations

import io
from typing import Optional

import numpy as np
from PIL import Image

from ..errors import ContractError
from ..stream_limits import max_keyframe_pixels
from .sources import keyframe_bytes

MIN_WIDTH = 16
MAX_QUALITY = 95


def _save(image: Image.Image, codec: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    if codec == "webp":
        image.save(buffer, format="WEBP", quality=quality, method=6)
    elif codec == "jpeg":
        image.save(buffer, format="JPEG", quality=quality, optimize=True)
    else:
        raise ValueError(f"codec must be 'webp' or 'jpeg', got {codec!r}")
    return buffer.getvalue()


def _best_quality(image: Image.Image, codec: str, budget_bytes: int) -> bytes | None:
    low, high, best = 1, MAX_QUALITY, None
    while low <= high:
        quality = (low + high) // 2
        data = _save(image, codec, quality)
        if len(data) <= budget_bytes:
            best, low = data, quality + 1
        else:
            high = quality - 1
    return best


def code_keyframe(frame: np.ndarray, codec: str, budget_bytes: int, max_width: int) -> tuple[bytes, int, int]:
    """``(file bytes, width, height)`` of an RGB frame coded as ``codec`` in at most ``budget_bytes``.

    max_width: pixels. Raises ``invalid_request`` (naming ``options.keyframeBudgetBytes``) when not
    even a ``MIN_WIDTH``-pixel-wide image at quality 1 fits.
    """
    image = Image.fromarray(frame)
    if image.width > max_width:
        image = image.resize((max_width, max(1, round(image.height * max_width / image.width))), Image.LANCZOS)
    while True:
        best = _best_quality(image, codec, budget_bytes)
        if best is not None:
            return best, image.width, image.height
        if image.width <= MIN_WIDTH:
            raise ContractError(
                "invalid_request",
                f"options.keyframeBudgetBytes={budget_bytes} is too small for any {codec} keyframe",
                details={"field": "options.keyframeBudgetBytes"},
            )
        width = max(MIN_WIDTH, round(image.width * 0.75))
        image = image.resize((width, max(1, round(image.height * width / image.width))), Image.LANCZOS)


def decode_keyframe(data: bytes, field: str = "segment.keyframes[0].data", declared: Optional[tuple[int, int]] = None) -> np.ndarray:
    """The RGB ``uint8`` pixels of a coded keyframe; ``invalid_request`` naming ``field`` if it is no image.

    declared: the ``(width, height)`` in pixels the request says the image has. The image's own header is read
    first: one of another size, or larger than any keyframe may be (:func:`max_keyframe_pixels`), is refused
    before a pixel is decoded.
    """
    try:
        image = Image.open(io.BytesIO(data))
    except Exception:  # Pillow raises many types for bad images
        raise ContractError("invalid_request", f"{field} is not a readable image", details={"field": field}) from None
    with image:
        width, height = image.size
        if declared is not None and (width, height) != tuple(declared):
            raise ContractError(
                "invalid_request",
                f"{field} declares {declared[0]}x{declared[1]} but the image is {width}x{height}",
                details={"field": field},
            )
        if width * height > max_keyframe_pixels():
            raise ContractError("too_large", f"{field} is {width}x{height}, more than {max_keyframe_pixels()} px", details={"field": field})
        try:
            return np.asarray(image.convert("RGB"))
        except Exception:
            raise ContractError("invalid_request", f"{field} is not a readable image", details={"field": field}) from None


def request_keyframe_pixels(keyframe: dict, field: str) -> np.ndarray:
    """The RGB ``uint8`` pixels of a generate request's keyframe (``field``, e.g. ``segment.keyframes[2]``):
    its inline ``data`` or the byte range its ``source`` names; errors name ``{field}.data`` or
    ``{field}.source``."""
    return decode_keyframe(
        keyframe_bytes(keyframe, field),
        f"{field}.data" if "data" in keyframe else f"{field}.source",
        (keyframe["width"], keyframe["height"]),
    )
