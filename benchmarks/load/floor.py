"""The floor of ``benchmarks/web_load.py``: a bare FastAPI app that answers each path
with a constant, the exact response body stridekit gave for the benchmark's request.

It is served as ``stridekit serve`` serves the explorer (``uvicorn.run`` on 127.0.0.1,
one process, the same log level) and loaded by the same generator with the same request
bytes, so the ratio of the two isolates what stridekit itself costs: parsing and checking
the request, its middleware, the arithmetic, the rendering. The route reads the body (as
any endpoint taking JSON must) and returns the constant.

    python benchmarks/load/floor.py --port 8001 --bodies bodies.json

``bodies.json`` maps each path to its answer's text; ``GET /api/health`` answers ok.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request, Response


def constant(body: bytes) -> Callable[[Request], Awaitable[Response]]:
    async def answer(request: Request) -> Response:
        await request.body()
        return Response(content=body, media_type="application/json")

    return answer


def create_floor(bodies: dict[str, str]) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None)
    for path, text in bodies.items():
        app.add_api_route(path, constant(text.encode()), methods=["POST"])

    @app.get("/api/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bodies", type=Path, required=True)
    args = parser.parse_args()
    bodies = json.loads(args.bodies.read_text(encoding="utf-8"))
    uvicorn.run(create_floor(bodies), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
