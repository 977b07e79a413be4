"""Which pyramid level serves each object size, by the criterion of `stridekit.objects`.

`object_coverage` takes the levels of a model (the doctor reads them from
`Analysis.outputs`) or of a plan (the planner's exposed strides) and gives every object
size its level, the cells it spans there, the level's field and a verdict:

- ``served``: the coarsest level on which it spans ``min_cells`` cells and that sees it
  whole (its receptive field is at least the object's side);
- ``undersampled``: it spans at least one cell of the finest level, but fewer than
  ``min_cells``;
- ``lost``: it is smaller than the finest level's stride (under one cell);
- ``beyond field``: every level with enough cells has a field smaller than the object.

Objects are squares; a level with different strides per axis is judged by its coarsest
axis and its smallest field (the conservative reading).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from stridekit.errors import UsageError
from stridekit.layer_record import jsonable
from stridekit.objects import MIN_CELLS, ObjectSizes, cells, level_name
from stridekit.render import Result, table

__all__ = ["ObjectCoverage", "ObjectRow", "PyramidLevel", "object_coverage", "pyramid_level"]

SERVED, UNDERSAMPLED, LOST, BEYOND_FIELD = "served", "undersampled", "lost", "beyond field"


@dataclass(frozen=True)
class PyramidLevel:
    """A map a detector predicts from: its stride in input pixels (the coarsest axis), its
    grid, its receptive field (the smallest axis; None: global) and, when the model
    resizes its input, its stride relative to the resized image."""

    source: str
    stride: Fraction
    grid: tuple[int, ...]
    field: Fraction | None
    stride_resized: Fraction | None = None

    @property
    def name(self) -> str:
        """``P3`` for stride 8 (of the resized image, when the model resizes)."""
        return level_name(self.stride_resized if self.stride_resized is not None else self.stride)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "name": self.name,
                "source": self.source,
                "stride": self.stride,
                "grid": self.grid,
                "receptive_field": self.field,
                "stride_resized": self.stride_resized,
            }
        )


def pyramid_level(
    source: str,
    strides: Sequence[Fraction | int],
    grid: Sequence[int],
    fields: Sequence[Fraction | int] | None,
    strides_resized: Sequence[Fraction | int] | None = None,
) -> PyramidLevel:
    """A level from per-axis numbers: the coarsest stride, the smallest field.

    >>> pyramid_level("p3", (8, 16), (80, 40), (200, 300)).stride
    Fraction(16, 1)
    """
    return PyramidLevel(
        source,
        max(Fraction(s) for s in strides),
        tuple(grid),
        None if fields is None else min(Fraction(f) for f in fields),
        None if strides_resized is None else max(Fraction(s) for s in strides_resized),
    )


@dataclass(frozen=True)
class ObjectRow:
    """One object size: the level that serves it (or comes closest), its cells there."""

    size: int
    level: PyramidLevel
    cells: Fraction
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "size": self.size,
                "level": self.level.name,
                "source": self.level.source,
                "stride": self.level.stride,
                "cells": self.cells,
                "receptive_field": self.level.field,
                "verdict": self.verdict,
            }
        )


def number_text(value: Fraction | None) -> str:
    """``8``, ``3.12`` (two decimals, not exact: the JSON keeps ``25/8``), ``global``.

    >>> number_text(Fraction(25, 8)), number_text(Fraction(8)), number_text(None)
    ('3.12', '8', 'global')
    """
    if value is None:
        return "global"
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.2f}"


def _sees(level: PyramidLevel, size: int) -> bool:
    return level.field is None or level.field >= size


def _assign(size: int, levels: Sequence[PyramidLevel], min_cells: int) -> ObjectRow:
    enough = [lv for lv in levels if cells(size, lv.stride) >= min_cells]
    whole = [lv for lv in enough if _sees(lv, size)]
    if whole:
        level, verdict = whole[-1], SERVED
    elif enough:
        level, verdict = enough[-1], BEYOND_FIELD
    else:
        level = levels[0]
        verdict = LOST if cells(size, level.stride) < 1 else UNDERSAMPLED
    return ObjectRow(size, level, cells(size, level.stride), verdict)


@dataclass(frozen=True)
class ObjectCoverage(Result):
    """Each object size with the level that serves it (see the module docstring).

    >>> from stridekit.objects import parse_objects
    >>> levels = [pyramid_level(f"p{k}", (2**k,) * 2, (640 >> k,) * 2, (900,) * 2)
    ...           for k in (3, 4, 5)]
    >>> coverage = object_coverage(parse_objects("4:64"), levels)
    >>> [(r.size, r.level.name, str(r.cells), r.verdict) for r in coverage.rows]
    ... # 4/8 = 0.5 cell, 8/8 = 1, 16/8 = 2, 32/16 = 2, 64/32 = 2
    [(4, 'P3', '1/2', 'lost'), (8, 'P3', '1', 'undersampled'), (16, 'P3', '2', 'served'), (32, 'P4', '2', 'served'), (64, 'P5', '2', 'served')]
    """  # noqa: E501

    objects: ObjectSizes
    levels: tuple[PyramidLevel, ...]  # ascending stride
    rows: tuple[ObjectRow, ...]
    min_cells: int = MIN_CELLS

    def served_range(self, level: PyramidLevel) -> tuple[Fraction | None, Fraction | None]:
        """The object sides a level would serve, ignoring fields: from ``min_cells`` of its
        cells (None: from the smallest, for the finest level) up to ``min_cells`` cells of
        the next coarser level (None: no end, for the coarsest)."""
        index = self.levels.index(level)
        low = None if index == 0 else self.min_cells * level.stride
        last = index == len(self.levels) - 1
        high = None if last else self.min_cells * self.levels[index + 1].stride
        return low, high

    def unused(self) -> tuple[PyramidLevel, ...]:
        """The levels that serve none of the object sizes."""
        used = {row.level for row in self.rows}
        return tuple(level for level in self.levels if level not in used)

    def to_dict(self) -> dict[str, Any]:
        return {
            "objects": self.objects.to_dict(),
            "min_cells": self.min_cells,
            "levels": [
                {**level.to_dict(), "serves": jsonable(list(self.served_range(level)))}
                for level in self.levels
            ],
            "rows": [row.to_dict() for row in self.rows],
            "unused_levels": [level.name for level in self.unused()],
        }

    def __rich__(self) -> RenderableType:
        rows = (
            (
                str(row.size),
                row.level.name,
                row.level.source,
                number_text(row.level.stride),
                "x".join(map(str, row.level.grid)),
                number_text(row.cells),
                number_text(row.level.field),
                row.verdict,
            )
            for row in self.rows
        )
        columns = ("object px", "level", "map", "stride", "grid", "cells", "field", "verdict")
        title = f"objects by level (served: the coarsest level with >= {self.min_cells} cells)"
        found = table(title, columns, rows, right=("object px", "stride", "cells", "field"))
        unused = self.unused()
        if not unused:
            return found
        names = ", ".join(level.name for level in unused)
        return Group(found, Text(f"levels serving none of these objects: {names}"))


def _distinct(levels: Iterable[PyramidLevel]) -> tuple[PyramidLevel, ...]:
    seen: dict[tuple[Fraction, tuple[int, ...]], PyramidLevel] = {}
    for level in levels:
        seen.setdefault((level.stride, level.grid), level)  # the first: its output's order
    return tuple(sorted(seen.values(), key=lambda level: level.stride))


def object_coverage(
    objects: ObjectSizes, levels: Iterable[PyramidLevel], min_cells: int = MIN_CELLS
) -> ObjectCoverage:
    """Each object size of ``objects`` with the level that serves it (levels of the same
    stride and grid counted once, ordered finest first)."""
    if isinstance(min_cells, bool) or not isinstance(min_cells, int) or min_cells < 1:
        raise UsageError(f"min_cells must be an integer >= 1 (cells per axis), got {min_cells!r}")
    ordered = _distinct(levels)
    if not ordered:
        raise UsageError("no pyramid level to serve the objects: give a map with a stride")
    rows = tuple(_assign(size, ordered, min_cells) for size in objects.sizes)
    return ObjectCoverage(objects, ordered, rows, min_cells)
