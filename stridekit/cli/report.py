"""``stridekit report STORE -o report.html``: the sweep's self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import typer

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.experiments.report import build_report


@app.command("report")
def report_command(
    store: Path = typer.Argument(..., help="The store a sweep wrote (e.g. runs.db)."),
    output: Path = typer.Option(
        None, "-o", "--output", help="The HTML file to write (default: beside the store)."
    ),
    include_orphaned: bool = typer.Option(
        False, "--all", help="Include trials the last spec no longer plans."
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Write one HTML file (opens offline): tables, means ± std, plots with hover.

    Example: stridekit report examples/sweeps/mnist-strides.db -o report.html
    """
    report = build_report(store, include_orphaned=include_orphaned)
    report.write(output if output is not None else store.with_suffix(".html"))
    emit(report, fmt)
