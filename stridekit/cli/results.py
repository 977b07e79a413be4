"""``stridekit results STORE``: a sweep's trials and their means ± std over seeds."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.experiments.results import Results


class ResultsFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


@app.command("results")
def results_command(
    store: Path = typer.Argument(..., help="The store a sweep wrote (e.g. runs.db)."),
    include_orphaned: bool = typer.Option(
        False, "--all", help="Include trials the last spec no longer plans."
    ),
    fmt: ResultsFormat = typer.Option(ResultsFormat.table, "--format", help="Output format."),
) -> None:
    """Show a sweep's results: configurations (mean ± std over seeds) and every trial.

    Example: stridekit results examples/sweeps/mnist-strides.db --format csv
    """
    results = Results.load(store, include_orphaned=include_orphaned)
    if fmt is ResultsFormat.csv:
        print(results.to_csv(), end="")
    else:
        emit(results, Format(fmt.value))
