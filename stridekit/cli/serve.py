"""``stridekit serve``: the stride explorer, a local web page (needs ``stridekit[web]``)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import typer

from stridekit.cli.app import app
from stridekit.errors import UsageError


@app.command("serve")
def serve_command(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind (default: this machine only)."
    ),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port (0: any free one)."),
    stores: Path = typer.Option(
        None, "--stores", help="Folder of sweep stores (*.db) the experiments tab may open."
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes for analyses."),
    queue: int = typer.Option(16, "--queue", min=1, help="Requests that may wait for a worker."),
    time_limit: float = typer.Option(
        60.0, "--time-limit", help="Seconds one analysis, plan or store read may take."
    ),
    max_upload_mb: int = typer.Option(64, "--max-upload-mb", min=1, help="Largest ONNX upload."),
    max_spec_kb: int = typer.Option(64, "--max-spec-kb", min=1, help="Largest pasted spec."),
    max_model_size: int = typer.Option(
        8192, "--max-model-size", min=1, help="Largest spatial size of a model input."
    ),
    allow_host: list[str] = typer.Option(
        None, "--allow-host", help="Also accept this Host header (when binding elsewhere)."
    ),
) -> None:
    """Start the stride explorer: layer, model and experiments tabs over a JSON API.

    Example: stridekit serve --stores examples/sweeps   (then open http://127.0.0.1:8000)
    """
    try:
        import uvicorn

        from stridekit.web.app import LOCAL_HOSTS, create_app
        from stridekit.web.limits import MIB, Limits
    except ImportError as error:
        raise UsageError(
            f"stridekit serve needs the web extra ({error.name} is missing): "
            "pip install 'stridekit[web]'"
        ) from None
    limits = Limits(
        workers=workers,
        queue=queue,
        time_limit_s=time_limit,
        max_upload_bytes=max_upload_mb * MIB,
        max_spec_bytes=max_spec_kb * 1024,
        max_model_size=max_model_size,
    )
    hosts = [*LOCAL_HOSTS, *(allow_host or [])]
    if host not in ("127.0.0.1", "localhost", "::1"):
        hosts.append(host)
    application = create_app(limits, stores, hosts)
    listening = _listen(host, port)
    bound = listening.getsockname()[1]  # the free port the system chose for --port 0
    shown = f"[{host}]" if ":" in host else host
    print(f"stridekit explorer on http://{shown}:{bound} (Ctrl+C stops it)", flush=True)
    server = uvicorn.Server(uvicorn.Config(application, log_level="warning"))
    server.run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket bound before the server starts, so its address can be printed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise UsageError(
            f"cannot listen on {host}:{port} ({reason}); "
            "choose another --port, or --port 0 for any free one"
        ) from None
