"""TFLite → canonical ops: the TFLite frontend's translation table.

A translation sees one operator (`OpContext`: its options, the shapes of its inputs in
TFLite's order, which inputs are activations, their layouts, constant values) and calls
one canonical op of `stridekit.lowering`; what the op does to the spatial axes, its
layout and its FLOPs are decided there, as for every frontend. TFLite keeps activations
channels-last (NHWC): the layouts say where the spatial axes are, so reshapes,
concatenations, reductions and paddings are lowered in TFLite's own order, and the ops
that slide over the trailing dims (convolutions, pooling, resizes, space-to-depth) see
the tensor channels-first (`channels_first`), then hand their answer back channels-last.

Each translation also gives its outputs' shapes (TFLite can be asked for another input
size than the one the file records, so shapes are computed, not read); an operator
without a translation is `stridekit.lowering.unknown` and keeps the shapes the file
records, which hold at the model's own input size only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from math import prod
from typing import Any

import numpy as np

from stridekit.errors import ModelError
from stridekit.frontends.tflite_model import OperatorInfo
from stridekit.geometry.layout import Layout
from stridekit.lowering import Lowered, Meta, mixing, moves, pointwise, unknown, views, windows
from stridekit.lowering.core import translation_table
from stridekit.lowering.cost import matmul_flops

Shape = tuple[int, ...]


def channels_first(rank: int) -> tuple[int, ...]:
    """The order that shows an ``(N, *spatial, C)`` tensor as ``(N, C, *spatial)``.

    >>> channels_first(4), channels_last(4)
    ((0, 3, 1, 2), (0, 2, 3, 1))
    """
    return (0, rank - 1, *range(1, rank - 1))


def channels_last(rank: int) -> tuple[int, ...]:
    return (0, *range(2, rank), 1)


def permuted(items: Sequence[Any], order: Sequence[int]) -> tuple[Any, ...]:
    return tuple(items[o] for o in order)


@dataclass(frozen=True)
class Translated:
    """A lowered op (its layout in TFLite's order) and the shapes of its outputs."""

    lowered: Lowered
    outputs: tuple[Shape, ...]


@dataclass
class OpContext:
    """What a translation may look at: one operator and the facts about its tensors."""

    op: OperatorInfo
    shapes: tuple[Shape | None, ...]  # per input, TFLite's order (None: left out)
    active: tuple[bool, ...]  # which inputs carry activations
    layouts: tuple[Layout | None, ...]
    spatial: int
    values: tuple[np.ndarray | None, ...]  # constant inputs' values, when known
    recorded: tuple[Shape, ...] | None  # the file's output shapes, when they hold

    def opt(self, name: str, default: Any = None) -> Any:
        return self.op.option(name, default)

    def shape(self, position: int) -> Shape:
        shape = self.shapes[position] if position < len(self.shapes) else None
        if shape is None:
            raise ModelError(f"input {position} is missing")
        return shape

    def meta(self, position: int | None = None) -> Meta:
        position = self.first if position is None else position
        return Meta(self.shape(position), self.layouts[position], self.spatial)

    def channels_first(self, position: int | None = None) -> Meta:
        x = self.meta(position)
        order = channels_first(x.rank)
        layout = None if x.layout is None else permuted(x.layout, order)
        return Meta(permuted(x.shape, order), layout, x.spatial)

    def ints(self, position: int) -> list[int] | None:
        if position >= len(self.values) or self.values[position] is None:
            return None
        return [int(v) for v in np.asarray(self.values[position]).ravel()]

    @property
    def first(self) -> int:
        return self.active.index(True)

    @property
    def x(self) -> Meta:
        return self.meta()

    @property
    def inputs(self) -> list[Meta]:
        return [self.meta(p) for p, a in enumerate(self.active) if a]

    def recorded_shapes(self, reason: str) -> tuple[Shape, ...]:
        """The file's output shapes, when they hold at this input size."""
        if self.recorded is None:
            raise ModelError(
                f"{reason}: its output shape at this input size is unknown; analyse the model "
                "at the input size it was converted for"
            )
        return self.recorded


Translation = Callable[[OpContext], Translated]


def _one(lowered: Lowered, shape: Sequence[int]) -> Translated:
    return Translated(lowered, (tuple(int(s) for s in shape),))


def _noted(lowered: Lowered, **notes: object) -> Lowered:
    return replace(lowered, notes={**lowered.notes, **notes})


# --- windows: convolutions, pooling, resizes, space-to-depth (seen channels-first) --------


def _back(ctx: OpContext, lowered: Lowered, **notes: object) -> Translated:
    """A channels-first answer handed back in TFLite's order."""
    if lowered.shape is None:  # the window does not slide over the spatial axes
        return Translated(_noted(lowered, **notes), ctx.recorded_shapes(ctx.op.code))
    order = channels_last(len(lowered.shape))
    layout = None if lowered.layout is None else permuted(lowered.layout, order)
    shape = permuted(lowered.shape, order)
    return _one(replace(lowered, layout=layout, shape=shape, notes={**lowered.notes, **notes}),
                shape)  # fmt: skip


_PADDINGS = {0: "same", 1: "valid"}


def _padding(ctx: OpContext) -> str:
    padding = ctx.opt("Padding", 0)
    if padding not in _PADDINGS:
        raise ModelError(f"padding {padding} is neither SAME (0) nor VALID (1)")
    return _PADDINGS[padding]


def _axes(ctx: OpContext, name: str, count: int, default: int) -> tuple[int, ...]:
    """Per-axis options (``StrideH``, ``StrideW``; 3-D: ``StrideD`` first)."""
    suffixes = ("D", "H", "W")[3 - count :]
    return tuple(int(ctx.opt(name.format(s), default)) for s in suffixes)


def _conv(ctx: OpContext) -> Translated:
    w, x = ctx.shape(1), ctx.channels_first()
    count = x.rank - 2
    if len(w) != count + 2 or count not in (2, 3):
        raise ModelError(f"filter {w} does not fit a {x.rank}-d input")
    if ctx.op.code == "CONV_3D":  # (D, H, W, I, O)
        kernel, c_in, c_out = w[:3], w[3], w[4]
        dilation = _axes(ctx, "Dilation{}Factor", 3, 1)
    else:  # (O, H, W, I)
        kernel, c_in, c_out = w[1:3], w[3], w[0]
        dilation = _axes(ctx, "Dilation{}Factor", 2, 1)
    if c_in < 1 or x.shape[1] % c_in:
        raise ModelError(f"input has {x.shape[1]} channels, the filter {w} reads {c_in} per group")
    lowered = windows.conv(
        x,
        None,
        weight=(c_out, c_in, *kernel),
        stride=_axes(ctx, "Stride{}", count, 1),
        padding=_padding(ctx),
        dilation=dilation,
        groups=x.shape[1] // c_in,
        convention="tf",
    )
    return _back(ctx, lowered, padding=_padding(ctx).upper(), convention="tf")


def _depthwise(ctx: OpContext) -> Translated:
    w, x = ctx.shape(1), ctx.channels_first()  # filter (1, H, W, C·multiplier)
    if len(w) != 4 or x.rank != 4 or w[3] % max(x.shape[1], 1):
        raise ModelError(f"depthwise filter {w} does not fit input channels {x.shape[1]}")
    lowered = windows.conv(
        x,
        None,
        weight=(w[3], 1, w[1], w[2]),
        stride=_axes(ctx, "Stride{}", 2, 1),
        padding=_padding(ctx),
        dilation=_axes(ctx, "Dilation{}Factor", 2, 1),
        groups=x.shape[1],
        convention="tf",
    )
    return _back(ctx, lowered, padding=_padding(ctx).upper(), convention="tf", depthwise=True)


def _transpose_conv(ctx: OpContext) -> Translated:
    """Inputs: the output shape, the filter ``(O, H, W, I)``, the input, a bias.

    TFLite pads as the forward convolution from the output back to the input would:
    SAME gives ``total = max((ceil(o/s) − 1)·s + k − o, 0)``, ``lo = total // 2``; the
    output holds ``o`` pixels, so the end is cropped by ``(n − 1)·s + k − lo − o`` (a
    negative crop is ``output_padding``, pixels no window reaches)."""
    w, x = ctx.shape(1), ctx.channels_first(2)
    sizes = ctx.ints(0)
    if sizes is None:
        sizes = list(ctx.recorded_shapes("TRANSPOSE_CONV with a computed output shape")[0])
    if len(w) != 4 or x.rank != 4 or len(sizes) != 4:
        raise ModelError(f"filter {w} and output shape {sizes} do not fit input {x.shape}")
    strides = _axes(ctx, "Stride{}", 2, 1)
    same = _padding(ctx) == "same"
    pads, extras = [], []
    for n, o, k, s in zip(x.shape[2:], sizes[1:3], w[1:3], strides, strict=True):
        s = max(s, 1)
        total = max((-(-o // s) - 1) * s + k - o, 0) if same else 0
        lo = total // 2
        hi = (n - 1) * s + k - lo - o
        pads.append((lo, max(hi, 0)))
        extras.append(max(-hi, 0))
    lowered = windows.conv(
        x,
        None,
        weight=(x.shape[1], w[0], w[1], w[2]),
        stride=strides,
        padding=pads,
        transposed=True,
        output_padding=extras,
    )
    return _back(ctx, lowered, padding=_padding(ctx).upper(), output_shape=list(sizes))


_POOLS = {"MAX_POOL_2D": "max_pool", "AVERAGE_POOL_2D": "avg_pool", "L2_POOL_2D": "lp_pool"}


def _pool(ctx: OpContext) -> Translated:
    lowered = windows.pool(
        ctx.channels_first(),
        None,
        kind=_POOLS[ctx.op.code],
        kernel=[int(ctx.opt("FilterHeight", 1)), int(ctx.opt("FilterWidth", 1))],
        stride=list(_axes(ctx, "Stride{}", 2, 1)),
        padding=_padding(ctx),
        convention="tf",
        count=2,
    )
    return _back(ctx, lowered, padding=_padding(ctx).upper(), convention="tf")


def _resize(ctx: OpContext) -> Translated:
    sizes = ctx.ints(1)
    if sizes is None:
        recorded = ctx.recorded_shapes(f"{ctx.op.code} to a computed size")[0]
        sizes = list(recorded[1:-1])
    align, half = bool(ctx.opt("AlignCorners", False)), bool(ctx.opt("HalfPixelCenters", False))
    nearest = ctx.op.code == "RESIZE_NEAREST_NEIGHBOR"
    if align:  # TF rounds the aligned coordinate (half away from zero)
        coordinate, rounding = "align_corners", "round_prefer_ceil" if nearest else "floor"
    elif half:
        coordinate, rounding = ("tf_half_pixel_for_nn" if nearest else "half_pixel"), "floor"
    else:
        coordinate, rounding = "asymmetric", "floor"
    lowered = moves.resize(
        ctx.channels_first(),
        None,
        mode="nearest" if nearest else "linear",
        coordinate=coordinate,
        nearest=rounding,
        sizes=sizes,
    )
    return _back(ctx, lowered)


def _block(kind: str) -> Translation:
    def translate(ctx: OpContext) -> Translated:
        block = int(ctx.opt("BlockSize", 0))
        if block < 1:
            raise ModelError(f"block size {block} must be >= 1")
        rule = windows.space_to_depth if kind == "space" else windows.depth_to_space
        return _back(ctx, rule(ctx.channels_first(), None, block=block))

    return translate


# --- pointwise ops and merges ------------------------------------------------------------

UNARY = (  # noqa: SIM905
    "RELU RELU6 RELU_N1_TO_1 RELU_0_TO_1 LOGISTIC TANH HARD_SWISH LEAKY_RELU PRELU ELU GELU "
    "QUANTIZE DEQUANTIZE CAST ABS NEG EXP LOG SQRT RSQRT SQUARE SIN COS FLOOR CEIL ROUND "
    "SIGN L2_NORMALIZATION LOCAL_RESPONSE_NORMALIZATION LOGICAL_NOT ZEROS_LIKE ONES_LIKE "
    "FAKE_QUANT IDENTITY"
).split()
MERGE_ADD = "ADD SUB ADD_N MAXIMUM MINIMUM SQUARED_DIFFERENCE".split()  # noqa: SIM905
MERGE_MUL = (  # noqa: SIM905
    "MUL DIV FLOOR_DIV FLOOR_MOD POW SELECT SELECT_V2 LOGICAL_AND LOGICAL_OR EQUAL "
    "NOT_EQUAL GREATER GREATER_EQUAL LESS LESS_EQUAL"
).split()


def _broadcast(shapes: Sequence[Shape | None]) -> Shape:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*[s for s in shapes if s is not None]))
    except ValueError:
        raise ModelError(f"shapes {[s for s in shapes if s]} do not broadcast") from None


def _pointwise(ctx: OpContext) -> Translated:
    out = _broadcast(ctx.shapes)
    merge = "mul" if ctx.op.code in MERGE_MUL else "add"
    return _one(pointwise.elementwise(ctx.inputs, out, merge=merge), out)


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
    return _one(views.reshape(ctx.x, out), out)


def _reshape(ctx: OpContext) -> Translated:
    wanted = ctx.ints(1) if len(ctx.shapes) > 1 and ctx.shapes[1] is not None else None
    if wanted is None and ctx.op.option("NewShape"):
        wanted = list(ctx.op.option("NewShape"))
    return _reshape_to(ctx, wanted)


def _squeeze(ctx: OpContext) -> Translated:
    shape = ctx.x.shape
    dims = {d % len(shape) for d in ctx.opt("SqueezeDims", ())} or {
        d for d, n in enumerate(shape) if n == 1
    }
    return _reshape_to(ctx, [n for d, n in enumerate(shape) if d not in dims or n != 1])


def _expand_dims(ctx: OpContext) -> Translated:
    axis = (ctx.ints(1) or [None])[0]
    if axis is None:
        return _reshape_to(ctx, None)
    shape = list(ctx.x.shape)
    shape.insert(axis % (len(shape) + 1), 1)
    return _reshape_to(ctx, shape)


def _transpose(ctx: OpContext) -> Translated:
    order = ctx.ints(1)
    if order is None or sorted(order) != list(range(ctx.x.rank)):
        raise ModelError(f"permutation {order} does not fit rank {ctx.x.rank}")
    out = permuted(ctx.x.shape, order)
    return _one(views.permute(ctx.x, out, order=order), out)


def _concat(ctx: OpContext) -> Translated:
    rank = len(ctx.shape(ctx.first))
    axis = int(ctx.opt("Axis", 0)) % rank
    shapes = [s for s in ctx.shapes if s is not None]
    if any(len(s) != rank or s[:axis] + s[axis + 1 :] != shapes[0][:axis] + shapes[0][axis + 1 :]
           for s in shapes):  # fmt: skip
        raise ModelError(f"shapes {shapes} do not concatenate along axis {axis}")
    out = (*shapes[0][:axis], sum(s[axis] for s in shapes), *shapes[0][axis + 1 :])
    return _one(views.concat(ctx.inputs, out, dim=axis), out)


def _pack(ctx: OpContext) -> Translated:
    shape = ctx.shape(ctx.first)
    axis = int(ctx.opt("Axis", 0)) % (len(shape) + 1)
    out = (*shape[:axis], len(ctx.shapes), *shape[axis:])
    return _one(views.concat(ctx.inputs, out, dim=axis, stack=True), out)


def _split(ctx: OpContext) -> Translated:
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


def _unpack(ctx: OpContext) -> Translated:
    x = ctx.x
    axis = int(ctx.opt("Axis", 0)) % x.rank
    out = (*x.shape[:axis], *x.shape[axis + 1 :])
    return Translated(views.select(x, out, dim=axis), (out,) * x.shape[axis])


def _gather(ctx: OpContext) -> Translated:
    if not ctx.active[0]:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes("GATHER of a table"))
    x, indices = ctx.x, ctx.shape(1)
    axis = int(ctx.opt("Axis", 0)) % x.rank
    out = (*x.shape[:axis], *indices, *x.shape[axis + 1 :])
    return _one(views.select(x, out, dim=axis, index_rank=len(indices)), out)


def _tile(ctx: OpContext) -> Translated:
    given = ctx.ints(1)
    if given is None:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes(ctx.op.code))
    x = ctx.x
    if ctx.op.code == "TILE":
        out = tuple(n * m for n, m in zip(x.shape, given, strict=True))
    else:
        out = _broadcast([x.shape, tuple(given)])
    return _one(views.expand(x, out), out)


# --- pixels moved without a window: pad, slices -------------------------------------------

_MIRROR = {0: "reflect", 1: "symmetric"}


def _pad(ctx: OpContext) -> Translated:
    x = ctx.x
    pads = ctx.ints(1)
    if pads is None or len(pads) != 2 * x.rank:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes("PAD by computed amounts"))
    per_dim = {d: (pads[2 * d], pads[2 * d + 1]) for d in range(x.rank)}
    out = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, per_dim.values(), strict=True))
    mode = _MIRROR.get(int(ctx.opt("Mode", 0)), "reflect") if ctx.op.code == "MIRROR_PAD" else "constant"
    return _one(_noted(moves.pad(x, out, pads=per_dim, mode=mode), mode=mode), out)


def _slice(ctx: OpContext) -> Translated:
    x = ctx.x
    begin, size = ctx.ints(1), ctx.ints(2)
    if begin is None or size is None or len(begin) != x.rank or len(size) != x.rank:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes("SLICE by computed bounds"))
    stops: list[int | None] = [None if s == -1 else b + s for b, s in zip(begin, size, strict=True)]
    out = tuple(len(range(n)[b:e]) for n, b, e in zip(x.shape, begin, stops, strict=True))
    return _one(moves.slice_(x, out, dims=list(range(x.rank)), starts=begin, stops=stops), out)


def _strided_slice(ctx: OpContext) -> Translated:
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
    steps, full = [], []
    for d, n in enumerate(x.shape):
        if d >= len(begin):
            starts.append(None), stops.append(None), steps.append(1)
        elif shrink >> d & 1:
            start = begin[d] + n if begin[d] < 0 else begin[d]
            starts.append(start), stops.append(start + 1), steps.append(1)
        else:
            starts.append(None if begin_mask >> d & 1 else begin[d])
            stops.append(None if end_mask >> d & 1 else end[d])
            steps.append(strides[d])
        if steps[-1] == 0:
            raise ModelError("a strided slice with stride 0")
        full.append(len(range(n)[starts[-1] : stops[-1] : steps[-1]]))
    out = tuple(s for d, s in enumerate(full) if not shrink >> d & 1)
    if any(step < 0 for step in steps):
        lowered = moves.slice_(x, tuple(full), dims=list(range(x.rank)), starts=[0] * x.rank,
                               steps=steps)  # fmt: skip
        return _one(lowered, out)
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
    return _one(lowered, out)


# --- ops that mix positions: reductions, softmax, linear layers ---------------------------

REDUCE = "MEAN SUM REDUCE_MAX REDUCE_MIN REDUCE_PROD REDUCE_ANY REDUCE_ALL".split()  # noqa: SIM905


def _reduce(ctx: OpContext) -> Translated:
    x = ctx.x
    axes = ctx.ints(1)
    if axes is None:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes("a reduction over computed axes"))
    dims = sorted({a % x.rank for a in axes})
    keep = bool(ctx.opt("KeepDims", False))
    out = tuple(1 if d in dims else n for d, n in enumerate(x.shape)) if keep else tuple(
        n for d, n in enumerate(x.shape) if d not in dims
    )
    return _one(mixing.reduce(x, out, dims=dims, keepdim=keep), out)


def _arg(ctx: OpContext) -> Translated:
    x = ctx.x
    axis = (ctx.ints(1) or [None])[0]
    if axis is None:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes("an arg-reduction"))
    axis %= x.rank
    out = tuple(n for d, n in enumerate(x.shape) if d != axis)
    return _one(mixing.reduce(x, out, dims=[axis], keepdim=False), out)


def _softmax(ctx: OpContext) -> Translated:
    x = ctx.x
    return _one(mixing.softmax(x, x.shape, dims=[x.rank - 1]), x.shape)


def _fully_connected(ctx: OpContext) -> Translated:
    """``x`` seen as rows of ``K`` (TFLite flattens every leading dim) times the weights
    ``(units, K)``; with ``KeepNumDims`` the leading dims stay."""
    x, w = ctx.x, ctx.shape(1)
    if len(w) != 2 or w[1] < 1 or prod(x.shape) % w[1]:
        raise ModelError(f"weights {w} do not fit input {x.shape}")
    if not ctx.active[0]:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes("FULLY_CONNECTED"))
    rows = (prod(x.shape) // w[1], w[1])
    if ctx.opt("KeepNumDims", False) and x.shape[-1] == w[1]:
        rows, out = x.shape, (*x.shape[:-1], w[0])
    else:
        out = (rows[0], w[0])
    flat = views.reshape(x, rows) if rows != x.shape else Lowered("elementwise", None, x.layout)
    lowered = mixing.matmul(Meta(rows, flat.layout, x.spatial), None, out, shapes=(rows, w[::-1]))
    return _one(lowered, out)


def _batch_matmul(ctx: OpContext) -> Translated:
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
    out = (*_broadcast([a[:-2], b[:-2]]), a[-2], b[-1])
    lowered = mixing.matmul(left, right, out, shapes=(a, b))
    return _one(replace(lowered, flops=matmul_flops(a, out)), out)


TRANSLATIONS: dict[str, Translation] = translation_table(
    (("CONV_2D", "CONV_3D"), _conv),
    (("DEPTHWISE_CONV_2D",), _depthwise),
    (("TRANSPOSE_CONV",), _transpose_conv),
    (tuple(_POOLS), _pool),
    (("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"), _resize),
    (("SPACE_TO_DEPTH",), _block("space")),
    (("DEPTH_TO_SPACE",), _block("depth")),
    ((*UNARY, *MERGE_ADD, *MERGE_MUL), _pointwise),
    (("RESHAPE",), _reshape),
    (("SQUEEZE",), _squeeze),
    (("EXPAND_DIMS",), _expand_dims),
    (("TRANSPOSE",), _transpose),
    (("CONCATENATION",), _concat),
    (("PACK",), _pack),
    (("SPLIT", "SPLIT_V"), _split),
    (("UNPACK",), _unpack),
    (("GATHER",), _gather),
    (("TILE", "BROADCAST_TO"), _tile),
    (("PAD", "PADV2", "MIRROR_PAD"), _pad),
    (("SLICE",), _slice),
    (("STRIDED_SLICE",), _strided_slice),
    (tuple(REDUCE), _reduce),
    (("ARG_MAX", "ARG_MIN"), _arg),
    (("SOFTMAX", "LOG_SOFTMAX"), _softmax),
    (("FULLY_CONNECTED",), _fully_connected),
    (("BATCH_MATMUL",), _batch_matmul),
)


def translate(ctx: OpContext) -> Translated:
    """Lower one operator; an operator without a translation is unknown, and keeps the
    output shapes the file records.

    >>> from stridekit.frontends.tflite_model import OperatorInfo
    >>> from stridekit.geometry.layout import permute, standard
    >>> op = OperatorInfo(0, "MAX_POOL_2D", (0,), (1,), {"Padding": 0, "StrideH": 2,
    ...                   "StrideW": 2, "FilterHeight": 3, "FilterWidth": 3})
    >>> nhwc = permute(standard((1, 8, 7, 7), 2), (0, 2, 3, 1))  # (1, 7, 7, 8)
    >>> done = translate(OpContext(op, ((1, 7, 7, 8),), (True,), (nhwc,), 2, (None,), None))
    >>> done.outputs, done.lowered.axes[0].describe()   # SAME: ceil(7/2) = 4, pads 6+3-7=2
    (((1, 4, 4, 8),), 'k=3 s=2 p=(1,1)')
    """
    translation = TRANSLATIONS.get(ctx.op.code)
    if translation is None:
        return Translated(unknown(ctx.op.code), ctx.recorded_shapes(f"operator {ctx.op.code}"))
    return translation(ctx)
