"""Matplotlib without pyplot: a bare `Figure` on the Agg canvas, rendered to bytes.

No GUI, no global backend change, no pyplot state: each picture owns its figure, drawn
inside `style()` (stridekit's fonts and hash salt, undone on exit). The bytes depend on
neither the date, the matplotlib version string nor a random salt, so the same data
always gives the same file (the README pictures are regenerated and diffed).

>>> def line():
...     with style():
...         figure = new_figure((2, 1))
...         figure.add_subplot().plot([0, 1], [0, 1])
...     return figure
>>> figure_bytes(line(), "svg") == figure_bytes(line(), "svg")
True
>>> figure_bytes(line(), "png")[:8]
b'\\x89PNG\\r\\n\\x1a\\n'

A figure is rendered once: constrained layout refines itself on every draw, so a second
rendering of the same figure may place things a fraction of a pixel apart.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100


@contextmanager
def style() -> Iterator[None]:
    """stridekit's matplotlib settings while a figure is drawn or saved."""
    import matplotlib  # here, not at import: the geometry never needs it

    with matplotlib.rc_context(
        {
            "svg.hashsalt": "stridekit",  # ids the same from run to run
            "svg.fonttype": "none",  # text stays text: smaller, searchable
            "font.size": 9,
            "axes.titlesize": 10,
            "image.interpolation": "nearest",  # a pixel is a pixel
        }
    ):
        yield


def new_figure(size: tuple[float, float]) -> Figure:
    """An empty figure of ``size`` inches on an Agg canvas (constrained layout)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def figure_bytes(figure: Figure, fmt: str) -> bytes:
    """The figure as ``png`` or ``svg`` bytes, the same bytes for the same figure."""
    buffer = io.BytesIO()
    metadata: dict[str, str | None] = {"Date": None} if fmt == "svg" else {"Software": None}
    with style():
        figure.savefig(buffer, format=fmt, dpi=DPI, metadata=metadata)
    return buffer.getvalue()
