"""The doctor for detection: object sizes against a model's pyramid levels (``--objects``).

The levels are read from `Analysis.outputs`: every pyramid level of the outputs that have
levels (YOLO's Detect, RetinaNet, SSD, the RPN of Faster R-CNN); when none has levels,
every output that is a map (a backbone's feature maps, a segmenter's logits) is a level.
Each object size goes to the level that serves it (`stridekit.object_coverage`, by the
criterion of `stridekit.objects`: the coarsest level on which it spans ``min_cells``
cells and that sees it whole), and the rules below judge the result, each with the fix
in numbers.

>>> from stridekit.object_coverage import object_coverage, pyramid_level
>>> from stridekit.objects import parse_objects
>>> levels = [pyramid_level(f"p{k}", (2**k,) * 2, (640 >> k,) * 2, (900,) * 2)
...           for k in (3, 4, 5)]
>>> found = object_findings(object_coverage(parse_objects("4:32"), levels))
>>> [(f.code, f.severity.value, f.data.get("sizes")) for f in found]
[('objects-lost', 'warning', [4]), ('objects-undersampled', 'info', [8]), ('level-unused', 'info', None)]
>>> print(found[0].fix)     # 4 px at stride 2: 2 cells; 8 → 2 is two octaves
add a level at stride 2 (P1, 2 octaves finer than P3): objects of 4 px then span 2 cells; its map is 320x320, 16x the positions of P3's
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from stridekit.doctor.finding import Finding, Severity
from stridekit.layer_record import jsonable
from stridekit.object_coverage import (
    BEYOND_FIELD,
    LOST,
    UNDERSAMPLED,
    ObjectCoverage,
    ObjectRow,
    PyramidLevel,
    number_text,
    pyramid_level,
)
from stridekit.objects import cells, level_name

if TYPE_CHECKING:
    from stridekit.analysis import Analysis

__all__ = ["OBJECT_RULES", "model_levels", "object_findings"]

OBJECT_RULES = {
    "objects-lost": "objects smaller than the finest level's stride: under one cell",
    "objects-undersampled": "objects spanning fewer cells of the finest level than a level serves",
    "objects-beyond-field": "objects larger than the field of every level with enough cells",
    "level-unused": "a pyramid level that serves none of the object sizes",
}


def model_levels(analysis: Analysis) -> tuple[PyramidLevel, ...]:
    """The pyramid levels of a model's outputs (see the module docstring); a one-line
    `ModelError` when no output holds positions."""
    outputs = analysis.spatial_outputs()
    with_levels = [o for o in outputs if o.levels]
    if with_levels:
        return tuple(
            pyramid_level(lv.source, lv.stride, lv.grid, lv.receptive_field, lv.stride_resized)
            for output in with_levels
            for lv in output.levels
        )
    return tuple(
        pyramid_level(
            o.node,
            o.stride or (),
            analysis.graph[o.node].spatial_shape,
            o.receptive_field,
            o.stride_resized,
        )
        for o in outputs
    )


def _sizes_text(rows: Sequence[ObjectRow]) -> str:
    return ", ".join(str(row.size) for row in rows) + " px"


def _cells(value: Fraction) -> str:
    return f"{number_text(value)} cell" + ("" if value == 1 else "s")


def _finer_level(row: ObjectRow, min_cells: int) -> str:
    """The octaves below the finest level at which the smallest object spans ``min_cells``
    cells (no finer than one cell per pixel the network sees: stride 1 of the resized
    image, when the model resizes): the stride, its name, its grid and its cost in
    positions, and the upsampling still needed when stride 1 is not fine enough."""
    finest = row.level
    own = finest.stride_resized if finest.stride_resized is not None else finest.stride
    octaves = 0
    while cells(row.size, finest.stride / 2**octaves) < min_cells and own / 2 ** (octaves + 1) >= 1:
        octaves += 1
    stride = finest.stride / 2**octaves
    spanned = cells(row.size, stride)
    upsample = Fraction(min_cells) / spanned  # the object must grow this much on the input
    more = f"{min_cells} cells need the input upsampled {number_text(upsample)}x"
    if octaves == 0:
        return (
            f"{finest.name} already has a cell per pixel: {more} (objects of {row.size} px "
            f"span {_cells(spanned)} of {finest.name})"
        )
    name = level_name(own / 2**octaves)
    grid = "x".join(str(n * 2**octaves) for n in finest.grid)
    span = "one octave" if octaves == 1 else f"{octaves} octaves"
    label = f"{name}, " if name.startswith("P") else ""
    text = (
        f"add a level at stride {number_text(stride)} ({label}{span} finer than {finest.name}): "
        f"objects of {row.size} px then span {_cells(spanned)}; its map is {grid}, "
        f"{4**octaves}x the positions of {finest.name}'s"
    )
    return text if spanned >= min_cells else f"{text}; {more}"


def _small(coverage: ObjectCoverage, verdict: str) -> Finding | None:
    rows = [row for row in coverage.rows if row.verdict == verdict]
    if not rows:
        return None
    finest = rows[0].level
    spans = ", ".join(number_text(row.cells) for row in rows)
    spans += " cell" if all(row.cells == 1 for row in rows) else " cells"
    where = f"{finest.name} (stride {number_text(finest.stride)}, {_grid(finest)})"
    if verdict == LOST:
        code, severity = "objects-lost", Severity.warning
        message = (
            f"objects of {_sizes_text(rows)} are smaller than the stride of the finest level "
            f"{where}: {spans}, so at some offsets no position falls inside them"
        )
    else:
        code, severity = "objects-undersampled", Severity.info
        message = (
            f"objects of {_sizes_text(rows)} span {spans} of the finest level {where}, "
            f"fewer than the {coverage.min_cells} a level serves"
        )
    data = {
        "sizes": [row.size for row in rows],
        "cells": [str(row.cells) for row in rows],
        "level": finest.name,
        "stride": str(finest.stride),
        "min_cells": coverage.min_cells,
    }
    return Finding(
        code, severity, finest.source, message, _finer_level(rows[0], coverage.min_cells), data
    )


def _grid(level: PyramidLevel) -> str:
    return "x".join(map(str, level.grid))


def _beyond_field(coverage: ObjectCoverage) -> Finding | None:
    rows = [row for row in coverage.rows if row.verdict == BEYOND_FIELD]
    if not rows:
        return None
    # the widest field, the coarsest level among equals (a max-pooled P6 sees what P5 sees)
    widest = max(
        (lv for lv in coverage.levels if lv.field is not None),
        key=lambda lv: (lv.field or 0, lv.stride),
    )
    field = widest.field or Fraction(0)
    largest = rows[-1].size
    coarser = level_name(
        2 * (widest.stride_resized if widest.stride_resized is not None else widest.stride)
    )
    message = (
        f"objects of {_sizes_text(rows)} are larger than the field of every level on which "
        f"they span {coverage.min_cells} cells: the widest is {number_text(field)} px "
        f"({widest.name})"
    )
    fix = (
        f"a level that sees {largest} px whole: add a coarser level ({coarser}, stride "
        f"{number_text(2 * widest.stride)}) or widen the last stage's field by "
        f"{number_text(largest - field)} px (larger kernels or dilation)"
    )
    data = {"sizes": [row.size for row in rows], "level": widest.name, "field": str(field)}
    return Finding("objects-beyond-field", Severity.warning, widest.source, message, fix, data)


def _range_text(low: Fraction | None, high: Fraction | None) -> str:
    if low is None and high is None:
        return "every size"
    if low is None:
        return f"objects under {number_text(high)} px"
    if high is None:
        return f"objects of {number_text(low)} px and larger"
    return f"objects of {number_text(low)} px up to {number_text(high)} px"


def _unused(coverage: ObjectCoverage) -> list[Finding]:
    found = []
    sizes = coverage.objects.sizes
    for level in coverage.unused():
        low, high = coverage.served_range(level)
        serves = _range_text(low, high)
        message = (
            f"{level.name} (stride {number_text(level.stride)}, {_grid(level)}) serves none of "
            f"the objects ({sizes[0]}–{sizes[-1]} px): it would serve {serves}"
        )
        fix = (
            f"drop {level.name} and its head to save their compute, or include {serves} in "
            "the objects"
        )
        data = {"level": level.name, "serves": jsonable([low, high])}
        found.append(Finding("level-unused", Severity.info, level.source, message, fix, data))
    return found


def object_findings(coverage: ObjectCoverage) -> list[Finding]:
    """The findings of the object rules (`OBJECT_RULES`) on a coverage."""
    found = [_small(coverage, LOST), _small(coverage, UNDERSAMPLED), _beyond_field(coverage)]
    return [f for f in found if f is not None] + _unused(coverage)
