"""``stridekit sweep SPEC``: train every trial of a sweep spec, resumable at any point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.errors import UsageError
from stridekit.experiments.backend import Backend
from stridekit.experiments.ray_runner import RayOptions
from stridekit.experiments.sweep import run_sweep


@app.command("sweep")
def sweep_command(
    spec: Path = typer.Argument(..., help="A sweep spec (YAML), e.g. examples/sweeps/*.yaml."),
    store: Path = typer.Option(
        None, "--store", help="The SQLite store (default: the spec's name with .db, beside it)."
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="Trials run at once (processes)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run failed trials again."),
    device: str = typer.Option(None, "--device", help="cpu, cuda, mps (default: the best)."),
    backend: Backend = typer.Option(
        Backend.local, "--backend", help="local (this machine) or ray (a Ray cluster)."
    ),
    address: str = typer.Option(
        None,
        "--address",
        help="Ray: the cluster's head HOST:PORT, or auto (default: RAY_ADDRESS, else a "
        "Ray started here).",
    ),
    cpus_per_trial: float = typer.Option(
        None, "--cpus-per-trial", help="Ray: CPUs each trial asks for (default 1)."
    ),
    gpus_per_trial: float = typer.Option(
        None, "--gpus-per-trial", help="Ray: GPUs each trial asks for, 0.5 shares one (default 0)."
    ),
    max_concurrent: int = typer.Option(
        None, "--max-concurrent", help="Ray: trials at once (default: what the cluster fits)."
    ),
    max_retries: int = typer.Option(
        None, "--max-retries", help="Ray: restarts of a trial whose worker died (default 2)."
    ),
    progress: bool = typer.Option(
        None, "--progress/--no-progress", help="Progress bars (default: on a terminal)."
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Run a sweep; run it again to resume (done trials are kept, running ones re-run).

    Example: stridekit sweep examples/sweeps/mnist-strides.yaml --workers 2

    On a Ray cluster: stridekit sweep SPEC --backend ray --address HEAD:6379 --gpus-per-trial 1
    """
    options = {
        "address": address,
        "cpus_per_trial": cpus_per_trial,
        "gpus_per_trial": gpus_per_trial,
        "max_concurrent": max_concurrent,
        "max_retries": max_retries,
    }
    given: dict[str, Any] = {name: value for name, value in options.items() if value is not None}
    ray = None
    if backend is Backend.ray:
        ray = RayOptions(**given)
    elif given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise UsageError(f"{flags}: options of the Ray backend; add --backend ray")
    summary = run_sweep(
        spec,
        store_path=store,
        workers=workers,
        retry_failed=retry_failed,
        device=device,
        backend=backend.value,
        ray=ray,
        show_progress=progress,
    )
    emit(summary, fmt)
