"""What a bitstream may ask of a reconstruction, read from ``schemas/bitstream/limits.json`` (exported from
``src/bitstream/stream-limits.ts``; a test fails when the two drift). Units: pixels, frames, bytes.

The GPU functions apply them to what a generate request carries: its keyframes' declared sizes (checked
against each image's own header before any pixel is decoded), their count at the output size, and the
keyframes an encoder writes per segment.
"""

from __future__ import annotations

import json
from functools import lru_cache

from .contract import bitstream_file
from .errors import ContractError


@lru_cache(maxsize=1)
def stream_limits() -> dict[str, int]:
    """The exported limits, by their TypeScript names (``maxSegmentKeyframePixels``, …)."""
    data = json.loads(bitstream_file("limits.json").read_text())
    return {k: v for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def max_keyframes_for(width: int, height: int) -> int:
    """The most keyframes a segment of a ``width`` x ``height`` video may carry (``maxKeyframesFor`` in TypeScript):
    ``maxKeyframesPerSegment``, and no more than ``maxSegmentKeyframePixels`` once each is at the video's size."""
    limits = stream_limits()
    return max(1, min(limits["maxKeyframesPerSegment"], limits["maxSegmentKeyframePixels"] // max(1, width * height)))


def max_keyframe_pixels() -> int:
    """Pixels of the largest keyframe any request may declare: a frame of the largest video stored (``maxSourceSide``²)."""
    side = stream_limits()["maxSourceSide"]
    return side * side


def check_generate_keyframes(request: dict) -> None:
    """Refuses (``too_large``, naming the field) a generate request whose keyframes would take more than
    ``maxSegmentKeyframePixels`` at the output size, or declare more pixels than ``max_keyframe_pixels``."""
    keyframes = request["segment"]["keyframes"]
    limits = stream_limits()
    at_output = len(keyframes) * request["width"] * request["height"]
    if at_output > limits["maxSegmentKeyframePixels"]:
        raise ContractError(
            "too_large",
            f"segment.keyframes: {len(keyframes)} keyframes at {request['width']}x{request['height']} are {at_output} px, "
            f"more than maxSegmentKeyframePixels={limits['maxSegmentKeyframePixels']}",
            details={"field": "segment.keyframes", "limit": "maxSegmentKeyframePixels"},
        )
    largest = max_keyframe_pixels()
    declared = 0
    for i, keyframe in enumerate(keyframes):
        pixels = keyframe["width"] * keyframe["height"]
        declared += pixels
        if pixels > largest:
            raise ContractError(
                "too_large",
                f"segment.keyframes[{i}]: {keyframe['width']}x{keyframe['height']} is more than {largest} px",
                details={"field": f"segment.keyframes[{i}]", "limit": "maxSourceSide"},
            )
    if declared > limits["maxSegmentKeyframePixels"]:
        raise ContractError(
            "too_large",
            f"segment.keyframes: {declared} px declared, more than maxSegmentKeyframePixels={limits['maxSegmentKeyframePixels']}",
            details={"field": "segment.keyframes", "limit": "maxSegmentKeyframePixels"},
        )
