"""The layer tab: ``/api/shape`` (``stridekit shape``), ``/api/window`` (what the page
draws) and ``/api/solve`` (``stridekit solve``). An answer already given is sent again
from `stridekit.web.answers.Answers`; a new one is computed in the server's thread pool,
bounded to well under a second by `Limits`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from stridekit.web.layer_requests import ShapeRequest, SolveRequest
from stridekit.web.routes.responses import ERRORS, RESULT, json_bytes, json_text
from stridekit.web.state import Explorer, explorer

# /api/shape, /api/window and /api/solve take the `Request` rather than a dependency:
# resolving even an asynchronous dependency costs about as much again as validating the
# body, a tenth of such a request's time in the server (benchmarks/web_load.py)

router = APIRouter(prefix="/api", tags=["layer"], responses={**RESULT, **ERRORS})


@router.post("/shape", response_class=Response)
async def shape(body: ShapeRequest, request: Request) -> Response:
    """Output size, padding, unread pixels, coverage and formula of one op, per axis."""
    state: Explorer = request.app.state.explorer
    return json_bytes(
        await state.answers.get(
            ("shape", *body.key()), lambda: body.report(state.limits).to_json(indent=None)
        )
    )


@router.post("/shape/doctor", response_class=Response)
def shape_doctor(request: ShapeRequest, state: Explorer = Depends(explorer)) -> Response:
    """The doctor's findings on the op alone (``stridekit doctor`` on a one-layer spec)."""
    return json_text(request.findings(state.limits).to_json(indent=None))


@router.post("/window", response_class=Response)
async def window(body: ShapeRequest, request: Request) -> Response:
    """For each axis: the taps and span of every output, the coverage of every pixel."""
    state: Explorer = request.app.state.explorer
    return json_bytes(
        await state.answers.get(
            ("window", *body.key()), lambda: body.picture(state.limits).to_json(indent=None)
        )
    )


@router.post("/solve", response_class=Response)
async def solve(body: SolveRequest, request: Request) -> Response:
    """Every window mapping ``size`` to ``output``, those that read every pixel first."""
    state: Explorer = request.app.state.explorer
    return json_bytes(
        await state.answers.get(
            ("solve", *body.key()), lambda: body.solutions(state.limits).to_json(indent=None)
        )
    )
