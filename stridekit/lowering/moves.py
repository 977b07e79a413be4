"""Canonical ops that move pixels without a window: resize, pad, slice.

Each spatial axis gets a `Resample` that says what its outputs read and how its size
follows the input size: exact for padding and slicing, an outer bound for interpolation
(`stridekit.geometry.resize_bounds`).

>>> x = Meta.standard((1, 8, 16, 16), spatial=2)
>>> up = resize(x, None, mode="linear", scales=[2, 2])
>>> up.kind, up.shape, up.axes[0].describe()
('upsample', (1, 8, 32, 32), 'linear x2')
>>> pad(x, None, pads={2: (1, 2)}).axes[0].describe()
'pad (1, 2)'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

from stridekit.errors import (
    OutputSizeError,
    UsageError,
)
from stridekit.geometry import Resample, exact_scale, resize_bounds
from stridekit.geometry import layout as lay
from stridekit.geometry.resample import COORDINATES
from stridekit.lowering.core import Lowered, Meta, Shape, other, out_layout, slide


def resize(
    x: Meta,
    out: Shape | None,
    *,
    mode: str = "nearest",
    coordinate: str = "asymmetric",
    nearest: str = "floor",
    scales: Sequence[float | Fraction | None] | None = None,
    sizes: Sequence[int] | None = None,
    antialias: bool = False,
) -> Lowered:
    """Interpolation of the last dims: by ``scales`` (the size follows the input, the
    framework samples with the scale) or to ``sizes`` (fixed; the scale is out/in)."""
    if coordinate not in COORDINATES:
        return other(reason=f"resize with coordinate transformation {coordinate!r}")
    count = len(scales) if scales is not None else len(sizes or ()) or x.rank - 2
    n_in = x.shape[x.rank - count :]
    if out is not None:
        n_out: Sequence[int] = out[len(out) - count :]
    elif sizes is not None:
        n_out = sizes
    else:
        if scales is None or None in scales:
            raise UsageError("resize needs scales or sizes")
        n_out = [int(n * exact_scale(s)) for n, s in zip(n_in, scales, strict=True)]  # type: ignore[arg-type]
    if min(n_out) < 1:
        raise OutputSizeError(f"resize of {tuple(n_in)} gives {tuple(n_out)}: no pixel left")
    maps = []
    for axis, (n, o) in enumerate(zip(n_in, n_out, strict=True)):
        scale = scales[axis] if scales is not None else None
        given = scale is not None and scale > 0
        factor = exact_scale(scale) if given else Fraction(o, n)  # type: ignore[arg-type]
        maps.append(
            resize_bounds(
                factor,
                mode,
                coordinate,
                nearest,
                antialias=antialias,
                n_in=n,
                n_out=o,
                fixed=not given,
            )
        )
    shape = out if out is not None else (*x.shape[: x.rank - count], *n_out)
    return slide(x, "upsample", maps, shape, notes={"mode": mode, "coordinate": coordinate})


def pad(
    x: Meta, out: Shape | None, *, pads: Mapping[int, tuple[int, int]], mode: str = "constant"
) -> Lowered:
    """Padding ``(lo, hi)`` per dim (negative values crop): output ``i`` reads ``i − lo``
    (reflection and replication read a mirrored or repeated real pixel there)."""
    moved = {d % x.rank: p for d, p in pads.items() if p != (0, 0)}
    shape = out or tuple(n + sum(moved.get(d, (0, 0))) for d, n in enumerate(x.shape))
    if min(shape) < 1:
        raise OutputSizeError(f"padding {dict(pads)} crops {x.shape} to nothing")
    layout = x.layout if x.layout is not None else lay.standard(x.shape, x.spatial)
    if layout is None:
        return other(reason="padding a tensor whose spatial axes are unknown")
    maps: dict[int, Resample] = {}
    for dim, (lo, hi) in moved.items():
        axis = lay.axis_of(layout[dim])
        if axis is not None:
            maps[axis] = Resample.pad(lo, hi)
        elif lay.has_positions(layout[dim]):
            return other(reason="padding a dim that merges spatial axes")
    result = lay.resize(layout, shape)
    if not maps:
        return Lowered("elementwise", None, result, shape)
    identity = Resample.identity()
    axes = tuple(maps.get(a, identity) for a in range(x.spatial))
    return Lowered("pad", axes, result, shape, notes={"mode": mode})


def slice_(
    x: Meta,
    out: Shape | None,
    *,
    dims: Sequence[int],
    starts: Sequence[int],
    steps: Sequence[int] | None = None,
    stops: Sequence[int | None] | None = None,
) -> Lowered:
    """``x[..., start:stop:step]`` along each of ``dims``: output ``i`` reads
    ``start + i·step``. A ``stop`` None, negative (from the end) or past the end keeps the
    size following the input; a reversed slice (``step < 0``) mixes positions."""
    steps = steps or [1] * len(dims)
    stops = stops or [None] * len(dims)
    shape = list(x.shape)
    maps: dict[int, Resample] = {}
    for dim, start, step, stop in zip(dims, starts, steps, stops, strict=True):
        dim %= x.rank
        n = x.shape[dim]
        if step < 1:
            return other(reason=f"slice with step {step} reverses an axis")
        start = min(max(start + n if start < 0 else start, 0), n)
        if stop is not None and (stop >= n or stop <= -n):
            stop = None if stop >= n else -n
        end = n if stop is None else (stop + n if stop < 0 else stop)
        shape[dim] = max(0, -(-(end - start) // step))
        if not x.mixes([dim]) or (shape[dim] == n and start == 0 and step == 1):
            continue
        assert x.layout is not None
        axis = lay.axis_of(x.layout[dim])
        if axis is None:
            return other(reason="slicing a dim that merges spatial axes")
        maps[axis] = Resample.step(start, step, stop)
    result = tuple(out) if out is not None else tuple(shape)
    if not maps:
        return Lowered("elementwise", None, out_layout(x, result), result)
    identity = Resample.identity()
    axes = tuple(maps.get(a, identity) for a in range(x.spatial))
    return Lowered("slice", axes, lay.resize(x.layout, result), result)
