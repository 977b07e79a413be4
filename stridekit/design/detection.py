"""The planner for detection: which pyramid levels a backbone should expose for objects of
given sizes, and the explanation per object size.

One level per octave of object size, by the criterion of `stridekit.objects` (FPN's
assignment, Lin et al. 2017, eq. 1, with the canonical object spanning ``MIN_CELLS``
cells): an object of side ``w`` is served by the stride ``2^⌊log2(w/min_cells)⌋``, so the
levels are those strides for the sizes asked, the coarsest is the output stride, and the
field of the last layer must cover the largest object. The planner then places the
strides (`stridekit.design.plan`) so that every level appears; `plan_levels` reads each
level from a plan (the last layer at its stride: the map a pyramid taps) and
`stridekit.object_coverage` explains each object size on it.

>>> from stridekit.objects import parse_objects
>>> pyramid_strides(parse_objects("8:256"), 640)        # 8/2 = 4, ..., 256/2 = 128
(4, 8, 16, 32, 64, 128)
>>> c = detection_constraints(parse_objects("16:64"), 256)
>>> c.levels, c.output_stride, c.min_rf
((8, 16, 32), 32, 64)
"""

from __future__ import annotations

from collections.abc import Sequence

from stridekit.design.plan import Constraints, Plan
from stridekit.errors import UsageError
from stridekit.object_coverage import (
    ObjectCoverage,
    PyramidLevel,
    object_coverage,
    pyramid_level,
)
from stridekit.objects import MIN_CELLS, ObjectSizes, serving_stride

__all__ = ["detection_constraints", "plan_coverage", "plan_levels", "pyramid_strides"]


def pyramid_strides(
    objects: ObjectSizes, input_size: int, min_cells: int = MIN_CELLS
) -> tuple[int, ...]:
    """The strides of the levels that serve ``objects``: one per octave of object size.
    Objects larger than the input do not fit in it: a `UsageError`."""
    largest = objects.sizes[-1]
    if largest > input_size:
        raise UsageError(
            f"--objects {objects.text}: objects of {largest} px do not fit in a "
            f"{input_size}-px input; give sizes up to {input_size} or a larger --input"
        )
    return tuple(sorted({serving_stride(size, min_cells) for size in objects.sizes}))


def detection_constraints(
    objects: ObjectSizes,
    input_size: int,
    min_cells: int = MIN_CELLS,
    base: Constraints | None = None,
) -> Constraints:
    """The detection preset for objects of the sizes given: their levels (`pyramid_strides`)
    must appear, the coarsest is the output stride, and the last layer's field covers the
    largest object (``base``'s other settings are kept)."""
    strides = pyramid_strides(objects, input_size, min_cells)
    preset = base if base is not None else Constraints()
    return Constraints(
        **{
            **preset.__dict__,
            "output_stride": strides[-1],
            "levels": strides,
            "min_rf": objects.sizes[-1],
        }
    )


def plan_levels(plan: Plan, strides: Sequence[int]) -> list[PyramidLevel]:
    """The level of each stride in a plan: its last layer at that stride (``conv{i}``, as
    in the plan's spec and graph), with its grid and field.

    >>> from stridekit.design.plan import Layer, plan as make_plan
    >>> net = [Layer(3, 16), Layer(3, 32), Layer(3, 64)]
    >>> best = make_plan(net, 64, Constraints(output_stride=4, levels=(2, 4)))[0]
    >>> [(lv.source, lv.stride, lv.grid, lv.field) for lv in plan_levels(best, (2, 4))]
    [('conv0', Fraction(2, 1), (32, 32), Fraction(3, 1)), ('conv2', Fraction(4, 1), (16, 16), Fraction(15, 1))]
    """  # noqa: E501
    levels = []
    for stride in strides:
        index = max(i for i, step in enumerate(plan.steps) if step.jump == stride)
        step = plan.steps[index]
        levels.append(
            pyramid_level(f"conv{index}", (stride,) * 2, (step.output_size,) * 2, (step.rf,) * 2)
        )
    return levels


def plan_coverage(
    plan: Plan,
    objects: ObjectSizes,
    strides: Sequence[int],
    min_cells: int = MIN_CELLS,
) -> ObjectCoverage:
    """Each object size on the plan's levels: the level, its cells and field."""
    return object_coverage(objects, plan_levels(plan, strides), min_cells)
