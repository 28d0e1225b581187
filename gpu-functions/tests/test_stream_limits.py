"""What a bitstream may ask for, as the GPU functions read it (``schemas/bitstream/limits.json``, exported from
``src/bitstream/stream-limits.ts``) and apply it to generate requests and keyframe images."""

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from cmvc_gpu import contract
from cmvc_gpu.errors import ContractError
from cmvc_gpu.media.keyframe import decode_keyframe, request_keyframe_pixels
from cmvc_gpu.stream_limits import max_keyframe_pixels, max_keyframes_for, stream_limits

REPO = Path(__file__).resolve().parents[2]


def webp(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="WEBP", lossless=True)
    return buffer.getvalue()


def generate_request(keyframes: list[dict], width: int = 320, height: int = 240) -> dict:
    return {
        "mode": "it2v",
        "segment": {"contentText": "a cup", "motionText": "static", "keyframes": keyframes},
        "width": width,
        "height": height,
        "fps": 24,
        "frameCount": 64,
        "seed": 0,
        "output": {"url": "http://127.0.0.1:1/out"},
    }


def keyframe(i: int, width: int = 32, height: int = 24, data: bytes = b"x") -> dict:
    return {"codec": "webp", "width": width, "height": height, "data": base64.b64encode(data).decode(), "frameIndex": i, "priority": 1}


def test_reads_the_exported_statement_and_derives_as_typescript_does():
    exported = json.loads((REPO / "schemas" / "bitstream" / "limits.json").read_text())
    assert stream_limits()["maxSegmentKeyframePixels"] == exported["maxSegmentKeyframePixels"] == 2**25
    # the same values as maxKeyframesFor in test/node/stream-limits.test.ts
    assert [max_keyframes_for(320, 240), max_keyframes_for(1920, 1080), max_keyframes_for(3840, 2160), max_keyframes_for(4096, 4096)] == [64, 16, 4, 2]
    assert max_keyframe_pixels() == 4096 * 4096


def test_refuses_a_generate_request_whose_keyframes_at_the_output_size_pass_the_limit():
    at_limit = [keyframe(i) for i in range(9)]
    contract.check_request("generate", generate_request(at_limit, 1920, 1920))  # 9 x 1920 x 1920 < 2^25
    with pytest.raises(ContractError) as refused:
        contract.check_request("generate", generate_request(at_limit + [keyframe(9)], 1920, 1920))
    assert refused.value.code == "too_large"
    assert refused.value.details == {"field": "segment.keyframes", "limit": "maxSegmentKeyframePixels"}


def test_refuses_a_keyframe_declaring_more_pixels_than_any_video_has():
    with pytest.raises(ContractError) as refused:
        contract.check_request("generate", generate_request([keyframe(0, 8192, 8192)]))
    assert refused.value.code == "too_large"
    assert refused.value.details["field"] == "segment.keyframes[0]"


def test_reads_an_image_header_before_decoding_and_refuses_one_that_lies_about_its_size():
    real = webp(24, 16)
    assert decode_keyframe(real, "k", (24, 16)).shape == (16, 24, 3)
    with pytest.raises(ContractError) as lying:
        request_keyframe_pixels(keyframe(0, 32, 24, real), "segment.keyframes[0]")
    assert lying.value.code == "invalid_request"
    assert "declares 32x24 but the image is 24x16" in lying.value.message
    assert lying.value.details == {"field": "segment.keyframes[0].data"}


def test_refuses_a_keyframe_larger_than_any_video_before_decoding_it():
    huge = webp(4097, 4096)
    with pytest.raises(ContractError) as refused:
        decode_keyframe(huge, "k")
    assert refused.value.code == "too_large"
