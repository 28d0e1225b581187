"""The web endpoint's side of the Modal deployment: each contract function runs as a method of its
GPU class; the endpoint only forwards. Torch-free and Modal-free (the Modal objects are passed in),
so it is tested with fakes.

- A synchronous call (``POST /v1/{fn}``) is ``.remote(request)``.
- ``POST /v1/{fn}/submit`` is ``.spawn(request)``; the call id is Modal's ``FunctionCall`` id,
  prefixed with the function's name so polling knows what it polls.
- ``GET /v1/calls/{id}`` is ``FunctionCall.from_id(id).get(timeout=0)``: pending while that
  times out, then the result or the error. Progress is read from a shared ``modal.Dict`` that
  the GPU method writes under its own call id (``modal.current_function_call_id()``).

The GPU methods return an :func:`envelope`: ``{"ok": true, "result": …}`` or
``{"ok": false, "error": {code, message}}``, so a contract error (a bad argument, an unknown
adapter) crosses the boundary as data rather than as a pickled exception.
"""

from __future__ import annotations

import re
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any, Optional, Protocol

from ...contract import function_names
from ...errors import STATUS_BY_CODE, ContractError
from ...progress import Progress
from .errors import error_code

FUNCTIONS = function_names()
CALL_ID = re.compile(rf"^({'|'.join(map(re.escape, FUNCTIONS))})~(fc-[A-Za-z0-9]{{1,120}})$")


class RemoteMethod(Protocol):
    """What this module needs of a Modal function or method."""

    def remote(self, request: dict) -> dict: ...

    def spawn(self, request: dict) -> Any: ...


class ProgressStore(Protocol):
    """Where progress goes: a ``modal.Dict`` in production, a plain dict in tests."""

    def __setitem__(self, key: str, value: float) -> None: ...

    def get(self, key: str, default: Any = None) -> Any: ...

    def pop(self, key: str, default: Any = None) -> Any: ...


class SubmitStore(ProgressStore, Protocol):
    """Where submits' idempotency keys map to call ids: a ``modal.Dict`` in production."""

    def put(self, key: str, value: Any, *, skip_if_exists: bool = False) -> bool: ...


#: What a submit store holds for a key whose submit is spawning its call.
CLAIMED = "claimed"
#: How long a repeated submit waits for the first one's call id, in seconds.
CLAIM_WAIT_SECONDS = 10.0


class DispatchError(ContractError):
    """A contract error raised on this side of the Modal boundary (or carried back across it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code if code in STATUS_BY_CODE else "engine_failure", message)


def envelope(
    call: Callable[[Progress], dict],
    progress_store: Optional[ProgressStore] = None,
    call_id: Optional[str] = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Runs one engine call on the GPU side and wraps its outcome.

    Args:
        call: runs the engine with the progress callback it is given; returns the response.
        progress_store: where progress goes (a ``modal.Dict``), keyed by ``call_id``.
        call_id: this call's ``FunctionCall`` id, when spawned.
        log: receives the traceback of an unexpected failure (the response carries no trace).

    Returns:
        ``{"ok": True, "result": response}`` or ``{"ok": False, "error": {"code", "message"}}``, with
        ``seconds``: the wall seconds the call ran here (in a GPU class: seconds it held its GPU).
    """
    last = [-1.0]
    started = time.perf_counter()

    def progress(fraction: float) -> None:
        if progress_store is None or call_id is None:
            return
        fraction = min(1.0, max(0.0, float(fraction)))
        if fraction - last[0] >= 0.01 or fraction == 1.0:
            last[0] = fraction
            try:
                progress_store[call_id] = fraction
            except Exception:  # progress is best effort; never fail the call for it
                pass

    try:
        result = call(progress)
        return {"ok": True, "result": result, "seconds": time.perf_counter() - started}
    except Exception as error:  # every failure becomes a contract error
        code = error_code(error)
        if code == "engine_failure":
            log(traceback.format_exc())
        failure = {"code": code, "message": str(error) or type(error).__name__}
        return {"ok": False, "error": failure, "seconds": time.perf_counter() - started}


class GpuMeter:
    """The seconds the GPU methods one contract call made held their GPUs (their envelopes'
    ``seconds``), summed across calls that ran side by side: what the call reports as ``seconds.gpu``
    on Modal, where its own container is a CPU one and its wall time undercounts calls run in parallel."""

    def __init__(self) -> None:
        self._total = 0.0
        self._lock = threading.Lock()

    def value(self, answer: Any) -> Any:
        """The value inside a GPU method's envelope (its error raised), its seconds counted."""
        if isinstance(answer, Mapping):
            with self._lock:
                self._total += float(answer.get("seconds") or 0.0)
        return unwrap_value(answer)

    def total(self) -> float:
        with self._lock:
            return self._total


def unwrap_value(answer: Any) -> Any:
    """The value inside an envelope (any type, e.g. frames), or a :class:`DispatchError`."""
    if isinstance(answer, Mapping) and answer.get("ok") is True and "result" in answer:
        return answer["result"]
    unwrap(answer)  # raises with the error's code
    raise DispatchError("engine_failure", "the GPU function returned no result")


def unwrap(answer: Any) -> dict:
    """The response inside an envelope, or a :class:`DispatchError` with its code."""
    if not isinstance(answer, Mapping) or "ok" not in answer:
        raise DispatchError("engine_failure", "the GPU function returned no envelope")
    if answer["ok"]:
        return dict(answer["result"])
    error = answer.get("error") or {}
    raise DispatchError(str(error.get("code", "engine_failure")), str(error.get("message", "GPU function failed")))


class Dispatcher:
    """Forwards contract calls to the deployed GPU methods.

    Args:
        methods: function name → its Modal method (``Encoder().encode`` …).
        from_id: ``modal.FunctionCall.from_id``.
        progress_store: the shared progress ``modal.Dict``, or ``None``.
        submit_store: the shared ``modal.Dict`` of submits' idempotency keys, or ``None`` (no deduplication).
        timeout_errors: exception types meaning "no result yet" from ``get(timeout=0)``.
        expired_errors: exception types meaning the call or its result is gone.
        failed_errors: exception types meaning the call itself failed (e.g. timed out).
    """

    def __init__(
        self,
        methods: Mapping[str, RemoteMethod],
        from_id: Callable[[str], Any],
        progress_store: Optional[ProgressStore] = None,
        submit_store: Optional[SubmitStore] = None,
        timeout_errors: tuple[type[BaseException], ...] = (TimeoutError,),
        expired_errors: tuple[type[BaseException], ...] = (),
        failed_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        unknown = set(methods) - set(FUNCTIONS)
        if unknown:
            raise ValueError(f"unknown functions {sorted(unknown)}")
        self.methods = dict(methods)
        self.from_id = from_id
        self.progress_store = progress_store
        self.submit_store = submit_store
        self.timeout_errors = timeout_errors
        self.expired_errors = expired_errors
        self.failed_errors = failed_errors

    def _method(self, fn: str) -> RemoteMethod:
        if fn not in self.methods:
            raise DispatchError("not_found", f"function {fn!r} is not deployed")
        return self.methods[fn]

    def run(self, fn: str, request: dict) -> dict:
        """A synchronous call: the response, or a :class:`DispatchError`."""
        return unwrap(self._method(fn).remote(request))

    def submit(self, fn: str, request: dict, idempotency_key: Optional[str] = None) -> str:
        """Spawns the call; returns the contract call id (``"<fn>~<FunctionCall id>"``). With an
        ``idempotency_key`` (``calls.idempotency_key``) and a ``submit_store``, the first submit with
        the key claims it (a write that succeeds only if the key is absent) and stores its call id;
        a later one answers that id and spawns nothing (waiting briefly while the first is spawning)."""
        method = self._method(fn)
        if idempotency_key is None or self.submit_store is None:
            return f"{fn}~{method.spawn(request).object_id}"
        if self.submit_store.put(idempotency_key, CLAIMED, skip_if_exists=True):
            try:
                call_id = f"{fn}~{method.spawn(request).object_id}"
            except BaseException:
                self.submit_store.pop(idempotency_key, None)
                raise
            self.submit_store[idempotency_key] = call_id
            return call_id
        deadline = time.monotonic() + CLAIM_WAIT_SECONDS
        while time.monotonic() < deadline:
            value = self.submit_store.get(idempotency_key)
            if value is None:  # the claiming submit failed to spawn: this one may claim the key
                return self.submit(fn, request, idempotency_key)
            if value != CLAIMED:
                return value
            time.sleep(0.1)
        raise DispatchError("overloaded", "a submit with this Idempotency-Key is still starting its call; retry")

    def poll(self, call_id: str, wait_seconds: float = 0.0) -> dict:
        """The contract ``CallStatus`` of a submitted call; an unknown or expired call id raises
        ``not_found`` (a call that *failed* with ``not_found`` is a ``failed`` status).
        ``wait_seconds`` long-polls: ``FunctionCall.get`` waits up to that long for the result."""
        match = CALL_ID.match(call_id)
        if match is None:
            raise DispatchError("not_found", f"no call {call_id!r}")
        modal_id = match.group(2)
        try:
            call = self.from_id(modal_id)
            answer = call.get(timeout=max(0.0, min(wait_seconds, 20.0)))
        except self.failed_errors as error:
            return failed("engine_failure", f"the call failed: {error}")
        except self.expired_errors:
            raise DispatchError("not_found", f"call {call_id!r} has expired") from None
        except self.timeout_errors:
            return {"status": "pending", "progress": self._progress(modal_id)}
        except Exception as error:  # unknown ids and remote crashes
            if "not found" in str(error).lower():
                raise DispatchError("not_found", f"no call {call_id!r}") from None
            return failed("engine_failure", f"the call failed: {type(error).__name__}: {error}")
        self._forget(modal_id)
        try:
            return {"status": "succeeded", "result": unwrap(answer)}
        except DispatchError as error:
            return failed(error.code, error.message)

    def _progress(self, modal_id: str) -> Optional[float]:
        if self.progress_store is None:
            return None
        try:
            value = self.progress_store.get(modal_id)
        except Exception:
            return None
        return None if value is None else min(1.0, max(0.0, float(value)))

    def _forget(self, modal_id: str) -> None:
        if self.progress_store is None:
            return
        try:
            self.progress_store.pop(modal_id, None)
        except Exception:
            pass


def failed(code: str, message: str) -> dict:
    return {"status": "failed", "error": {"code": code, "message": message}}
