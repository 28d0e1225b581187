"""The GPU function HTTP API (FastAPI): the same app locally (uvicorn) and on Modal.

Routes: ``GET /healthz``, ``GET /v1/info``, ``GET /metrics``; ``POST /v1/{function}`` (synchronous),
``POST /v1/{function}/submit`` and ``GET /v1/calls/{callId}`` (asynchronous). Every request and
response is validated against ``schemas/gpu``; errors are ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from . import contract
from .calls import CallRegistry
from .engines.base import Engine
from .errors import ContractError
from .metrics import FUNCTIONS, Metrics

CONTRACT_VERSION = "1"
log = logging.getLogger("cmvc_gpu")


def engine_from_env() -> Engine:
    """The engine named by ``CMVC_ENGINE`` (default ``reference``), with limits from the environment."""
    name = os.environ.get("CMVC_ENGINE", "reference")
    if name == "reference":
        from .engines.reference import ReferenceEngine
        from .engines.reference.engine import Limits

        return ReferenceEngine(
            Limits(
                max_upload_bytes=int(os.environ.get("CMVC_MAX_UPLOAD_BYTES", 256 * 1024 * 1024)),
                max_duration_seconds=float(os.environ.get("CMVC_MAX_DURATION_SECONDS", 600)),
            )
        )
    if name == "model":
        from .engines.model.engine import from_env

        return from_env()
    raise SystemExit(f"CMVC_ENGINE={name!r} is not an engine; use 'reference' (CPU) or 'model' (GPU; see docs/model-engine.md)")


def _error(error: ContractError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


def create_app(engine: Optional[Engine] = None, workers: int = 2) -> FastAPI:
    """The app around ``engine`` (default: from the environment)."""
    engine = engine or engine_from_env()
    metrics = Metrics()
    calls = CallRegistry(workers=workers)
    started_at = time.time()
    app = FastAPI(title="CMVC GPU functions", version=CONTRACT_VERSION, docs_url=None, redoc_url=None)

    def run(function: str, request: dict, progress) -> dict:
        metrics.started(function)
        began = time.perf_counter()
        code = None
        try:
            result = getattr(engine, function)(request, progress)
            return contract.check_response(f"{function}.response", result)
        except ContractError as error:
            code = error.code
            raise
        except Exception:
            code = "engine_failure"
            log.exception("%s failed", function)
            raise ContractError("engine_failure", f"the engine failed while running {function}") from None
        finally:
            metrics.finished(function, time.perf_counter() - began, code)

    async def read_json(request: Request) -> Any:
        body = await request.body()
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ContractError("invalid_request", "the body is not valid JSON") from None

    @app.exception_handler(ContractError)
    async def contract_error(_: Request, error: ContractError) -> JSONResponse:
        return _error(error)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _error(ContractError("engine_failure", "an internal error occurred"))

    @app.get("/healthz")
    async def health() -> dict:
        return contract.check_response("health.response", {"ok": True, "engine": engine.info(), "uptimeSeconds": round(time.time() - started_at, 3)})

    @app.get("/v1/info")
    async def info() -> dict:
        limits = getattr(engine, "limits", None)
        return contract.check_response(
            "info.response",
            {
                "contractVersion": CONTRACT_VERSION,
                "engine": engine.info(),
                "functions": list(FUNCTIONS),
                "limits": {
                    "maxUploadBytes": getattr(limits, "max_upload_bytes", 256 * 1024 * 1024),
                    "maxDurationSeconds": getattr(limits, "max_duration_seconds", 600.0),
                    "maxWidth": getattr(limits, "max_width", 4096),
                    "maxHeight": getattr(limits, "max_height", 4096),
                    "maxFrameCount": getattr(limits, "max_frame_count", 10_000),
                },
            },
        )

    @app.get("/metrics")
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.post("/v1/{function}")
    async def call_sync(function: str, request: Request) -> Any:
        if function not in FUNCTIONS:
            raise ContractError("not_found", f"no function {function!r}")
        body = contract.check_request(function, await read_json(request))
        return await run_in_threadpool(run, function, body, lambda _p: None)

    @app.post("/v1/{function}/submit", status_code=202)
    async def submit(function: str, request: Request) -> Any:
        if function not in FUNCTIONS:
            raise ContractError("not_found", f"no function {function!r}")
        body = contract.check_request(function, await read_json(request))
        return {"callId": calls.submit(lambda progress: run(function, body, progress))}

    @app.get("/v1/calls/{call_id}")
    async def poll(call_id: str) -> Any:
        return contract.check_response("call.status", calls.status(call_id))

    return app


app = create_app() if os.environ.get("CMVC_NO_APP") != "1" else None
