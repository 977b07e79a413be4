"""``stridekit analyze``: per-layer shapes, cumulative stride, receptive field and cost."""

from __future__ import annotations

import typer

from stridekit.analysis import analyze as run_analysis
from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import parse_config, parse_input_shape


@app.command()
def analyze(
    model: str = typer.Argument(
        ...,
        help="torchvision:NAME, timm:NAME, ultralytics:NAME.yaml, hf:ClassName, "
        "pkg.module:factory, file.py:factory, model.onnx, model.tflite, model.keras / .h5, or "
        "a spec (.yaml/.json).",
    ),
    input_shape: str = typer.Option(
        None,
        "--input",
        help="Input shape NxCxHxW (default: the size the model declares: a spec's or ONNX "
        "file's input, torchvision's or timm's preset).",
    ),
    depth: int = typer.Option(None, "--depth", help="Fold rows to this module depth."),
    ops: str = typer.Option("main", "--ops", help="main (hide pointwise ops) or all."),
    device: str = typer.Option(
        "meta",
        "--device",
        help="meta (no memory) or cpu (real tensors, for data-dependent models).",
    ),
    config: list[str] = typer.Option(
        None,
        "--config",
        help="key=value for an hf:ClassName model's config (repeat it), e.g. num_labels=19.",
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Shapes, cumulative stride, receptive field, FLOPs and params of every layer.

    Example: stridekit analyze torchvision:resnet50 --input 1x3x224x224 --depth 1
    """
    analysis = run_analysis(
        model, parse_input_shape(input_shape), device=device, config=parse_config(config)
    )
    emit(analysis.view(depth, ops), fmt)
