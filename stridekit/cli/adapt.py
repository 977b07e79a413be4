"""``stridekit adapt``: the nearest valid input for each image size, and what it costs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from stridekit.analysis import analyze as run_analysis
from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import UsageError, parse_input_shape, parse_ints
from stridekit.design import Adaptation, adapt_size, model_valid_sizes

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def _folder_sizes(folder: Path) -> list[tuple[int, ...]]:
    from PIL import Image, UnidentifiedImageError

    if not folder.is_dir():
        raise UsageError(f"--folder {folder}: not a directory")
    sizes: list[tuple[int, ...]] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            with Image.open(path) as image:  # reads the header only
                width, height = image.size
        except (OSError, UnidentifiedImageError):
            raise UsageError(f"{path}: not a readable image") from None
        sizes.append((height, width))
    if not sizes:
        raise UsageError(f"--folder {folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return sizes


def _table(model: str, results: list[Adaptation], forms: list[str]) -> list[RenderableType]:
    table = Table(title=f"{model}: valid input sizes per axis: {' | '.join(forms)}")
    for column in ("image", "action", "input", "pixels"):
        table.add_column(column)
    for r in results:
        table.add_row(
            "x".join(map(str, r.image)), r.action, "x".join(map(str, r.target)), f"{r.pixels:,}"
        )
    counts = Counter(r.action for r in results)
    summary = ", ".join(f"{n} {action}" for action, n in counts.most_common())
    total = sum(r.pixels for r in results)
    return [table, Text(f"{len(results)} images: {summary}; {total:,} pixels touched in all")]


@app.command("adapt")
def adapt_command(
    model: str = typer.Argument(..., help="A model reference, as for `stridekit analyze`."),
    images: str = typer.Option(None, "--images", help="Image sizes HxW, comma-separated."),
    folder: Path = typer.Option(None, "--folder", help="A folder of images (sizes read)."),
    input_shape: str = typer.Option(None, "--input", help="Shape to trace the model at."),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """For each image size: the nearest valid input and whether to pad, crop or resize.

    Example: stridekit adapt torchvision:resnet18 --images 480x640,375x500
    """
    if (images is None) == (folder is None):
        raise UsageError("give either --images 480x640,375x500 or --folder DIR")
    sizes = (
        _folder_sizes(folder) if folder else [parse_ints(t, "images") for t in images.split(",")]
    )
    analysis = run_analysis(model, parse_input_shape(input_shape))
    valid = [model_valid_sizes(analysis.graph, a) for a in range(len(analysis.input_shape) - 2)]
    results = [adapt_size(tuple(size), valid) for size in sizes]
    data = {
        "model": model,
        "valid_sizes": [v.closed_form() for v in valid],
        "images": [r.to_dict() for r in results],
        "summary": dict(Counter(r.action for r in results)),
        "pixels": sum(r.pixels for r in results),
    }
    emit(fmt, data, lambda: _table(model, results, [v.closed_form() for v in valid]))
