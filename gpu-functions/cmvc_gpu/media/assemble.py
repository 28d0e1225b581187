"""``assemble``: the parts of a video joined by remuxing their packets, without re-encoding."""

from __future__ import annotations

from ..limits import Limits
from ..progress import Progress
from . import video_io
from .sources import read_source


def assemble_parts(request: dict, limits: Limits, progress: Progress) -> dict:
    """The contract ``VideoFile`` of ``assemble.request``'s parts concatenated in order, its file
    still as raw ``bytes`` in ``data`` (``outputs.deliver`` uploads it). Progress runs to 0.5 while
    the parts are read; each part is at most ``limits.max_upload_bytes`` bytes."""
    parts = []
    for i, part in enumerate(request["parts"]):
        parts.append(read_source(part, limits.max_upload_bytes, field=f"parts[{i}]"))
        progress(0.5 * (i + 1) / len(request["parts"]))
    joined = video_io.remux(parts, request["container"], request["timeOffsetSeconds"])
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
