"""One worker process: it receives ``(job, params, blob)`` on a pipe, runs the job
(`stridekit.web.jobs`) and sends back ``("ok", json_text)``, ``("error", type, message)``
for a `StrideError`, or ``("internal", type, message, traceback)`` for anything else.

The pipe carries only what the server itself built (names, numbers, plain dicts and an
upload's bytes), never an object from a request. Heavy imports (torch, timm, onnx) happen
on a worker's first job that needs them, so starting one is cheap.
"""

from __future__ import annotations

import signal
import traceback
from multiprocessing.connection import Connection
from typing import Any

Reply = tuple[Any, ...]


def handle(message: tuple[str, dict[str, Any], bytes]) -> Reply:
    """Run one message's job and build the reply.

    >>> handle(("no-such-job", {}, b""))[:2]
    ('error', 'ChoiceError')
    """
    from stridekit.errors import StrideError
    from stridekit.web.jobs import run_job

    name, params, blob = message
    try:
        return ("ok", run_job(name, params, blob))
    except StrideError as error:
        return ("error", type(error).__name__, " ".join(str(error).split()))
    except Exception as error:  # a bug, not the user's fault: the server logs the traceback
        return ("internal", type(error).__name__, str(error), traceback.format_exc())


def serve(connection: Connection) -> None:
    """The worker's loop: one message in, one reply out, until the pipe closes.

    Ctrl+C reaches every process of the terminal's group: the worker ignores it (the
    server started it with SIGINT blocked) and lets the server, which stops its workers
    when it shuts down, decide.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        connection.send(handle(message))
