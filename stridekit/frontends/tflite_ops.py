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

from dataclasses import replace

from stridekit.errors import ModelError
from stridekit.frontends import tflite_layouts as layouts
from stridekit.frontends.tflite_context import (
    OpContext,
    Translated,
    Translation,
    broadcast,
    channels_last,
    noted,
    one,
    permuted,
)
from stridekit.lowering import Lowered, moves, pointwise, unknown, windows
from stridekit.lowering.core import translation_table

# --- windows: convolutions, pooling, resizes, space-to-depth (seen channels-first) --------


def _back(ctx: OpContext, lowered: Lowered, **notes: object) -> Translated:
    """A channels-first answer handed back in TFLite's order."""
    if lowered.shape is None:  # the window does not slide over the spatial axes
        return Translated(noted(lowered, **notes), ctx.recorded_shapes(ctx.op.code))
    order = channels_last(len(lowered.shape))
    layout = None if lowered.layout is None else permuted(lowered.layout, order)
    shape = permuted(lowered.shape, order)
    return one(
        replace(lowered, layout=layout, shape=shape, notes={**lowered.notes, **notes}), shape
    )


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


def _pointwise(ctx: OpContext) -> Translated:
    out = broadcast(ctx.shapes)
    merge = "mul" if ctx.op.code in MERGE_MUL else "add"
    return one(pointwise.elementwise(ctx.inputs, out, merge=merge), out)


TRANSLATIONS: dict[str, Translation] = translation_table(
    (("CONV_2D", "CONV_3D"), _conv),
    (("DEPTHWISE_CONV_2D",), _depthwise),
    (("TRANSPOSE_CONV",), _transpose_conv),
    (tuple(_POOLS), _pool),
    (("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"), _resize),
    (("SPACE_TO_DEPTH",), _block("space")),
    (("DEPTH_TO_SPACE",), _block("depth")),
    ((*UNARY, *MERGE_ADD, *MERGE_MUL), _pointwise),
    (("RESHAPE",), layouts.reshape),
    (("SQUEEZE",), layouts.squeeze),
    (("EXPAND_DIMS",), layouts.expand_dims),
    (("TRANSPOSE",), layouts.transpose),
    (("CONCATENATION",), layouts.concat),
    (("PACK",), layouts.pack),
    (("SPLIT", "SPLIT_V"), layouts.split),
    (("UNPACK",), layouts.unpack),
    (("GATHER",), layouts.gather),
    (("TILE", "BROADCAST_TO"), layouts.tile),
    (("PAD", "PADV2", "MIRROR_PAD"), layouts.pad),
    (("SLICE",), layouts.slice_),
    (("STRIDED_SLICE",), layouts.strided_slice),
    (tuple(layouts.REDUCE), layouts.reduce),
    (("ARG_MAX", "ARG_MIN"), layouts.arg),
    (("SOFTMAX", "LOG_SOFTMAX"), layouts.softmax),
    (("FULLY_CONNECTED",), layouts.fully_connected),
    (("BATCH_MATMUL",), layouts.batch_matmul),
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
