"""The media library both engines share: reading sources (``sources``), decoding (``decode``),
writing and remuxing video files (``video_io``), keyframe coding under a byte budget
(``keyframe``), joining parts (``assemble``) and motion-compensated in-betweens (``inbetween``).

Nothing here knows an engine; ``engines/reference`` and ``engines/model`` import this package and
never each other.
"""
