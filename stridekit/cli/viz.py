"""``stridekit viz conv|coverage|field|network``: draw a picture, write it, say what it shows.

Each command parses its options and returns the picture `stridekit.viz` draws;
`saves_picture` gives them all ``-o`` and ``--format``: it writes the file (its format
from the suffix of ``-o``) and prints the picture's summary, or with ``--format json``
what was drawn: frames and taps, heatmap values, boxes, stages.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import op_options, option, signed
from stridekit.errors import UsageError
from stridekit.geometry import Op
from stridekit.geometry.notation import parse_input_shape
from stridekit.viz.figure import Picture, Saved

viz = typer.Typer(
    help="Pictures of stride: animations, coverage maps, receptive fields, network diagrams.",
    no_args_is_help=True,
)
app.add_typer(viz, name="viz")

Model = Annotated[
    str,
    typer.Argument(
        help="torchvision:NAME, timm:NAME, pkg.module:factory, file.py:factory, "
        "model.onnx, model.tflite, model.keras / .h5, or a spec (.yaml/.json)."
    ),
]
InputShape = Annotated[
    str | None,
    typer.Option("--input", help="Input shape NxCxHxW (default: the size the model declares)."),
]
Command = Callable[..., None]


def _position(text: str | None) -> tuple[int, int] | None:
    """``--at 3,4`` → ``(3, 4)``."""
    if text is None:
        return None
    parts = text.replace("x", ",").split(",")
    try:
        row, column = (int(p) for p in parts)
    except ValueError:
        raise UsageError(f"--at {text!r}: expected a row and a column like 3,4") from None
    return row, column


def saves_picture(default: str, *others: str) -> Callable[[Callable[..., Picture]], Command]:
    """A command that returns a picture gets ``-o/--output`` (the file: ``default``, or
    one of ``others`` by its suffix) and ``--format``: the picture is saved and its
    summary printed (with ``--format json``, what was drawn and where).

    >>> import json, tempfile
    >>> from typer.testing import CliRunner
    >>> from stridekit.viz.coverage import draw_coverage
    >>> probe = typer.Typer()
    >>> @probe.command()
    ... @saves_picture("coverage.svg", ".png")
    ... def draw() -> Picture:
    ...     return draw_coverage(4, 3)
    >>> target = Path(tempfile.mkdtemp()) / "map.png"
    >>> said = CliRunner().invoke(probe, ["-o", str(target), "--format", "json"]).output
    >>> json.loads(said)["format"], target.read_bytes()[1:4]
    ('png', b'PNG')
    """
    choices = others[-1] if len(others) == 1 else f"{', '.join(others[:-1])} or {others[-1]}"
    joint = " or" if len(others) == 1 else ","
    output = option(
        "output", Path | None, None, "-o", "--output", help=f"{default} (default){joint} {choices}."
    )
    fmt = option("fmt", Format, Format.table, "--format", help="Output format.")

    def decorate(command: Callable[..., Picture]) -> Command:
        signature = inspect.signature(command, eval_str=True)
        parameters = [*signature.parameters.values(), output, fmt]

        @functools.wraps(command)
        def run(**values: Any) -> None:
            path, form = values.pop("output"), values.pop("fmt")
            picture = command(**values)
            emit(Saved(picture, picture.save(default if path is None else path)), form)

        return signed(run, parameters)

    return decorate


@viz.command("conv")
@op_options()
@saves_picture("conv.gif", ".svg", ".html")
def conv(
    op: Op,
    fps: Annotated[float, typer.Option("--fps", help="Frames per second.")] = 2.0,
) -> Picture:
    """Animate a conv, pooling or transposed conv: one frame per output position.

    Example: stridekit viz conv --size 5x5 --kernel 3 --stride 2 --padding 1 -o conv.gif
    """
    from stridekit.viz.animation import animate_conv

    return animate_conv(op, fps=fps)


@viz.command("coverage")
@op_options(optional=True)
@saves_picture("coverage.png", ".svg")
def coverage(
    op: Op | None,
    model: Annotated[
        str | None, typer.Option("--model", help="A model reference, instead of one op.")
    ] = None,
    input_shape: InputShape = None,
    layer: Annotated[
        str | None,
        typer.Option("--layer", help="With --model: a layer or module (default: the head)."),
    ] = None,
    layers: Annotated[
        int | None, typer.Option("--layers", help="With --model: the first N layers with a window.")
    ] = None,
) -> Picture:
    """Heatmap of how many outputs read each input pixel, for one op or a model's layers.

    Example: stridekit viz coverage --size 16x16 --kernel 3 --stride 2 -o coverage.png
    """
    from stridekit.viz.coverage import draw_coverage, draw_model_coverage

    if model is not None:
        if op is not None:
            raise UsageError("give either --model or an op (--size, --kernel), not both")
        return draw_model_coverage(
            model, parse_input_shape(input_shape), layer=layer, layers=layers
        )
    if op is None:
        raise UsageError("give an op (--size and --kernel) or a model (--model)")
    if layer is not None or layers is not None or input_shape is not None:
        raise UsageError("--layer, --layers and --input go with --model")
    return draw_coverage(op)


@viz.command("field")
@saves_picture("field.png", ".svg")
def field(
    model: Model,
    layer: Annotated[str, typer.Option("--layer", help="A layer or module, e.g. layer3.")],
    input_shape: InputShape = None,
    image: Annotated[
        Path | None, typer.Option("--image", help="An image file (default: a sample photo).")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Feature-map position row,column (default: the middle)."),
    ] = None,
    effective: Annotated[
        bool,
        typer.Option(
            "--effective/--no-effective",
            help="Measure the effective field (runs the model on CPU).",
        ),
    ] = True,
) -> Picture:
    """A position's receptive field on an image, the feature-map grid, the effective field.

    Example: stridekit viz field torchvision:resnet18 --input 1x3x224x224 --layer layer2
    """
    from stridekit.viz.field import draw_field

    return draw_field(
        model,
        parse_input_shape(input_shape),
        layer=layer,
        image=image,
        at=_position(at),
        effective=effective,
    )


@viz.command("network")
@saves_picture("network.svg", ".png")
def network(model: Model, input_shape: InputShape = None) -> Picture:
    """The network's spatial story: size, cumulative stride and receptive field per layer.

    Example: stridekit viz network torchvision:resnet50 --input 1x3x224x224 -o resnet50.svg
    """
    from stridekit.viz.network import draw_network

    return draw_network(model, parse_input_shape(input_shape))
