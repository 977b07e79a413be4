"""``stridekit analyze``: per-layer shapes, cumulative stride, receptive field and cost."""

from __future__ import annotations

import typer

from stridekit.analysis import analyze as run_analysis
from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import parse_input_shape
from stridekit.render import analysis_table


@app.command()
def analyze(
    model: str = typer.Argument(
        ...,
        help="torchvision:NAME, timm:NAME, pkg.module:factory, file.py:factory, "
        "model.onnx, or a spec (.yaml/.json).",
    ),
    input_shape: str = typer.Option(
        None, "--input", help="Input shape NxCxHxW (default 1x3x224x224; ONNX/spec: their own)."
    ),
    depth: int = typer.Option(None, "--depth", help="Fold rows to this module depth."),
    ops: str = typer.Option("main", "--ops", help="main (hide pointwise ops) or all."),
    device: str = typer.Option(
        "meta",
        "--device",
        help="meta (no memory) or cpu (real tensors, for data-dependent models).",
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Shapes, cumulative stride, receptive field, FLOPs and params of every layer.

    Example: stridekit analyze torchvision:resnet50 --input 1x3x224x224 --depth 1
    """
    shape = parse_input_shape(input_shape)
    analysis = run_analysis(model, shape, device=device)
    emit(fmt, analysis.to_dict(), lambda: [analysis_table(analysis, depth, ops)])
