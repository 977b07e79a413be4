"""What the layer tab draws: for each axis, the input coordinates each output reads
(`Window.taps`, `Window.span`) and how many outputs read each pixel (`Window.coverage`).

The page animates the window and colours the coverage heatmap from this data alone; an
axis of a window is independent of the others, so a 2-d output reads the product of its
axes' taps, and a 2-d pixel is read (count of its row) x (count of its column) times.

>>> from stridekit.geometry import Window
>>> data = window_picture("conv", [Window(3, 2, padding=(1, 1))], (5,)).to_dict()
>>> axis = data["axes"][0]
>>> axis["output_size"], axis["taps"], axis["coverage"]
(3, [[-1, 0, 1], [1, 2, 3], [3, 4, 5]], [1, 2, 1, 2, 1])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from stridekit.geometry import Window
from stridekit.render import Result


@dataclass(frozen=True)
class AxisPicture:
    """One axis: its window, input and output sizes, the taps and span of each output,
    each real pixel's coverage, and the pixels no output reads."""

    window: Window
    input_size: int

    def to_dict(self) -> dict[str, Any]:
        w, n = self.window, self.input_size
        out = w.output_size(n)
        unread = w.unread(n)
        taps = [w.reads(i, n) for i in range(out)]
        return {
            "window": w.describe(),
            "input_size": n,
            "output_size": out,
            "padding": [w.pad_lo, w.pad_hi],
            "transposed": w.transposed,
            "formula": w.formula(n),
            "taps": [list(t) for t in taps],
            "span": [list(w.span(i)) for i in range(out)],
            "coverage": [int(c) for c in w.coverage(n)],
            "unread_real": list(unread.real),
            "unread_padding": list(unread.padding),
        }


@dataclass(frozen=True)
class WindowPicture(Result):
    """An op's windows over an input, axis by axis, ready to draw."""

    op: str
    axes: tuple[AxisPicture, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "axes": [axis.to_dict() for axis in self.axes]}

    def __rich__(self) -> RenderableType:
        return Text("\n".join(f"{a.window.describe()} on {a.input_size}" for a in self.axes))


def window_picture(op: str, windows: Sequence[Window], sizes: Sequence[int]) -> WindowPicture:
    """The picture data of ``windows[i]`` applied to ``sizes[i]`` pixels."""
    axes = tuple(AxisPicture(w, n) for w, n in zip(windows, sizes, strict=True))
    return WindowPicture(op, axes)
