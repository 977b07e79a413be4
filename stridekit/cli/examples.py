"""``stridekit examples``: the example specs, sweeps and model file, and a copy of them."""

from __future__ import annotations

from pathlib import Path

import typer

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.examples import copy_examples, list_examples


@app.command("examples")
def examples_command(
    copy: Path = typer.Option(
        None, "--copy", help="Write them into this folder (its specs/ and sweeps/)."
    ),
    force: bool = typer.Option(False, "--force", help="With --copy: overwrite existing files."),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """List the example layer specs, sweep specs and model file that ship with stridekit.

    Example: stridekit examples --copy examples   (then: stridekit analyze
    examples/specs/fpn_small.yaml, stridekit sweep examples/sweeps/demo.yaml)
    """
    emit(list_examples() if copy is None else copy_examples(copy, overwrite=force), fmt)
