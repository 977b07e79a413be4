"""``stridekit shape``: output size, padding, dropped pixels and coverage of one op."""

from __future__ import annotations

import typer

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import parse_op_arguments
from stridekit.geometry import OPS, describe_op
from stridekit.geometry.op_windows import op_windows
from stridekit.geometry.padding import CONVENTIONS


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
    arguments = parse_op_arguments(size, kernel, stride, padding, dilation, output_padding)
    sizes, windows = op_windows(**arguments, op=op, ceil_mode=ceil_mode, convention=convention)
    emit(describe_op(op, windows, sizes, convention), fmt)
