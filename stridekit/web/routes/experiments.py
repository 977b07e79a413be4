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


class StoreJob:
    """What both store routes take (a store by name; ``all``: the trials its last spec no
    longer plans too), and the job they run on its file in the worker pool."""

    def __init__(
        self,
        store: str = StoreName,
        all: bool = Query(False, description="Include trials the last spec no longer plans"),
        state: Explorer = Depends(explorer),
    ) -> None:
        self.path, self.all, self.pool = str(state.stores.path(store)), all, state.pool

    async def run(self, job: str) -> Response:
        return json_text(await self.pool.run(job, {"path": self.path, "all": self.all}))


@router.get("/results", response_class=Response)
async def results(query: StoreJob = Depends()) -> Response:
    """A sweep's trials and configurations (means ± std over seeds)."""
    return await query.run("results")


@router.get("/plots", response_class=Response)
async def plots(query: StoreJob = Depends()) -> Response:
    """The report's plots (SVG with hover text) of a store."""
    return await query.run("plots")
