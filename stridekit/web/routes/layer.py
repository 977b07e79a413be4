"""The layer tab: ``/api/shape`` (``stridekit shape``), ``/api/window`` (what the page
draws) and ``/api/solve`` (``stridekit solve``). An answer already given is sent again
from `stridekit.web.answers.Answers`; a new one is computed in the server's thread pool,
bounded to well under a second by `Limits`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Depends, Request, Response

from stridekit.render import Result
from stridekit.web.layer_requests import ShapeRequest, SolveRequest
from stridekit.web.limits import Limits
from stridekit.web.routes.responses import (
    ERRORS,
    RESULT,
    json_body,
    json_bytes,
    json_text,
    read_json,
)
from stridekit.web.state import Explorer, explorer

# /api/shape, /api/window and /api/solve take only the `Request`: they read their body
# with `read_json` and the explorer from the app, because FastAPI's generic handling of a
# body parameter and of a dependency cost about a third of a kept answer's time in the
# app, more than the middleware (profiled under benchmarks/web_load.py)

router = APIRouter(prefix="/api", tags=["layer"], responses={**RESULT, **ERRORS})
Body = TypeVar("Body", ShapeRequest, SolveRequest)


async def kept_answer(
    request: Request, model: type[Body], kind: str, result: Callable[[Body, Limits], Result]
) -> Response:
    """The JSON of ``result`` on the request's body, answered again from the kept answers
    when the same body came before."""
    body: Body = await read_json(request, model)
    state: Explorer = request.app.state.explorer

    def compute() -> str:
        return result(body, state.limits).to_json(indent=None)

    return json_bytes(await state.answers.get((kind, *body.key()), compute))


@router.post("/shape", response_class=Response, openapi_extra=json_body(ShapeRequest))
async def shape(request: Request) -> Response:
    """Output size, padding, unread pixels, coverage and formula of one op, per axis."""
    return await kept_answer(request, ShapeRequest, "shape", ShapeRequest.report)


@router.post("/shape/doctor", response_class=Response)
def shape_doctor(request: ShapeRequest, state: Explorer = Depends(explorer)) -> Response:
    """The doctor's findings on the op alone (``stridekit doctor`` on a one-layer spec)."""
    return json_text(request.findings(state.limits).to_json(indent=None))


@router.post("/window", response_class=Response, openapi_extra=json_body(ShapeRequest))
async def window(request: Request) -> Response:
    """For each axis: the taps and span of every output, the coverage of every pixel."""
    return await kept_answer(request, ShapeRequest, "window", ShapeRequest.picture)


@router.post("/solve", response_class=Response, openapi_extra=json_body(SolveRequest))
async def solve(request: Request) -> Response:
    """Every window mapping ``size`` to ``output``, those that read every pixel first."""
    return await kept_answer(request, SolveRequest, "solve", SolveRequest.solutions)
