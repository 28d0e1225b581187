"""Asynchronous calls (Modal's spawn / FunctionCall pattern): ``submit`` queues the work in a bounded
thread pool and returns a call id at once; ``status`` answers ``pending`` (progress in [0, 1], or
null while queued), ``succeeded`` with the result, or ``failed`` with a typed error.

Finished calls are kept for ``retention_seconds`` (default one hour) and at most ``max_kept``; a
call beyond ``max_pending`` unfinished ones is refused with ``overloaded``. A submit may carry an
idempotency key: while its call is kept, the same key answers the same call id and starts nothing,
so a caller that lost the answer to a submit can send it again without the work running twice.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import ContractError
from .progress import Progress

log = logging.getLogger("cmvc_gpu")


#: Longest long poll of ``status``, in seconds (well under any proxy's idle timeout).
MAX_WAIT_SECONDS = 20.0
#: Header of a submit naming its idempotency key (``SUBMIT_IDEMPOTENCY_HEADER`` in the contract).
IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:~-]{1,200}")


def idempotency_key(function: str, header: Optional[str]) -> Optional[str]:
    """The key a submit of ``function`` is deduplicated by (keys are per function), from its
    ``Idempotency-Key`` header; None without one, ``invalid_request`` for a malformed one."""
    if header is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(header):
        raise ContractError("invalid_request", f"{IDEMPOTENCY_HEADER} must be 1-200 characters of A-Z a-z 0-9 . _ : ~ -", details={"field": IDEMPOTENCY_HEADER})
    return f"{function}:{header}"


@dataclass
class Call:
    progress: Optional[float] = None
    result: Any = None
    error: Optional[dict] = None
    done: bool = False
    finished_at: float = 0.0
    finished: threading.Event = field(default_factory=threading.Event)
    idempotency_key: Optional[str] = None


class CallRegistry:
    """Submitted calls and their outcomes.

    workers: threads running calls. max_pending: unfinished calls (queued or running) accepted
    at once. retention_seconds / max_kept: how long and how many finished calls are remembered.
    """

    def __init__(self, workers: int = 2, max_pending: int = 64, retention_seconds: float = 3600.0, max_kept: int = 256) -> None:
        if workers < 1 or max_pending < 1:
            raise ValueError(f"workers and max_pending must be at least 1, got {workers} and {max_pending}")
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cmvc-call")
        self._calls: OrderedDict[str, Call] = OrderedDict()
        #: The call id each idempotency key got, while that call is kept.
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()
        self.max_pending = max_pending
        self.retention_seconds = retention_seconds
        self.max_kept = max_kept

    def submit(self, run: Callable[[Progress], Any], idempotency_key: Optional[str] = None) -> str:
        """Queues ``run(progress)``; its ``ContractError`` becomes a typed failure, anything else
        ``engine_failure`` (details stay in the server log). Raises ``overloaded`` when full. A key
        that a kept call was submitted with answers that call's id, and ``run`` is not queued."""
        call = Call(idempotency_key=idempotency_key)
        call_id = f"call-{uuid.uuid4().hex}"
        with self._lock:
            self._evict()
            if idempotency_key is not None and idempotency_key in self._keys:
                return self._keys[idempotency_key]
            if sum(1 for c in self._calls.values() if not c.done) >= self.max_pending:
                raise ContractError("overloaded", f"{self.max_pending} calls are already waiting; retry later")
            self._calls[call_id] = call
            if idempotency_key is not None:
                self._keys[idempotency_key] = call_id

        def progress(value: float) -> None:
            call.progress = max(0.0, min(1.0, float(value)))

        def work() -> None:
            call.progress = 0.0
            try:
                call.result = run(progress)
            except ContractError as error:
                call.error = error.body()["error"]
            except Exception:
                log.exception("call %s failed", call_id)
                call.error = {"code": "engine_failure", "message": "the engine failed"}
            finally:
                call.finished_at = time.time()
                call.done = True
                call.finished.set()

        self._pool.submit(work)
        return call_id

    def status(self, call_id: str, wait_seconds: float = 0.0) -> dict:
        """The contract's ``call.status`` of ``call_id``; ``not_found`` if unknown or expired.

        ``wait_seconds`` (a long poll, at most ``MAX_WAIT_SECONDS``) holds the answer until the call
        ends or that time passes, so a poller learns of the end at once rather than at its next poll.
        """
        with self._lock:
            self._evict()
            call = self._calls.get(call_id)
        if call is None:
            raise ContractError("not_found", "no such call (unknown, or its result has expired)", details={"callId": call_id[:200]})
        if wait_seconds > 0 and not call.done:
            call.finished.wait(min(wait_seconds, MAX_WAIT_SECONDS))
        if not call.done:
            return {"status": "pending", "progress": call.progress}
        if call.error is not None:
            return {"status": "failed", "error": call.error}
        return {"status": "succeeded", "result": call.result}

    def _evict(self) -> None:
        now = time.time()
        for call_id in [cid for cid, c in self._calls.items() if c.done and now - c.finished_at > self.retention_seconds]:
            self._forget(call_id)
        if len(self._calls) >= self.max_kept:
            for call_id in [cid for cid, c in self._calls.items() if c.done][: len(self._calls) - self.max_kept + 1]:
                self._forget(call_id)

    def _forget(self, call_id: str) -> None:
        call = self._calls.pop(call_id)
        if call.idempotency_key is not None:
            self._keys.pop(call.idempotency_key, None)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
