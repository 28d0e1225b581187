"""Reading a contract ``VideoSource``: ``{"data": base64}`` or ``{"url": ...}`` fetched with httpx.

Sizes are in bytes; the limit is enforced before decoding base64 and while streaming a download,
so an oversized source never sits whole in memory.
"""

from __future__ import annotations

import base64
import binascii
from typing import Optional
from urllib.parse import urlsplit

import httpx

from .errors import ContractError

#: Seconds to connect, and between bytes, when fetching a source URL.
FETCH_TIMEOUT_SECONDS = 30.0
MAX_REDIRECTS = 5


def read_source(
    source: dict,
    max_bytes: int,
    timeout_seconds: float = FETCH_TIMEOUT_SECONDS,
    field: str = "video",
    transport: Optional[httpx.BaseTransport] = None,
) -> bytes:
    """The bytes of ``source`` (at most ``max_bytes``).

    ``field`` names the source in error messages (``video``, ``parts[3]``); ``transport`` is for tests.
    Errors: ``invalid_request`` (bad base64, a URL that is not http(s)), ``too_large``,
    ``fetch_failed`` (unreachable URL, a non-2xx answer, a timeout).
    """
    if "data" in source:
        return _decode_base64(source["data"], max_bytes, field)
    return _fetch(source["url"], max_bytes, timeout_seconds, field, transport)


def _decode_base64(text: str, max_bytes: int, field: str) -> bytes:
    if len(text) // 4 * 3 > max_bytes + 3:
        raise ContractError("too_large", f"{field} is larger than the limit of {max_bytes} bytes", details={"field": f"{field}.data", "limit": max_bytes})
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ContractError("invalid_request", f"{field}.data is not standard base64 (bad length or padding)", details={"field": f"{field}.data"}) from None
    if len(data) > max_bytes:
        raise ContractError("too_large", f"{field} is larger than the limit of {max_bytes} bytes", details={"field": f"{field}.data", "limit": max_bytes})
    return data


def _fetch(url: str, max_bytes: int, timeout_seconds: float, field: str, transport: Optional[httpx.BaseTransport]) -> bytes:
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise ContractError("invalid_request", f"{field}.url must be an http or https URL", details={"field": f"{field}.url"})
    chunks: list[bytes] = []
    total = 0
    try:
        with httpx.Client(timeout=timeout_seconds, follow_redirects=True, max_redirects=MAX_REDIRECTS, transport=transport) as client:
            with client.stream("GET", url) as response:
                if not 200 <= response.status_code < 300:
                    raise ContractError("fetch_failed", f"{field}.url answered HTTP {response.status_code}", details={"field": f"{field}.url", "status": response.status_code})
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise ContractError("too_large", f"{field} is larger than the limit of {max_bytes} bytes", details={"field": f"{field}.url", "limit": max_bytes})
                for chunk in response.iter_bytes():
                    total += len(chunk)
                    if total > max_bytes:
                        raise ContractError("too_large", f"{field} is larger than the limit of {max_bytes} bytes", details={"field": f"{field}.url", "limit": max_bytes})
                    chunks.append(chunk)
    except httpx.TimeoutException:
        raise ContractError("fetch_failed", f"{field}.url timed out", details={"field": f"{field}.url"}) from None
    except httpx.HTTPError as error:
        raise ContractError("fetch_failed", f"{field}.url could not be fetched ({type(error).__name__})", details={"field": f"{field}.url"}) from None
    return b"".join(chunks)
