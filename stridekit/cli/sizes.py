"""``stridekit sizes``: the input sizes at which a chain of windows reads every pixel."""

from __future__ import annotations

import typer
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import UsageError, parse_input_shape, parse_ints, parse_layer
from stridekit.geometry import (
    SIZE_RULES,
    AxisReport,
    SizeSet,
    Window,
    describe_chain,
    valid_input_sizes,
)


def _range(text: str) -> tuple[int, int]:
    lo, sep, hi = text.partition(":")
    try:
        start, stop = int(lo), int(hi)
    except ValueError:
        raise UsageError(f"--range {text!r}: expected two integers like 200:640") from None
    if not sep or start < 1 or stop < start:
        raise UsageError(f"--range {text!r}: expected START:STOP with 1 <= START <= STOP")
    return start, stop


def _preview(indices: tuple[int, ...]) -> str:
    shown = ", ".join(str(i) for i in indices[:6])
    return (shown + (f", ... ({len(indices)})" if len(indices) > 6 else "")) or "-"


def _table(
    layers: list[Window],
    rule: str,
    sizes: SizeSet,
    members: list[int],
    span: tuple[int, int],
    chain: list[AxisReport] | None,
) -> list[RenderableType]:
    title = f"chain of {len(layers)} layers, rule {rule}"
    if chain:
        title += f", input {chain[0].input_size}"
    table = Table(title=title)
    columns = ["layer", "window"] + (["in", "out", "unread real"] if chain else []) + ["gaps"]
    for column in columns:
        table.add_column(column)
    for i, layer in enumerate(layers):
        cells = [str(i), layer.describe()]
        if chain:
            r = chain[i]
            cells += [str(r.input_size), str(r.output_size), _preview(r.unread_real)]
        cells.append("yes: interior pixels unread" if layer.has_gaps else "-")
        table.add_row(*cells)
    shown = ", ".join(str(n) for n in members[:24])
    if len(members) > 24:
        shown += f", ... ({len(members)} in all)"
    lines = [
        f"valid input sizes: {sizes.closed_form()}",
        f"in {span[0]}..{span[1]}: {shown or 'none'}",
    ]
    if chain and chain[0].input_size not in sizes:
        lines.append(
            f"input {chain[0].input_size} is not valid; the nearest valid size is "
            f"{sizes.nearest(chain[0].input_size)}"
        )
    return [table, Text("\n".join(lines))]


def _model_sizes(model: str, input_shape: str | None, span: tuple[int, int], fmt: Format) -> None:
    from stridekit.analysis import analyze as run_analysis
    from stridekit.passes import model_valid_sizes

    analysis = run_analysis(model, parse_input_shape(input_shape))
    axes = range(len(analysis.input_shape) - 2)
    sets = [model_valid_sizes(analysis.graph, axis) for axis in axes]
    data = {
        "model": model,
        "range": list(span),
        "axes": [
            {
                "axis": axis,
                "closed_form": valid.closed_form(),
                "period": valid.period,
                "residues": list(valid.residues),
                "minimum": valid.minimum,
                "sizes": valid.between(*span),
            }
            for axis, valid in zip(axes, sets, strict=True)
        ],
    }

    def table() -> list[RenderableType]:
        lines = [f"{model}: input sizes that drop no pixel and keep merges equal"]
        for axis, valid in zip(axes, sets, strict=True):
            members = valid.between(*span)
            shown = ", ".join(map(str, members[:16])) + (", ..." if len(members) > 16 else "")
            lines.append(f"axis {axis}: {valid.closed_form()}; in {span[0]}..{span[1]}: {shown}")
        return [Text("\n".join(lines))]

    emit(fmt, data, table)


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
        help="exact: every layer's windows end on its padded input; no-drop: no real pixel "
        "after the last window.",
    ),
    size: str = typer.Option(
        None,
        "--input",
        help="A chain: also show each layer's sizes at this input. A model: its NxCxHxW.",
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Valid input sizes of a chain of layers, with their closed form (e.g. 32k+1).

    Example: stridekit sizes --layer k=3,s=2,p=1 --layer k=3,s=2,p=1 --range 1:100
    """
    if model is not None:
        if layer:
            raise UsageError("give either a MODEL or --layer options, not both")
        _model_sizes(model, size, _range(span), fmt)
        return
    if not layer:
        raise UsageError("give a MODEL, or the chain as --layer k=3,s=2,p=1 options")
    if rule not in SIZE_RULES:
        raise UsageError(f"--rule {rule!r}: choose one of {', '.join(SIZE_RULES)}")
    layers = [parse_layer(text) for text in layer]
    start, stop = _range(span)
    valid = valid_input_sizes(layers, rule)
    members = valid.between(start, stop)
    chain = describe_chain(layers, parse_ints(size, "input")[0]) if size is not None else None
    data = {
        "layers": [layer.describe() for layer in layers],
        "rule": rule,
        "closed_form": valid.closed_form(),
        "period": valid.period,
        "residues": list(valid.residues),
        "minimum": valid.minimum,
        "range": [start, stop],
        "sizes": members,
        "gaps": [i for i, layer in enumerate(layers) if layer.has_gaps],
    }
    if chain is not None:
        data["input"] = chain[0].input_size
        data["chain"] = [report.to_dict() for report in chain]
        if chain[0].input_size not in valid:
            data["nearest_valid"] = valid.nearest(chain[0].input_size)
    emit(fmt, data, lambda: _table(layers, rule, valid, members, (start, stop), chain))
