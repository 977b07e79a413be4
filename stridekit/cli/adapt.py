"""``stridekit adapt``: the nearest valid input for each image size, and what it costs."""

from __future__ import annotations

from pathlib import Path

import typer

from stridekit.analysis import analyze as run_analysis
from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import UsageError, parse_input_shape, parse_sizes
from stridekit.design import adapt_images
from stridekit.errors import SizeError
from stridekit.geometry.limits import check_size

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
        except Image.DecompressionBombError as error:  # PIL refuses its header already
            raise SizeError(f"{path}: {error}") from None
        what = f"{path}: image size"
        sizes.append((check_size(height, what), check_size(width, what)))
    if not sizes:
        raise UsageError(f"--folder {folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return sizes


@app.command("adapt")
def adapt_command(
    model: str = typer.Argument(..., help="A model reference, as for `stridekit analyze`."),
    images: str = typer.Option(None, "--images", help="Image sizes HxW, comma-separated."),
    folder: Path = typer.Option(None, "--folder", help="A folder of images (sizes read)."),
    input_shape: str = typer.Option(
        None, "--input", help="Shape NxCxHxW to trace the model at (default: its declared one)."
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """For each image size: the nearest valid input and whether to pad, crop or resize.

    Example: stridekit adapt torchvision:resnet18 --images 480x640,375x500
    """
    if (images is None) == (folder is None):
        raise UsageError("give either --images 480x640,375x500 or --folder DIR")
    sizes = (
        _folder_sizes(folder) if folder else [parse_sizes(t, "images") for t in images.split(",")]
    )
    analysis = run_analysis(model, parse_input_shape(input_shape))
    emit(adapt_images(analysis, sizes), fmt)
