"""The rate control's keyframe width: judged by the video the keyframes reconstruct, which the
encoder predicts as the decoder makes it."""

import base64

import numpy as np

from clips import b64, decode_frames, pan_clip
from cmvc_gpu.engines.reference import ReferenceEngine, rate
from cmvc_gpu.engines.reference.motion import parse_motion
from cmvc_gpu.media import keyframe

OPTIONS = {"minSegmentSeconds": 0.5, "maxSegmentSeconds": 10, "keyframeCodec": "webp", "keyframeMaxWidth": 320, "maxTextChars": 600}
engine = ReferenceEngine()


def _luma_mse(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    weights = np.array([0.299, 0.587, 0.114])
    return float(np.mean([np.mean((x.astype(np.float64) @ weights - y.astype(np.float64) @ weights) ** 2) for x, y in zip(a, b)]))


def _it2v(segment: dict, frame_count: int) -> list[np.ndarray]:
    texts = {k: segment[k] for k in ("contentText", "motionText", "keyframes")}
    request = {"mode": "it2v", "segment": texts, "width": 320, "height": 240, "fps": 24, "frameCount": frame_count, "seed": 0, "container": "mp4"}
    return decode_frames(engine.generate(request)["video"]["data"])


def test_a_pan_at_6_kbps_reconstructs_above_26_8_db():
    # 48 frames of a 2 px/frame pan at 6 kbps: one keyframe of ~1.2 KB. Coded at the width its coding error
    # alone chose (112 px, the coarse budget grid) it reconstructed at 26.0 dB of luma; judged by the
    # reconstruction, 64 px gives 27.3 dB
    data, shots = pan_clip(2.0, frames=48)
    [segment] = engine.encode({"video": {"data": b64(data)}, "options": {**OPTIONS, "targetKbps": 6.0}})["segments"]
    psnr = 10 * np.log10(255**2 / _luma_mse(_it2v(segment, 48), shots))
    assert psnr > 26.8, psnr


def test_the_encoder_predicts_the_reconstruction_generate_makes():
    data, shots = pan_clip(2.0, frames=48)
    [segment] = engine.encode({"video": {"data": b64(data)}, "options": {**OPTIONS, "targetKbps": 16.0}})["segments"]
    pixels = {k["frameIndex"]: keyframe.decode_keyframe(base64.b64decode(k["data"])) for k in segment["keyframes"]}
    predicted = rate.reconstruction_error(dict(enumerate(shots)), pixels, [0], [48], [parse_motion(segment["motionText"])], 24)
    made = _luma_mse(_it2v(segment, 48), shots)  # also through the output video's H.264 coding
    assert abs(predicted - made) < 0.15 * made, (predicted, made)
