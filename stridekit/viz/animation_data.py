"""What an animation of one op shows, as data: `AnimationData` (the cells of the padded
input and their kinds, one `Frame` per output position with the taps it reads, the
captions and formulas). The renderers (`animation_gif`, `animation_svg`,
`animation_html`) and the layout draw from it; `stridekit.viz.animation.ConvAnimation`
adds the picture's side (the format chosen by a file's suffix) on top.

>>> movie = AnimationData.from_op(Op(5, 3, stride=2, padding=1))
>>> len(movie.frames), movie.frames[1].cells      # floor((5 + 2 − 3)/2) + 1 = 3 frames
(3, ((1,), (2,), (3,)))
>>> movie.formulas
('floor((5 + 1 + 1 - 3)/2) + 1 = 3',)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Self

from stridekit.errors import SizeError
from stridekit.geometry.op import Op, output_sizes, windows_text
from stridekit.geometry.window import Window

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
class AnimationData:
    """One op (`Window` per axis) over an input of ``sizes``, one frame per output position.

    Input coordinates are `Window`'s: real pixels ``0..n−1``, padding before them
    negative and after them ``>= n``; `grid` is the range drawn on each axis.
    """

    op: str
    windows: tuple[Window, ...]
    sizes: tuple[int, ...]
    convention: str = "torch"
    fps: float = 2.0

    @classmethod
    def from_op(cls, op: Op, fps: float = 2.0) -> Self:
        """The animation of an `Op`, ``fps`` frames a second."""
        return cls(op.op, op.windows, op.sizes, op.convention, fps)

    @property
    def transposed(self) -> bool:
        return self.windows[0].transposed

    @cached_property
    def output_sizes(self) -> tuple[int, ...]:
        return output_sizes(self.windows, self.sizes)

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

        >>> AnimationData.from_op(Op((3, 3), 1, stride=2, padding=1)).cell_kind((0, 1))
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
        return f"{self.op} {windows_text(self.windows)}: {sizes} -> {outputs}"

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

    def check_drawable(self) -> None:
        """A `SizeError` when a grid would need more than `MAX_CELLS` cells on an axis."""
        names = AXIS_NAMES[len(self.sizes)]
        for name, (first, last), out, n, window in zip(
            names, self.grid, self.output_sizes, self.sizes, self.windows, strict=True
        ):
            cells = max(last - first + 1, out)
            if cells > MAX_CELLS:
                raise SizeError(
                    f"an animation draws every cell: {name} would need {cells} cells (input "
                    f"{n}, output {out}), more than {MAX_CELLS}; animate a smaller input (what "
                    f"the window does repeats every {window.stride} pixels)"
                )
