"""What every route shares: the limits, the worker pool, the uploads and the stores,
kept on ``app.state.explorer`` by `stridekit.web.app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from stridekit.web.limits import Limits
from stridekit.web.pool import WorkerPool
from stridekit.web.stores import Stores
from stridekit.web.uploads import Uploads


@dataclass
class Explorer:
    """The server's shared parts."""

    limits: Limits
    pool: WorkerPool
    uploads: Uploads
    stores: Stores


def explorer(request: Request) -> Explorer:
    """The dependency routes take: ``state: Explorer = Depends(explorer)``."""
    state: Explorer = request.app.state.explorer
    return state
