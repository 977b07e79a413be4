"""`animate_conv`: a conv, pooling or transposed conv drawn one output position at a time.

Every frame shows the (padded) input, the cells the window reads for one output position
(its taps: `Window.taps`, one per kernel element, with dilation's holes) and the output
cell they fill, in the manner of Dumoulin & Visin's convolution-arithmetic figures.
Padding, real pixels, pixels no output reads and ceil mode's window past the padding are
told apart by colour; the caption gives the output-size formula with the numbers. A
transposed conv's frame shows the input pixels that write into the output cell.

The animation is data (`ConvAnimation`: its frames and cells, `to_dict`); it renders as an
animated SVG, a GIF or a self-contained HTML player (`render`, `save`).

>>> movie = animate_conv(5, 3, stride=2, padding=1)
>>> len(movie.frames), movie.frames[1].cells      # floor((5 + 2 − 3)/2) + 1 = 3 frames
(3, ((1,), (2,), (3,)))
>>> movie.formulas
('floor((5 + 1 + 1 - 3)/2) + 1 = 3',)
>>> square = animate_conv((4, 4), 2, stride=2)
>>> len(square.frames), square.frames[3].cells
(4, ((2, 2), (2, 3), (3, 2), (3, 3)))
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, overload

from stridekit.errors import SizeError, UnsupportedError, UsageError
from stridekit.geometry import Window
from stridekit.geometry.op_windows import op_windows
from stridekit.geometry.padding import PaddingSpec
from stridekit.render import Result
from stridekit.viz.figure import Picture

MAX_CELLS = 64  # per axis: an animation draws every cell of the padded input and output
MAX_FRAMES = MAX_CELLS * MAX_CELLS
AXIS_NAMES = {1: ("positions",), 2: ("rows", "columns")}


def _indices(values: Sequence[int]) -> str:
    """``0..2``, ``0, 2, 4`` (dilation's holes) or ``-`` (nothing).

    >>> _indices([3, 4, 5]), _indices([0, 2, 4]), _indices([])
    ('3..5', '0, 2, 4', '-')
    """
    if not values:
        return "-"
    if len(values) > 1 and list(values) == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}"
    return ", ".join(str(v) for v in values)


@dataclass(frozen=True)
class Frame:
    """One output position: its index per axis, the input coordinates it reads per axis
    (`Window.taps`), the interval of its window per axis (`Window.span`) and its caption."""

    index: int
    output: tuple[int, ...]
    taps: tuple[tuple[int, ...], ...]
    span: tuple[tuple[int, int], ...]
    caption: str

    @property
    def cells(self) -> tuple[tuple[int, ...], ...]:
        """Every input cell read: the product of the per-axis taps (row-major)."""
        return tuple(itertools.product(*self.taps))

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "output": list(self.output),
            "taps": [list(cell) for cell in self.cells],
            "span": [list(s) for s in self.span],
            "caption": self.caption,
        }


@dataclass(frozen=True)
class ConvAnimation(Picture, Result):
    """One op (`Window` per axis) over an input of ``sizes``, one frame per output position.

    Input coordinates are `Window`'s: real pixels ``0..n−1``, padding before them
    negative and after them ``>= n``; `grid` is the range drawn on each axis.
    """

    op: str
    windows: tuple[Window, ...]
    sizes: tuple[int, ...]
    convention: str = "torch"
    fps: float = 2.0

    formats: ClassVar[tuple[str, ...]] = ("gif", "svg", "html")

    @property
    def transposed(self) -> bool:
        return self.windows[0].transposed

    @cached_property
    def output_sizes(self) -> tuple[int, ...]:
        return tuple(w.output_size(n) for w, n in zip(self.windows, self.sizes, strict=True))

    @cached_property
    def grid(self) -> tuple[tuple[int, int], ...]:
        """The first and last input coordinate drawn on each axis: the padded input, and
        past it where ceil mode's last window reaches."""
        ranges = []
        for w, n, out in zip(self.windows, self.sizes, self.output_sizes, strict=True):
            if w.transposed:
                ranges.append((0, n - 1))
            else:
                ranges.append((-w.pad_lo, max(n + w.pad_hi - 1, w.span(out - 1)[1])))
        return tuple(ranges)

    @cached_property
    def _unread(self) -> tuple[frozenset[int], ...]:
        return tuple(
            frozenset(w.unread(n).real) for w, n in zip(self.windows, self.sizes, strict=True)
        )

    def axis_kind(self, axis: int, coordinate: int) -> str:
        """``real``, ``unread``, ``padding`` or ``implicit`` (past the padding)."""
        window, n = self.windows[axis], self.sizes[axis]
        if 0 <= coordinate < n:
            return "unread" if coordinate in self._unread[axis] else "real"
        if -window.pad_lo <= coordinate < n + window.pad_hi:
            return "padding"
        return "implicit"

    def cell_kind(self, cell: tuple[int, ...]) -> str:
        """The kind of an input cell: padding on any axis wins, then unread on any axis.

        >>> animate_conv((3, 3), 1, stride=2, padding=1).cell_kind((0, 1))
        'unread'
        """
        kinds = [self.axis_kind(axis, c) for axis, c in enumerate(cell)]
        for kind in ("implicit", "padding", "unread"):
            if kind in kinds:
                return kind
        return "real"

    @cached_property
    def cells(self) -> tuple[tuple[tuple[int, ...], str], ...]:
        """Every input cell drawn, row-major, with its kind."""
        ranges = [range(first, last + 1) for first, last in self.grid]
        return tuple((cell, self.cell_kind(cell)) for cell in itertools.product(*ranges))

    @cached_property
    def frames(self) -> tuple[Frame, ...]:
        """One frame per output position, row-major (the last axis moves fastest)."""
        per_axis = [
            [(i, w.reads(i, n), w.span(i)) for i in range(out)]
            for w, n, out in zip(self.windows, self.sizes, self.output_sizes, strict=True)
        ]
        frames = []
        for index, choice in enumerate(itertools.product(*per_axis)):
            output = tuple(i for i, _, _ in choice)
            taps = tuple(t for _, t, _ in choice)
            frames.append(
                Frame(
                    index, output, taps, tuple(s for _, _, s in choice), self._caption(output, taps)
                )
            )
        return tuple(frames)

    def _caption(self, output: tuple[int, ...], taps: tuple[tuple[int, ...], ...]) -> str:
        where = output[0] if len(output) == 1 else output
        names = AXIS_NAMES[len(output)]
        parts = ", ".join(f"{name} {_indices(t)}" for name, t in zip(names, taps, strict=True))
        verb = "is written by input" if self.transposed else "reads"
        return f"output {where} {verb} {parts}"

    @property
    def title(self) -> str:
        sizes = "x".join(str(n) for n in self.sizes)
        outputs = "x".join(str(n) for n in self.output_sizes)
        described = {w.describe() for w in self.windows}
        window = (
            described.pop()
            if len(described) == 1
            else " | ".join(w.describe() for w in self.windows)
        )
        return f"{self.op} {window}: {sizes} -> {outputs}"

    @property
    def formulas(self) -> tuple[str, ...]:
        """The output-size formula of each axis with the numbers in it."""
        return tuple(w.formula(n) for w, n in zip(self.windows, self.sizes, strict=True))

    def caption_lines(self) -> list[str]:
        """The title, then one formula per axis (named when there are two)."""
        names = AXIS_NAMES[len(self.sizes)]
        if len(self.sizes) == 1:
            return [self.title, f"output size: {self.formulas[0]}"]
        return [self.title, *(f"{n}: {f}" for n, f in zip(names, self.formulas, strict=True))]

    @cached_property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of cell present, in legend order."""
        present = {kind for _, kind in self.cells}
        return tuple(k for k in ("real", "padding", "implicit", "unread") if k in present)

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "convention": self.convention,
            "windows": [w.describe() for w in self.windows],
            "input_size": list(self.sizes),
            "output_size": list(self.output_sizes),
            "formulas": list(self.formulas),
            "grid": [list(g) for g in self.grid],
            "cells": {
                kind: [list(cell) for cell, k in self.cells if k == kind]
                for kind in ("padding", "implicit", "unread")
            },
            "frames": [frame.to_dict() for frame in self.frames],
        }

    def summary(self) -> str:
        unread = sum(kind == "unread" for _, kind in self.cells)
        return (
            f"{self.title}: {len(self.frames)} frames, one per output position; "
            f"{unread} input pixels never read"
        )

    def render(self, fmt: str) -> bytes:
        fmt = self.check_format(fmt)
        if fmt == "svg":
            from stridekit.viz.animation_svg import animation_svg

            return animation_svg(self).encode()
        if fmt == "html":
            from stridekit.viz.animation_html import animation_html

            return animation_html(self).encode()
        from stridekit.viz.animation_gif import animation_gif

        return animation_gif(self)

    def _repr_html_(self) -> str:
        from stridekit.viz.animation_html import player

        return player(self)


def _check_drawable(movie: ConvAnimation) -> None:
    names = AXIS_NAMES[len(movie.sizes)]
    for name, (first, last), out, n, window in zip(
        names, movie.grid, movie.output_sizes, movie.sizes, movie.windows, strict=True
    ):
        cells = max(last - first + 1, out)
        if cells > MAX_CELLS:
            raise SizeError(
                f"an animation draws every cell: {name} would need {cells} cells (input {n}, "
                f"output {out}), more than {MAX_CELLS}; animate a smaller input (what the "
                f"window does repeats every {window.stride} pixels)"
            )


@overload
def animate_conv(
    size: int | Sequence[int],
    kernel: int | Sequence[int],
    stride: int | Sequence[int] | None = ...,
    padding: PaddingSpec | list[PaddingSpec] = ...,
    dilation: int | Sequence[int] = ...,
    *,
    op: str = ...,
    ceil_mode: bool = ...,
    output_padding: int | Sequence[int] = ...,
    convention: str = ...,
    fps: float = ...,
    path: None = ...,
) -> ConvAnimation: ...
@overload
def animate_conv(
    size: int | Sequence[int],
    kernel: int | Sequence[int],
    stride: int | Sequence[int] | None = ...,
    padding: PaddingSpec | list[PaddingSpec] = ...,
    dilation: int | Sequence[int] = ...,
    *,
    op: str = ...,
    ceil_mode: bool = ...,
    output_padding: int | Sequence[int] = ...,
    convention: str = ...,
    fps: float = ...,
    path: str | Path,
) -> Path: ...
def animate_conv(
    size: int | Sequence[int],
    kernel: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: PaddingSpec | list[PaddingSpec] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    op: str = "conv",
    ceil_mode: bool = False,
    output_padding: int | Sequence[int] = 0,
    convention: str = "torch",
    fps: float = 2.0,
    path: str | Path | None = None,
) -> ConvAnimation | Path:
    """The animation of ``op`` (``conv``, ``conv_transpose``, ``max_pool``, ``avg_pool``)
    over an input of ``size`` (one or two axes), or the file it was saved to when ``path``
    is given (``.gif``, ``.svg`` or ``.html``, from the suffix).

    ``kernel``, ``stride``, ``dilation``, ``output_padding``: one value for every axis or
    a list per axis; ``padding`` and ``convention`` as for `stridekit.geometry.make_window`.
    """
    axes = len(size) if isinstance(size, Sequence) else 1
    if axes not in AXIS_NAMES:
        shown = "x".join(str(n) for n in size) if isinstance(size, Sequence) else size
        raise UnsupportedError(
            f"an animation draws a 1-d or 2-d input; {shown} has {axes} axes: animate one "
            "or two of them (the axes of a window are independent)"
        )
    if not fps > 0:
        raise UsageError(f"fps must be positive, got {fps}")
    sizes, windows = op_windows(
        size,
        kernel,
        stride,
        padding,
        dilation,
        op=op,
        ceil_mode=ceil_mode,
        output_padding=output_padding,
        convention=convention,
    )
    movie = ConvAnimation(op, windows, sizes, convention, fps)
    _check_drawable(movie)
    return movie if path is None else movie.save(path)
