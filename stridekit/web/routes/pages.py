"""The page itself (``/``, its scripts and styles under ``/static``) and ``/api/health``."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, JSONResponse

from stridekit.version import __version__
from stridekit.web.state import Explorer, explorer

router = APIRouter()
STATIC = files("stridekit.web") / "static"


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index() -> HTMLResponse:
    """The explorer's one page."""
    return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))


@router.get("/api/health", tags=["server"])
async def health(state: Explorer = Depends(explorer)) -> JSONResponse:
    """The server answers: its version, workers, queue and cache."""
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            **state.pool.status(),
        }
    )
