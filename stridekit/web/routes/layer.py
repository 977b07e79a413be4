"""The layer tab: ``/api/shape`` (``stridekit shape``), ``/api/window`` (what the page
draws) and ``/api/solve`` (``stridekit solve``). An answer already given is sent again
from `stridekit.web.answers.Answers`; a new one is computed in the server's thread pool,
bounded to well under a second by `Limits`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from stridekit.web.layer_requests import ShapeRequest, SolveRequest
from stridekit.web.routes.responses import ERRORS, RESULT, json_bytes, json_text
from stridekit.web.state import Explorer, explorer

router = APIRouter(prefix="/api", tags=["layer"], responses={**RESULT, **ERRORS})


@router.post("/shape", response_class=Response)
async def shape(request: ShapeRequest, state: Explorer = Depends(explorer)) -> Response:
    """Output size, padding, unread pixels, coverage and formula of one op, per axis."""
    return json_bytes(
        await state.answers.get(
            ("shape", *request.key()),
            lambda: request.report(state.limits).to_json(indent=None),
        )
    )


@router.post("/shape/doctor", response_class=Response)
def shape_doctor(request: ShapeRequest, state: Explorer = Depends(explorer)) -> Response:
    """The doctor's findings on the op alone (``stridekit doctor`` on a one-layer spec)."""
    return json_text(request.findings(state.limits).to_json(indent=None))


@router.post("/window", response_class=Response)
async def window(request: ShapeRequest, state: Explorer = Depends(explorer)) -> Response:
    """For each axis: the taps and span of every output, the coverage of every pixel."""
    return json_bytes(
        await state.answers.get(
            ("window", *request.key()),
            lambda: request.picture(state.limits).to_json(indent=None),
        )
    )


@router.post("/solve", response_class=Response)
async def solve(request: SolveRequest, state: Explorer = Depends(explorer)) -> Response:
    """Every window mapping ``size`` to ``output``, those that read every pixel first."""
    return json_bytes(
        await state.answers.get(
            ("solve", *request.key()),
            lambda: request.solutions(state.limits).to_json(indent=None),
        )
    )
