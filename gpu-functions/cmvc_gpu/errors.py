"""The contract's typed failure: a stable code, an HTTP status, a message for people."""

from __future__ import annotations

from typing import Any, Optional

#: Stable error codes of the contract and the HTTP status each is sent with.
STATUS_BY_CODE = {
    "invalid_request": 422,
    "undecodable_video": 422,
    "unsupported_codec": 415,
    "too_large": 413,
    "too_long": 422,
    "fetch_failed": 502,
    "upload_failed": 502,
    "not_found": 404,
    "engine_failure": 500,
    "overloaded": 503,
}


class ContractError(Exception):
    """A failure the client should see as ``{"error": {"code", "message", "details"?}}``."""

    def __init__(self, code: str, message: str, details: Optional[Any] = None) -> None:
        if code not in STATUS_BY_CODE:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def status(self) -> int:
        return STATUS_BY_CODE[self.code]

    def body(self) -> dict:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}
