"""``stridekit doctor``: findings with fixes; exit 0 clean, 1 warnings or errors, 2 usage."""

from __future__ import annotations

import typer

from stridekit.analysis import analyze as run_analysis
from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import parse_input_shape
from stridekit.doctor import doctor
from stridekit.doctor.size_mismatch import size_mismatch_report
from stridekit.errors import MergeSizeError
from stridekit.objects import parse_objects


@app.command("doctor")
def doctor_command(
    model: str = typer.Argument(..., help="A model reference, as for `stridekit analyze`."),
    input_shape: str = typer.Option(None, "--input", help="Input shape NxCxHxW."),
    select: list[str] = typer.Option(None, "--select", help="Only these rule codes."),
    ignore: list[str] = typer.Option(None, "--ignore", help="Skip these rule codes."),
    device: str = typer.Option("meta", "--device", help="meta or cpu."),
    objects: list[str] = typer.Option(
        None,
        "--objects",
        help="Object sizes in input pixels: a range 8:256 (one octave apart), a list "
        "8,16,32 or both, repeatable; says which pyramid level serves each size.",
    ),
    each: bool = typer.Option(
        False, "--all", help="List each finding (the table groups them by code)."
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Find what the strides of a model break, with the numbers and a fix.

    Exit status: 0 no warnings or errors, 1 findings at warning or above (or a model
    that cannot run at the size asked: a size-mismatch error), 2 usage error.
    Example: stridekit doctor torchvision:resnet50 --input 1x3x224x224
    Detection: stridekit doctor ultralytics:yolov8n.yaml --input 1x3x640x640 --objects 8:256
    """
    sizes = None if objects is None else parse_objects(objects)  # before a slow trace
    try:
        analysis = run_analysis(model, parse_input_shape(input_shape), device=device)
    except MergeSizeError as error:
        report = size_mismatch_report(error, model)
    else:
        report = doctor(analysis, select or None, ignore or None, objects=sizes)
    emit(report.each() if each else report, fmt)
    raise typer.Exit(report.exit_code)
