"""ONNX rules for the ops that move pixels without a window: Pad, Slice, Resize/Upsample.

Each spatial axis gets a `Resample`: exact for padding (a shift) and strided slicing, an
outer bound for interpolation (see `resample_bounds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from stridekit.frontends.onnx_context import Lowered, OpContext, register
from stridekit.geometry.resample import COORDINATES, MODES, exact_scale, resize_bounds
from stridekit.graph import AxisMap, Resample


def _ints(array: np.ndarray | Sequence[int] | None) -> list[int] | None:
    return None if array is None else [int(v) for v in np.asarray(array).ravel()]


def _unchanged(ctx: OpContext, op: str) -> Lowered:
    """Fallback when an op's parameters are computed at run time: judge by the shapes."""
    layout = ctx.layout
    if layout is None:
        return Lowered("elementwise")
    if all(ctx.x_shape[d] == ctx.out_shape[d] for d in layout):
        return Lowered(op, layout=layout)
    return Lowered("other")


@register("Pad")
def _pad(ctx: OpContext) -> Lowered:
    rank = len(ctx.x_shape)
    if ctx.opset >= 11:
        pads = _ints(ctx.value(1))
        axes = _ints(ctx.value(3)) or list(range(rank))
    else:
        pads = ctx.attr("pads") or ctx.attr("paddings")
        axes = list(range(rank))
    layout = ctx.layout
    if pads is None or layout is None:
        return _unchanged(ctx, "pad")
    count = len(axes)
    begin = {a % rank: int(pads[i]) for i, a in enumerate(axes)}
    # pad lo before pixel 0: output i reads input i − lo (negative lo crops)
    maps = tuple(Resample.shift(-begin.get(d, 0)) for d in layout)
    ends = {a % rank: int(pads[i + count]) for i, a in enumerate(axes)}
    spatial = [(begin.get(d, 0), ends.get(d, 0)) for d in layout]
    return Lowered(
        "pad", maps, layout, attributes={"mode": ctx.attr("mode", "constant"), "pads": spatial}
    )


@register("Slice")
def _slice(ctx: OpContext) -> Lowered:
    rank = len(ctx.x_shape)
    if ctx.opset >= 10:
        starts, ends = _ints(ctx.value(1)), _ints(ctx.value(2))
        axes, steps = _ints(ctx.value(3)), _ints(ctx.value(4))
    else:
        starts, ends = ctx.attr("starts"), ctx.attr("ends")
        axes, steps = ctx.attr("axes"), None
    layout = ctx.layout
    if starts is None or ends is None or layout is None:
        return _unchanged(ctx, "slice")
    axes = [a % rank for a in (axes or range(len(starts)))]
    steps = steps or [1] * len(axes)
    by_dim = {
        a: (int(start), int(step)) for a, start, step in zip(axes, starts, steps, strict=True)
    }
    maps: list[AxisMap] = []
    for d in layout:
        start, step = by_dim.get(d, (0, 1))
        if step < 0:
            return Lowered("other", attributes={"steps": steps})  # reverses an axis
        n = ctx.x_shape[d]
        start = min(max(start + n if start < 0 else start, 0), n)
        maps.append(Resample.step(start, step))  # output i reads input start + i·step
    moved = any(m != Resample.step(0, 1) for m in maps) or any(
        ctx.x_shape[d] != ctx.out_shape[d] for d in layout
    )
    return Lowered("slice", tuple(maps) if moved else None, layout)


def resample_bounds(
    n_in: int,
    n_out: int,
    scale: Fraction,
    mode: str,
    coordinate_mode: str,
    nearest_mode: str = "floor",
    antialias: bool = False,
    fixed: bool = False,
) -> Resample | None:
    """The bounds of a Resize (`stridekit.geometry.resize_bounds`), or None if unknown.

    >>> resample_bounds(4, 8, Fraction(2), "nearest", "asymmetric") == Resample.nearest(2)
    True
    """
    if coordinate_mode not in COORDINATES or mode not in MODES:
        return None  # tf_crop_and_resize depends on the region of interest
    return resize_bounds(
        scale,
        mode,
        coordinate_mode,
        nearest_mode,
        antialias=antialias,
        n_in=n_in,
        n_out=n_out,
        fixed=fixed,
    )


@register("Resize", "Upsample")
def _resize(ctx: OpContext) -> Lowered:
    layout = ctx.layout
    if layout is None:
        return Lowered("other")
    rank = len(ctx.x_shape)
    if ctx.node.op_type == "Upsample" or ctx.opset < 11:
        scales = ctx.attr("scales") or _floats(ctx.value(1))
        coordinate_mode, nearest_mode = "asymmetric", "floor"
    else:
        scales = _floats(ctx.value(2))
        coordinate_mode = ctx.attr("coordinate_transformation_mode", "half_pixel")
        nearest_mode = ctx.attr("nearest_mode", "round_prefer_floor")
    axes = [a % rank for a in (ctx.attr("axes") or range(rank))]
    by_dim = dict(zip(axes, scales, strict=False)) if scales else {}
    mode = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}.get(
        ctx.attr("mode", "nearest"), ctx.attr("mode", "nearest")
    )
    maps = []
    for d in layout:
        n_in, n_out = ctx.x_shape[d], ctx.out_shape[d]
        scale = exact_scale(by_dim[d]) if d in by_dim else Fraction(n_out, n_in)
        bounds = resample_bounds(
            n_in,
            n_out,
            scale,
            mode,
            coordinate_mode,
            nearest_mode,
            bool(ctx.attr("antialias", 0)),
            fixed=d not in by_dim,
        )
        if bounds is None:
            return Lowered("other", attributes={"coordinate_transformation_mode": coordinate_mode})
        maps.append(bounds)
    attributes = {"mode": mode, "coordinate_transformation_mode": coordinate_mode}
    return Lowered("upsample", tuple(maps), layout, attributes=attributes)


def _floats(array: np.ndarray | None) -> list[float] | None:
    if array is None or array.size == 0:
        return None
    return [float(v) for v in array.ravel()]
