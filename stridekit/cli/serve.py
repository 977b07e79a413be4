"""``stridekit serve``: the stride explorer, a local web page (needs ``stridekit[web]``)."""

from __future__ import annotations

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
    max_upload_mb: int = typer.Option(
        64, "--max-upload-mb", min=1, help="Largest model upload (.onnx, .keras, .tflite)."
    ),
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
    listening = bind(host, port)  # before anything says where it listens
    port = listening.getsockname()[1]
    application = create_app(limits, stores, hosts)
    where = f"[{host}]" if ":" in host else host
    print(f"stridekit explorer on http://{where}:{port} (Ctrl+C stops it)", flush=True)
    server = uvicorn.Server(uvicorn.Config(application, log_level="warning"))
    with listening:
        server.run(sockets=[listening])


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a port in use or an address this machine does
    not have is one line that says what to do.

    >>> listening = bind("127.0.0.1", 0)
    >>> bind("127.0.0.1", listening.getsockname()[1])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stridekit.errors.UsageError: cannot listen on 127.0.0.1:... (address already in use); ...
    >>> listening.close()
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise UsageError(f"cannot listen on {host}: {error.strerror}; check --host") from None
    family, kind, protocol, _, address = infos[0]
    listening = socket.socket(family, kind, protocol)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(2048)
    except OSError as error:
        listening.close()
        reason = (error.strerror or str(error)).lower()
        raise UsageError(
            f"cannot listen on {host}:{port} ({reason}); stop what uses it, or choose "
            "another port with --port (--port 0 takes any free one)"
        ) from None
    listening.set_inheritable(True)
    return listening
