"""The Modal web endpoint's parts (``app.create_modal_web_app`` puts them together): an engine that forwards
each call to its GPU class, and the asynchronous routes backed by Modal's ``spawn`` and
``FunctionCall`` (so a poll may reach any web container, not only the one that submitted)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ...calls import IDEMPOTENCY_HEADER, idempotency_key
from ...contract import check_request, check_response
from ...errors import ContractError
from ...progress import Progress
from .config import ENGINE_ID, ENGINE_VERSION, ModelEngineConfig
from .dispatch import FUNCTIONS, Dispatcher

SUBMIT_PATH = "/v1/{fn}/submit"
POLL_PATH = "/v1/calls/{call_id}"


class DispatchEngine:
    """The engine behind the web endpoint (the Engine protocol of ``cmvc_gpu.engines.base``):
    each call runs in its GPU class; this process loads no model.

    Args:
        dispatcher: forwards to the deployed methods.
        config: the model configuration (recorded in ``info``).
    """

    id = ENGINE_ID
    version = ENGINE_VERSION
    #: ``targetKbps`` is planned (``cmvc_gpu.media.rate``), never ignored.
    plans_rate = True

    def __init__(self, dispatcher: Dispatcher, config: ModelEngineConfig) -> None:
        self.dispatcher = dispatcher
        self.config = config

    def info(self) -> dict:
        return {"id": self.id, "version": self.version, "models": self.config.models()}

    def __getattr__(self, function: str) -> Callable[..., dict]:
        """Every contract function (``encode``, ``generate``, …: the exported schema's list) runs
        in its deployed method; progress is reported there, not through this process."""
        if function not in FUNCTIONS:
            raise AttributeError(function)

        def run(request: dict, progress: Optional[Progress] = None) -> dict:
            return self.dispatcher.run(function, request)

        return run


def install_call_routes(app: Any, dispatcher: Dispatcher) -> None:
    """Puts ``POST /v1/{fn}/submit`` and ``GET /v1/calls/{id}`` in front of ``app``'s own routes,
    backed by ``spawn`` / ``FunctionCall.from_id``."""
    router = APIRouter()

    def error_response(error: ContractError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status)

    @router.post(SUBMIT_PATH)
    async def submit_call(fn: str, request: Request) -> Any:
        try:
            if fn not in FUNCTIONS:
                raise ContractError("not_found", f"no function {fn!r}; known: {', '.join(FUNCTIONS)}")
            try:
                body = await request.json()
            except ValueError as error:
                raise ContractError("invalid_request", "the body is not JSON") from error
            checked = check_request(fn, body)
            key = idempotency_key(fn, request.headers.get(IDEMPOTENCY_HEADER))
            call_id = await run_in_threadpool(dispatcher.submit, fn, checked, key)
        except ContractError as error:
            return error_response(error)
        return JSONResponse({"callId": call_id}, status_code=202)

    @router.get(POLL_PATH)
    async def poll_call(call_id: str, waitSeconds: float = 0.0) -> Any:  # noqa: N803 (the contract's spelling)
        try:
            status = await run_in_threadpool(dispatcher.poll, call_id, max(0.0, min(waitSeconds, 60.0)))
        except ContractError as error:
            return error_response(error)
        return JSONResponse(check_response("call.status", status))

    app.router.routes[:0] = router.routes
