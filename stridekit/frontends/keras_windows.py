"""Keras layers that move pixels → canonical ops: convolutions, pooling, padding,
cropping, upsampling, resizing (the windows and resamples of the Keras frontend).

Keras computes with ``(N, *spatial, C)`` tensors: an op is lowered on the channels-first
view of its input (a permutation of the layout, no node) and its output permuted back, so
every node keeps the shape Keras gives. ``padding="same"`` is TensorFlow's SAME
(``ceil(n/s)`` outputs, the odd pixel of padding at the end), the convention ``"tf"`` of
`stridekit.geometry.padding`.

>>> from stridekit.lowering import Meta
>>> x = Meta.standard((1, 2, 9, 9), spatial=2)       # channels first
>>> call = LayerCall("MaxPooling2D", "keras.layers", {"pool_size": 3, "strides": 2,
...                  "padding": "same", "data_format": "channels_first"}, [x])
>>> pool(call).lowered.shape, pool(call).lowered.axes[0].padding   # total (5−1)·2+3−9 = 2
((1, 2, 5, 5), (1, 1))
"""

from __future__ import annotations

from dataclasses import replace
from math import prod
from typing import Any

from stridekit.errors import ModelError
from stridekit.frontends.keras_call import (
    LayerCall,
    Translated,
    axes_of,
    channels_last,
    choice,
    extents,
    ints,
    positive,
    restore,
    spatial_input,
)
from stridekit.geometry import layout as lay
from stridekit.geometry import make_window
from stridekit.lowering import mixing, moves, unknown, windows
from stridekit.lowering.cost import conv_flops

Shape = tuple[int, ...]

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
    >>> _transposed_padding(5, 1, 3, 1, "same", None)   # e < s: s − e more outputs
    ((0, 0), 2)
    """
    e = d * (k - 1) + 1
    if padding == "valid":
        out = (n - 1) * s + e + (max(e, s) - e if extra is None else extra)
    else:
        out = n * s if extra is None else (n - 1) * s + e % 2 + extra
    lo = max(0, (n - 1) * s + e - out) // 2
    hi = (n - 1) * s + e - out - lo  # negative: more output than the windows reach
    return (lo, max(hi, 0)), max(-hi, 0)


def conv(call: LayerCall) -> Translated:
    kind = call.class_name
    count = axes_of(kind)
    x = spatial_input(call, count)
    depthwise = kind.startswith(("Depthwise", "Separable"))
    transposed = "Transpose" in kind
    kernel = ints(call.get("kernel_size"), count, "kernel_size")
    strides = ints(call.get("strides", 1), count, "strides")
    dilation = ints(call.get("dilation_rate", 1), count, "dilation_rate")
    padding = choice(call, "padding", ("valid", "same", "causal"), "valid")
    extents(kernel, dilation)
    extents(strides, (1,) * count)
    c_in, groups = x.shape[1], 1
    if depthwise:
        groups = c_in
        channels = c_in * positive(call, "depth_multiplier", 1)
        weight: Shape = (channels, 1, *kernel)
    elif transposed:
        channels = positive(call, "filters", None)
        weight = (c_in, channels, *kernel)
    else:
        channels, groups = positive(call, "filters", None), positive(call, "groups", 1)
        if c_in % groups or channels % groups:
            raise ModelError(
                f"groups {groups} must divide the channels in ({c_in}), out ({channels})"
            )
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
        for n, k, s, p, d, o in zip(
            x.shape[2:], kernel, strides, pads, dilation, extras, strict=True
        )
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
        filters = positive(call, "filters", None)
        pointwise_weight = (filters, channels, *(1,) * count)
        final = (x.shape[0], filters, *sizes)
        flops = lowered.flops + conv_flops(out, pointwise_weight, final)
        lowered = replace(lowered, flops=flops, layout=lay.resize(lowered.layout, final))
        out, params = final, params + prod(pointwise_weight)
    params += out[1] if bias else 0
    return Translated(restore(call, lowered, out), params)


def pool(call: LayerCall) -> Translated:
    count = axes_of(call.class_name)
    x = spatial_input(call, count)
    kernel = ints(call.get("pool_size", 2), count, "pool_size")
    strides = ints(call.get("strides", list(kernel)), count, "strides")
    padding = choice(call, "padding", ("valid", "same"), "valid")
    extents(kernel, (1,) * count)
    extents(strides, (1,) * count)
    sizes = [
        make_window(
            "conv", n, k, s, padding if padding == "same" else 0, convention="tf"
        ).output_size(n)
        for n, k, s in zip(x.shape[2:], kernel, strides, strict=True)
    ]
    out = (*x.shape[:2], *sizes)
    kind = "max_pool" if call.class_name.startswith("Max") else "avg_pool"
    lowered = windows.pool(
        x,
        out,
        kind=kind,
        kernel=kernel,
        stride=strides,
        padding=[padding] * count,
        convention="tf",
        count=count,
    )
    return Translated(restore(call, lowered, out))


def global_pool(call: LayerCall) -> Translated:
    x = call.x
    last = channels_last(call)
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


def pad(call: LayerCall, sign: int, key: str) -> Translated:
    count = axes_of(call.class_name)
    x = call.x
    if x.rank != count + 2:
        raise ModelError(f"{call.class_name} needs a rank-{count + 2} input, got {x.shape}")
    first = 1 if channels_last(call) else 2
    pairs = _pairs(call.get(key, 1 if sign > 0 else 0), count, key)
    pads = {first + a: (sign * lo, sign * hi) for a, (lo, hi) in enumerate(pairs)}
    return Translated(moves.pad(x, None, pads=pads))


def upsample(call: LayerCall) -> Translated:
    count = axes_of(call.class_name)
    x = spatial_input(call, count)
    scales = ints(call.get("size", 2), count, "size")
    mode = choice(call, "interpolation", ("nearest", "bilinear", "bicubic"), "nearest")
    out = (*x.shape[:2], *(n * s for n, s in zip(x.shape[2:], scales, strict=True)))
    if mode == "nearest":  # a repeat: output i reads floor(i/s)
        lowered = moves.resize(x, out, mode="nearest", scales=list(scales))
    else:
        resample = "linear" if mode == "bilinear" else "cubic"
        lowered = moves.resize(x, out, mode=resample, coordinate="half_pixel", scales=list(scales))
    return Translated(restore(call, lowered, out))


def resizing(call: LayerCall) -> Translated:
    x = spatial_input(call, 2)
    sizes = (positive(call, "height", None), positive(call, "width", None))
    out = (*x.shape[:2], *sizes)
    aspect = x.shape[2] * sizes[1] != x.shape[3] * sizes[0]
    if aspect and (call.get("crop_to_aspect_ratio") or call.get("pad_to_aspect_ratio")):
        return Translated(unknown("Resizing(crop_to_aspect_ratio)"))
    mode = call.get("interpolation", "bilinear")
    if mode == "nearest":  # tf.image.resize: half-pixel centres, rounded
        lowered = moves.resize(
            x,
            out,
            mode="nearest",
            coordinate="half_pixel",
            nearest="round_prefer_ceil",
            sizes=sizes,
        )
    elif mode in ("bilinear", "bicubic"):
        resample = "linear" if mode == "bilinear" else "cubic"
        lowered = moves.resize(
            x,
            out,
            mode=resample,
            coordinate="half_pixel",
            sizes=sizes,
            antialias=bool(call.get("antialias", False)),
        )
    else:
        return Translated(unknown(f"Resizing({mode})"))
    return Translated(restore(call, lowered, out))


def center_crop(call: LayerCall) -> Translated:
    x = call.x
    first = 1 if channels_last(call) else 2
    wanted = (positive(call, "height", None), positive(call, "width", None))
    have = x.shape[first : first + 2]
    if any(w > h for w, h in zip(wanted, have, strict=True)):
        return resizing(call)  # Keras resizes what is smaller than the crop
    pads = {
        first + a: (-((h - w) // 2), -(h - w - (h - w) // 2))
        for a, (w, h) in enumerate(zip(wanted, have, strict=True))
    }
    return Translated(moves.pad(x, None, pads=pads))
