"""TFLite → canonical ops, the ops that move dims or mix positions: reshapes, transposes,
concatenations, splits, gathers, paddings, slices, reductions, softmax and linear layers.

They are lowered in TFLite's own order (NHWC): the layouts say where the spatial axes
are. Each computes its outputs' shapes from its inputs' (a constant shape, size or
padding is read from the file or from the folded shape arithmetic); where it cannot, the
shapes the file records are kept, which hold at the model's own input size only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from math import prod

from stridekit.errors import ModelError
from stridekit.frontends.tflite_context import (
    OpContext,
    Shape,
    Translated,
    broadcast,
    noted,
    one,
    permuted,
)
from stridekit.lowering import Lowered, Meta, mixing, moves, unknown, views
from stridekit.lowering.cost import matmul_flops

# --- layout changes: reshape, transpose, concatenation, split, gather ---------------------


def _reshape_to(ctx: OpContext, wanted: Sequence[int] | None) -> Translated:
    x = ctx.x
    if wanted is None:
        return _reshaped(ctx, ctx.recorded_shapes(f"{ctx.op.code} to a computed shape")[0])
    out = [int(v) for v in wanted]
    total = prod(x.shape)
    known = prod(v for v in out if v != -1)
    if out.count(-1) == 1 and known:
        out[out.index(-1)] = total // known
    if prod(out) != total or min(out, default=1) < 0:
        raise ModelError(
            f"a fixed shape {tuple(wanted)} cannot hold input {x.shape}; the file was converted "
            "for another input size"
        )
    return _reshaped(ctx, tuple(out))


def _reshaped(ctx: OpContext, out: Shape) -> Translated:
    return one(views.reshape(ctx.x, out), out)


def reshape(ctx: OpContext) -> Translated:
    wanted = ctx.ints(1) if len(ctx.shapes) > 1 and ctx.shapes[1] is not None else None
    if wanted is None and ctx.op.option("NewShape"):
        wanted = list(ctx.op.option("NewShape"))
    return _reshape_to(ctx, wanted)


def squeeze(ctx: OpContext) -> Translated:
    shape = ctx.x.shape
    dims = {d % len(shape) for d in ctx.opt("SqueezeDims", ())} or {
        d for d, n in enumerate(shape) if n == 1
    }
    return _reshape_to(ctx, [n for d, n in enumerate(shape) if d not in dims or n != 1])


def expand_dims(ctx: OpContext) -> Translated:
    values = ctx.ints(1)
    if not values:
        return _reshape_to(ctx, None)
    axis = values[0]
    shape = list(ctx.x.shape)
    shape.insert(axis % (len(shape) + 1), 1)
    return _reshape_to(ctx, shape)


def transpose(ctx: OpContext) -> Translated:
    order = ctx.ints(1)
    if order is None or sorted(order) != list(range(ctx.x.rank)):
        raise ModelError(f"permutation {order} does not fit rank {ctx.x.rank}")
    out = permuted(ctx.x.shape, order)
    return one(views.permute(ctx.x, out, order=order), out)


def concat(ctx: OpContext) -> Translated:
    rank = len(ctx.shape(ctx.first))
    axis = int(ctx.opt("Axis", 0)) % rank
    shapes = [s for s in ctx.shapes if s is not None]
    if any(
        len(s) != rank or s[:axis] + s[axis + 1 :] != shapes[0][:axis] + shapes[0][axis + 1 :]
        for s in shapes
    ):
        raise ModelError(f"shapes {shapes} do not concatenate along axis {axis}")
    out = (*shapes[0][:axis], sum(s[axis] for s in shapes), *shapes[0][axis + 1 :])
    return one(views.concat(ctx.inputs, out, dim=axis), out)


def pack(ctx: OpContext) -> Translated:
    shape = ctx.shape(ctx.first)
    axis = int(ctx.opt("Axis", 0)) % (len(shape) + 1)
    out = (*shape[:axis], len(ctx.shapes), *shape[axis:])
    return one(views.concat(ctx.inputs, out, dim=axis, stack=True), out)


def split(ctx: OpContext) -> Translated:
    if ctx.op.code == "SPLIT":  # inputs: axis, x
        axis_values, x = ctx.ints(0), ctx.meta(1)
        pieces = int(ctx.opt("NumSplits", len(ctx.op.outputs)))
    else:  # SPLIT_V: x, sizes, axis
        axis_values, x = ctx.ints(2), ctx.meta(0)
        pieces = 0
    if axis_values is None:
        raise ModelError("the split axis is not a constant")
    axis = axis_values[0] % x.rank
    if ctx.op.code == "SPLIT":
        if pieces < 1 or x.shape[axis] % pieces:
            raise ModelError(f"{x.shape[axis]} does not split into {pieces} equal pieces")
        sizes = [x.shape[axis] // pieces] * pieces
    else:
        given = ctx.ints(1)
        if given is None:
            raise ModelError("the split sizes are not constants")
        sizes = [x.shape[axis] - (sum(given) + 1) if s == -1 else s for s in given]
    outs = tuple((*x.shape[:axis], s, *x.shape[axis + 1 :]) for s in sizes)
    return Translated(views.split(x, outs[0], dim=axis), outs)


def unpack(ctx: OpContext) -> Translated:
    x = ctx.x
    axis = int(ctx.opt("Axis", 0)) % x.rank
    out = (*x.shape[:axis], *x.shape[axis + 1 :])
    return Translated(views.select(x, out, dim=axis), (out,) * x.shape[axis])


def gather(ctx: OpContext) -> Translated:
    if not ctx.active[0]:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes("GATHER of a table"))
    x, indices = ctx.x, ctx.shape(1)
    axis = int(ctx.opt("Axis", 0)) % x.rank
    out = (*x.shape[:axis], *indices, *x.shape[axis + 1 :])
    return one(views.select(x, out, dim=axis, index_rank=len(indices)), out)


def tile(ctx: OpContext) -> Translated:
    given = ctx.ints(1)
    if given is None:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes(ctx.op.code))
    x = ctx.x
    if ctx.op.code == "TILE":
        out = tuple(n * m for n, m in zip(x.shape, given, strict=True))
    else:
        out = broadcast([x.shape, tuple(given)])
    return one(views.expand(x, out), out)


# --- pixels moved without a window: pad, slices -------------------------------------------

_MIRROR = {0: "reflect", 1: "symmetric"}


def pad(ctx: OpContext) -> Translated:
    x = ctx.x
    pads = ctx.ints(1)
    if pads is None or len(pads) != 2 * x.rank:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes("PAD by computed amounts"))
    per_dim = {d: (pads[2 * d], pads[2 * d + 1]) for d in range(x.rank)}
    out = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, per_dim.values(), strict=True))
    mode = (
        _MIRROR.get(int(ctx.opt("Mode", 0)), "reflect")
        if ctx.op.code == "MIRROR_PAD"
        else "constant"
    )
    return one(noted(moves.pad(x, out, pads=per_dim, mode=mode), mode=mode), out)


def slice_(ctx: OpContext) -> Translated:
    x = ctx.x
    begin, size = ctx.ints(1), ctx.ints(2)
    if begin is None or size is None or len(begin) != x.rank or len(size) != x.rank:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes("SLICE by computed bounds"))
    stops: list[int | None] = [None if s == -1 else b + s for b, s in zip(begin, size, strict=True)]
    out = tuple(len(range(n)[b:e]) for n, b, e in zip(x.shape, begin, stops, strict=True))
    return one(moves.slice_(x, out, dims=list(range(x.rank)), starts=begin, stops=stops), out)


def strided_slice(ctx: OpContext) -> Translated:
    """``x[begin:end:strides]`` with TF's masks: a set bit of ``BeginMask``/``EndMask``
    takes the whole range on that side, of ``ShrinkAxisMask`` drops the dim (one index)."""
    x = ctx.x
    begin, end, strides = ctx.ints(1), ctx.ints(2), ctx.ints(3) or [1] * x.rank
    unsupported = ctx.opt("EllipsisMask", 0) or ctx.opt("NewAxisMask", 0) or ctx.opt("Offset")
    if begin is None or end is None or unsupported or len(begin) > x.rank:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes("this STRIDED_SLICE"))
    begin_mask, end_mask = int(ctx.opt("BeginMask", 0)), int(ctx.opt("EndMask", 0))
    shrink = int(ctx.opt("ShrinkAxisMask", 0))
    starts: list[int | None] = []
    stops: list[int | None] = []
    steps: list[int] = []
    full: list[int] = []
    for d, n in enumerate(x.shape):
        if d >= len(begin):
            start, stop, step = None, None, 1
        elif shrink >> d & 1:
            start = begin[d] + n if begin[d] < 0 else begin[d]
            stop, step = start + 1, 1
        else:
            start = None if begin_mask >> d & 1 else begin[d]
            stop = None if end_mask >> d & 1 else end[d]
            step = strides[d] if d < len(strides) else 1
        starts.append(start)
        stops.append(stop)
        steps.append(step)
        if steps[-1] == 0:
            raise ModelError("a strided slice with stride 0")
        full.append(len(range(n)[starts[-1] : stops[-1] : steps[-1]]))
    out = tuple(s for d, s in enumerate(full) if not shrink >> d & 1)
    if any(step < 0 for step in steps):
        lowered = moves.slice_(
            x, tuple(full), dims=list(range(x.rank)), starts=[0] * x.rank, steps=steps
        )
        return one(lowered, out)
    # a start None reads from 0, a stop None to the end (slice_ clamps the rest)
    lowered = moves.slice_(
        x,
        tuple(full),
        dims=list(range(x.rank)),
        starts=[0 if s is None else s for s in starts],
        steps=steps,
        stops=stops,
    )
    if out != tuple(full) and lowered.layout is not None:
        dropped = views.reshape(Meta(tuple(full), lowered.layout, x.spatial), out)
        lowered = replace(lowered, layout=dropped.layout, shape=out)
    return one(lowered, out)


# --- ops that mix positions: reductions, softmax, linear layers ---------------------------

REDUCE = "MEAN SUM REDUCE_MAX REDUCE_MIN REDUCE_PROD REDUCE_ANY REDUCE_ALL".split()  # noqa: SIM905


def reduce(ctx: OpContext) -> Translated:
    x = ctx.x
    axes = ctx.ints(1)
    if axes is None:
        return Translated(
            unknown(ctx.op.code), ctx.recorded_shapes("a reduction over computed axes")
        )
    dims = sorted({a % x.rank for a in axes})
    keep = bool(ctx.opt("KeepDims", False))
    out = (
        tuple(1 if d in dims else n for d, n in enumerate(x.shape))
        if keep
        else tuple(n for d, n in enumerate(x.shape) if d not in dims)
    )
    return one(mixing.reduce(x, out, dims=dims, keepdim=keep), out)


def arg(ctx: OpContext) -> Translated:
    x = ctx.x
    values = ctx.ints(1)
    if not values:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes("an arg-reduction"))
    axis = values[0] % x.rank
    out = tuple(n for d, n in enumerate(x.shape) if d != axis)
    return one(mixing.reduce(x, out, dims=[axis], keepdim=False), out)


def softmax(ctx: OpContext) -> Translated:
    x = ctx.x
    return one(mixing.softmax(x, x.shape, dims=[x.rank - 1]), x.shape)


def fully_connected(ctx: OpContext) -> Translated:
    """``x`` seen as rows of ``K`` (TFLite flattens every leading dim) times the weights
    ``(units, K)``; with ``KeepNumDims`` the leading dims stay."""
    if not ctx.active[0]:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes("FULLY_CONNECTED"))
    x, w = ctx.x, ctx.shape(1)
    if len(w) != 2 or w[1] < 1 or prod(x.shape) % w[1]:
        raise ModelError(f"weights {w} do not fit input {x.shape}")
    rows: tuple[int, ...] = (prod(x.shape) // w[1], w[1])
    if ctx.opt("KeepNumDims", False) and x.shape[-1] == w[1]:
        rows, out = x.shape, (*x.shape[:-1], w[0])
    else:
        out = (rows[0], w[0])
    flat = views.reshape(x, rows) if rows != x.shape else Lowered("elementwise", None, x.layout)
    lowered = mixing.matmul(Meta(rows, flat.layout, x.spatial), None, out, shapes=(rows, w[::-1]))
    return one(lowered, out)


def batch_matmul(ctx: OpContext) -> Translated:
    operands: list[tuple[Meta | None, Shape]] = []
    for position, flag in ((0, "AdjX"), (1, "AdjY")):
        shape = ctx.shape(position)
        meta = ctx.meta(position) if ctx.active[position] else None
        if ctx.opt(flag, False):
            order = views.swap(len(shape), -1, -2)
            shape = permuted(shape, order)
            if meta is not None:
                lowered = views.permute(meta, shape, order=order)
                meta = Meta(shape, lowered.layout, meta.spatial)
        operands.append((meta, shape))
    (left, a), (right, b) = operands
    out = (*broadcast([a[:-2], b[:-2]]), a[-2], b[-1])
    lowered = mixing.matmul(left, right, out, shapes=(a, b))
    return one(replace(lowered, flops=matmul_flops(a, out)), out)
