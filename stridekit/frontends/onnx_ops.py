"""The ONNX frontend's op rules: one pure function per ONNX op type, in a registry.

A rule sees one node (`OpContext`) and says what the op does to the spatial axes: its
kind (`stridekit.graph.OP_KINDS`), one `Window` or `Resample` per spatial axis (or none
when it moves no pixels), the layout of its output, and its FLOPs with the formulas of
``torch.utils.flop_counter`` (a multiply-add counts two, bias is not counted, a
transposed conv is counted over its input positions). Padding, slicing and resizing live
in `stridekit.frontends.onnx_resample`. Ops without a rule lower to ``other``, which the
fields pass treats as mixing every position.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from stridekit.errors import ModelError
from stridekit.frontends import onnx_resample  # noqa: F401  (registers Pad, Slice, Resize)
from stridekit.frontends.onnx_context import (
    RULES,
    Layout,
    Lowered,
    OpContext,
    Rule,
    register,
    shifted_layout,
)
from stridekit.frontends.onnx_layout import Digits, regroup, settle
from stridekit.geometry import Window, resolve_padding
from stridekit.graph import Resample


def lower(context: OpContext) -> Lowered:
    """Lower one ONNX node; ops without a rule (or in a custom domain) become ``other``.

    >>> from onnx import helper
    >>> node = helper.make_node("Relu", ["x"], ["y"])
    >>> from stridekit.frontends.onnx_layout import standard_digits
    >>> state = standard_digits((1, 3, 8, 8), (2, 3))
    >>> lower(OpContext(node, 17, ((1, 3, 8, 8),), ((1, 3, 8, 8),), (True,), (state,), 2)).op
    'elementwise'
    """
    rule = RULES.get(context.node.op_type) if context.node.domain in ("", "ai.onnx") else None
    if rule is None:
        return Lowered("other")
    return rule(context)


# --- windows: conv, pooling, space-to-depth --------------------------------------------

_CONVENTIONS = {"SAME_UPPER": "onnx-upper", "SAME_LOWER": "onnx-lower"}


def _windows(
    ctx: OpContext, kernel: Sequence[int], *, transposed: bool = False, ceil_mode: bool = False
) -> tuple[Window, ...]:
    spatial = ctx.x_shape[2:]
    rank = len(spatial)
    strides = ctx.attr("strides") or [1] * rank
    dilations = ctx.attr("dilations") or [1] * rank
    pads = ctx.attr("pads") or [0] * (2 * rank)
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    output_paddings = ctx.attr("output_padding") or [0] * rank
    output_shape = list(ctx.attr("output_shape") or [])[-rank:] if transposed else []
    convention = _CONVENTIONS.get(auto_pad)
    windows = []
    for axis, n in enumerate(spatial):
        k, s, d = int(kernel[axis]), int(strides[axis]), int(dilations[axis])
        extra = int(output_paddings[axis]) if transposed else 0
        if output_shape:
            # ONNX: total = s·(n−1) + output_padding + e − output_shape, the odd pixel at
            # the end for SAME_UPPER and at the start otherwise; a negative total is more
            # output, i.e. output_padding (PyTorch's name for it)
            total = s * (n - 1) + extra + d * (k - 1) + 1 - int(output_shape[axis])
            if total < 0:
                pad, extra = (0, 0), extra - total
            elif auto_pad == "SAME_UPPER":
                pad = (total // 2, total - total // 2)
            else:
                pad = (total - total // 2, total // 2)
        elif convention is not None:
            pad = resolve_padding(
                "same",
                n,
                k,
                s,
                d,
                convention=convention,
                transposed=transposed,
                output_padding=extra,
            )
        elif auto_pad == "VALID":
            pad = (0, 0)
        else:
            pad = (int(pads[axis]), int(pads[axis + rank]))
        windows.append(
            Window(k, s, d, pad, ceil_mode=ceil_mode, transposed=transposed, output_padding=extra)
        )
    return tuple(windows)


def _attributes(ctx: OpContext, *names: str) -> dict[str, object]:
    found: dict[str, object] = {name: ctx.attr(name) for name in names if name in ctx.attributes}
    convention = _CONVENTIONS.get(ctx.attr("auto_pad", "NOTSET"))
    if convention is not None:
        found["convention"] = convention
    return found


def _conv_rule(weight: int) -> Rule:
    def rule(ctx: OpContext) -> Lowered:
        w = ctx.input_shapes[weight]
        if w is None:
            raise ModelError(f"{ctx.node.op_type} {ctx.node.name!r}: weight shape unknown")
        kernel = ctx.attr("kernel_shape") or w[2:]
        groups = int(ctx.attr("group", 1))
        if ctx.x_shape[1] != w[1] * groups:
            raise ModelError(
                f"input has {ctx.x_shape[1]} channels, the weight {w} expects "
                f"{w[1]} × {groups} group(s) = {w[1] * groups}"
            )
        # conv_flop_count: 2 · N · Cout · (Cin/groups) · prod(kernel) · prod(output spatial)
        flops = 2 * ctx.x_shape[0] * prod(w) * prod(ctx.out_shape[2:])
        return Lowered(
            "conv",
            _windows(ctx, kernel),
            tuple(range(2, len(ctx.x_shape))),
            flops,
            _attributes(ctx, "auto_pad", "group"),
        )

    return rule


register("Conv", "ConvInteger")(_conv_rule(1))
register("QLinearConv")(_conv_rule(3))


@register("ConvTranspose")
def _conv_transpose(ctx: OpContext) -> Lowered:
    w = ctx.input_shapes[1]
    if w is None:
        raise ModelError(f"ConvTranspose {ctx.node.name!r}: weight shape unknown")
    kernel = ctx.attr("kernel_shape") or w[2:]
    # transposed: 2 · N · Cin · (Cout/groups) · prod(kernel) · prod(INPUT spatial)
    flops = 2 * ctx.x_shape[0] * prod(w) * prod(ctx.x_shape[2:])
    return Lowered(
        "conv_transpose",
        _windows(ctx, kernel, transposed=True),
        tuple(range(2, len(ctx.x_shape))),
        flops,
        _attributes(ctx, "auto_pad", "group", "output_padding", "output_shape"),
    )


_POOL_KINDS = {"MaxPool": "max_pool", "AveragePool": "avg_pool", "LpPool": "lp_pool"}


@register(*_POOL_KINDS)
def _pool(ctx: OpContext) -> Lowered:
    windows = _windows(ctx, ctx.attr("kernel_shape"), ceil_mode=bool(ctx.attr("ceil_mode", 0)))
    return Lowered(
        _POOL_KINDS[ctx.node.op_type],
        windows,
        tuple(range(2, len(ctx.x_shape))),
        attributes=_attributes(ctx, "auto_pad", "ceil_mode", "count_include_pad"),
    )


@register("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
def _global_pool(ctx: OpContext) -> Lowered:
    return Lowered("global_pool", layout=tuple(range(2, len(ctx.x_shape))))


@register("SpaceToDepth")
def _space_to_depth(ctx: OpContext) -> Lowered:
    b = int(ctx.attr("blocksize"))
    axes = tuple(Window(b, b) for _ in ctx.x_shape[2:])  # output i reads [i·b, i·b + b − 1]
    return Lowered("pixel_unshuffle", axes, tuple(range(2, len(ctx.x_shape))))


@register("DepthToSpace")
def _depth_to_space(ctx: OpContext) -> Lowered:
    b = int(ctx.attr("blocksize"))
    axes = tuple(Resample.nearest(b) for _ in ctx.x_shape[2:])  # output i reads floor(i/b)
    return Lowered("pixel_shuffle", axes, tuple(range(2, len(ctx.x_shape))))


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


def _broadcast_layout(ctx: OpContext) -> Layout:
    """The layout of a broadcasting op: that of its highest-rank activation input."""
    out_rank = len(ctx.out_shape)
    candidates = [
        (len(shape), layout)
        for shape, layout, active in zip(ctx.input_shapes, ctx.layouts, ctx.active, strict=True)
        if active and shape is not None and layout is not None
    ]
    if not candidates:
        return None
    rank, layout = max(candidates, key=lambda item: item[0])
    return shifted_layout(layout, out_rank - rank)


@register(*ELEMENTWISE, *MERGE_ADD, *MERGE_MUL)
def _pointwise(ctx: OpContext) -> Lowered:
    merged = sum(ctx.active)
    op = "elementwise"
    if merged > 1:
        op = "add" if ctx.node.op_type in MERGE_ADD else "mul"
    if ctx.layout is None and ctx.x_shape == ctx.out_shape and merged == 1:
        return Lowered(op, state=ctx.state)  # half-way through a space-to-depth: keep digits
    return Lowered(op, layout=_broadcast_layout(ctx))


@register("Concat")
def _concat(ctx: OpContext) -> Lowered:
    axis = int(ctx.attr("axis")) % len(ctx.x_shape)
    layout = ctx.layout
    if layout is not None and axis in layout:
        return Lowered("other", attributes={"axis": axis})  # concatenation along a spatial axis
    return Lowered("concat" if sum(ctx.active) > 1 else "elementwise", layout=layout)


# --- layout changes: reshape, transpose, gather, split, expand -------------------------


@register("Reshape", "Flatten", "Squeeze", "Unsqueeze")
def _reshape(ctx: OpContext) -> Lowered:
    if ctx.state is None:  # positions are already gone; nothing left to destroy
        return Lowered("elementwise")
    digits = regroup(ctx.state, ctx.out_shape)
    if digits is None:
        return Lowered("flatten")
    return _settled(ctx, digits)


@register("Transpose")
def _transpose(ctx: OpContext) -> Lowered:
    perm = list(ctx.attr("perm") or reversed(range(len(ctx.x_shape))))
    if ctx.state is None:
        return Lowered("elementwise", attributes={"perm": perm})
    return _settled(ctx, tuple(ctx.state[p] for p in perm), {"perm": perm})


def _settled(
    ctx: OpContext, digits: Digits, attributes: dict[str, object] | None = None
) -> Lowered:
    settled = settle(digits, ctx.spatial)
    attributes = attributes or {}
    if settled.kind == "flatten":
        return Lowered("flatten", attributes=attributes)
    kind = "elementwise" if settled.kind == "pending" else settled.kind
    return Lowered(kind, settled.maps, attributes=attributes, state=settled.digits)


@register("Gather")
def _gather(ctx: OpContext) -> Lowered:
    rank = len(ctx.x_shape)
    axis = int(ctx.attr("axis", 0)) % rank
    layout = ctx.layout
    if layout is None:
        return Lowered("elementwise")
    if axis in layout:
        return Lowered("other", attributes={"axis": axis})
    added = len(ctx.out_shape) - rank  # indices of rank q replace one dim by q dims
    return Lowered("elementwise", layout=tuple(d + added if d > axis else d for d in layout))


@register("Split")
def _split(ctx: OpContext) -> Lowered:
    axis = int(ctx.attr("axis", 0)) % len(ctx.x_shape)
    if ctx.layout is not None and axis in ctx.layout:
        return Lowered("other", attributes={"axis": axis})
    return Lowered("elementwise", layout=ctx.layout)


@register("Expand", "Tile")
def _expand(ctx: OpContext) -> Lowered:
    layout = _broadcast_layout(ctx)
    if layout is None:
        return Lowered("elementwise")
    offset = len(ctx.out_shape) - len(ctx.x_shape)
    if any(ctx.out_shape[d] != ctx.x_shape[d - offset] for d in layout):
        return Lowered("other")  # repeats pixels along a spatial axis
    return Lowered("elementwise", layout=layout)


# --- ops that mix positions: reductions, softmax, linear layers ---------------------------

REDUCE = (  # noqa: SIM905
    "ReduceMean ReduceMax ReduceMin ReduceSum ReduceProd ReduceL1 ReduceL2 ReduceLogSum "
    "ReduceLogSumExp ReduceSumSquare ArgMax ArgMin"
).split()


@register(*REDUCE)
def _reduce(ctx: OpContext) -> Lowered:
    rank = len(ctx.x_shape)
    if "axis" in ctx.attributes or ctx.node.op_type in ("ArgMax", "ArgMin"):
        axes: list[int] | None = [int(ctx.attr("axis", 0))]
    elif "axes" in ctx.attributes:
        axes = list(ctx.attr("axes"))
    else:
        value = ctx.value(1)
        axes = None if value is None else [int(a) for a in value.ravel()]
        if axes is None and len(ctx.node.input) > 1 and ctx.node.input[1]:
            return Lowered("other")  # axes computed at run time: assume the worst
    if not axes:
        if ctx.attr("noop_with_empty_axes", 0):
            return Lowered("elementwise", layout=ctx.layout)
        axes = list(range(rank))
    reduced = {a % rank for a in axes}
    layout = ctx.layout
    keep = bool(ctx.attr("keepdims", 1))
    if layout is None:
        return Lowered("elementwise")
    if reduced & set(layout):
        return Lowered("global_pool", layout=layout if keep else None)
    if keep:
        return Lowered("elementwise", layout=layout)
    return Lowered("elementwise", layout=tuple(d - sum(a < d for a in reduced) for d in layout))


@register("Softmax", "LogSoftmax", "Hardmax")
def _softmax(ctx: OpContext) -> Lowered:
    rank = len(ctx.x_shape)
    if ctx.opset < 13:  # coerced to 2-D: every dim from `axis` on takes part
        mixed = set(range(int(ctx.attr("axis", 1)) % rank, rank))
    else:
        mixed = {int(ctx.attr("axis", -1)) % rank}
    layout = ctx.layout
    if layout is not None and mixed & set(layout):
        return Lowered("other", layout=layout)
    return Lowered("elementwise", layout=layout)


@register("Gemm")
def _gemm(ctx: OpContext) -> Lowered:
    a = ctx.input_shapes[0]
    if a is None:
        raise ModelError(f"Gemm {ctx.node.name!r}: input shape unknown")
    k = a[0] if ctx.attr("transA", 0) else a[-1]
    return Lowered("linear", flops=2 * prod(ctx.out_shape) * k)  # addmm: 2·M·N·K


@register("MatMul", "MatMulInteger")
def _matmul(ctx: OpContext) -> Lowered:
    a = ctx.input_shapes[0]
    if a is None:
        raise ModelError(f"MatMul {ctx.node.name!r}: input shape unknown")
    flops = 2 * prod(ctx.out_shape) * a[-1]  # mm/bmm: 2·(batch·M·N)·K
    if all(ctx.active[:2]):
        return Lowered("attention", flops=flops)  # activation × activation: tokens meet
    position = ctx.first
    layout, shape = ctx.layouts[position], ctx.input_shapes[position]
    if layout is None or shape is None:
        return Lowered("linear", flops=flops)
    contracted = len(shape) - 1 if position == 0 else max(len(shape) - 2, 0)
    if contracted in layout:
        return Lowered("linear", flops=flops)  # contracts a spatial axis: global
    # a linear layer over channels (channels-last): a 1×1 convolution
    moved = shifted_layout(layout, len(ctx.out_shape) - len(shape))
    return Lowered("conv", tuple(Window(1) for _ in layout), moved, flops)


@register("Attention", "MultiHeadAttention")
def _attention(ctx: OpContext) -> Lowered:
    return Lowered("attention")
