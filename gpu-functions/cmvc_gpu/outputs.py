"""Delivering a function's output file to the request's upload target (contract ``UploadTarget``).

Engines return their output file as raw ``bytes`` in ``video["data"]``; those bytes never leave the
process as JSON. ``deliver`` PUTs them to ``request["output"]`` with ``Content-Length`` and the
base64 SHA-256 in ``x-amz-checksum-sha256`` (the store checks the body against it as it stores it,
so nothing partial or altered is kept), then replaces them with ``bytes`` and ``sha256`` (hex) and
adds the upload's wall seconds as ``seconds.upload``, apart from the compute seconds.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from typing import Optional

import httpx

from .errors import ContractError

#: Header carrying the base64 SHA-256 of the body (S3's checksum header, which R2 verifies).
CHECKSUM_HEADER = "x-amz-checksum-sha256"
#: Seconds to connect, and between bytes, while uploading.
UPLOAD_TIMEOUT_SECONDS = 60.0

_shared_client: Optional[httpx.Client] = None
_shared_client_lock = threading.Lock()


def shared_client() -> httpx.Client:
    """The process's upload client, made once: a new ``httpx.Client`` builds an SSL context (20-50 ms
    on a busy CPU) and opens a new connection, which every upload would otherwise pay. httpx clients
    are safe to share between the call threads."""
    global _shared_client
    with _shared_client_lock:
        if _shared_client is None:
            _shared_client = httpx.Client(timeout=UPLOAD_TIMEOUT_SECONDS)
        return _shared_client


def upload(target: dict, data: bytes, content_type: str, transport: Optional[httpx.BaseTransport] = None) -> str:
    """PUTs ``data`` to ``target`` (``{"url", "headers"}``) and returns its SHA-256 (hex); over the
    shared client, or over ``transport`` when given (tests).

    Errors: ``upload_failed`` when the target is unreachable, times out or answers non-2xx (a
    target that was already used answers 409 or 412).
    """
    digest = hashlib.sha256(data).digest()
    headers = {
        **target.get("headers", {}),
        "Content-Type": content_type,
        "Content-Length": str(len(data)),
        CHECKSUM_HEADER: base64.b64encode(digest).decode("ascii"),
    }
    try:
        if transport is None:
            response = shared_client().put(target["url"], content=data, headers=headers)
        else:
            with httpx.Client(timeout=UPLOAD_TIMEOUT_SECONDS, transport=transport) as client:
                response = client.put(target["url"], content=data, headers=headers)
    except httpx.TimeoutException:
        raise ContractError("upload_failed", "the upload target timed out", details={"field": "output.url"}) from None
    except httpx.HTTPError as error:
        raise ContractError("upload_failed", f"the upload target could not be reached ({type(error).__name__})", details={"field": "output.url"}) from None
    if not 200 <= response.status_code < 300:
        raise ContractError("upload_failed", f"the upload target answered HTTP {response.status_code}", details={"field": "output.url", "status": response.status_code})
    return digest.hex()


def deliver(request: dict, result: dict, transport: Optional[httpx.BaseTransport] = None) -> dict:
    """``result`` with its output file uploaded to ``request["output"]``; unchanged when the file
    was already delivered (on Modal the GPU container delivers before the web layer sees it)."""
    video = result.get("video")
    if not isinstance(video, dict) or not isinstance(video.get("data"), bytes):
        return result
    data = video["data"]
    began = time.perf_counter()
    sha256 = upload(request["output"], data, video["mimeType"], transport)
    delivered = {key: value for key, value in video.items() if key != "data"}
    return {
        **result,
        "video": {**delivered, "bytes": len(data), "sha256": sha256},
        "seconds": {**result["seconds"], "upload": round(time.perf_counter() - began, 4)},
    }
