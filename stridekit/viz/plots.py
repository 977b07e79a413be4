"""Scatter and line plots as SVG text whose points tell what they are on hover.

Matplotlib draws on a bare `Figure` with the SVG canvas (no pyplot, no GUI, no global
backend change); each point is its own artist with an id, and a ``<title>`` placed inside
that group is what a browser shows on hover (the approach of matplotlib's
"SVG tooltip" example). With a fixed hash salt and no date in the metadata the same data
always gives the same bytes, so reports diff cleanly.

>>> svg = scatter_svg([Point(1e6, 0.9, "conv", "conv s=2"), Point(2e6, 0.95, "spd", "spd s=2")],
...                   title="accuracy vs FLOPs", x_label="FLOPs", y_label="accuracy")
>>> svg.startswith("<svg") and svg.count("<title>")
2
>>> svg == scatter_svg([Point(1e6, 0.9, "conv", "conv s=2"), Point(2e6, 0.95, "spd", "spd s=2")],
...                    title="accuracy vs FLOPs", x_label="FLOPs", y_label="accuracy")
True
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

# colour-blind-safe qualitative palette (Okabe & Ito 2008), then markers to tell groups apart
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


@dataclass(frozen=True)
class Point:
    """One plotted value: position, the group it is coloured by, its hover text, and an
    optional error bar (e.g. the standard deviation over seeds)."""

    x: float
    y: float
    group: str
    label: str
    y_error: float | None = None


def scatter_svg(
    points: Sequence[Point],
    *,
    title: str,
    x_label: str,
    y_label: str,
    log_x: bool = False,
    connect: bool = False,
    front: Sequence[tuple[float, float]] = (),
    front_label: str = "Pareto front",
    size: tuple[float, float] = (6.4, 4.2),
    name: str = "plot",
) -> str:
    """The points as an SVG document (text), one colour and marker per group.

    ``connect`` joins each group's points in order of x (a curve per downsampling op);
    ``front`` is drawn as a dashed step line through the given (x, y) corners. Every id
    in the SVG starts with ``name``, so several plots can share one HTML page.
    """
    import matplotlib  # here, not at import: reading a store needs no plotting library
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    groups = sorted({p.group for p in points})
    styles = {g: (COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)]) for i, g in enumerate(groups)}
    order = sorted(range(len(points)), key=lambda i: (points[i].group, points[i].x, points[i].y))
    labels: list[str] = []
    for group in groups:
        color, marker = styles[group]
        members = [points[i] for i in order if points[i].group == group]
        if connect and len(members) > 1:
            axes.plot([p.x for p in members], [p.y for p in members], color=color, alpha=0.5)
        axes.plot([], [], linestyle="", marker=marker, color=color, label=group)  # legend
    for number, index in enumerate(order):
        point = points[index]
        color, marker = styles[point.group]
        if point.y_error:
            axes.errorbar(
                [point.x], [point.y], yerr=[point.y_error], color=color, alpha=0.6, capsize=2
            )
        (artist,) = axes.plot([point.x], [point.y], linestyle="", marker=marker, color=color)
        artist.set_gid(f"point-{number}")
        labels.append(point.label)
    if front:
        xs, ys = zip(*sorted(front), strict=True)
        axes.step(xs, ys, where="post", linestyle="--", color="#555555", label=front_label)
    if log_x and all(p.x > 0 for p in points):
        axes.set_xscale("log", base=2 if _powers_of_two(points) else 10)
    axes.set_title(title)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(True, alpha=0.3)
    if groups:
        axes.legend(fontsize="small")
    else:
        axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "stridekit", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return _prefixed(_with_titles(buffer.getvalue(), labels), name)


def _prefixed(svg: str, name: str) -> str:
    """Every ``id`` and every reference to one (``#id``, ``url(#id)``) starts with ``name``."""
    for identifier in sorted(set(re.findall(r'id="([^"]+)"', svg)), key=len, reverse=True):
        svg = svg.replace(f'id="{identifier}"', f'id="{name}-{identifier}"')
        svg = svg.replace(f'"#{identifier}"', f'"#{name}-{identifier}"')
        svg = svg.replace(f"url(#{identifier})", f"url(#{name}-{identifier})")
    return svg


def _powers_of_two(points: Sequence[Point]) -> bool:
    return all(p.x >= 1 and math.log2(p.x).is_integer() for p in points)


def _with_titles(svg: str, labels: Sequence[str]) -> str:
    """Put each point's hover text inside its group, drop the XML prologue."""
    for number, label in enumerate(labels):
        svg = svg.replace(
            f'<g id="point-{number}">', f'<g id="point-{number}"><title>{escape(label)}</title>', 1
        )
    start = svg.index("<svg")
    return re.sub(r"\n\s*\n", "\n", svg[start:])
