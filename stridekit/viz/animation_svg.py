"""An animation's data as an animated SVG: CSS keyframes, no script, plays in an ``<img>``.

The input and output grids are drawn once; each frame is a group (``class="P-f"``)
holding the cells its window reads (``P-tap``), the window's outline (``P-span``), the
output cell it fills (``P-now``) and its caption. A frame is visible for ``1/fps``
seconds of a loop of ``frames/fps`` seconds: every group runs the same keyframes,
delayed by its start time. Every input cell carries ``data-at`` (its coordinates) and
``data-kind``, so a reader can check what each frame highlights. Every id and class
starts with a prefix derived from the animation, so several can share one page.

>>> from stridekit.viz.animation import animate_conv
>>> svg = animation_svg(animate_conv(5, 3, stride=2, padding=1))
>>> svg.startswith("<svg") and svg.count('-f" data-frame=')
3
"""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape, quoteattr

from stridekit.viz.animation_data import AnimationData, Frame
from stridekit.viz.animation_layout import FONT_SIZE, SWATCH, Layout, animation_layout
from stridekit.viz.palette import LEGEND, PALETTE

FONTS = "DejaVu Sans, Helvetica, Arial, sans-serif"


def prefix(movie: AnimationData) -> str:
    """A short name for ids and classes, the same for the same animation.

    >>> from stridekit.viz.animation import animate_conv
    >>> prefix(animate_conv(5, 3)) == prefix(animate_conv(5, 3)) != prefix(animate_conv(6, 3))
    True
    """
    key = repr((movie.op, movie.windows, movie.sizes, movie.convention, movie.fps))
    return "sk" + hashlib.sha1(key.encode()).hexdigest()[:8]


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _rect(x: int, y: int, size: int, fill: str, extra: str = "") -> str:
    return (
        f'<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="{fill}" '
        f'stroke="{PALETTE["grid"]}"{extra}/>'
    )


def _text(x: int, y: int, text: str, extra: str = "") -> str:
    return f'<text x="{x}" y="{y}"{extra}>{escape(text)}</text>'


def _base(movie: AnimationData, layout: Layout, p: str) -> list[str]:
    parts = [
        _text(12, y, line) for y, line in zip(layout.lines_y, movie.caption_lines(), strict=True)
    ]
    parts.append(_text(layout.input_x, layout.labels_y, "input"))
    parts.append(_text(layout.output_x, layout.labels_y, "output"))
    parts.append(f'<g id="{p}-input">')
    for cell, kind in movie.cells:
        x, y = layout.input_cell(cell)
        dash = ' stroke-dasharray="2,2"' if kind == "implicit" else ""
        at = ",".join(str(c) for c in cell)
        parts.append(
            _rect(x, y, layout.cell, PALETTE[kind], f' data-at="{at}" data-kind="{kind}"{dash}')
        )
    parts.append("</g>")
    parts.append(f'<g id="{p}-output">')
    for frame in movie.frames:
        x, y = layout.output_cell(frame.output)
        at = ",".join(str(c) for c in frame.output)
        parts.append(_rect(x, y, layout.cell, PALETTE["output"], f' data-at="{at}"'))
    parts.append("</g>")
    for kind, x, y in layout.legend:
        colour = PALETTE[kind]
        parts.append(
            f'<rect x="{x}" y="{y - SWATCH + 2}" width="{SWATCH}" height="{SWATCH}" '
            f'fill="{colour}" stroke="{PALETTE["grid"]}"/>'
        )
        parts.append(_text(x + SWATCH + 6, y, LEGEND[kind]))
    return parts


def _frame(movie: AnimationData, frame: Frame, layout: Layout, p: str) -> str:
    delay = _number(frame.index / movie.fps)
    parts = [
        f'<g class="{p}-f" data-frame="{frame.index}" style="animation-delay:{delay}s" '
        f"data-caption={quoteattr(frame.caption)}>"
    ]
    for cell in frame.cells:
        x, y = layout.input_cell(cell)
        parts.append(_rect(x, y, layout.cell, PALETTE["tap"], f' class="{p}-tap"'))
    x, y, width, height = layout.window_box(frame.span)
    if not movie.transposed:
        parts.append(
            f'<rect class="{p}-span" x="{x}" y="{y}" width="{width}" height="{height}" '
            f'fill="none" stroke="{PALETTE["span"]}" stroke-width="2"/>'
        )
    x, y = layout.output_cell(frame.output)
    parts.append(_rect(x, y, layout.cell, PALETTE["now"], f' class="{p}-now"'))
    parts.append(_text(12, layout.caption_y, frame.caption))
    parts.append("</g>")
    return "".join(parts)


def animation_svg(movie: AnimationData) -> str:
    """The animation as SVG text (a whole document, no XML prologue)."""
    layout = animation_layout(movie)
    p = prefix(movie)
    count = len(movie.frames)
    loop = _number(count / movie.fps)
    shown = _number(100 / count)
    style = (
        f".{p}-f{{opacity:0;animation:{p}-show {loop}s step-end infinite}}"
        f"@keyframes {p}-show{{0%{{opacity:1}}{shown}%{{opacity:0}}100%{{opacity:0}}}}"
    )
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{layout.width}" '
        f'height="{layout.height}" viewBox="0 0 {layout.width} {layout.height}" '
        f'font-family="{FONTS}" font-size="{FONT_SIZE}" fill="{PALETTE["text"]}">'
    )
    body = [
        head,
        f"<title>{escape(movie.summary())}</title>",
        f"<style>{style}</style>",
        f'<rect width="{layout.width}" height="{layout.height}" fill="{PALETTE["background"]}"/>',
        *_base(movie, layout, p),
        *(_frame(movie, frame, layout, p) for frame in movie.frames),
        "</svg>",
    ]
    return "\n".join(body) + "\n"
