"""``stridekit solve``: every window that maps one size to another, best first."""

from __future__ import annotations

import typer
from rich.console import RenderableType
from rich.table import Table

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.geometry import Solution, solve_windows


def _table(size: int, output: int, shown: list[Solution], total: int) -> list[RenderableType]:
    table = Table(title=f"windows mapping {size} -> {output} ({len(shown)} of {total})")
    for column in ("rank", "kernel", "stride", "dilation", "padding", "kind", "reads all", "cost"):
        table.add_column(column)
    for rank, solution in enumerate(shown, 1):
        w = solution.window
        kind = "transposed" + (f" op={w.output_padding}" if w.output_padding else "")
        table.add_row(
            str(rank),
            str(w.kernel),
            str(w.stride),
            str(w.dilation),
            f"({w.pad_lo}, {w.pad_hi})",
            kind if w.transposed else "conv",
            "yes" if solution.reads_all else f"no ({solution.missed} missed)",
            str(solution.cost),
        )
    return [table]


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
    shown = solutions[:limit] if limit > 0 else solutions
    data = {
        "input_size": size,
        "output_size": output,
        "count": len(solutions),
        "solutions": [
            {
                "kernel": s.window.kernel,
                "stride": s.window.stride,
                "dilation": s.window.dilation,
                "padding": [s.window.pad_lo, s.window.pad_hi],
                "transposed": s.window.transposed,
                "output_padding": s.window.output_padding,
                "reads_all": s.reads_all,
                "missed": s.missed,
                "cost": s.cost,
            }
            for s in shown
        ],
    }
    emit(fmt, data, lambda: _table(size, output, shown, len(solutions)))
