"""``stridekit sweep SPEC``: train every trial of a sweep spec, resumable at any point."""

from __future__ import annotations

from pathlib import Path

import typer

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
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
    progress: bool = typer.Option(
        None, "--progress/--no-progress", help="Progress bars (default: on a terminal)."
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Run a sweep; run it again to resume (done trials are kept, running ones re-run).

    Example: stridekit sweep examples/sweeps/mnist-strides.yaml --workers 2
    """
    summary = run_sweep(
        spec,
        store_path=store,
        workers=workers,
        retry_failed=retry_failed,
        device=device,
        show_progress=progress,
    )
    emit(summary, fmt)
