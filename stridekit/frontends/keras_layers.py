"""Keras layers → canonical ops: the Keras frontend's translation table.

A translation sees one layer call (`LayerCall`: the layer's class and config, its input
tensors as Keras shapes them, channels last by default) and calls one canonical op of
`stridekit.lowering`, as the ONNX frontend does. The layers that move pixels (convs,
pools, pads, resizes) are in `stridekit.frontends.keras_windows`; merges, layout changes,
dense layers and pointwise layers here.

Layers without a translation (``Lambda``, custom objects, recurrent layers) are
`stridekit.lowering.unknown`: global and listed, never run.

>>> from stridekit.lowering import Meta
>>> from stridekit.geometry.layout import permute, standard
>>> x = Meta((1, 224, 224, 3), permute(standard((1, 3, 224, 224), 2), (0, 2, 3, 1)), 2)
>>> conv = {"filters": 32, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same"}
>>> done = translate(LayerCall("Conv2D", "keras.layers", conv, [x]))
>>> done.lowered.shape, done.lowered.axes[0].padding, done.params
((1, 112, 112, 32), (0, 1), 896)
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod

from stridekit.errors import ModelError
from stridekit.frontends import keras_windows as windowed
from stridekit.frontends.keras_call import LayerCall, Translated, positive
from stridekit.lowering import mixing, pointwise, unknown, views
from stridekit.lowering.core import broadcast_shape, translation_table

Shape = tuple[int, ...]


# --- merges, layout changes, dense layers, pointwise --------------------------------------


def _broadcast(shapes: list[Shape]) -> Shape:
    out = broadcast_shape(shapes)
    if out is None:
        raise ModelError(f"shapes {', '.join(map(str, shapes))} do not broadcast")
    return out


def _merge(merge: str) -> Callable[[LayerCall], Translated]:
    def translate(call: LayerCall) -> Translated:
        out = _broadcast([t.shape for t in call.inputs])
        return Translated(pointwise.elementwise(call.inputs, out, merge=merge))

    return translate


def _concat(call: LayerCall) -> Translated:
    rank = call.x.rank
    axis = call.get("axis", -1)
    if not isinstance(axis, int) or not -rank <= axis < rank:
        raise ModelError(f"axis {axis!r} is not a dim of a rank-{rank} tensor")
    axis %= rank
    shapes = [t.shape for t in call.inputs]
    if any(
        len(s) != rank or s[:axis] + s[axis + 1 :] != shapes[0][:axis] + shapes[0][axis + 1 :]
        for s in shapes
    ):
        raise ModelError(f"cannot concatenate {', '.join(map(str, shapes))} along axis {axis}")
    out = (*shapes[0][:axis], sum(s[axis] for s in shapes), *shapes[0][axis + 1 :])
    return Translated(views.concat(call.inputs, out, dim=axis))


def _reshape(call: LayerCall) -> Translated:
    x = call.x
    target = call.get("target_shape")
    if (
        not isinstance(target, list | tuple)
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and (v > 0 or v == -1) for v in target
        )
        or list(target).count(-1) > 1
    ):
        raise ModelError(f"target_shape {target!r} is not a list of sizes (one may be -1)")
    known = prod(v for v in target if v != -1)
    total = prod(x.shape[1:])
    sizes = [total // known if v == -1 else v for v in target]
    if prod(sizes) != total:
        raise ModelError(f"cannot reshape {x.shape} to (batch, {', '.join(map(str, target))})")
    return Translated(views.reshape(x, (x.shape[0], *sizes)))


def _permute(call: LayerCall) -> Translated:
    x = call.x
    dims = call.get("dims")
    if not isinstance(dims, list | tuple) or sorted(dims) != list(range(1, x.rank)):
        raise ModelError(f"dims {dims!r} is not a permutation of 1..{x.rank - 1}")
    order = [0, *dims]
    return Translated(views.permute(x, tuple(x.shape[d] for d in order), order=order))


def _dense(call: LayerCall) -> Translated:
    x = call.x
    units = positive(call, "units", None)
    out = (*x.shape[:-1], units)
    lowered = mixing.matmul(x, None, out, shapes=(x.shape, (x.shape[-1], units)))
    return Translated(lowered, x.shape[-1] * units + (units if call.get("use_bias", True) else 0))


def _pointwise(
    params: Callable[[LayerCall], int] = lambda call: 0,
) -> Callable[[LayerCall], Translated]:
    def translate(call: LayerCall) -> Translated:
        return Translated(pointwise.elementwise(call.inputs[:1], call.x.shape), params(call))

    return translate


def _norm_params(call: LayerCall) -> int:
    """Scale and shift per channel (the running statistics are not learned)."""
    axis = call.get("axis", -1)
    axes = axis if isinstance(axis, list | tuple) else [axis]
    rank = call.x.rank
    if not all(isinstance(a, int) and -rank <= a < rank for a in axes):
        raise ModelError(f"axis {axis!r} is not a dim of a rank-{rank} tensor")
    learned = bool(call.get("center", True)) + bool(call.get("scale", True))
    return learned * prod(call.x.shape[a] for a in axes)


def _along(name: str) -> Callable[[LayerCall], Translated]:
    """Softmax and LayerNormalization act along ``axis``: positions mix when it holds them."""

    def translate(call: LayerCall) -> Translated:
        params = _norm_params(call) if name != "softmax" else 0
        axis = call.get("axis", -1)
        dims = [int(a) for a in (axis if isinstance(axis, list | tuple) else [axis])]
        return Translated(mixing.along(call.x, call.x.shape, dims=dims, name=name), params)

    return translate


POINTWISE = (  # noqa: SIM905
    "Activation ReLU LeakyReLU ELU ThresholdedReLU Dropout SpatialDropout1D SpatialDropout2D "
    "SpatialDropout3D GaussianDropout GaussianNoise AlphaDropout ActivityRegularization "
    "Rescaling Normalization Identity Masking RandomFlip RandomRotation RandomZoom "
    "RandomTranslation RandomContrast RandomBrightness RandomCrop StochasticDepth"
).split()
NORMS = ["BatchNormalization", "GroupNormalization", "UnitNormalization"]
CONVS = [f"{p}{n}D" for p in ("Conv", "Convolution") for n in (1, 2, 3)] + [
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "Convolution2DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
]
POOLS = [f"{k}Pooling{n}D" for k in ("Max", "Average") for n in (1, 2, 3)]
POOLS += [f"{k}Pool{n}D" for k in ("Max", "Avg") for n in (1, 2, 3)]  # Keras 2 aliases
GLOBAL_POOLS = [f"Global{k}Pooling{n}D" for k in ("Max", "Average") for n in (1, 2, 3)]

LAYERS: dict[str, Callable[[LayerCall], Translated]] = translation_table(
    (CONVS, windowed.conv),
    (POOLS, windowed.pool),
    (GLOBAL_POOLS, windowed.global_pool),
    ([f"ZeroPadding{n}D" for n in (1, 2, 3)], lambda call: windowed.pad(call, 1, "padding")),
    ([f"Cropping{n}D" for n in (1, 2, 3)], lambda call: windowed.pad(call, -1, "cropping")),
    ([f"UpSampling{n}D" for n in (1, 2, 3)], windowed.upsample),
    (["Resizing"], windowed.resizing),
    (["CenterCrop"], windowed.center_crop),
    (["Add", "Subtract", "Average", "Maximum", "Minimum"], _merge("add")),
    (["Multiply"], _merge("mul")),
    (["Concatenate"], _concat),
    (["Reshape"], _reshape),
    (
        ["Flatten"],
        lambda call: Translated(views.reshape(call.x, (call.x.shape[0], prod(call.x.shape[1:])))),
    ),
    (["Permute"], _permute),
    (["Dense"], _dense),
    (POINTWISE, _pointwise()),
    (["PReLU", "LayerScale"], _pointwise(lambda call: call.x.shape[-1])),
    (NORMS, _pointwise(_norm_params)),
    (["Softmax"], _along("softmax")),
    (["LayerNormalization"], _along("layer_norm")),
)

UNARY_OPS = (  # noqa: SIM905
    "Relu Relu6 Gelu Silu Swish Sigmoid HardSigmoid HardSilu Tanh Exp Log Sqrt Square Abs "
    "Negative Clip Softplus Elu Selu LeakyRelu Cast"
).split()
# functional ops (``x + y``, ``keras.ops.multiply``) saved as layers of keras.src.ops.*
OPS: dict[str, Callable[[LayerCall], Translated]] = translation_table(
    (["Add", "Subtract", "Maximum", "Minimum"], _merge("add")),
    (["Multiply", "Divide", "TrueDivide", "Power"], _merge("mul")),
    (
        UNARY_OPS,
        _pointwise(),
    ),
)


# TF ops in a Keras 2 functional model (``TFOpLambda``, the op's name in ``function``)
TF_OPS: dict[str, Callable[[LayerCall], Translated]] = translation_table(
    (
        ["__operators__.add", "math.add", "math.subtract", "math.maximum", "math.minimum"],
        _merge("add"),
    ),
    (["math.multiply", "math.truediv", "math.divide"], _merge("mul")),
    (
        [
            "nn.relu",
            "nn.relu6",
            "nn.silu",
            "nn.swish",
            "nn.gelu",
            "nn.leaky_relu",
            "math.sigmoid",
            "math.tanh",
            "math.abs",
            "math.exp",
            "math.square",
            "math.sqrt",
            "identity",
            "cast",
            "clip_by_value",
        ],
        _pointwise(),
    ),
)


def translate(call: LayerCall) -> Translated:
    """Lower one layer call; a layer without a translation is `unknown` (never run).

    >>> from stridekit.lowering import Meta
    >>> x = Meta.standard((1, 8, 4, 4), spatial=2)
    >>> translate(LayerCall("TFOpLambda", "", {"function": "math.multiply"}, [x, x])).lowered.kind
    'mul'
    """
    if call.class_name == "TFOpLambda":
        function = call.get("function")
        translation = TF_OPS.get(function) if isinstance(function, str) else None
        name = f"TFOpLambda({function})"
    else:
        table = OPS if call.module.startswith("keras.src.ops") else LAYERS
        translation, name = table.get(call.class_name), call.class_name
    if translation is None:
        return Translated(unknown(name))
    return translation(call)
