"""The GPU function HTTP API (FastAPI): the same app locally (uvicorn) and on Modal.

Routes (JSON everywhere, shapes in ``schemas/gpu``):

- ``GET /healthz`` → health.response; ``GET /v1/info`` → info.response; ``GET /metrics`` → Prometheus text.
- ``POST /v1/{function}`` → 200 and the function's response (synchronous).
- ``POST /v1/{function}/submit`` → 202 ``{"callId"}`` at once (with ``Idempotency-Key``, the same key
  answers the same call id again and starts nothing); ``GET /v1/calls/{callId}`` → call.status.
- Errors: ``{"error": {"code", "message", "details"?}}`` with the contract's codes and statuses.
- ``generate``, ``interpolate`` and ``assemble`` PUT their output file to the request's ``output``
  target (``outputs.deliver``) and answer its size and SHA-256; their input videos come by URL.

Every request and every response (errors included) is validated against the schemas.

    cd gpu-functions && .venv/bin/uvicorn cmvc_gpu.app:app --host 127.0.0.1 --port 8788
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import contract
from .calls import IDEMPOTENCY_HEADER, CallRegistry, idempotency_key
from .engines.base import Engine, check_engine, check_honoured, engine_method
from .errors import ContractError
from .limits import Limits
from .media.sources import counting_fetches, fetch_seconds_apart
from .metrics import FUNCTIONS, Metrics
from .outputs import deliver
from .progress import Progress

CONTRACT_VERSION = contract.CONTRACT_VERSION
log = logging.getLogger("cmvc_gpu")

#: Engines this server can build, by ``CMVC_ENGINE`` value.
ENGINES: dict[str, Callable[[Limits], Engine]] = {}


def _reference(limits: Limits) -> Engine:
    from .engines.reference import ReferenceEngine

    return ReferenceEngine(limits)


ENGINES["reference"] = _reference


def _model(limits: Limits) -> Engine:
    """The model engine with tiny random models (torch, diffusers, transformers, peft: the model extra),
    for local development and the end-to-end tests: the production classes and code paths on this
    machine; a deployment serves the pinned models on Modal (``modal_app.py``)."""
    import atexit
    import shutil
    import tempfile

    from .engines.model.tiny import tiny_engine

    adapters = tempfile.mkdtemp(prefix="cmvc-adapters-")
    atexit.register(shutil.rmtree, adapters, True)
    engine = tiny_engine(adapters)
    engine.limits = limits
    return engine


ENGINES["model"] = _model


def engine_label(name: str) -> str:
    """``id@version`` of the engine ``CMVC_ENGINE=name`` starts, read without building it: the Worker's
    ``GPU_ENGINE`` when ``npm start`` runs this server (artifact keys and cost estimates carry it)."""
    if name == "model":
        from .engines.model.config import ENGINE_ID, ENGINE_VERSION
    elif name == "reference":
        from .engines.reference.engine import ENGINE_ID, ENGINE_VERSION
    else:
        raise RuntimeError(f"CMVC_ENGINE={name!r} is not an engine this server can start; known: {', '.join(sorted(ENGINES))}")
    return f"{ENGINE_ID}@{ENGINE_VERSION}"


def engine_from_env(limits: Optional[Limits] = None) -> Engine:
    """The engine named by ``CMVC_ENGINE`` (default ``reference``) with ``limits`` (default: from env)."""
    name = os.environ.get("CMVC_ENGINE", "reference")
    factory = ENGINES.get(name)
    if factory is None:
        raise RuntimeError(
            f"CMVC_ENGINE={name!r} is not an engine this server can start; known: {', '.join(sorted(ENGINES))} "
            "(`model` runs the model engine with tiny random models; the pinned ones are served on Modal by modal_app.py)"
        )
    return factory(limits if limits is not None else Limits.from_env())


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw is None or raw == "" else int(raw)


def error_response(error: ContractError) -> JSONResponse:
    """The JSON error response of ``error``, itself checked against ``error.json``."""
    body = error.body()
    if not contract.is_valid("error", body):
        log.error("error body breaks the contract: %r", body)
        body = {"error": {"code": "engine_failure", "message": "an internal error occurred"}}
    return JSONResponse(body, status_code=error.status)


def create_app(
    engine: Optional[Engine] = None,
    workers: Optional[int] = None,
    *,
    limits: Optional[Limits] = None,
    max_pending: Optional[int] = None,
    max_sync: Optional[int] = None,
) -> FastAPI:
    """The app around ``engine`` (default: from ``CMVC_ENGINE``).

    workers: threads for submitted calls (env ``CMVC_WORKERS``, default 2). max_pending: submitted
    calls unfinished at once before ``overloaded`` (``CMVC_MAX_PENDING``, 64). max_sync: synchronous
    calls running at once before ``overloaded`` (``CMVC_MAX_SYNC``, 8). limits: reported by
    ``/v1/info`` and bound request bodies (default: the engine's, else from the environment).
    """
    contract.load_all()
    if engine is None:
        limits = limits if limits is not None else Limits.from_env()
        engine = engine_from_env(limits)
    elif limits is None:
        engine_limits = getattr(engine, "limits", None)
        limits = engine_limits if isinstance(engine_limits, Limits) else Limits.from_env()
    check_engine(engine)
    metrics = Metrics()
    calls = CallRegistry(
        workers=workers if workers is not None else _int_env("CMVC_WORKERS", 2),
        max_pending=max_pending if max_pending is not None else _int_env("CMVC_MAX_PENDING", 64),
    )
    sync_capacity = max_sync if max_sync is not None else _int_env("CMVC_MAX_SYNC", 8)
    sync_running = 0
    sync_lock = threading.Lock()
    # A body carries at most one encode source as base64 (4/3 of its bytes) plus some JSON around it.
    max_body_bytes = limits.max_upload_bytes * 4 // 3 + 1024 * 1024
    started_at = time.time()
    app = FastAPI(title="CMVC GPU functions", version=CONTRACT_VERSION, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine
    app.state.calls = calls
    app.state.metrics = metrics

    def run(function: str, request: dict, progress: Progress) -> dict:
        """Runs one call of the engine, counted and timed; the result is checked against the contract."""
        metrics.started(function)
        began = time.perf_counter()
        # The seconds the caller is told (and bills): fetching inputs, computing, then uploading the
        # output. /metrics counts exactly these for a call that succeeds, and for one that fails its
        # wall time (its fetches apart).
        reported: Optional[tuple[float, float, float]] = None
        code: Optional[str] = None
        with counting_fetches() as fetched:
            try:
                result = fetch_seconds_apart(engine_method(engine, function)(request, progress), fetched.seconds)
                seconds = result["seconds"]
                # At least the wall time here, less what is reported apart (on Modal, the far side's fetches and upload).
                seconds["cpu"] = round(max(seconds["cpu"], time.perf_counter() - began - seconds["fetch"] - seconds.get("upload", 0.0)), 6)
                delivered = deliver(request, result)
                seconds = delivered["seconds"]
                reported = (max(seconds["gpu"], seconds["cpu"]), seconds.get("upload", 0.0), seconds["fetch"])
                return contract.check_response(f"{function}.response", delivered)
            except ContractError as error:
                code = error.code
                if code == "engine_failure":
                    log.error("%s: %s %r", function, error.message, error.details)
                error.spent_seconds = time.perf_counter() - began
                error.fetch_seconds = fetched.seconds
                raise
            except Exception:
                code = "engine_failure"
                log.exception("%s failed", function)
                failure = ContractError("engine_failure", f"the engine failed while running {function}")
                failure.spent_seconds = time.perf_counter() - began
                failure.fetch_seconds = fetched.seconds
                raise failure from None
            finally:
                if reported is None:
                    reported = (time.perf_counter() - began - fetched.seconds, 0.0, fetched.seconds)
                compute, upload, fetch = reported
                metrics.finished(function, compute, code, upload_seconds=upload, fetch_seconds=fetch)

    def run_reporting_spent(function: str, request: dict, progress: Progress) -> dict:
        """``run`` for a submitted call: a failure carries the wall seconds it ran in
        ``details.seconds`` (as ``cpu``; the same seconds ``/metrics`` counts), so the caller can bill it."""
        try:
            return run(function, request, progress)
        except ContractError as error:
            fetch = getattr(error, "fetch_seconds", 0.0)
            spent = {"gpu": 0.0, "cpu": round(getattr(error, "spent_seconds", 0.0) - fetch, 6), "fetch": round(fetch, 6)}
            details = error.details if isinstance(error.details, dict) else ({} if error.details is None else {"cause": error.details})
            raise ContractError(error.code, error.message, details={**details, "seconds": spent}) from None

    async def read_request(function: str, request: Request) -> dict:
        """The validated request body with defaults applied; a rejection is counted as a failed call."""
        try:
            if function not in FUNCTIONS:
                raise ContractError("not_found", f"no function {function!r}; known: {', '.join(FUNCTIONS)}")
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
                raise ContractError("too_large", f"the request body is larger than {max_body_bytes} bytes")
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body_bytes:
                    raise ContractError("too_large", f"the request body is larger than {max_body_bytes} bytes")
            if not body:
                raise ContractError("invalid_request", "the request body is empty; expected a JSON object", details={"field": "(body)"})
            try:
                parsed = json.loads(bytes(body))
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise ContractError("invalid_request", f"the request body is not valid JSON ({error.__class__.__name__})", details={"field": "(body)"}) from None
            checked = contract.check_request(function, parsed)
            check_honoured(engine, function, checked)
            return checked
        except ContractError as error:
            if function in FUNCTIONS:
                metrics.rejected(function, error.code)
            raise

    @app.exception_handler(ContractError)
    async def contract_error(_: Request, error: ContractError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            return error_response(ContractError("not_found", "no such route"))
        if error.status_code == 405:
            return JSONResponse(ContractError("invalid_request", "method not allowed on this route").body(), status_code=405)
        return error_response(ContractError("invalid_request", str(error.detail)[:200]))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(ContractError("invalid_request", "the request does not match the route"))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(ContractError("engine_failure", "an internal error occurred"))

    @app.get("/healthz")
    async def health() -> dict:
        return contract.check_response("health.response", {"ok": True, "engine": engine.info(), "uptimeSeconds": round(time.time() - started_at, 3)})

    @app.get("/v1/info")
    async def info() -> dict:
        return contract.check_response(
            "info.response",
            {"contractVersion": CONTRACT_VERSION, "engine": engine.info(), "functions": list(FUNCTIONS), "limits": limits.as_contract()},
        )

    @app.get("/metrics")
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.post("/v1/{function}")
    async def call_sync(function: str, request: Request) -> Any:
        nonlocal sync_running
        body = await read_request(function, request)
        with sync_lock:
            if sync_running >= sync_capacity:
                metrics.rejected(function, "overloaded")
                raise ContractError("overloaded", f"{sync_capacity} synchronous calls are already running; retry later or submit")
            sync_running += 1
        try:
            # A JSONResponse directly: the result is plain JSON already.
            return JSONResponse(await run_in_threadpool(run, function, body, lambda _fraction: None))
        finally:
            with sync_lock:
                sync_running -= 1

    @app.post("/v1/{function}/submit", status_code=202)
    async def submit(function: str, request: Request) -> Any:
        body = await read_request(function, request)
        try:
            key = idempotency_key(function, request.headers.get(IDEMPOTENCY_HEADER))
            call_id = calls.submit(lambda progress: run_reporting_spent(function, body, progress), idempotency_key=key)
        except ContractError as error:
            metrics.rejected(function, error.code)
            raise
        return contract.check_response("call.submit.response", {"callId": call_id})

    @app.get("/v1/calls/{call_id}")
    async def poll(call_id: str, waitSeconds: float = 0.0) -> Any:  # noqa: N803 (the contract's spelling)
        """``?waitSeconds=N`` long-polls: the answer comes when the call ends or after N seconds."""
        if not 0 <= waitSeconds <= 60:
            raise ContractError("invalid_request", "waitSeconds must be within 0..60", details={"field": "waitSeconds"})
        status = await run_in_threadpool(calls.status, call_id, waitSeconds)
        contract.check_response("call.status", status)
        return JSONResponse(status)

    return app


def create_modal_web_app(dispatcher: Any, config: Any) -> FastAPI:
    """The FastAPI app the ``web`` Modal function serves: this app, with an engine that forwards each call to its
    GPU class (``engines.model.web.DispatchEngine``) and the asynchronous routes backed by Modal's ``spawn``.

    Args:
        dispatcher: an ``engines.model.dispatch.Dispatcher`` forwarding to the deployed methods.
        config: the ``engines.model.config.ModelEngineConfig`` it reports.
    """
    from .engines.model.web import DispatchEngine, install_call_routes

    app = create_app(engine=DispatchEngine(dispatcher, config))
    install_call_routes(app, dispatcher)
    return app


# ``uvicorn cmvc_gpu.app:app``; CMVC_NO_APP=1 skips it (Modal builds its own app with another engine).
app = create_app() if os.environ.get("CMVC_NO_APP") != "1" else None
