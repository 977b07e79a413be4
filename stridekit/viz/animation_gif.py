"""An animation's data as a GIF: palette frames painted with numpy, written by Pillow.

The picture is drawn once (grids, text, legend: the layout the SVG uses); each frame
copies it and paints its taps, the window's outline, the output cell and the caption.
Frames are palette images over `PALETTE` (no colour quantization, no dithering), so every
cell's pixels are exactly its colour: a reader can sample a cell's centre and know what
the frame shows. A 32×32 input (1,024 frames) renders in well under a second.

>>> from io import BytesIO
>>> from PIL import Image
>>> from stridekit.viz.animation import animate_conv
>>> gif = Image.open(BytesIO(animation_gif(animate_conv(5, 3, stride=2, padding=1))))
>>> gif.format, gif.n_frames
('GIF', 3)
"""

from __future__ import annotations

import io
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from stridekit.viz.animation_data import AnimationData
from stridekit.viz.animation_layout import FONT_SIZE, SWATCH, Layout, animation_layout
from stridekit.viz.palette import LEGEND, PALETTE, rgb

if TYPE_CHECKING:
    from PIL import Image, ImageFont

COLOURS = tuple(PALETTE)  # palette index → colour name
INDEX = {name: index for index, name in enumerate(COLOURS)}


@cache
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=FONT_SIZE)  # the font Pillow ships: the same everywhere


@cache
def _glyph(char: str) -> tuple[np.ndarray, int, int, float]:
    """A character's pixels (booleans), their offset from the pen on the baseline, and
    how far the pen moves: each glyph rasterized once, not once per frame."""
    from PIL import Image, ImageDraw

    font = _font()
    left, top, right, bottom = (int(v) for v in font.getbbox(char, anchor="ls"))
    advance = float(font.getlength(char))
    if right <= left or bottom <= top:
        return np.zeros((0, 0), dtype=bool), 0, 0, advance
    image = Image.new("1", (right - left, bottom - top))
    ImageDraw.Draw(image).text((-left, -top), char, fill=1, font=font, anchor="ls")
    return np.asarray(image, dtype=bool), left, top, advance


def _text(pixels: np.ndarray, x: int, y: int, text: str, colour: str = "text") -> None:
    """Write ``text`` with its baseline at ``y``, starting at ``x``."""
    pen = float(x)
    for char in text:
        mask, left, top, advance = _glyph(char)
        if mask.size:
            x0, y0 = round(pen) + left, y + top
            region = pixels[y0 : y0 + mask.shape[0], x0 : x0 + mask.shape[1]]
            region[mask[: region.shape[0], : region.shape[1]]] = INDEX[colour]
        pen += advance


def _palette() -> list[int]:
    return [value for name in COLOURS for value in rgb(PALETTE[name])]


def _cell(pixels: np.ndarray, x: int, y: int, size: int, colour: str, border: bool) -> None:
    """Paint a cell: its inside, and its border when ``border`` (cells share borders)."""
    if border:
        pixels[y : y + size + 1, x : x + size + 1] = INDEX["grid"]
    pixels[y + 1 : y + size, x + 1 : x + size] = INDEX[colour]


def _outline(pixels: np.ndarray, box: tuple[int, int, int, int], colour: str) -> None:
    x, y, width, height = box
    index = INDEX[colour]
    pixels[y : y + 2, x : x + width + 1] = index
    pixels[y + height - 1 : y + height + 1, x : x + width + 1] = index
    pixels[y : y + height + 1, x : x + 2] = index
    pixels[y : y + height + 1, x + width - 1 : x + width + 1] = index


def _base(movie: AnimationData, layout: Layout) -> np.ndarray:
    pixels = np.full((layout.height, layout.width), INDEX["background"], dtype=np.uint8)
    for cell, kind in movie.cells:
        _cell(pixels, *layout.input_cell(cell), layout.cell, kind, border=True)
    for frame in movie.frames:
        _cell(pixels, *layout.output_cell(frame.output), layout.cell, "output", border=True)
    for kind, x, y in layout.legend:
        _cell(pixels, x, y - SWATCH + 2, SWATCH, kind, border=True)
    texts = [(12, y, line) for y, line in zip(layout.lines_y, movie.caption_lines(), strict=True)]
    texts += [
        (layout.input_x, layout.labels_y, "input"),
        (layout.output_x, layout.labels_y, "output"),
    ]
    texts += [(x + SWATCH + 6, y, LEGEND[kind]) for kind, x, y in layout.legend]
    for x, y, text in texts:
        _text(pixels, x, y, text)
    return pixels


def frame_images(movie: AnimationData) -> list[Image.Image]:
    """The frames as Pillow palette images (what the GIF holds, before encoding)."""
    from PIL import Image

    layout = animation_layout(movie)
    base = _base(movie, layout)
    palette = _palette()
    images: list[Image.Image] = []
    for frame in movie.frames:
        pixels = base.copy()
        for cell in frame.cells:
            _cell(pixels, *layout.input_cell(cell), layout.cell, "tap", border=False)
        if not movie.transposed:
            _outline(pixels, layout.window_box(frame.span), "span")
        _cell(pixels, *layout.output_cell(frame.output), layout.cell, "now", border=False)
        _text(pixels, 12, layout.caption_y, frame.caption)
        image = Image.fromarray(pixels, mode="P")
        image.putpalette(palette)
        images.append(image)
    return images


def animation_gif(movie: AnimationData) -> bytes:
    """The animation as GIF bytes, looping, ``1/fps`` seconds a frame."""
    first, *rest = frame_images(movie)
    buffer = io.BytesIO()
    first.save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=rest,
        duration=max(20, round(1000 / movie.fps)),
        loop=0,
        optimize=False,
    )
    return buffer.getvalue()
