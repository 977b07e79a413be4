"""``stridekit shape``: output size, padding, dropped pixels and coverage of one op."""

from __future__ import annotations

import typer

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import op_options
from stridekit.geometry import Op


@app.command()
@op_options()
def shape(
    op: Op,
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Output size, padding, unread pixels and coverage of one conv or pooling op.

    Example: stridekit shape --size 224 --kernel 7 --stride 2 --padding 3
    """
    emit(op.describe(), fmt)
