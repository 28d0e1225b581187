"""Schemathesis hooks for ``npm run fuzz:api``: request bodies for the binary media types the public document lists.

Schemathesis generates JSON, forms and text itself; for a video or a bitstream it needs bytes. The upload's types
(``CMVC_FUZZ_UPLOAD_TYPES``, comma-separated, from ``UPLOAD_MEDIA_TYPES``) get the head of the sample clip, bytes
that are no video, and arbitrary bytes; the bitstream bodies get the same (the API must refuse what is no bitstream
with a 4xx naming it). A whole clip is never sent: each would start an encode.
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import strategies as st

with open(os.environ["CMVC_FUZZ_SAMPLE"], "rb") as f:
    SAMPLE = f.read()

BYTES = st.one_of(
    st.just(SAMPLE[:4096]),
    st.just(b"not a video at all"),
    st.binary(min_size=1, max_size=2048),
)

for media_type in [*os.environ.get("CMVC_FUZZ_UPLOAD_TYPES", "").split(","), "application/vnd.cmvc", "application/octet-stream"]:
    if media_type:
        schemathesis.openapi.media_type(media_type, BYTES)
