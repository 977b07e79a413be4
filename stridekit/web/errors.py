"""How the explorer answers a request it cannot serve: a 4xx status and
``{"error": MESSAGE, "type": NAME}``, the message being the one line the CLI would print.

- a `StrideError` (bad sizes, unknown model, malformed spec or file): 400;
- a body that does not match the schema: 422 (FastAPI's validation, one line per field);
- a body larger than the bound: 413; no free worker and a full queue: 429 with
  ``Retry-After``; a job past the time limit: 408;
- a worker process that died under the job (killed, out of memory), or a server shutting
  down: 503, and the same request may be sent again (a fresh worker takes its place);
- anything else is a bug in stridekit: 422 with type ``InternalError``, the traceback
  in the server's log (the tests fail on that type). No other request gets a 5xx.

>>> status_of(Busy("all workers are busy"))
429
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from stridekit.errors import (
    Busy,
    RemoteError,
    ShuttingDown,
    StrideError,
    TimeLimit,
    TooLarge,
    WorkerStopped,
)

__all__ = [
    "Busy",
    "InternalError",
    "RemoteError",
    "ShuttingDown",
    "TimeLimit",
    "TooLarge",
    "WorkerStopped",
]
log = logging.getLogger("stridekit.web")


class InternalError(Exception):
    """An unexpected exception: a bug in stridekit, reported without a 5xx."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"stridekit could not handle this request ({kind}: {message})")
        self.kind = kind


STATUS: dict[type[Exception], int] = {
    Busy: 429,
    TimeLimit: 408,
    TooLarge: 413,
    WorkerStopped: 503,
    ShuttingDown: 503,
    InternalError: 422,
}


def status_of(error: Exception) -> int:
    """The status code of an error: its class's (or a parent's) entry in `STATUS`, else
    400 for a `StrideError` and 422 for anything else."""
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400 if isinstance(error, StrideError) else 422


def error_response(error: Exception) -> JSONResponse:
    kind = getattr(error, "kind", None) or type(error).__name__
    if isinstance(error, InternalError):
        kind = "InternalError"
    message = " ".join(str(error).split())
    headers = {"Retry-After": "1"} if isinstance(error, Busy) else None
    return JSONResponse({"error": message, "type": kind}, status_of(error), headers=headers)


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request does not match the schema"


def install(app: FastAPI) -> None:
    """Route every error to `error_response`."""

    @app.exception_handler(StrideError)
    async def stride_error(request: Request, error: StrideError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        message = _validation_message(error)
        return JSONResponse({"error": message, "type": "ValidationError"}, 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        # 404, 405 and friends: keep their status, in the same shape as ours
        return JSONResponse(
            {"error": str(error.detail), "type": "HTTPError"},
            error.status_code,
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(InternalError)
    async def internal(request: Request, error: InternalError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(InternalError(type(error).__name__, str(error)))
