"""``stridekit doctor``: findings with fixes; exit 0 clean, 1 warnings or errors, 2 usage."""

from __future__ import annotations

import typer

from stridekit.analysis import analyze as run_analysis
from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import parse_input_shape
from stridekit.doctor import doctor


@app.command("doctor")
def doctor_command(
    model: str = typer.Argument(..., help="A model reference, as for `stridekit analyze`."),
    input_shape: str = typer.Option(None, "--input", help="Input shape NxCxHxW."),
    select: list[str] = typer.Option(None, "--select", help="Only these rule codes."),
    ignore: list[str] = typer.Option(None, "--ignore", help="Skip these rule codes."),
    device: str = typer.Option("meta", "--device", help="meta or cpu."),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Find what the strides of a model break, with the numbers and a fix.

    Exit status: 0 no warnings or errors, 1 findings at warning or above, 2 usage error.
    Example: stridekit doctor torchvision:resnet50 --input 1x3x224x224
    """
    analysis = run_analysis(model, parse_input_shape(input_shape), device=device)
    report = doctor(analysis, select or None, ignore or None)
    emit(report, fmt)
    raise typer.Exit(report.exit_code)
