"""``stridekit solve``: every window that maps one size to another, best first."""

from __future__ import annotations

import typer

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.geometry import solve_windows


@app.command()
def solve(
    size: int = typer.Option(..., "--size", help="Input size (one axis)."),
    output: int = typer.Option(..., "--output", help="Wanted output size."),
    max_kernel: int = typer.Option(7, "--max-kernel", help="Largest kernel to consider."),
    max_dilation: int = typer.Option(1, "--max-dilation", help="Largest dilation to consider."),
    max_stride: int = typer.Option(None, "--max-stride", help="Largest stride to consider."),
    limit: int = typer.Option(10, "--limit", help="How many solutions to show (0: all)."),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """All windows that map --size to --output exactly, those that read every pixel first.

    Example: stridekit solve --size 224 --output 112 --max-kernel 7
    """
    solutions = solve_windows(
        size, output, max_kernel=max_kernel, max_stride=max_stride, max_dilation=max_dilation
    )
    emit(solutions.first(limit), fmt)
