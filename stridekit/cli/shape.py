"""``stridekit shape``: output size, padding, dropped pixels and coverage of one op."""

from __future__ import annotations

import typer
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import broadcast, parse_ints, parse_padding
from stridekit.geometry import OPS, AxisReport, describe_axis, make_window
from stridekit.geometry.padding import CONVENTIONS


def _preview(indices: tuple[int, ...], limit: int = 8) -> str:
    if not indices:
        return "-"
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f", ... ({len(indices)} in all)" if len(indices) > limit else "")


def _table(op: str, reports: list[AxisReport]) -> list[RenderableType]:
    table = Table(
        title=f"{op}: {' x '.join(str(r.input_size) for r in reports)} -> "
        f"{' x '.join(str(r.output_size) for r in reports)}"
    )
    for column in ("axis", "in", "window", "out", "unread real", "unread padding", "coverage"):
        table.add_column(column)
    for axis, r in enumerate(reports):
        table.add_row(
            str(axis),
            str(r.input_size),
            r.window.describe(),
            str(r.output_size),
            _preview(r.unread_real),
            _preview(r.unread_padding),
            f"{r.coverage_min}..{r.coverage_max}",
        )
    formulas = Text("\n".join(f"axis {a}: {r.formula}" for a, r in enumerate(reports)))
    return [table, formulas]


@app.command()
def shape(
    size: str = typer.Option(..., "--size", help="Input size per axis, e.g. 224 or 224x320."),
    kernel: str = typer.Option(..., "--kernel", help="Kernel size (per axis: 7 or 7x5)."),
    stride: str = typer.Option(
        None, "--stride", help="Stride (default 1; for pooling the kernel size, like PyTorch)."
    ),
    padding: str = typer.Option(
        "0", "--padding", help="3, 2:3 (lo:hi), same, valid or causal; per axis joined by x."
    ),
    dilation: str = typer.Option("1", "--dilation", help="Dilation (per axis)."),
    op: str = typer.Option("conv", "--op", help=f"One of: {', '.join(OPS)}."),
    ceil_mode: bool = typer.Option(False, "--ceil-mode", help="Pooling's ceil_mode."),
    output_padding: str = typer.Option("0", "--output-padding", help="conv_transpose only."),
    convention: str = typer.Option(
        "torch", "--convention", help=f"Padding convention: {', '.join(CONVENTIONS)}."
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Output size, padding, unread pixels and coverage of one conv or pooling op.

    Example: stridekit shape --size 224 --kernel 7 --stride 2 --padding 3
    """
    sizes = parse_ints(size, "size")
    axes = len(sizes)
    kernels = broadcast(parse_ints(kernel, "kernel"), axes, "kernel")
    if stride is None:
        strides = kernels if op.endswith("pool") else (1,) * axes
    else:
        strides = broadcast(parse_ints(stride, "stride"), axes, "stride")
    paddings = broadcast(parse_padding(padding), axes, "padding")
    dilations = broadcast(parse_ints(dilation, "dilation"), axes, "dilation")
    output_paddings = broadcast(
        parse_ints(output_padding, "output-padding"), axes, "output-padding"
    )
    reports = [
        describe_axis(
            make_window(
                op,
                n,
                k,
                s,
                p,
                d,
                ceil_mode=ceil_mode,
                output_padding=o,
                convention=convention,
            ),
            n,
        )
        for n, k, s, p, d, o in zip(
            sizes, kernels, strides, paddings, dilations, output_paddings, strict=True
        )
    ]
    data = {
        "op": op,
        "convention": convention,
        "input_size": list(sizes),
        "output_size": [r.output_size for r in reports],
        "axes": [r.to_dict() for r in reports],
    }
    emit(fmt, data, lambda: _table(op, reports))
