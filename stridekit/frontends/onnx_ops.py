"""ONNX → canonical ops: the ONNX frontend's translation table.

A translation sees one node (`OpContext`: its attributes, the shapes of its inputs and
outputs, which inputs are activations, their layouts, constant values) and calls one
canonical op (`stridekit.lowering`); what the op does to the spatial axes, its layout and
its FLOPs are decided there, once for every frontend. Ops without a translation (or in a
custom domain) are `stridekit.lowering.unknown`.

Window ops (Conv, pooling) are lowered without their inferred output shape, so that the
frontend can compare the windows' sizes with ONNX's shape inference (see `onnx.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from math import prod
from typing import Any

import numpy as np
import onnx
from onnx import helper

from stridekit.errors import ModelError
from stridekit.frontends.op_inputs import OpInputs
from stridekit.geometry import Window
from stridekit.geometry.layout import Layout, permute, resize
from stridekit.lowering import (
    Lowered,
    Meta,
    mixing,
    moves,
    other,
    pointwise,
    unknown,
    views,
    windows,
)
from stridekit.lowering.core import dims_of, translation_table

Shape = tuple[int, ...]


@dataclass
class OpContext(OpInputs):
    """What a translation may look at: one node and the facts about its inputs and outputs."""

    node: onnx.NodeProto
    opset: int
    input_shapes: tuple[Shape | None, ...]  # one per node input ('' inputs: None)
    output_shapes: tuple[Shape | None, ...]
    active: tuple[bool, ...]  # which inputs carry activations (depend on the model input)
    layouts: tuple[Layout | None, ...]  # where the spatial axes are in each input
    spatial: int  # how many spatial axes the model input has
    values: Callable[[str], np.ndarray | None] = lambda name: None  # constant lookup
    attributes: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.attributes = {
            attribute.name: helper.get_attribute_value(attribute)
            for attribute in self.node.attribute
        }

    def attr(self, name: str, default: Any = None) -> Any:
        value = self.attributes.get(name, default)
        if not isinstance(value, bytes):
            return value
        try:
            return value.decode()
        except UnicodeDecodeError:  # a damaged file
            raise ModelError(
                f"{self.node.op_type} attribute {name!r} is not UTF-8 text: {value[:20]!r}"
            ) from None

    def value(self, position: int) -> np.ndarray | None:
        """The constant value of input ``position``, or None (absent, or not a constant)."""
        if position >= len(self.node.input) or not self.node.input[position]:
            return None
        if self.active[position]:
            return None
        return self.values(self.node.input[position])

    def ints(self, position: int) -> list[int] | None:
        value = self.value(position)
        return None if value is None else [int(v) for v in np.asarray(value).ravel()]

    def floats(self, position: int) -> list[float] | None:
        value = self.value(position)
        if value is None or value.size == 0:
            return None
        return [float(v) for v in value.ravel()]

    def shape(self, position: int) -> Shape:
        shape = self.input_shapes[position]
        if shape is None:  # guarded by the frontend: activation shapes are always known
            raise ModelError(f"{self.node.op_type} {self.node.name!r}: input shape unknown")
        return shape

    @property
    def out(self) -> Shape:
        shape = self.output_shapes[0]
        return shape if shape is not None else ()


Translation = Callable[[OpContext], Lowered]

# --- windows: conv, pooling, space-to-depth --------------------------------------------

_CONVENTIONS = {"SAME_UPPER": "onnx-upper", "SAME_LOWER": "onnx-lower"}


def _padding(ctx: OpContext, count: int) -> tuple[list[Any], str]:
    """Per-axis padding (pairs, or "same"/"valid") and the convention it is read in."""
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    if not isinstance(auto_pad, str):
        raise ModelError(f"auto_pad is a {type(auto_pad).__name__}, not a string")
    if auto_pad in _CONVENTIONS:
        return ["same"] * count, _CONVENTIONS[auto_pad]
    if auto_pad == "VALID":
        return ["valid"] * count, "torch"
    pads = ctx.attr("pads") or [0] * (2 * count)
    return [(int(pads[a]), int(pads[a + count])) for a in range(count)], "torch"


def _notes(ctx: OpContext, *names: str) -> dict[str, object]:
    found: dict[str, object] = {name: ctx.attr(name) for name in names if name in ctx.attributes}
    if ctx.attr("auto_pad", "NOTSET") in _CONVENTIONS:
        found["convention"] = _CONVENTIONS[ctx.attr("auto_pad")]
    return found


def _conv(weight_position: int) -> Translation:
    def translate(ctx: OpContext) -> Lowered:
        w = ctx.shape(weight_position)
        groups = int(ctx.attr("group", 1))
        x = ctx.x
        if x.shape[1] != w[1] * groups:
            raise ModelError(
                f"input has {x.shape[1]} channels, the weight {w} expects "
                f"{w[1]} × {groups} group(s) = {w[1] * groups}"
            )
        count = len(w) - 2
        kernel = tuple(ctx.attr("kernel_shape") or w[2:])
        padding, convention = _padding(ctx, count)
        lowered = windows.conv(
            x,
            None,
            weight=(*w[:2], *kernel),
            stride=ctx.attr("strides") or 1,
            padding=padding,
            dilation=ctx.attr("dilations") or 1,
            groups=groups,
            convention=convention,
        )
        return _with_notes(lowered, _notes(ctx, "auto_pad", "group"))

    return translate


def _with_notes(lowered: Lowered, notes: dict[str, object]) -> Lowered:
    from dataclasses import replace

    return replace(lowered, notes={**lowered.notes, **notes})


def _conv_transpose(ctx: OpContext) -> Lowered:
    w = ctx.shape(1)
    x = ctx.x
    count = len(w) - 2
    kernel = [int(k) for k in (ctx.attr("kernel_shape") or w[2:])]
    strides = ctx.attr("strides") or [1] * count
    dilations = ctx.attr("dilations") or [1] * count
    extras = list(ctx.attr("output_padding") or [0] * count)
    output_shape = list(ctx.attr("output_shape") or [])[-count:]
    padding, convention = _padding(ctx, count)
    if output_shape:
        # ONNX: total = s·(n−1) + output_padding + e − output_shape, the odd pixel at the
        # end for SAME_UPPER and at the start otherwise; a negative total is more output,
        # i.e. output_padding (PyTorch's name for it)
        padding, convention = [], "torch"
        for axis, n in enumerate(x.shape[2:]):
            s, d, k = int(strides[axis]), int(dilations[axis]), kernel[axis]
            total = s * (n - 1) + extras[axis] + d * (k - 1) + 1 - int(output_shape[axis])
            if total < 0:
                padding.append((0, 0))
                extras[axis] -= total
            elif ctx.attr("auto_pad", "NOTSET") == "SAME_UPPER":
                padding.append((total // 2, total - total // 2))
            else:
                padding.append((total - total // 2, total // 2))
    lowered = windows.conv(
        x,
        None,
        weight=(*w[:2], *kernel),
        stride=strides,
        padding=padding,
        dilation=dilations,
        groups=int(ctx.attr("group", 1)),
        transposed=True,
        output_padding=extras,
        convention=convention,
    )
    notes = _notes(ctx, "auto_pad", "group", "output_padding", "output_shape")
    return _with_notes(lowered, notes)


_POOL_KINDS = {"MaxPool": "max_pool", "AveragePool": "avg_pool", "LpPool": "lp_pool"}


def _pool(ctx: OpContext) -> Lowered:
    count = len(ctx.x.shape) - 2
    if not ctx.attr("kernel_shape"):
        raise ModelError(f"{ctx.node.op_type} has no kernel_shape (the ONNX spec requires one)")
    padding, convention = _padding(ctx, count)
    lowered = windows.pool(
        ctx.x,
        None,
        kind=_POOL_KINDS[ctx.node.op_type],
        kernel=[int(k) for k in ctx.attr("kernel_shape")],
        stride=ctx.attr("strides") or [1] * count,  # ONNX: 1, not the kernel
        padding=padding,
        dilation=ctx.attr("dilations") or 1,
        ceil_mode=bool(ctx.attr("ceil_mode", 0)),
        convention=convention,
        count=count,
    )
    return _with_notes(lowered, _notes(ctx, "auto_pad", "ceil_mode", "count_include_pad"))


# --- pointwise ops and merges -------------------------------------------------------------

ELEMENTWISE = (  # noqa: SIM905
    "Relu LeakyRelu PRelu Elu Selu Celu Gelu ThresholdedRelu Sigmoid HardSigmoid "
    "HardSwish Swish Mish Tanh Softplus Softsign Clip Exp Log Sqrt Abs Neg Reciprocal "
    "Erf Floor Ceil Round Sign Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh "
    "Not IsNaN IsInf BitwiseNot Cast CastLike Identity Dropout Shrink BatchNormalization "
    "InstanceNormalization LayerNormalization GroupNormalization RMSNormalization "
    "LpNormalization MeanVarianceNormalization LRN QuantizeLinear DequantizeLinear "
    "DynamicQuantizeLinear"
).split()
MERGE_ADD = ("Add", "Sub", "Sum", "Mean", "Max", "Min")
MERGE_MUL = (  # noqa: SIM905
    "Mul Div Pow Mod Where And Or Xor Equal Greater GreaterOrEqual Less LessOrEqual "
    "BitShift BitwiseAnd BitwiseOr BitwiseXor"
).split()


def _pointwise(ctx: OpContext) -> Lowered:
    merge = "mul" if ctx.node.op_type in MERGE_MUL else "add"
    return pointwise.elementwise(ctx.inputs, ctx.out, merge=merge)


# --- layout changes: reshape, transpose, gather, split, expand -------------------------


def _transpose(ctx: OpContext) -> Lowered:
    perm = list(ctx.attr("perm") or reversed(range(len(ctx.x.shape))))
    return _with_notes(views.permute(ctx.x, ctx.out, order=perm), {"perm": perm})


def _gather(ctx: OpContext) -> Lowered:
    x = ctx.x
    index_rank = len(ctx.out) - x.rank + 1  # indices of rank q replace one dim by q dims
    return views.select(x, ctx.out, dim=int(ctx.attr("axis", 0)), index_rank=index_rank)


# --- pixels moved without a window: pad, slice, resize ------------------------------------


def _unchanged(ctx: OpContext, op: str) -> Lowered:
    """Fallback when an op's parameters are computed at run time: judge by the shapes."""
    x = ctx.x
    dims = x.axis_dims
    if dims is None:
        return Lowered("elementwise") if x.layout is None else other(reason=f"{op} unknown")
    if all(x.shape[d] == ctx.out[d] for d in dims):
        return Lowered("elementwise", None, x.layout, ctx.out)
    return other(reason=f"{op} with parameters computed at run time")


def _pad(ctx: OpContext) -> Lowered:
    rank = len(ctx.x.shape)
    if ctx.opset >= 11:
        pads = ctx.ints(1)
        axes = ctx.ints(3) or list(range(rank))
    else:
        pads = ctx.attr("pads") or ctx.attr("paddings")
        axes = list(range(rank))
    if pads is None:
        return _unchanged(ctx, "pad")
    count = len(axes)
    per_dim = {a % rank: (int(pads[i]), int(pads[i + count])) for i, a in enumerate(axes)}
    lowered = moves.pad(ctx.x, ctx.out, pads=per_dim, mode=ctx.attr("mode", "constant"))
    return _with_notes(lowered, {"mode": ctx.attr("mode", "constant")})


def _slice(ctx: OpContext) -> Lowered:
    if ctx.opset >= 10:
        starts, ends, axes, steps = ctx.ints(1), ctx.ints(2), ctx.ints(3), ctx.ints(4)
    else:
        starts, ends = ctx.attr("starts"), ctx.attr("ends")
        axes, steps = ctx.attr("axes"), None
    if starts is None or ends is None:
        return _unchanged(ctx, "slice")
    dims = list(axes or range(len(starts)))
    return moves.slice_(
        ctx.x, ctx.out, dims=dims, starts=starts, steps=steps, stops=[int(e) for e in ends]
    )


_RESIZE_MODES = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}


def _resize(ctx: OpContext) -> Lowered:
    rank = len(ctx.x.shape)
    if ctx.node.op_type == "Upsample" or ctx.opset < 11:
        scales = ctx.attr("scales") or ctx.floats(1)
        coordinate, nearest = "asymmetric", "floor"
    else:
        scales = ctx.floats(2)
        coordinate = ctx.attr("coordinate_transformation_mode", "half_pixel")
        nearest = ctx.attr("nearest_mode", "round_prefer_floor")
    axes = [a % rank for a in (ctx.attr("axes") or range(rank))]
    by_dim = dict(zip(axes, scales, strict=False)) if scales else {}
    mode = _RESIZE_MODES.get(ctx.attr("mode", "nearest"), ctx.attr("mode", "nearest"))
    given: list[float | Fraction | None] = [by_dim.get(d) for d in range(2, rank)]
    lowered = moves.resize(
        ctx.x,
        ctx.out,
        mode=mode,
        coordinate=coordinate,
        nearest=nearest,
        scales=given,
        antialias=bool(ctx.attr("antialias", 0)),
    )
    return _with_notes(lowered, {"mode": mode, "coordinate_transformation_mode": coordinate})


# --- ops that mix positions: reductions, softmax, linear layers ---------------------------

REDUCE = (  # noqa: SIM905
    "ReduceMean ReduceMax ReduceMin ReduceSum ReduceProd ReduceL1 ReduceL2 ReduceLogSum "
    "ReduceLogSumExp ReduceSumSquare ArgMax ArgMin"
).split()


def _reduce(ctx: OpContext) -> Lowered:
    rank = len(ctx.x.shape)
    if "axis" in ctx.attributes or ctx.node.op_type in ("ArgMax", "ArgMin"):
        axes: list[int] | None = [int(ctx.attr("axis", 0))]
    elif "axes" in ctx.attributes:
        axes = list(ctx.attr("axes"))
    else:
        axes = ctx.ints(1)
        if axes is None and len(ctx.node.input) > 1 and ctx.node.input[1]:
            return other(reason="reduction axes computed at run time")
    if not axes and ctx.attr("noop_with_empty_axes", 0):
        return Lowered("elementwise", None, ctx.x.layout, ctx.out)
    keep = bool(ctx.attr("keepdims", 1))
    return mixing.reduce(ctx.x, ctx.out, dims=dims_of(axes or None, rank), keepdim=keep)


def _softmax(ctx: OpContext) -> Lowered:
    rank = len(ctx.x.shape)
    if ctx.opset < 13:  # coerced to 2-D: every dim from `axis` on takes part
        dims = list(range(int(ctx.attr("axis", 1)) % rank, rank))
    else:
        dims = [int(ctx.attr("axis", -1)) % rank]
    return mixing.softmax(ctx.x, ctx.out, dims=dims)


def _operand(ctx: OpContext, position: int, transposed: bool) -> tuple[Meta | None, Shape]:
    shape = ctx.shape(position)
    meta = ctx.meta(position) if ctx.active[position] else None
    if transposed:
        shape = (*shape[:-2], shape[-1], shape[-2])
        if meta is not None:
            order = [*range(len(shape) - 2), len(shape) - 1, len(shape) - 2]
            meta = Meta(shape, permute(meta.layout, order), meta.spatial)
    return meta, shape


def _gemm(ctx: OpContext) -> Lowered:
    left, a = _operand(ctx, 0, bool(ctx.attr("transA", 0)))
    right, b = _operand(ctx, 1, bool(ctx.attr("transB", 0)))
    return mixing.matmul(left, right, ctx.out, shapes=(a, b))


def _matmul(ctx: OpContext) -> Lowered:
    left, a = _operand(ctx, 0, False)
    right, b = _operand(ctx, 1, False)
    return mixing.matmul(left, right, ctx.out, shapes=(a, b))


def _einsum(ctx: OpContext) -> Lowered:
    """``Einsum``: two activations meet (attention, ``q·kᵀ`` and ``attn·v``); one activation
    and weights are a linear layer, a 1×1 convolution when no contracted letter holds
    positions. FLOPs as PyTorch counts the products it decomposes to: 2 · the product of
    every letter's size."""
    equation = str(ctx.attr("equation")).replace(" ", "")
    operands, _, result = equation.partition("->")
    letters = operands.split(",")
    sizes: dict[str, int] = {}
    for spec, shape in zip(letters, ctx.input_shapes, strict=False):
        if shape is None or "." in spec:
            return other(reason=f"einsum {equation!r} with unknown shapes or ellipsis")
        sizes.update(zip(spec, shape, strict=True))
    flops = 2 * prod(sizes.values()) if len(letters) > 1 else 0
    active = [p for p, a in enumerate(ctx.active) if a]
    if len(active) != 1:
        return Lowered("attention", None, None, ctx.out, flops)
    x, spec = ctx.meta(active[0]), letters[active[0]]
    contracted = [d for d, letter in enumerate(spec) if letter not in result]
    if x.layout is None or x.mixes(contracted) or not x.positional:
        return Lowered("linear", None, None, ctx.out, flops)
    dims = {letter: x.layout[d] for d, letter in enumerate(spec)}
    layout = resize(tuple(dims.get(letter, ()) for letter in result), ctx.out)
    return Lowered("conv", (Window(1),) * x.spatial, layout, ctx.out, flops)


TRANSLATIONS: dict[str, Translation] = translation_table(
    (("Conv", "ConvInteger"), _conv(1)),
    (("QLinearConv",), _conv(3)),
    (("ConvTranspose",), _conv_transpose),
    (tuple(_POOL_KINDS), _pool),
    (
        ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"),
        lambda ctx: windows.global_pool(ctx.x, ctx.out),
    ),
    (
        ("SpaceToDepth",),
        lambda ctx: windows.space_to_depth(ctx.x, ctx.out, block=int(ctx.attr("blocksize"))),
    ),
    (
        ("DepthToSpace",),
        lambda ctx: windows.depth_to_space(ctx.x, ctx.out, block=int(ctx.attr("blocksize"))),
    ),
    ((*ELEMENTWISE, *MERGE_ADD, *MERGE_MUL), _pointwise),
    (("Concat",), lambda ctx: views.concat(ctx.inputs, ctx.out, dim=int(ctx.attr("axis")))),
    (("Reshape", "Flatten", "Squeeze", "Unsqueeze"), lambda ctx: views.reshape(ctx.x, ctx.out)),
    (("Transpose",), _transpose),
    (("Gather",), _gather),
    (("Split",), lambda ctx: views.split(ctx.x, ctx.out, dim=int(ctx.attr("axis", 0)))),
    (("Expand", "Tile"), lambda ctx: views.expand(ctx.x, ctx.out)),
    (("Pad",), _pad),
    (("Slice",), _slice),
    (("Resize", "Upsample"), _resize),
    (tuple(REDUCE), _reduce),
    (("Softmax", "LogSoftmax", "Hardmax"), _softmax),
    (("Gemm",), _gemm),
    (("MatMul", "MatMulInteger"), _matmul),
    (("Attention", "MultiHeadAttention"), lambda ctx: mixing.attention(ctx.out)),
    (("Einsum",), _einsum),
)


def translate(ctx: OpContext) -> Lowered:
    """Lower one ONNX node; ops without a translation (or in a custom domain) are unknown.

    >>> from onnx import helper
    >>> from stridekit.geometry.layout import standard
    >>> node = helper.make_node("Relu", ["x"], ["y"])
    >>> layout = standard((1, 3, 8, 8), 2)
    >>> translate(OpContext(node, 17, ((1, 3, 8, 8),), ((1, 3, 8, 8),), (True,), (layout,), 2)).kind
    'elementwise'
    """
    node = ctx.node
    translation = TRANSLATIONS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
    if translation is None:
        name = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        return unknown(name)
    return translation(ctx)
