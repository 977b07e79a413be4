"""Keras layers → canonical ops: the Keras frontend's translation table.

A translation sees one layer call (`LayerCall`: the layer's class and config, its input
tensors as Keras shapes them, channels last by default) and calls one canonical op of
`stridekit.lowering`, as the ONNX frontend does. Keras computes with ``(N, *spatial, C)``
tensors: a windowed op is lowered on the channels-first view of its input (a permutation
of the layout, no node) and its output permuted back, so every node keeps the shape
Keras gives. ``padding="same"`` is TensorFlow's SAME (``ceil(n/s)`` outputs, the odd
pixel of padding at the end), the convention ``"tf"`` of `stridekit.geometry.padding`.

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

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from math import prod
from typing import Any

from stridekit.errors import ModelError
from stridekit.geometry import make_window
from stridekit.geometry import layout as lay
from stridekit.lowering import Lowered, Meta, mixing, moves, pointwise, unknown, views, windows
from stridekit.lowering.core import translation_table
from stridekit.lowering.cost import conv_flops

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LayerCall:
    """One call of a layer: its class, its module (``keras.layers``, ``keras.src.ops.numpy``
    for a functional op such as ``x + y``), its config and its input tensors."""

    class_name: str
    module: str
    config: dict[str, Any]
    inputs: list[Meta]

    @property
    def x(self) -> Meta:
        return self.inputs[0]

    def get(self, key: str, default: Any = None) -> Any:
        value = self.config.get(key, default)
        return default if value is None else value


@dataclass(frozen=True)
class Translated:
    lowered: Lowered  # with its output shape (the Keras shape)
    params: int = 0


def ints(value: Any, count: int, what: str) -> tuple[int, ...]:
    """An int or a list of ``count`` ints (or one) from a config → ``count`` ints.

    >>> ints([3, 3], 2, "kernel_size"), ints(2, 3, "strides")
    ((3, 3), (2, 2, 2))
    >>> ints("3", 2, "kernel_size")
    Traceback (most recent call last):
    ...
    stridekit.errors.ModelError: kernel_size '3' is not an int or a list of 2 ints
    """
    items = value if isinstance(value, list | tuple) else [value]
    if len(items) == 1:
        items = list(items) * count
    if len(items) != count or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise ModelError(f"{what} {value!r} is not an int or a list of {count} ints")
    return tuple(int(v) for v in items)


def _choice(call: LayerCall, key: str, choices: Sequence[str], default: str) -> str:
    value = call.get(key, default)
    if not isinstance(value, str) or value.lower() not in choices:
        raise ModelError(f"{key} {value!r}: expected one of {', '.join(choices)}")
    return value.lower()


def _channels_last(call: LayerCall) -> bool:
    return _choice(call, "data_format", ("channels_last", "channels_first"), "channels_last") == (
        "channels_last"
    )


def _spatial_input(call: LayerCall, count: int) -> Meta:
    """The input seen channels first: ``(N, C, *spatial)``."""
    x = call.x
    if x.rank != count + 2:
        raise ModelError(f"{call.class_name} needs a rank-{count + 2} input, got {x.shape}")
    if not _channels_last(call):
        return x
    order = [0, x.rank - 1, *range(1, x.rank - 1)]
    return Meta(tuple(x.shape[d] for d in order), lay.permute(x.layout, order), x.spatial)


def _restore(call: LayerCall, lowered: Lowered, shape: Shape) -> Lowered:
    """A channels-first result back in the layer's data format."""
    if not _channels_last(call):
        return replace(lowered, shape=shape)
    order = [0, *range(2, len(shape)), 1]
    return replace(
        lowered, shape=tuple(shape[d] for d in order), layout=lay.permute(lowered.layout, order)
    )


def _count(class_name: str) -> int:
    """The spatial axes a layer's class names (``Conv1D`` → 1; ``Resizing`` → 2)."""
    found = re.search(r"([123])D", class_name)
    return int(found.group(1)) if found else 2


# --- windows: convolutions and pooling --------------------------------------------------


def _transposed_padding(
    n: int, k: int, s: int, d: int, padding: str, extra: int | None
) -> tuple[tuple[int, int], int]:
    """A transposed conv's padding and output_padding, TensorFlow's way.

    The output size is Keras's (``compute_conv_transpose_output_shape``): ``valid``:
    ``(n−1)·s + e + output_padding`` (default ``max(e, s) − e``); ``same``: ``n·s``, or
    ``(n−1)·s + e mod 2 + output_padding`` when given. TF computes the transposed conv as
    the gradient of the forward conv from that size back to ``n``, whose SAME padding puts
    ``floor(total/2)`` before, ``total = max(0, (n−1)·s + e − out)``: the crop at the
    start. (Keras's torch backend crops one more pixel at the start when both its padding
    and output_padding are positive, as its own docstring warns; TF and JAX do not.)

    >>> _transposed_padding(5, 3, 2, 1, "same", None), _transposed_padding(5, 3, 2, 1, "same", 1)
    (((0, 1), 0), ((0, 1), 0))
    >>> _transposed_padding(5, 1, 3, 1, "same", None), _transposed_padding(5, 3, 2, 1, "valid", None)
    (((0, 0), 2), ((0, 0), 0))
    """
    e = d * (k - 1) + 1
    if padding == "valid":
        out = (n - 1) * s + e + (max(e, s) - e if extra is None else extra)
    else:
        out = n * s if extra is None else (n - 1) * s + e % 2 + extra
    lo = max(0, (n - 1) * s + e - out) // 2
    hi = (n - 1) * s + e - out - lo  # negative: more output than the windows reach
    return (lo, max(hi, 0)), max(-hi, 0)


def _conv(call: LayerCall) -> Translated:
    kind = call.class_name
    count = _count(kind)
    x = _spatial_input(call, count)
    depthwise = kind.startswith(("Depthwise", "Separable"))
    transposed = "Transpose" in kind
    kernel = ints(call.get("kernel_size"), count, "kernel_size")
    strides = ints(call.get("strides", 1), count, "strides")
    dilation = ints(call.get("dilation_rate", 1), count, "dilation_rate")
    padding = _choice(call, "padding", ("valid", "same", "causal"), "valid")
    c_in, groups = x.shape[1], 1
    if depthwise:
        groups = c_in
        channels = c_in * _positive(call, "depth_multiplier", 1)
        weight: Shape = (channels, 1, *kernel)
    elif transposed:
        channels = _positive(call, "filters", None)
        weight = (c_in, channels, *kernel)
    else:
        channels, groups = _positive(call, "filters", None), _positive(call, "groups", 1)
        if c_in % groups or channels % groups:
            raise ModelError(f"groups {groups} must divide the channels in ({c_in}), out ({channels})")
        weight = (channels, c_in // groups, *kernel)
    op = "conv_transpose" if transposed else "conv"
    pads: list[Any] = [padding] * count
    extras = [0] * count
    if transposed:
        given = call.get("output_padding")
        extra = ints(given, count, "output_padding") if given is not None else (None,) * count
        for axis, n in enumerate(x.shape[2:]):
            pads[axis], extras[axis] = _transposed_padding(
                n, kernel[axis], strides[axis], dilation[axis], padding, extra[axis]
            )
    convention = "tf" if padding == "same" else "torch"
    sizes = [
        make_window(op, n, k, s, p, d, output_padding=o, convention=convention).output_size(n)
        for n, k, s, p, d, o in zip(x.shape[2:], kernel, strides, pads, dilation, extras, strict=True)
    ]
    out = (x.shape[0], channels, *sizes)
    lowered = windows.conv(
        x,
        out,
        weight=weight,
        stride=strides,
        padding=pads,
        dilation=dilation,
        groups=groups,
        transposed=transposed,
        output_padding=extras,
        convention=convention,
    )
    params = prod(weight)
    bias = bool(call.get("use_bias", True))
    if kind.startswith("Separable"):  # the depthwise conv, then a 1 × 1 conv to `filters`
        filters = _positive(call, "filters", None)
        pointwise_weight = (filters, channels, *(1,) * count)
        final = (x.shape[0], filters, *sizes)
        flops = lowered.flops + conv_flops(out, pointwise_weight, final)
        lowered = replace(lowered, flops=flops, layout=lay.resize(lowered.layout, final))
        out, params = final, params + prod(pointwise_weight)
    params += out[1] if bias else 0
    return Translated(_restore(call, lowered, out), params)


def _positive(call: LayerCall, key: str, default: int | None) -> int:
    value = call.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ModelError(f"{key} {value!r} must be an integer >= 1")
    return value


def _pool(call: LayerCall) -> Translated:
    count = _count(call.class_name)
    x = _spatial_input(call, count)
    kernel = ints(call.get("pool_size", 2), count, "pool_size")
    strides = ints(call.get("strides", list(kernel)), count, "strides")
    padding = _choice(call, "padding", ("valid", "same"), "valid")
    sizes = [
        make_window("conv", n, k, s, padding if padding == "same" else 0, convention="tf")
        .output_size(n)
        for n, k, s in zip(x.shape[2:], kernel, strides, strict=True)
    ]
    out = (*x.shape[:2], *sizes)
    kind = "max_pool" if call.class_name.startswith("Max") else "avg_pool"
    lowered = windows.pool(x, out, kind=kind, kernel=kernel, stride=strides,
                           padding=[padding] * count, convention="tf", count=count)  # fmt: skip
    return Translated(_restore(call, lowered, out))


def _global_pool(call: LayerCall) -> Translated:
    x = call.x
    last = _channels_last(call)
    dims = list(range(1, x.rank - 1)) if last else list(range(2, x.rank))
    keep = bool(call.get("keepdims", False))
    if keep:
        out = tuple(1 if d in dims else n for d, n in enumerate(x.shape))
    else:
        out = tuple(n for d, n in enumerate(x.shape) if d not in dims)
    return Translated(mixing.reduce(x, out, dims=dims, keepdim=keep))


# --- pixels moved without a window: padding, cropping, resizing --------------------------


def _pairs(value: Any, count: int, what: str) -> list[tuple[int, int]]:
    """ZeroPadding/Cropping amounts: an int, one int per axis, or one pair per axis."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [(value, value)] * count
    if isinstance(value, list | tuple) and count == 1 and len(value) == 2:
        value = [value]
    if isinstance(value, list | tuple) and len(value) == count:
        pairs = [ints(v, 2, what) for v in value]
        return [(lo, hi) for lo, hi in pairs]
    raise ModelError(f"{what} {value!r} needs an int or one (before, after) pair per axis")


def _pad(call: LayerCall, sign: int, key: str) -> Translated:
    count = _count(call.class_name)
    x = call.x
    if x.rank != count + 2:
        raise ModelError(f"{call.class_name} needs a rank-{count + 2} input, got {x.shape}")
    first = 1 if _channels_last(call) else 2
    pairs = _pairs(call.get(key, 1 if sign > 0 else 0), count, key)
    pads = {first + a: (sign * lo, sign * hi) for a, (lo, hi) in enumerate(pairs)}
    return Translated(moves.pad(x, None, pads=pads))


def _upsample(call: LayerCall) -> Translated:
    count = _count(call.class_name)
    x = _spatial_input(call, count)
    scales = ints(call.get("size", 2), count, "size")
    mode = _choice(call, "interpolation", ("nearest", "bilinear", "bicubic"), "nearest")
    out = (*x.shape[:2], *(n * s for n, s in zip(x.shape[2:], scales, strict=True)))
    if mode == "nearest":  # a repeat: output i reads floor(i/s)
        lowered = moves.resize(x, out, mode="nearest", scales=list(scales))
    else:
        resample = "linear" if mode == "bilinear" else "cubic"
        lowered = moves.resize(x, out, mode=resample, coordinate="half_pixel", scales=list(scales))
    return Translated(_restore(call, lowered, out))


def _resizing(call: LayerCall) -> Translated:
    x = _spatial_input(call, 2)
    sizes = (_positive(call, "height", None), _positive(call, "width", None))
    out = (*x.shape[:2], *sizes)
    aspect = x.shape[2] * sizes[1] != x.shape[3] * sizes[0]
    if aspect and (call.get("crop_to_aspect_ratio") or call.get("pad_to_aspect_ratio")):
        return Translated(unknown("Resizing(crop_to_aspect_ratio)"))
    mode = call.get("interpolation", "bilinear")
    if mode == "nearest":  # tf.image.resize: half-pixel centres, rounded
        lowered = moves.resize(x, out, mode="nearest", coordinate="half_pixel",
                               nearest="round_prefer_ceil", sizes=sizes)  # fmt: skip
    elif mode in ("bilinear", "bicubic"):
        resample = "linear" if mode == "bilinear" else "cubic"
        lowered = moves.resize(x, out, mode=resample, coordinate="half_pixel", sizes=sizes,
                               antialias=bool(call.get("antialias", False)))  # fmt: skip
    else:
        return Translated(unknown(f"Resizing({mode})"))
    return Translated(_restore(call, lowered, out))


def _center_crop(call: LayerCall) -> Translated:
    x = call.x
    first = 1 if _channels_last(call) else 2
    wanted = (_positive(call, "height", None), _positive(call, "width", None))
    have = x.shape[first : first + 2]
    if any(w > h for w, h in zip(wanted, have, strict=True)):
        return _resizing(call)  # Keras resizes what is smaller than the crop
    pads = {first + a: (-((h - w) // 2), -(h - w - (h - w) // 2))
            for a, (w, h) in enumerate(zip(wanted, have, strict=True))}  # fmt: skip
    return Translated(moves.pad(x, None, pads=pads))


# --- merges, layout changes, dense layers, pointwise --------------------------------------


def _broadcast(shapes: list[Shape]) -> Shape:
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + s for s in shapes]
    out = []
    for sizes in zip(*padded, strict=True):
        wide = {n for n in sizes if n != 1}
        if len(wide) > 1:
            raise ModelError(f"shapes {', '.join(map(str, shapes))} do not broadcast")
        out.append(wide.pop() if wide else 1)
    return tuple(out)


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
    if any(len(s) != rank or s[:axis] + s[axis + 1 :] != shapes[0][:axis] + shapes[0][axis + 1 :]
           for s in shapes):  # fmt: skip
        raise ModelError(f"cannot concatenate {', '.join(map(str, shapes))} along axis {axis}")
    out = (*shapes[0][:axis], sum(s[axis] for s in shapes), *shapes[0][axis + 1 :])
    return Translated(views.concat(call.inputs, out, dim=axis))


def _reshape(call: LayerCall) -> Translated:
    x = call.x
    target = call.get("target_shape")
    if not isinstance(target, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) and (v > 0 or v == -1) for v in target
    ) or list(target).count(-1) > 1:  # fmt: skip
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
    units = _positive(call, "units", None)
    out = (*x.shape[:-1], units)
    lowered = mixing.matmul(x, None, out, shapes=(x.shape, (x.shape[-1], units)))
    return Translated(lowered, x.shape[-1] * units + (units if call.get("use_bias", True) else 0))


def _pointwise(params: Callable[[LayerCall], int] = lambda call: 0) -> Callable[[LayerCall], Translated]:
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
NORMS = "BatchNormalization GroupNormalization UnitNormalization".split()
CONVS = [f"{p}{n}D" for p in ("Conv", "Convolution") for n in (1, 2, 3)] + [
    "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "Convolution2DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
]  # fmt: skip
POOLS = [f"{k}Pooling{n}D" for k in ("Max", "Average") for n in (1, 2, 3)]
POOLS += [f"{k}Pool{n}D" for k in ("Max", "Avg") for n in (1, 2, 3)]  # Keras 2 aliases
GLOBAL_POOLS = [f"Global{k}Pooling{n}D" for k in ("Max", "Average") for n in (1, 2, 3)]

LAYERS: dict[str, Callable[[LayerCall], Translated]] = translation_table(
    (CONVS, _conv),
    (POOLS, _pool),
    (GLOBAL_POOLS, _global_pool),
    ([f"ZeroPadding{n}D" for n in (1, 2, 3)], lambda call: _pad(call, 1, "padding")),
    ([f"Cropping{n}D" for n in (1, 2, 3)], lambda call: _pad(call, -1, "cropping")),
    ([f"UpSampling{n}D" for n in (1, 2, 3)], _upsample),
    (["Resizing"], _resizing),
    (["CenterCrop"], _center_crop),
    (["Add", "Subtract", "Average", "Maximum", "Minimum"], _merge("add")),
    (["Multiply"], _merge("mul")),
    (["Concatenate"], _concat),
    (["Reshape"], _reshape),
    (["Flatten"], lambda call: Translated(views.reshape(call.x, (call.x.shape[0], prod(call.x.shape[1:]))))),
    (["Permute"], _permute),
    (["Dense"], _dense),
    (POINTWISE, _pointwise()),
    (["PReLU", "LayerScale"], _pointwise(lambda call: call.x.shape[-1])),
    (NORMS, _pointwise(_norm_params)),
    (["Softmax"], _along("softmax")),
    (["LayerNormalization"], _along("layer_norm")),
)

# functional ops (``x + y``, ``keras.ops.multiply``) saved as layers of keras.src.ops.*
OPS: dict[str, Callable[[LayerCall], Translated]] = translation_table(
    (["Add", "Subtract", "Maximum", "Minimum"], _merge("add")),
    (["Multiply", "Divide", "TrueDivide", "Power"], _merge("mul")),
    (
        "Relu Relu6 Gelu Silu Swish Sigmoid HardSigmoid HardSilu Tanh Exp Log Sqrt Square Abs "
        "Negative Clip Softplus Elu Selu LeakyRelu Cast".split(),  # noqa: SIM905
        _pointwise(),
    ),
)


def translate(call: LayerCall) -> Translated:
    """Lower one layer call; a layer without a translation is `unknown` (never run)."""
    table = OPS if call.module.startswith("keras.src.ops") else LAYERS
    translation = table.get(call.class_name)
    if translation is None:
        return Translated(unknown(call.class_name))
    return translation(call)
