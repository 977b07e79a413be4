"""The experiments tab: the stores in the stores folder, a store's results (``stridekit
results``) and its report's plots. Stores are named by file name, never by path."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Query, Response

from stridekit.web.routes.responses import ERRORS, RESULT, json_text
from stridekit.web.state import Explorer, explorer

router = APIRouter(prefix="/api", tags=["experiments"], responses={**RESULT, **ERRORS})
StoreName = Query(..., max_length=255, description="A name from /api/stores")


@router.get("/stores", response_class=Response)
def stores(state: Explorer = Depends(explorer)) -> Response:
    """The stores this server may open."""
    folder = state.stores.folder
    return json_text(
        json.dumps({"folder": str(folder) if folder else None, "stores": state.stores.names()})
    )


@router.get("/results", response_class=Response)
async def results(
    store: str = StoreName,
    all: bool = Query(False, description="Include trials the last spec no longer plans"),
    state: Explorer = Depends(explorer),
) -> Response:
    """A sweep's trials and configurations (means ± std over seeds)."""
    path = str(state.stores.path(store))
    return json_text(await state.pool.run("results", {"path": path, "all": all}))


@router.get("/plots", response_class=Response)
async def plots(
    store: str = StoreName,
    all: bool = Query(False, description="Include trials the last spec no longer plans"),
    state: Explorer = Depends(explorer),
) -> Response:
    """The report's plots (SVG with hover text) of a store."""
    path = str(state.stores.path(store))
    return json_text(await state.pool.run("plots", {"path": path, "all": all}))
