"""Merges of branches with different cumulative strides: a resampled gate, or an accident.

Two branches merged position by position whose fields have different jumps do not read
the same grid. Whether that matters depends on two facts, both from the algebra:

- **Do the sizes match only at this input?** The size plan (`stridekit.passes.sizes.SizePlan`)
  says how each branch's size follows the input size. Branches that grow at different
  rates (a stride-2 branch beside a valid 5x5 conv) are equal at a few sizes at most: the
  finding names another input size at which they differ, where the model cannot run. A
  branch resized to the other's size (``F.interpolate(x, size=y.shape[-2:])``) follows it
  at every size: not an accident.
- **How far apart are the grids?** Output ``m`` of a branch with jump ``J`` and centre
  ``c`` looks at ``m·J + c``; between two branches the offset ``m·(J₁ − J₂) + (c₁ − c₂)``
  is linear in ``m``, so its extremes over the merged map are at its two ends. A branch
  pooled to a coarser grid, transformed and resized back (GhostNetV2's DFC attention, a
  gate at a coarser grid) is off by less than one pixel of the coarsest grid it passed
  through: a gate, an ``info`` with the offset in input pixels. Farther apart than that,
  the same position gathers unrelated places: an ``error``.

>>> from dataclasses import replace
>>> from stridekit.analysis import analyze
>>> from stridekit.doctor import doctor
>>> from stridekit.geometry import Resample, Sizing, Window
>>> from stridekit.graph import Graph, Node
>>> g = Graph(input_shape=(1, 8, 7, 7))
>>> pool = Window(2, 2)                       # 7 → floor((7 − 2)/2) + 1 = 3
>>> _ = g.add(Node("pool", "avg_pool", ("input",), ((1, 8, 7, 7),), (1, 8, 3, 3), (pool,) * 2))
>>> back = replace(Resample.nearest(Fraction(7, 3)), sizing=Sizing(follows="input"))
>>> _ = g.add(Node("up", "upsample", ("pool",), ((1, 8, 3, 3),), (1, 8, 7, 7), (back,) * 2))
>>> _ = g.add(Node("gate", "mul", ("input", "up"), ((1, 8, 7, 7),) * 2, (1, 8, 7, 7)))
>>> [(f.severity.value, f.data["coarse_stride"]) for f in doctor(analyze(g)).findings
...  if f.code == "misaligned-merge"]
[('info', '2')]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from typing import TYPE_CHECKING

from stridekit.doctor.finding import Finding, Severity
from stridekit.geometry import Field
from stridekit.passes.sizes import SizePlan

if TYPE_CHECKING:
    from stridekit.analysis import Analysis

# sizes searched on each side of the analysed one for a counter-example
NEAREST_SEARCH = 64


@dataclass(frozen=True)
class Accident:
    """Another input size at which a merge's branches differ in size on one axis."""

    input: int
    sizes: tuple[int, int]


def find_accident(plan: SizePlan, merge: str, n: int) -> Accident | None:
    """The input size nearest ``n`` at which ``merge``'s branches differ in size, when
    they grow at different rates; preferring a size that is otherwise valid (no tensor
    drops a pixel and every other merge fits). Past the plan's period every check
    repeats, so ``n ± period`` is otherwise as valid as ``n`` and always a candidate."""
    checks = [c for c in plan.merges if c.name == merge and c.drift]
    if not checks:
        return None
    period = plan.period
    near = range(max(1, n - NEAREST_SEARCH), n + NEAREST_SEARCH + 1)
    candidates = sorted({*near, n + period, n - period} - {n}, key=lambda m: (abs(m - n), m))
    fallback = None
    for m in candidates:
        if m < 1:
            continue
        sizes = plan.sizes(m)
        if sizes is None:
            continue
        differing = [c for c in checks if sizes[c.first] != sizes[c.other]]
        if not differing:
            continue
        found = Accident(m, (sizes[differing[0].first], sizes[differing[0].other]))
        others_fit = all(
            sizes[c.first] == sizes[c.other] for c in plan.merges if not c.drift
        ) and not plan.drops_at(sizes)
        if others_fit:
            return found
        fallback = fallback or found
    return fallback


def coarsest_stride(analysis: Analysis, branch: str, split: str, axis: int) -> Fraction:
    """The largest jump of a tensor with positions on ``branch``'s path since ``split``:
    the grid a resampled gate was computed on (its own jump once resized back)."""
    graph, fields = analysis.graph, analysis.field_result.fields
    path = graph.ancestors(branch) - graph.ancestors(split)
    jumps = [
        fields[name][axis].jump
        for name in path | {branch}
        if graph[name].has_positions and len(fields.get(name, ())) > axis
    ]
    return max(jumps)


def grid_offsets(first: Field, second: Field, size: int) -> tuple[Fraction, Fraction]:
    """The smallest and largest offset, in input pixels, between the centres two
    branches give the same output index, over the ``size`` positions of the merged map.

    >>> grid_offsets(Field(jump=32), Field(jump=Fraction(192, 7), lo=-16, hi=0), 7)
    (Fraction(8, 1), Fraction(248, 7))
    """
    ends = [m * (first.jump - second.jump) + first.centre - second.centre for m in (0, size - 1)]
    return min(ends), max(ends)


def stride_mismatch(
    analysis: Analysis, name: str, split: str, plans: Callable[[int], SizePlan | None]
) -> Iterator[Finding]:
    """The verdict, per axis, on the merge ``name`` whose branches' jumps differ; the
    branches split at ``split``."""
    graph, fields = analysis.graph, analysis.field_result.fields
    branches = analysis.field_result.mismatched[name]
    for axis, size in enumerate(graph[name].spatial_shape):
        per_branch = [fields[b][axis] for b in branches]
        if len({f.jump for f in per_branch}) == 1:
            continue
        strides = [str(f.jump) for f in per_branch]
        shown = ", ".join(strides)
        n = analysis.input_shape[2 + axis]
        plan = plans(axis)
        accident = find_accident(plan, name, n) if plan is not None else None
        if accident is not None:
            yield Finding(
                "misaligned-merge",
                Severity.error,
                name,
                f"the branches merged at {name} have cumulative strides {shown} on axis "
                f"{axis}: their sizes match at input {n} only by accident; at input "
                f"{accident.input} they are {accident.sizes[0]} and {accident.sizes[1]} "
                "pixels and the model cannot run",
                "resize one branch to the other's size (F.interpolate(x, size=y.shape[-2:])) "
                "or give both branches the same stride",
                {
                    "axis": axis,
                    "strides": strides,
                    "input": n,
                    "other_input": accident.input,
                    "other_sizes": list(accident.sizes),
                },
            )
            continue
        ranges = [grid_offsets(a, b, size) for a, b in combinations(per_branch, 2)]
        lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
        largest = max(abs(lo), abs(hi))
        coarse = max(coarsest_stride(analysis, b, split, axis) for b in branches)
        data = {
            "axis": axis,
            "strides": strides,
            "offset": [str(lo), str(hi)],
            "largest_offset": str(largest),
            "coarse_stride": str(coarse),
        }
        where = (
            f"the branches merged at {name} have cumulative strides {shown} on axis {axis}; "
            f"their field centres are {lo} to {hi} input pixels apart across the map"
        )
        if largest > coarse:
            yield Finding(
                "misaligned-merge",
                Severity.error,
                name,
                f"{where}, more than one pixel of the coarsest grid either branch passed "
                f"through (stride {coarse}): the same position gathers unrelated places",
                "resample one branch so both have the same cumulative stride and centre",
                data,
            )
            continue
        yield Finding(
            "misaligned-merge",
            Severity.info,
            name,
            f"{where}, within one pixel of the stride-{coarse} grid a branch was computed on: "
            "a gate resampled to the other branch's size, not a misaligned merge",
            "nothing to change: a gate computed at a coarser grid is meant to be coarse",
            data,
        )
