"""``stridekit doctor``: findings with fixes; exit 0 clean, 1 warnings or errors, 2 usage."""

from __future__ import annotations

import typer
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from stridekit.analysis import analyze as run_analysis
from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import parse_input_shape
from stridekit.doctor import Report, doctor


def _table(report: Report, model: str) -> list[RenderableType]:
    if not report.findings:
        return [Text(f"{model}: no findings")]
    table = Table(title=f"{model}: {len(report.findings)} findings")
    for column in ("severity", "code", "node", "message", "fix"):
        table.add_column(column, overflow="fold")
    for f in report.findings:
        table.add_row(f.severity.value, f.code, f.node, f.message, f.fix)
    return [table]


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
    shape = parse_input_shape(input_shape)
    analysis = run_analysis(model, shape, device=device)
    report = doctor(analysis, select or None, ignore or None)
    data = {"model": model, "input_shape": list(analysis.input_shape), **report.to_dict()}
    emit(fmt, data, lambda: _table(report, model))
    raise typer.Exit(report.exit_code)
