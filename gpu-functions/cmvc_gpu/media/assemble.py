"""``assemble``: the parts of a video joined by remuxing their packets, without re-encoding, and the
bitstream's sound, when the request carries it, decoded and coded as AAC-LC beside them (``audio``)."""

from __future__ import annotations

from ..limits import Limits
from ..progress import Progress
from . import audio as audio_io
from . import video_io
from .sources import keyframe_bytes, read_source

#: Largest audio chunk an assemble request may carry or name (bytes): the bitstream's maxAudioBytes and its fixed fields.
MAX_AUDIO_CHUNK_BYTES = 10 * 1024 * 1024 + 14


def assemble_parts(request: dict, limits: Limits, progress: Progress) -> dict:
    """The contract ``VideoFile`` of ``assemble.request``'s parts concatenated in order, its file
    still as raw ``bytes`` in ``data`` (``outputs.deliver`` uploads it). Progress runs to 0.5 while
    the parts are read; each part is at most ``limits.max_upload_bytes`` bytes."""
    parts = []
    for i, part in enumerate(request["parts"]):
        parts.append(read_source(part, limits.max_upload_bytes, field=f"parts[{i}]"))
        progress(0.5 * (i + 1) / len(request["parts"]))
    audio = request.get("audio")
    track = None
    if audio is not None:
        track = audio_io.track_from_request(audio, lambda part, i: keyframe_bytes(part, f"audio.parts[{i}]", max_bytes=MAX_AUDIO_CHUNK_BYTES))
        progress(0.6)
    joined = video_io.remux(parts, request["container"], request["timeOffsetSeconds"], track)
    return video_file(joined.data, request["container"], joined.width, joined.height, joined.fps, joined.frame_count)


def video_file(data: bytes, container: str, width: int, height: int, fps: float, frame_count: int) -> dict:
    """A contract ``VideoFile`` around an encoded file (``fps`` in frames per second)."""
    return {
        "container": container,
        "mimeType": video_io.MIME_TYPES[container],
        "width": width,
        "height": height,
        "fps": fps,
        "frameCount": frame_count,
        "data": data,  # raw bytes: delivered to the request's upload target by the app
    }
