"""What every route shares: the limits, the worker pool, the uploads, the stores and the
layer tab's kept answers, kept on ``app.state.explorer`` by
`stridekit.web.app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from stridekit.web.answers import Answers
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
    answers: Answers = field(default_factory=Answers)


async def explorer(request: Request) -> Explorer:
    """The dependency routes take: ``state: Explorer = Depends(explorer)`` (asynchronous:
    FastAPI would hand a plain function to a worker thread and back on every request)."""
    state: Explorer = request.app.state.explorer
    return state
