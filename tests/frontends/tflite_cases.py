"""Small TFLite graphs for the frontend's tests, one builder per case, written with
`tests.frontends.tflite_builder` (shapes recorded as the converter would: NHWC)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tests.frontends.tflite_builder import Net, Op, TensorType

SAME, VALID = 0, 1


@dataclass(frozen=True)
class Case:
    build: Callable[[], bytes]
    other_sizes: tuple[int, ...] = ()  # input sizes (H = W) the model also runs at
    dense: bool = False  # forward windows only, kernel >= stride: impulses trace the field


def _same(n: int, s: int) -> int:
    return -(-n // s)


def conv(
    net: Net,
    x: int,
    n: int,
    c_in: int,
    c_out: int,
    k: int,
    s: int,
    padding: int = SAME,
    dilation: int = 1,
) -> tuple[int, int]:
    e = dilation * (k - 1) + 1
    m = _same(n, s) if padding == SAME else (n - e) // s + 1
    y = net.op(
        "CONV_2D",
        [x, net.weight((c_out, k, k, c_in)), net.weight((c_out,))],
        (1, m, m, c_out),
        "Conv2DOptions",
        padding=padding,
        strideW=s,
        strideH=s,
        dilationWFactor=dilation,
        dilationHFactor=dilation,
    )
    return y, m


def depthwise(
    net: Net, x: int, n: int, c: int, k: int, s: int, multiplier: int = 1
) -> tuple[int, int]:
    m = _same(n, s)
    y = net.op(
        "DEPTHWISE_CONV_2D",
        [x, net.weight((1, k, k, c * multiplier)), net.weight((c * multiplier,))],
        (1, m, m, c * multiplier),
        "DepthwiseConv2DOptions",
        padding=SAME,
        strideW=s,
        strideH=s,
        depthMultiplier=multiplier,
    )
    return y, m


def pool(
    net: Net, x: int, n: int, c: int, code: str, k: int, s: int, padding: int
) -> tuple[int, int]:
    m = _same(n, s) if padding == SAME else (n - k) // s + 1
    y = net.op(
        code,
        [x],
        (1, m, m, c),
        "Pool2DOptions",
        padding=padding,
        strideW=s,
        strideH=s,
        filterWidth=k,
        filterHeight=k,
    )
    return y, m


def conv_stack(n: int, dilation: int = 2) -> Callable[[], bytes]:
    """Stride-2 SAME convolutions with odd and even kernels, a pool, a (dilated) conv."""

    def build() -> bytes:
        net = Net((1, n, n, 3))
        y, m = conv(net, net.x, n, 3, 4, 3, 2)
        y, m = conv(net, y, m, 4, 4, 2, 2)  # even kernel: the odd pixel of padding at the end
        y, m = pool(net, y, m, 4, "MAX_POOL_2D", 3, 2, SAME)
        y, m = conv(net, y, m, 4, 6, 3, 1, dilation=dilation)
        return net.build([y])

    return build


def valid_stack() -> bytes:
    net = Net((1, 15, 15, 2))
    y, m = conv(net, net.x, 15, 2, 4, 3, 2, VALID)
    y, m = pool(net, y, m, 4, "AVERAGE_POOL_2D", 2, 2, VALID)
    return net.build([y])


def padded_conv() -> bytes:
    """Keras' ZeroPadding2D((0, 1), (0, 1)) before a VALID conv: TF SAME written out."""
    net = Net((1, 10, 10, 3))
    p = net.op("PAD", [net.x, net.ints([[0, 0], [0, 1], [0, 1], [0, 0]])], (1, 11, 11, 3))
    y, _ = conv(net, p, 11, 3, 4, 3, 2, VALID)
    r = net.op(
        "MIRROR_PAD",
        [y, net.ints([[0, 0], [1, 1], [1, 1], [0, 0]])],
        (1, 7, 7, 4),
        "MirrorPadOptions",
        mode=0,
    )
    return net.build([r])


def mobile_block() -> bytes:
    """Depthwise (multiplier 2) and pointwise convs, a residual add, a head."""
    net = Net((1, 16, 16, 3))
    y, m = conv(net, net.x, 16, 3, 8, 3, 2)
    d, m = depthwise(net, y, m, 8, 3, 1)
    p, m = conv(net, d, m, 8, 8, 1, 1)
    a = net.op("ADD", [y, p], (1, m, m, 8), "AddOptions")
    d, m = depthwise(net, a, m, 8, 3, 2, multiplier=2)
    g = net.op("MEAN", [d, net.ints([1, 2])], (1, 1, 1, 16), "ReducerOptions", keepDims=True)
    f = net.op("RESHAPE", [g, net.ints([1, 16])], (1, 16), "ReshapeOptions")
    h = net.op(
        "FULLY_CONNECTED",
        [f, net.weight((10, 16)), net.weight((10,))],
        (1, 10),
        "FullyConnectedOptions",
    )
    s = net.op("SOFTMAX", [h], (1, 10), "SoftmaxOptions", beta=1.0)
    return net.build([s])


def squeeze_excite() -> bytes:
    net = Net((1, 8, 8, 4))
    g = net.op("MEAN", [net.x, net.ints([1, 2])], (1, 4), "ReducerOptions", keepDims=False)
    f = net.op("FULLY_CONNECTED", [g, net.weight((4, 4))], (1, 4), "FullyConnectedOptions")
    r = net.op("RESHAPE", [f, net.ints([1, 1, 1, 4])], (1, 1, 1, 4), "ReshapeOptions")
    s = net.op("LOGISTIC", [r], (1, 1, 1, 4))
    y = net.op("MUL", [net.x, s], (1, 8, 8, 4), "MulOptions")
    return net.build([y])


def decoder() -> bytes:
    """A U-Net step: transposed conv (SAME) and a resize back up, concatenated with skips."""
    net = Net((1, 8, 8, 4))
    y, _ = conv(net, net.x, 8, 4, 4, 3, 2)
    t = net.op(
        "TRANSPOSE_CONV",
        [net.ints([1, 8, 8, 3]), net.weight((3, 3, 3, 4)), y],
        (1, 8, 8, 3),
        "TransposeConvOptions",
        padding=SAME,
        strideW=2,
        strideH=2,
    )
    u = net.op(
        "RESIZE_BILINEAR",
        [y, net.ints([8, 8])],
        (1, 8, 8, 4),
        "ResizeBilinearOptions",
        halfPixelCenters=True,
    )
    v = net.op(
        "RESIZE_NEAREST_NEIGHBOR",
        [y, net.ints([8, 8])],
        (1, 8, 8, 4),
        "ResizeNearestNeighborOptions",
    )
    c = net.op("CONCATENATION", [net.x, t, u, v], (1, 8, 8, 15), "ConcatenationOptions", axis=3)
    w = net.op(
        "TRANSPOSE_CONV",
        [net.ints([1, 10, 10, 2]), net.weight((2, 3, 3, 15)), c],
        (1, 10, 10, 2),
        "TransposeConvOptions",
        padding=VALID,
        strideW=1,
        strideH=1,
    )
    return net.build([w])


def space_depth() -> bytes:
    net = Net((1, 8, 8, 2))
    s = net.op("SPACE_TO_DEPTH", [net.x], (1, 4, 4, 8), "SpaceToDepthOptions", blockSize=2)
    y, _ = conv(net, s, 4, 8, 8, 3, 1)
    d = net.op("DEPTH_TO_SPACE", [y], (1, 8, 8, 2), "DepthToSpaceOptions", blockSize=2)
    return net.build([d])


def sliced() -> bytes:
    """x[:, 1::2, ::2, :] (STRIDED_SLICE) and a TRANSPOSE round trip."""
    net = Net((1, 9, 9, 3))
    s = net.op(
        "STRIDED_SLICE",
        [net.x, net.ints([0, 1, 0, 0]), net.ints([1, 9, 9, 3]), net.ints([1, 2, 2, 1])],
        (1, 4, 5, 3),
        "StridedSliceOptions",
        beginMask=0b1101,
        endMask=0b1111,
    )
    t = net.op("TRANSPOSE", [s, net.ints([0, 3, 1, 2])], (1, 3, 4, 5))
    b = net.op("TRANSPOSE", [t, net.ints([0, 2, 3, 1])], (1, 4, 5, 3))
    y = net.op(
        "CONV_2D",
        [b, net.weight((2, 3, 3, 3)), net.weight((2,))],
        (1, 2, 3, 2),
        "Conv2DOptions",
        padding=SAME,
        strideW=2,
        strideH=2,
    )
    return net.build([y])


def quantized() -> bytes:
    """A full-integer (int8) MobileNet-like stem: QUANTIZE, int8 convs with per-channel
    weights and int32 biases, a pool, DEQUANTIZE."""
    net = Net((1, 12, 12, 3))
    q_in, q_act = (1 / 128, 0), (1 / 16, -128)
    xq = net.op("QUANTIZE", [net.x], (1, 12, 12, 3), dtype=TensorType.INT8, quant=q_in)
    y = xq
    shapes = [(12, 3, 8, 3, 2), (6, 8, 8, 3, 1), (6, 8, 16, 1, 1)]
    for n, c_in, c_out, k, s in shapes:
        m = _same(n, s)
        depth = c_in == c_out and k == 3 and s == 1
        w_shape = (1, k, k, c_out) if depth else (c_out, k, k, c_in)
        w = net.tensor(w_shape, TensorType.INT8, np.ones(w_shape, np.int8))
        scales = [0.01] * c_out
        net.tensors[w].scale, net.tensors[w].zero_point = scales, [0] * c_out
        net.tensors[w].axis = 3 if depth else 0
        b = net.tensor((c_out,), TensorType.INT32, np.zeros(c_out, np.int32))
        net.tensors[b].scale = [q_in[0] * 0.01] * c_out if y == xq else [q_act[0] * 0.01] * c_out
        net.tensors[b].zero_point = [0] * c_out
        code, options = (
            ("DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions")
            if depth
            else ("CONV_2D", "Conv2DOptions")
        )
        extra = {"depthMultiplier": 1} if depth else {}
        y = net.op(
            code,
            [y, w, b],
            (1, m, m, c_out),
            options,
            dtype=TensorType.INT8,
            quant=q_act,
            padding=SAME,
            strideW=s,
            strideH=s,
            **extra,
        )
    p = net.op(
        "AVERAGE_POOL_2D",
        [y],
        (1, 3, 3, 16),
        "Pool2DOptions",
        dtype=TensorType.INT8,
        quant=q_act,
        padding=VALID,
        strideW=2,
        strideH=2,
        filterWidth=2,
        filterHeight=2,
    )
    d = net.op("DEQUANTIZE", [p], (1, 3, 3, 16))
    return net.build([d])


CASES: dict[str, Case] = {
    "conv_stack_even": Case(conv_stack(32), (33, 40)),
    "conv_stack_odd": Case(conv_stack(29), (32,)),
    "dense_even": Case(conv_stack(32, dilation=1), (34,), dense=True),
    "dense_odd": Case(conv_stack(31, dilation=1), (35,), dense=True),
    "valid_stack": Case(valid_stack, (16, 21), dense=True),
    "padded_conv": Case(padded_conv, (12,)),
    "mobile_block": Case(mobile_block, (17, 24)),
    "squeeze_excite": Case(squeeze_excite, (5,)),
    "decoder": Case(decoder),
    "space_depth": Case(space_depth, (12,)),
    "sliced": Case(sliced),
    "quantized": Case(quantized, (16,)),
}


def fp16_weights() -> bytes:
    """Float16 weights (post-training fp16 quantization): DEQUANTIZE ops on constants."""
    net = Net((1, 10, 10, 3))
    w16 = net.weight((4, 3, 3, 3), TensorType.FLOAT16)
    w = net.op("DEQUANTIZE", [w16], (4, 3, 3, 3))
    y = net.op(
        "CONV_2D",
        [net.x, w, net.weight((4,))],
        (1, 5, 5, 4),
        "Conv2DOptions",
        padding=SAME,
        strideW=2,
        strideH=2,
    )
    return net.build([y])


def dynamic() -> bytes:
    """A model converted with dynamic height and width: the resize's size is computed
    from the conv output's shape (SHAPE → STRIDED_SLICE → MUL)."""
    net = Net((1, 1, 1, 4), signature=(1, -1, -1, 4))
    y, _ = conv(net, net.x, 1, 4, 4, 3, 2)
    shape = net.op("SHAPE", [y], (4,), "ShapeOptions", dtype=TensorType.INT32, outType=2)
    hw = net.op(
        "STRIDED_SLICE",
        [shape, net.ints([1]), net.ints([3]), net.ints([1])],
        (2,),
        "StridedSliceOptions",
        dtype=TensorType.INT32,
    )
    size = net.op("MUL", [hw, net.ints([2])], (2,), "MulOptions", dtype=TensorType.INT32)
    u = net.op("RESIZE_NEAREST_NEIGHBOR", [y, size], (1, 2, 2, 4), "ResizeNearestNeighborOptions")
    return net.build([u])


CASES["fp16_weights"] = Case(fp16_weights, (13,))


def quantized_uint8() -> bytes:
    """Legacy uint8 quantization (per-tensor weights, zero points 128): conv, pool."""
    net = Net((1, 11, 11, 2))
    q = (1 / 64, 128)
    xq = net.op("QUANTIZE", [net.x], (1, 11, 11, 2), dtype=TensorType.UINT8, quant=q)
    w = net.tensor((4, 3, 3, 2), TensorType.UINT8, np.full((4, 3, 3, 2), 130, np.uint8))
    net.tensors[w].scale, net.tensors[w].zero_point = [0.01], [128]
    b = net.tensor((4,), TensorType.INT32, np.zeros(4, np.int32))
    net.tensors[b].scale, net.tensors[b].zero_point = [q[0] * 0.01], [0]
    y = net.op(
        "CONV_2D",
        [xq, w, b],
        (1, 6, 6, 4),
        "Conv2DOptions",
        dtype=TensorType.UINT8,
        quant=q,
        padding=SAME,
        strideW=2,
        strideH=2,
    )
    p = net.op(
        "MAX_POOL_2D",
        [y],
        (1, 3, 3, 4),
        "Pool2DOptions",
        dtype=TensorType.UINT8,
        quant=q,
        padding=SAME,
        strideW=2,
        strideH=2,
        filterWidth=3,
        filterHeight=3,
    )
    return net.build([net.op("DEQUANTIZE", [p], (1, 3, 3, 4))])


CASES["quantized_uint8"] = Case(quantized_uint8, (14,))


def views() -> bytes:
    """SPLIT, CONCATENATION, SLICE, GATHER, EXPAND_DIMS, SQUEEZE, tokens through RESHAPE,
    BATCH_MATMUL with a constant, a SUM over the tokens."""
    net = Net((1, 8, 8, 4))
    y = net.tensor((1, 8, 8, 2))
    z = net.tensor((1, 8, 8, 2))
    net.ops.append(Op("SPLIT", [net.ints(3), net.x], [y, z], "SplitOptions", {"numSplits": 2}))
    c = net.op("CONCATENATION", [z, y], (1, 8, 8, 4), "ConcatenationOptions", axis=-1)
    s = net.op("SLICE", [c, net.ints([0, 1, 1, 0]), net.ints([1, 6, -1, -1])], (1, 6, 7, 4))
    g = net.op("GATHER", [s, net.ints([0, 2, 3])], (1, 6, 7, 3), "GatherOptions", axis=3)
    e = net.op("EXPAND_DIMS", [g, net.ints(0)], (1, 1, 6, 7, 3))
    q = net.op("SQUEEZE", [e], (1, 6, 7, 3), "SqueezeOptions", squeezeDims=[0])
    r = net.op("RESHAPE", [q, net.ints([1, 42, 3])], (1, 42, 3), "ReshapeOptions")
    m = net.op("BATCH_MATMUL", [r, net.weight((1, 3, 5))], (1, 42, 5), "BatchMatMulOptions")
    return net.build([net.op("SUM", [m, net.ints([1])], (1, 5), "ReducerOptions")])


CASES["views"] = Case(views)
