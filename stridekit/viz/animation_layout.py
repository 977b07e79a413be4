"""Where an animation's cells and text go, in pixels: one layout for the SVG and the GIF.

From the top: the title and the formulas, the labels "input" and "output", the two grids
side by side (input left, output right, a gap between), the frame's caption, the legend.
A 1-d input is one row of cells. Text widths are estimated (`CHAR_WIDTH` pixels per
character, generous for sans-serif fonts at `FONT_SIZE`), so the picture is wide enough
for its captions whatever font draws them.

>>> from stridekit.viz.animation import animate_conv
>>> layout = animation_layout(animate_conv((4, 4), 3, padding=1))
>>> layout.cell, layout.input_cell((-1, -1)) == (layout.input_x, layout.input_y)
(32, True)
"""

from __future__ import annotations

from dataclasses import dataclass

from stridekit.viz.animation_data import AnimationData
from stridekit.viz.palette import LEGEND

FONT_SIZE = 13
LINE = 18  # pixels from one line of text to the next
CHAR_WIDTH = 7.8
MARGIN = 12
SWATCH = 12
GRID_BUDGET = 560  # pixels the grids may take across (and down)


@dataclass(frozen=True)
class Layout:
    """Pixel positions: grids' top-left corners, the cell size, text baselines."""

    cell: int
    first: tuple[int, int]  # the input coordinate of the top-left cell (row, column)
    input_x: int
    input_y: int
    output_x: int
    output_y: int
    input_shape: tuple[int, int]  # rows, columns
    output_shape: tuple[int, int]
    width: int
    height: int
    lines_y: tuple[int, ...]  # baselines of the title and formulas
    labels_y: int
    caption_y: int
    legend: tuple[tuple[str, int, int], ...]  # (kind, x, baseline y) of each legend entry

    def input_cell(self, cell: tuple[int, ...]) -> tuple[int, int]:
        """The top-left pixel of an input cell (its coordinates as `Window` numbers them)."""
        row, column = (0, cell[0]) if len(cell) == 1 else (cell[0], cell[1])
        return (
            self.input_x + (column - self.first[1]) * self.cell,
            self.input_y + (row - self.first[0]) * self.cell,
        )

    def output_cell(self, index: tuple[int, ...]) -> tuple[int, int]:
        """The top-left pixel of an output cell."""
        row, column = (0, index[0]) if len(index) == 1 else (index[0], index[1])
        return self.output_x + column * self.cell, self.output_y + row * self.cell

    def window_box(self, span: tuple[tuple[int, int], ...]) -> tuple[int, int, int, int]:
        """``(x, y, width, height)`` of the input cells a window spans (`Frame.span`)."""
        spans = span if len(span) == 2 else ((0, 0), span[0])
        x0, y0 = self.input_cell((spans[0][0], spans[1][0]))
        x1, y1 = self.input_cell((spans[0][1], spans[1][1]))
        return x0, y0, x1 - x0 + self.cell, y1 - y0 + self.cell


def _text_width(text: str) -> int:
    return int(len(text) * CHAR_WIDTH) + 1


def animation_layout(movie: AnimationData) -> Layout:
    """The layout of ``movie``: cells as large as `GRID_BUDGET` allows (8 to 32 pixels)."""
    grid = movie.grid if len(movie.grid) == 2 else ((0, 0), movie.grid[0])
    rows_in, cols_in = (last - first + 1 for first, last in grid)
    rows_out, cols_out = (1, *movie.output_sizes) if len(movie.sizes) == 1 else movie.output_sizes
    cell = min(GRID_BUDGET // (cols_in + cols_out + 2), GRID_BUDGET // max(rows_in, rows_out))
    cell = max(8, min(32, cell))
    gap = max(2 * cell, 28)
    lines = movie.caption_lines()
    lines_y = tuple(MARGIN + FONT_SIZE + k * LINE for k in range(len(lines)))
    labels_y = lines_y[-1] + LINE + 6
    grids_top = labels_y + 8
    grids_height = max(rows_in, rows_out) * cell
    captions = [frame.caption for frame in movie.frames[:1]] + [movie.frames[-1].caption]
    width = max(
        2 * MARGIN + (cols_in + cols_out) * cell + gap,
        2 * MARGIN + max(_text_width(text) for text in [*lines, *captions]),
    )
    caption_y = grids_top + grids_height + LINE + 4
    legend, x, y = [], MARGIN, caption_y + LINE + 6
    for kind in (*movie.kinds, "tap", "output"):
        entry = SWATCH + 6 + _text_width(LEGEND[kind]) + 14
        if x > MARGIN and x + entry > width - MARGIN:
            x, y = MARGIN, y + LINE
        legend.append((kind, x, y))
        x += entry
    output_x = MARGIN + cols_in * cell + gap
    return Layout(
        cell=cell,
        first=(grid[0][0], grid[1][0]),
        input_x=MARGIN,
        input_y=grids_top,
        output_x=output_x,
        output_y=grids_top + (grids_height - rows_out * cell) // 2,
        input_shape=(rows_in, cols_in),
        output_shape=(rows_out, cols_out),
        width=width,
        height=y + MARGIN,
        lines_y=lines_y,
        labels_y=labels_y,
        caption_y=caption_y,
        legend=tuple(legend),
    )
