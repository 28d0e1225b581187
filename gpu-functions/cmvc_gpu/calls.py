"""Asynchronous calls: submit returns a call id at once; polling it returns pending (with progress),
the result, or a typed failure. Finished calls are kept for ``RETENTION_SECONDS`` (bounded count)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import ContractError

RETENTION_SECONDS = 3600
MAX_KEPT = 2000


@dataclass
class Call:
    progress: Optional[float] = None
    result: Any = None
    error: Optional[dict] = None
    done: bool = False
    finished_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class CallRegistry:
    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cmvc-call")
        self._calls: OrderedDict[str, Call] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, run: Callable[[Callable[[float], None]], Any]) -> str:
        """Starts ``run(progress)`` in the pool; its ContractError becomes a typed failure."""
        call_id = f"call-{uuid.uuid4().hex}"
        call = Call(progress=0.0)
        with self._lock:
            self._evict()
            self._calls[call_id] = call

        def progress(value: float) -> None:
            call.progress = max(0.0, min(1.0, value))

        def work() -> None:
            try:
                call.result = run(progress)
            except ContractError as error:
                call.error = error.body()["error"]
            except Exception:  # the message must not leak internals; the server log has them
                import logging

                logging.getLogger("cmvc_gpu").exception("call %s failed", call_id)
                call.error = {"code": "engine_failure", "message": "the engine failed"}
            finally:
                call.done = True
                call.finished_at = time.time()

        self._pool.submit(work)
        return call_id

    def status(self, call_id: str) -> dict:
        with self._lock:
            call = self._calls.get(call_id)
        if call is None:
            raise ContractError("not_found", f"no call {call_id}")
        if not call.done:
            return {"status": "pending", "progress": call.progress}
        if call.error is not None:
            return {"status": "failed", "error": call.error}
        return {"status": "succeeded", "result": call.result}

    def _evict(self) -> None:
        now = time.time()
        for call_id in [cid for cid, c in self._calls.items() if c.done and now - c.finished_at > RETENTION_SECONDS]:
            del self._calls[call_id]
        while len(self._calls) >= MAX_KEPT:
            self._calls.popitem(last=False)
