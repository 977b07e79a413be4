"""``stridekit sizes``: the input sizes at which a chain of windows, or a model, reads every
pixel."""

from __future__ import annotations

import typer

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import UsageError, parse_input_shape, parse_layer, parse_sizes
from stridekit.geometry.limits import check_size
from stridekit.geometry.solve import chain_sizes


def _range(text: str) -> tuple[int, int]:
    lo, sep, hi = text.partition(":")
    try:
        start, stop = int(lo), int(hi)
    except ValueError:
        raise UsageError(f"--range {text!r}: expected two integers like 200:640") from None
    if not sep or start < 1 or stop < start:
        raise UsageError(f"--range {text!r}: expected START:STOP with 1 <= START <= STOP")
    return start, check_size(stop, "--range STOP")


@app.command()
def sizes(
    model: str = typer.Argument(
        None, help="A model reference (as for analyze); or give the chain with --layer."
    ),
    layer: list[str] = typer.Option(
        None, "--layer", help="A layer such as k=3,s=2,p=1 (p=lo:hi, d=, ceil, t, op=); repeat."
    ),
    span: str = typer.Option("1:1024", "--range", help="Sizes to list, START:STOP."),
    rule: str = typer.Option(
        "exact",
        "--rule",
        help="exact (default): every layer's windows end on its padded input; no-drop: no "
        "real pixel after the last window.",
    ),
    size: str = typer.Option(
        None,
        "--input",
        help="A chain: also show each layer's sizes at this input. A model: its NxCxHxW "
        "(default: the size the model declares).",
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Valid input sizes of a chain of layers, or of a model, with their closed form (32k+1).

    Example: stridekit sizes --layer k=3,s=2,p=1 --layer k=3,s=2,p=1 --range 1:100
    """
    if model is not None:
        if layer:
            raise UsageError("give either a MODEL or --layer options, not both")
        from stridekit.analysis import analyze as run_analysis
        from stridekit.design.sizes import model_sizes

        analysis = run_analysis(model, parse_input_shape(size))
        emit(model_sizes(analysis, _range(span)), fmt)
        return
    if not layer:
        raise UsageError("give a MODEL, or the chain as --layer k=3,s=2,p=1 options")
    layers = [parse_layer(text) for text in layer]
    at = parse_sizes(size, "input")[0] if size is not None else None
    emit(chain_sizes(layers, rule, _range(span), at), fmt)
