"""Reading a contract ``VideoSource`` (``{"data": base64}`` or ``{"url": ...}``) and a generate
request's keyframe image (inline ``data``, or a byte range of ``source.url``), fetched with httpx.

The wall seconds a call spends fetching by URL are not the engine's work: ``with_fetch_seconds`` runs
an engine call counting them and reports them as ``seconds.fetch``, apart from the compute seconds
(the Worker bills them like upload seconds, since the container is held meanwhile).

Sizes are in bytes; the limit is enforced before decoding base64 and while streaming a download,
so an oversized source never sits whole in memory. URLs are fetched only from the origins in
``CMVC_SOURCE_ORIGINS`` (comma-separated, e.g. the Worker's ``PUBLIC_ORIGIN``), and a redirect is
followed only to one of them: the functions never become a proxy to other hosts. Unset, no URL is
fetched.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator, Optional
from urllib.parse import urljoin, urlsplit

import httpx

from ..errors import ContractError
from ..outputs import shared_client

#: Seconds to connect, and between bytes, when fetching a source URL.
FETCH_TIMEOUT_SECONDS = 30.0
MAX_REDIRECTS = 5
#: Largest keyframe image a generate request may name, in bytes (``MAX_KEYFRAME_BYTES`` in the contract).
MAX_KEYFRAME_BYTES = 8 * 1024 * 1024
#: Environment variable naming the origins sources may be fetched from.
SOURCE_ORIGINS_ENV = "CMVC_SOURCE_ORIGINS"


@dataclass
class FetchClock:
    """Wall seconds spent in fetches by URL while it is the current clock (``counting_fetches``)."""

    seconds: float = 0.0


_fetch_clock: ContextVar[Optional[FetchClock]] = ContextVar("cmvc_fetch_clock", default=None)


@contextmanager
def counting_fetches() -> Iterator[FetchClock]:
    """A clock of the fetches made inside the ``with`` block (in this thread or task)."""
    clock = FetchClock()
    token = _fetch_clock.set(clock)
    try:
        yield clock
    finally:
        _fetch_clock.reset(token)


def fetch_seconds_apart(result: dict, fetched: float) -> dict:
    """``result`` (of an engine call, which times itself from its start) with ``fetched`` wall
    seconds of fetches by URL added to ``seconds.fetch`` and taken out of ``seconds.cpu`` and
    ``seconds.gpu`` (a wall time on a GPU), so each second is reported once. A ``fetch`` the result
    already reports (fetched where it ran, on the far side of Modal) is kept."""
    seconds = result["seconds"]
    return {
        **result,
        "seconds": {
            **seconds,
            "gpu": round(max(0.0, seconds["gpu"] - fetched), 6) if seconds["gpu"] > 0 else seconds["gpu"],
            "cpu": round(max(0.0, seconds["cpu"] - fetched), 6),
            "fetch": round(seconds.get("fetch", 0.0) + fetched, 6),
        },
    }


def with_fetch_seconds(call: Callable[[], dict]) -> dict:
    """The result of ``call`` (an engine call) with the seconds its fetches took reported apart (``fetch_seconds_apart``)."""
    with counting_fetches() as fetched:
        result = call()
    return fetch_seconds_apart(result, fetched.seconds)


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased, with the scheme's default port left out."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    port = parts.port if parts.port not in (None, default) else None
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def allowed_source_origins() -> frozenset[str]:
    """The origins in ``CMVC_SOURCE_ORIGINS``, normalised like ``_origin``."""
    return frozenset(_origin(o.strip()) for o in os.environ.get(SOURCE_ORIGINS_ENV, "").split(",") if o.strip())


def _check_origin(url: str, field: str, allowed: frozenset[str]) -> None:
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise ContractError("invalid_request", f"{field}.url must be an http or https URL", details={"field": f"{field}.url"})
    if _origin(url) not in allowed:
        raise ContractError("invalid_request", f"{field}.url is not on an origin sources may come from ({SOURCE_ORIGINS_ENV})", details={"field": f"{field}.url"})


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


def keyframe_bytes(keyframe: dict, field: str, transport: Optional[httpx.BaseTransport] = None, max_bytes: int = MAX_KEYFRAME_BYTES) -> bytes:
    """The image file of a generate request's keyframe (``field`` names it in errors, e.g.
    ``segment.keyframes[2]``): its inline ``data``, or bytes ``[offset, offset + length)`` of
    ``source.url``, asked for with a ``Range`` header (a server that ignores it and sends the whole
    object is cut to the range). The answer must hold exactly ``length`` bytes: ``fetch_failed`` if not.
    Also reads an assemble request's audio chunk, which has the same two forms (``max_bytes`` its limit).
    """
    if "data" in keyframe:
        return _decode_base64(keyframe["data"], max_bytes, field)
    source = keyframe["source"]
    offset, length = int(source["offset"]), int(source["length"])
    headers = {"Range": f"bytes={offset}-{offset + length - 1}"}
    status, data = _get(source["url"], offset + length, FETCH_TIMEOUT_SECONDS, f"{field}.source", transport, headers, cut_at_limit=True)
    image = data if status == 206 else data[offset:offset + length]
    if len(image) != length:
        raise ContractError("fetch_failed", f"{field}.source.url answered {len(image)} bytes of the {length} asked for", details={"field": f"{field}.source.url"})
    return image


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
    return _get(url, max_bytes, timeout_seconds, field, transport)[1]


@contextmanager
def _client(transport: Optional[httpx.BaseTransport]) -> Iterator[httpx.Client]:
    """The process's shared client (a new one builds an SSL context and a connection each time), or
    one over ``transport`` (tests)."""
    if transport is None:
        yield shared_client()
    else:
        with httpx.Client(transport=transport) as client:
            yield client


def _get(
    url: str,
    max_bytes: int,
    timeout_seconds: float,
    field: str,
    transport: Optional[httpx.BaseTransport],
    headers: Optional[dict] = None,
    cut_at_limit: bool = False,
) -> tuple[int, bytes]:
    """``(status, body)`` of a GET of ``url``, redirects followed by hand. A body over ``max_bytes`` is
    ``too_large``, or with ``cut_at_limit`` read no further than its first ``max_bytes``."""
    allowed = allowed_source_origins()
    _check_origin(url, field, allowed)
    chunks: list[bytes] = []
    total = 0
    began = time.perf_counter()
    try:
        with _client(transport) as client:
            for _ in range(MAX_REDIRECTS + 1):
                with client.stream("GET", url, headers=headers, timeout=timeout_seconds, follow_redirects=False) as response:
                    if response.is_redirect:
                        # Followed by hand, so every hop is held to the allowed origins.
                        url = urljoin(url, response.headers.get("location", ""))
                        _check_origin(url, field, allowed)
                        continue
                    if not 200 <= response.status_code < 300:
                        raise ContractError("fetch_failed", f"{field}.url answered HTTP {response.status_code}", details={"field": f"{field}.url", "status": response.status_code})
                    declared = response.headers.get("content-length")
                    if not cut_at_limit and declared is not None and declared.isdigit() and int(declared) > max_bytes:
                        raise ContractError("too_large", f"{field} is larger than the limit of {max_bytes} bytes", details={"field": f"{field}.url", "limit": max_bytes})
                    for chunk in response.iter_bytes():
                        total += len(chunk)
                        if total > max_bytes and cut_at_limit:
                            chunks.append(chunk[: len(chunk) - (total - max_bytes)])
                            break
                        if total > max_bytes:
                            raise ContractError("too_large", f"{field} is larger than the limit of {max_bytes} bytes", details={"field": f"{field}.url", "limit": max_bytes})
                        chunks.append(chunk)
                    return response.status_code, b"".join(chunks)
            raise ContractError("fetch_failed", f"{field}.url redirected more than {MAX_REDIRECTS} times", details={"field": f"{field}.url"})
    except httpx.TimeoutException:
        raise ContractError("fetch_failed", f"{field}.url timed out", details={"field": f"{field}.url"}) from None
    except httpx.HTTPError as error:
        raise ContractError("fetch_failed", f"{field}.url could not be fetched ({type(error).__name__})", details={"field": f"{field}.url"}) from None
    finally:
        clock = _fetch_clock.get()
        if clock is not None:
            clock.seconds += time.perf_counter() - began
