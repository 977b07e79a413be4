"""``stridekit compare A B``: two models side by side; exit 0 agree, 1 differ, 2 usage."""

from __future__ import annotations

import typer

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import parse_input_shape
from stridekit.compare import compare


@app.command("compare")
def compare_command(
    model_a: str = typer.Argument(
        ..., help="The model to check (a port), a model reference as for `stridekit analyze`."
    ),
    model_b: str = typer.Argument(..., help="The reference model, e.g. the original .tflite."),
    input_shape: str = typer.Option(
        None,
        "--input",
        help="Input shape NxCxHxW for both (default: the size the first model that declares "
        "one declares).",
    ),
    device: str = typer.Option("meta", "--device", help="meta or cpu."),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Align the spatial layers of two models and show what differs: output size, padding
    per side, jump, where the field starts; the first divergence with its fix, and the
    offset at the output.

    Exit status: 0 the models agree, 1 they differ, 2 usage error.
    Example: stridekit compare port.py:build model.tflite --input 1x3x224x224
    """
    result = compare(model_a, model_b, parse_input_shape(input_shape), device=device)
    emit(result, fmt)
    raise typer.Exit(result.exit_code)
