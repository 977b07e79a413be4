"""The explorer's FastAPI application: routes, error handling, bounds and headers.

``create_app()`` builds it; ``stridekit serve`` runs it with uvicorn on 127.0.0.1. The
page and everything it loads come from the app itself (no CDN), and its Content Security
Policy allows nothing else, so it works offline and a store's text cannot run as script.
The OpenAPI schema is at ``/openapi.json`` (the interactive docs would load from a CDN,
so they are off).

>>> app = create_app()
>>> sorted(app.openapi()["paths"])[:5]
['/api/analyze', '/api/compare', '/api/doctor', '/api/health', '/api/models']
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stridekit.version import __version__
from stridekit.web import errors
from stridekit.web.body_limit import BodyLimit
from stridekit.web.limits import Limits
from stridekit.web.pool import WorkerPool
from stridekit.web.routes import experiments, layer, model, pages
from stridekit.web.state import Explorer
from stridekit.web.stores import Stores
from stridekit.web.uploads import Uploads

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SecurityHeaders:
    """Add `HEADERS` to every HTTP response that does not set them itself (a plain ASGI
    wrapper: no body buffering; the headers are encoded once)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in HEADERS.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [pair for pair in self.headers if pair[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(
    limits: Limits | None = None,
    stores: Path | None = None,
    hosts: Sequence[str] = LOCAL_HOSTS,
) -> FastAPI:
    """The explorer: ``limits`` bound every request, ``stores`` is the folder of sweep
    stores the experiments tab may open, ``hosts`` the Host headers accepted (a guard
    against DNS rebinding: a page elsewhere cannot reach the local server by name)."""
    limits = limits or Limits()
    state = Explorer(limits, WorkerPool(limits), Uploads(limits.max_uploads), Stores(stores))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.pool.start()
        try:
            yield
        finally:
            state.pool.close()

    app = FastAPI(
        title="stridekit explorer",
        version=__version__,
        description="Stride arithmetic, model analysis, the doctor and the planner over "
        "HTTP: every result is the JSON the stridekit CLI prints with --format json.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.explorer = state
    errors.install(app)
    # the layer tab's routes first: they are the most asked, and routes match in order
    for router in (layer.router, pages.router, model.router, experiments.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("stridekit.web", "static")]), name="static")

    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        BodyLimit,
        max_bytes=2 * limits.max_spec_bytes + 64 * 1024,
        uploads={"/api/upload": limits.max_body_bytes},
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))
    return app
