"""Keyframe coding under a byte budget: the highest WebP (or JPEG) quality that fits, found by
binary search; if even the lowest quality does not fit, the image is scaled down and searched again."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ...errors import ContractError


def _save(image: Image.Image, codec: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    if codec == "webp":
        image.save(buffer, format="WEBP", quality=quality, method=4)
    else:
        image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def code_keyframe(frame: np.ndarray, codec: str, budget_bytes: int, max_width: int) -> tuple[bytes, int, int]:
    """``(bytes, width, height)`` of the frame coded in ``codec`` within ``budget_bytes``.

    ``max_width`` bounds the stored width in pixels (aspect kept). Raises ``invalid_request`` when
    no size down to 16 pixels wide fits the budget.
    """
    image = Image.fromarray(frame)
    if image.width > max_width:
        image = image.resize((max_width, max(1, round(image.height * max_width / image.width))), Image.LANCZOS)
    while True:
        low, high, best = 1, 95, None
        while low <= high:
            quality = (low + high) // 2
            data = _save(image, codec, quality)
            if len(data) <= budget_bytes:
                best = data
                low = quality + 1
            else:
                high = quality - 1
        if best is not None:
            return best, image.width, image.height
        if image.width <= 16:
            raise ContractError("invalid_request", f"options.keyframeBudgetBytes={budget_bytes} is too small for any keyframe")
        image = image.resize((max(16, round(image.width * 0.75)), max(1, round(image.height * 0.75))), Image.LANCZOS)


def decode_keyframe(data: bytes) -> np.ndarray:
    try:
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except Exception as error:  # Pillow raises several types for bad images
        raise ContractError("invalid_request", f"segment.keyframe.data is not a readable image ({type(error).__name__})") from None
