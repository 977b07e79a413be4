"""`match(model, reference)`: a copy of a PyTorch model padded like a reference model.

A port re-builds a model from another framework; where a stride-2 ``SAME`` layer pads
one side and the port pads both, every feature map sits a pixel off. `match` runs
`stridekit.compare`, and wherever an aligned layer's padding differs it swaps the
layer in a deep copy of ``model``: a conv for `Conv2dSame` when the reference pads TF
SAME (right at any input size), for a plain conv with the reference's padding when it is
symmetric, else for `Conv2dPadded` (padding per side); a pool for `PaddedPool` or a
pool with the reference's padding. Parameters keep their names, so a ``state_dict``
loads into the copy as into ``model``; ``model`` itself is never changed.

>>> import torch
>>> from torch import nn
>>> from stridekit.compare import compare
>>> naive = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU())
>>> reference = nn.Sequential(Conv2dSame(3, 8, 3, stride=2), nn.ReLU())
>>> fixed = match(naive, reference, input_shape=(1, 3, 32, 32))
>>> fixed[0], naive[0]
(Conv2dSame(3, 8, kernel_size=(3, 3), stride=(2, 2)), Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1)))
>>> compare(fixed, reference, input_shape=(1, 3, 32, 32)).agree
True
"""  # noqa: E501

from __future__ import annotations

import copy
from typing import Any

from torch import nn

from stridekit.compare import Comparison, compare
from stridekit.compare_align import Padding, SpatialLayer
from stridekit.compare_text import divergence, is_tf_same
from stridekit.errors import ModelError
from stridekit.nn._graph import replace, working_copy
from stridekit.nn.conv_same import Conv1dSame, Conv2dSame, Conv3dSame
from stridekit.nn.padded import Conv1dPadded, Conv2dPadded, Conv3dPadded, PaddedPool

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_PLAIN = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_SAME = {1: Conv1dSame, 2: Conv2dSame, 3: Conv3dSame}
_PADDED: dict[int, Any] = {1: Conv1dPadded, 2: Conv2dPadded, 3: Conv3dPadded}
_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)


def _own_padding(a: SpatialLayer, b: SpatialLayer) -> tuple[Padding, ...]:
    """What ``a``'s own module must pad so that, with the pads before it, it pads as
    ``b`` does."""
    pads = []
    for want, outer in zip(b.padding, a.outer_padding, strict=True):
        assert want is not None  # only windows carry padding
        lo, hi = want[0] - outer[0], want[1] - outer[1]
        if lo < 0 or hi < 0:
            raise ModelError(
                f"match: layer {a.name} must pad {want} like B's {b.name}, but the pads "
                f"before it already add {outer}; remove the explicit pad before it"
            )
        pads.append((lo, hi))
    return tuple(pads)


def _copy_conv(conv: nn.Module, cls: Any, **padding: Any) -> nn.Module:
    made = cls(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=conv.bias is not None,
        **padding,
    )
    # to the conv's dtype first: loading float64 weights into float32 ones would round them
    made.to(conv.weight.device, conv.weight.dtype)
    made.load_state_dict(conv.state_dict())
    return made


def repadded(module: nn.Module, a: SpatialLayer, b: SpatialLayer) -> nn.Module:
    """A copy of ``module`` (which computes ``a``) that pads as ``b`` does."""
    own = _own_padding(a, b)
    symmetric = all(lo == hi for lo, hi in own)
    if isinstance(module, _CONVS):
        dims = module.weight.dim() - 2
        mode = getattr(module, "padding_mode", "zeros")
        if mode == "zeros" and not any(any(p) for p in a.outer_padding) and is_tf_same(a, own):
            return _copy_conv(module, _SAME[dims])
        if symmetric:
            lows = tuple(lo for lo, _ in own)
            return _copy_conv(module, _PLAIN[dims], padding=lows, padding_mode=mode)
        return _PADDED[dims].from_conv(module, own)
    if isinstance(module, _POOLS):
        kernel = module.kernel_size
        kernels = kernel if isinstance(kernel, tuple) else (kernel,) * len(own)
        if symmetric and all(lo <= k // 2 for (lo, _), k in zip(own, kernels, strict=True)):
            made: Any = copy.deepcopy(module)
            made.padding = tuple(lo for lo, _ in own)
            return made
        return PaddedPool(module, own)
    raise ModelError(
        f"match: layer {a.name} of A is computed by a {type(module).__name__} at "
        f"{a.module or 'the model itself'}, which match cannot re-pad (it re-pads "
        f"torch.nn convolutions and pools); pad it by hand: {b.padding} per axis like B"
    )


def _check_fixable(comparison: Comparison) -> None:
    input_size = comparison.input_shape[2:]
    for index, pair in enumerate(comparison.pairs):
        if {"layer", "geometry"} & set(pair.differs):
            found = divergence(index, pair.a, pair.b, pair.differs, input_size)
            raise ModelError(f"match changes padding only, but {found.message}; {found.fix}")
    first = comparison.first_divergence
    if first is not None and first.cause not in ("padding",):
        raise ModelError(f"match changes padding only, but {first.message}; {first.fix}")


def match(
    model: nn.Module,
    reference: Any,
    input_shape: tuple[int, ...] | None = None,
    *,
    device: str = "meta",
) -> nn.Module:
    """A deep copy of ``model`` padded like ``reference`` wherever `stridekit.compare`
    finds their aligned layers' padding differs; ``model`` is left untouched.

    ``reference``: anything `stridekit.compare` takes (a torch module, a ``.tflite`` or
    ``.onnx`` file, a spec, an `Analysis`). A difference that is not padding (a missing
    layer, another kernel or stride) is a `ModelError` naming it.
    """
    fixed = working_copy(model, inplace=False)
    comparison = compare(model, reference, input_shape, device=device)
    _check_fixable(comparison)
    done: dict[str, tuple[Padding | None, ...]] = {}
    for pair in comparison.pairs:
        a, b = pair.a, pair.b
        if "padding" not in pair.differs or a is None or b is None:
            continue
        if a.module in done:
            if done[a.module] != b.padding:
                raise ModelError(
                    f"match: module {a.module} runs twice and must pad {done[a.module]} "
                    f"once and {b.padding} once; give each call its own module"
                )
            continue
        try:
            module = fixed.get_submodule(a.module) if a.module else fixed
        except AttributeError:
            module = fixed
        replacement = repadded(module, a, b)
        if a.module:
            replace(fixed, a.module, replacement)
        else:  # the model is the layer itself
            fixed = replacement
        done[a.module] = b.padding
    return fixed
