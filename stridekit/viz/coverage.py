"""Coverage heatmaps: how many outputs read each input pixel, with a colour bar.

For one op (`draw_coverage`) the values are `Window.coverage` on each axis, multiplied
across axes in 2-d (output ``(i, j)`` reads pixel ``(y, x)`` iff ``i`` reads ``y`` and
``j`` reads ``x``): gaps of a stride larger than the window, the border a stride drops,
the uneven overlap of a kernel the stride does not divide. A transposed conv also gets
the map of its output: how many inputs write into each output pixel, its checkerboard.
For a model (`draw_model_coverage`) the values are the reads along every path down from
a layer's outputs (`stridekit.passes.coverage`).

Counts up to `DISCRETE` get one colour each (0 in red: never read), so every value can be
read back from the picture; larger counts a continuous scale (logarithmic when they span
more than two decades) with zeros still red.

>>> heatmap = draw_coverage(Op(6, 3, stride=2, padding=1))
>>> heatmap.values.tolist(), heatmap.output_values is None
([1, 2, 1, 2, 1, 1], True)
>>> draw_coverage(3, 3, stride=2, op="conv_transpose").output_values.tolist()
[1, 1, 2, 1, 2, 1, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Unpack

import numpy as np

from stridekit.errors import SizeError, UnsupportedError
from stridekit.geometry.limits import check_taps
from stridekit.geometry.op import Op, OpArguments, PerAxis
from stridekit.render import Result
from stridekit.viz.canvas import figure_bytes, new_figure, style
from stridekit.viz.figure import Picture
from stridekit.viz.palette import PALETTE
from stridekit.viz.path_keyword import saved_if_asked

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from stridekit.analysis import Analysis

DISCRETE = 12  # counts up to this many get a colour each
MAX_PIXELS = 2048  # per axis of a heatmap
ANNOTATE = 24  # write the count in each cell up to this many cells per axis (48 in 1-d)


def discrete_colours(largest: int) -> list[str]:
    """The colour of each count ``0..largest``: red for 0, then light to dark blue.

    >>> discrete_colours(2)
    ['#F08A8A', '#C6DBEF', '#08306B']
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    blues = colormaps["Blues"]
    steps = [0.25 + 0.75 * k / max(1, largest - 1) for k in range(largest)]
    return [PALETTE["unread"], *(to_hex(blues(s)).upper() for s in steps)]


def _jsonable(values: np.ndarray) -> list[Any]:
    whole = np.all(values == np.round(values)) and values.max(initial=0) < 2**53
    return (values.astype(np.int64) if whole else values).tolist()


def _number(value: Any) -> int | float:
    """A count as an int when it is whole (JSON and text show ``3``, not ``3.0``)."""
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


@dataclass(frozen=True)
class CoverageMap(Picture, Result):
    """A heatmap of read counts over the input (``values``), and for a transposed conv over
    its output (``output_values``: inputs writing into each output pixel)."""

    title: str
    values: np.ndarray
    output_values: np.ndarray | None = None
    label: str = "outputs reading the pixel"
    skipped: tuple[str, ...] = field(default=())

    formats: ClassVar[tuple[str, ...]] = ("png", "svg")

    @property
    def discrete(self) -> bool:
        """True when every count gets its own colour (integers up to `DISCRETE`)."""
        maps = [self.values] + ([self.output_values] if self.output_values is not None else [])
        return all(np.all(v == np.round(v)) and v.max(initial=0) <= DISCRETE for v in maps)

    @property
    def colours(self) -> list[str]:
        """The colour of each count when `discrete` (index = count)."""
        maps = [self.values] + ([self.output_values] if self.output_values is not None else [])
        return discrete_colours(int(max(v.max(initial=0) for v in maps)))

    @property
    def unread(self) -> int:
        """Input pixels no output reads."""
        return int(np.count_nonzero(self.values == 0))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "title": self.title,
            "label": self.label,
            "input_size": list(self.values.shape),
            "values": _jsonable(self.values),
            "min": _number(self.values.min()),
            "max": _number(self.values.max()),
            "unread": self.unread,
            "colours": self.colours if self.discrete else None,
        }
        if self.output_values is not None:
            data["output_size"] = list(self.output_values.shape)
            data["output_values"] = _jsonable(self.output_values)
        if self.skipped:
            data["skipped"] = list(self.skipped)
        return data

    def summary(self) -> str:
        low, high = _number(self.values.min()), _number(self.values.max())
        text = f"{self.title}: each input pixel is read {low}..{high} times"
        text += f"; {self.unread} never read" if self.unread else "; every pixel is read"
        if self.output_values is not None:
            out_low, out_high = int(self.output_values.min()), int(self.output_values.max())
            text += f"; each output pixel is written by {out_low}..{out_high} inputs"
        return text

    def to_matplotlib(self) -> Figure:
        """The heatmap(s) as a matplotlib figure (no pyplot)."""
        with style():
            one_d = self.values.ndim == 1
            panels = 1 if self.output_values is None else 2
            size = (7.5, 1.3 + 1.2 * panels) if one_d else (5.2 * panels + 0.8, 4.8)
            figure = new_figure(size)
            grid = (panels, 1) if one_d else (1, panels)
            axes = [figure.add_subplot(*grid, k + 1) for k in range(panels)]
            image = self._heatmap(axes[0], self.values, "input: " + self.label)
            if self.output_values is not None:
                self._heatmap(axes[1], self.output_values, "output: inputs writing into it")
            bar = figure.colorbar(image, ax=axes, shrink=0.9, pad=0.02)
            if self.discrete:
                bar.set_ticks(range(len(self.colours)))
            bar.set_label("count")
            figure.suptitle(self.title)
        return figure

    def _heatmap(self, axes: Axes, values: np.ndarray, title: str) -> Any:
        from matplotlib.colors import BoundaryNorm, Colormap, ListedColormap, LogNorm, Normalize

        grid = values[None, :] if values.ndim == 1 else values
        if self.discrete:
            colours = self.colours
            cmap: Colormap = ListedColormap(colours)
            norm: Normalize = BoundaryNorm(np.arange(len(colours) + 1) - 0.5, len(colours))
            shown: np.ndarray = grid
        else:
            from matplotlib import colormaps

            cmap = colormaps["viridis"].with_extremes(bad=PALETTE["unread"])
            positive = grid[grid > 0]
            low, high = (positive.min(), positive.max()) if positive.size else (1.0, 1.0)
            norm = LogNorm(low, high) if high > 100 * low else Normalize(0, high)
            shown = np.ma.masked_equal(grid, 0)
        image = axes.imshow(
            shown, cmap=cmap, norm=norm, aspect="equal" if values.ndim == 2 else "auto"
        )
        image.set_gid("coverage" if title.startswith("input") else "output-coverage")
        limit = ANNOTATE * (2 if values.ndim == 1 else 1)
        if self.discrete and max(grid.shape) <= limit:
            for (row, column), count in np.ndenumerate(grid):
                axes.text(
                    column,
                    row,
                    str(int(count)),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if count > len(self.colours) / 2 else PALETTE["text"],
                )
        axes.set_title(title)
        if values.ndim == 1:
            axes.set_yticks([])
            axes.set_xlabel("pixel")
        else:
            axes.set_xlabel("column")
            axes.set_ylabel("row")
        return image

    def render(self, fmt: str) -> bytes:
        return figure_bytes(self.to_matplotlib(), self.check_format(fmt))


def _check_pixels(shape: Sequence[int], what: str) -> None:
    if len(shape) not in (1, 2):
        raise UnsupportedError(
            f"a coverage map draws a 1-d or 2-d input; {what} has {len(shape)} axes"
        )
    if max(shape) > MAX_PIXELS:
        raise SizeError(
            f"a coverage map draws every pixel: {what} is {'x'.join(map(str, shape))}, more "
            f"than {MAX_PIXELS} per axis; use a smaller size (the pattern repeats every "
            "stride pixels)"
        )


def draw_coverage(
    size: Op | PerAxis,
    *arguments: Any,
    path: str | Path | None = None,
    **options: Unpack[OpArguments],
) -> CoverageMap:
    """The coverage heatmap of an `Op` (or of ``Op(size, kernel, ...)``, as for
    `animate_conv`). (``path=`` is deprecated: the map saves itself, ``.save(path)``, as a
    ``.png`` or ``.svg``.)"""
    op = Op.of(size, *arguments, **options)
    _check_pixels(op.sizes, "the input")
    sizes, windows, outputs = op.sizes, op.windows, op.output_sizes
    _check_pixels(outputs, "the output")
    per_axis = []
    for w, n, out in zip(windows, sizes, outputs, strict=True):
        check_taps(n if w.transposed else out, w.kernel, w.describe())
        per_axis.append(w.coverage(n))
    values = per_axis[0] if len(per_axis) == 1 else np.outer(per_axis[0], per_axis[1])
    output_values = None
    if windows[0].transposed:
        writes = [
            np.array([len(w.reads(i, n)) for i in range(out)])
            for w, n, out in zip(windows, sizes, outputs, strict=True)
        ]
        output_values = writes[0] if len(writes) == 1 else np.outer(writes[0], writes[1])
    shape = "x".join(str(n) for n in sizes)
    heatmap = CoverageMap(f"{op.op} {op.window_text} on {shape}", values, output_values)
    return saved_if_asked(heatmap, path, "draw_coverage")


def draw_model_coverage(
    model: Any,
    input_size: tuple[int, ...] | None = None,
    *,
    layer: str | None = None,
    layers: int | None = None,
    path: str | Path | None = None,
) -> CoverageMap:
    """The coverage of a model's input by the outputs of one layer: ``layer`` (a node or
    a module), the ``layers``-th layer with a window, or by default the tensor entering
    the head. ``model`` is anything `stridekit.analyze` takes (or an `Analysis`).
    (``path=`` is deprecated: ``.save(path)``.)"""
    from stridekit.analysis import Analysis, analyze
    from stridekit.passes.coverage import path_coverage
    from stridekit.viz.layers import find_layer, nth_layer

    analysis: Analysis = model if isinstance(model, Analysis) else analyze(model, input_size)
    _check_pixels(analysis.input_shape[2:], "the model's input")
    if layer is not None and layers is not None:
        raise UnsupportedError("give a layer by name or by count (layers=N), not both")
    if layer is not None:
        node = find_layer(analysis, layer)
    elif layers is not None:
        node = nth_layer(analysis, layers)
    else:
        node = analysis.graph[analysis.head.name]
    coverage = path_coverage(analysis.graph, node.name)
    shape = "x".join(str(n) for n in analysis.input_shape[2:])
    heatmap = CoverageMap(
        f"{analysis.model} at {shape}: reads by the outputs of {node.name}",
        coverage.values,
        label="reads along every path",
        skipped=coverage.skipped,
    )
    return saved_if_asked(heatmap, path, "draw_model_coverage")
