"""TensorFlow / ONNX ``SAME_UPPER`` convolution for any stride, dilation and input size.

PyTorch's ``padding='same'`` exists only for stride 1. ``SAME`` gives ``ceil(n / s)``
outputs with total padding ``max(0, (out − 1)·s + e − n)``, the odd pixel at the end
(`stridekit.geometry.same_padding` holds the arithmetic). That padding depends on ``n``
when ``s > 1``: the layers pad dynamically from the input's shape, or statically when the
input size is given (``input_size=...``) or cannot matter (stride 1, or a 1-pixel kernel).

>>> import torch
>>> conv = Conv2dSame(3, 8, kernel_size=7, stride=2)
>>> conv(torch.zeros(1, 3, 224, 224)).shape   # padding (2, 3) on both axes
torch.Size([1, 8, 112, 112])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from stridekit.errors import OutputSizeError
from stridekit.geometry import same_padding
from stridekit.nn._checks import check_tuple, spatial_sizes
from stridekit.nn._pad_first import CONV, PadFirstConv, flat_pads


def same_pads(
    sizes: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> tuple[tuple[int, int], ...]:
    """Per-axis ``(lo, hi)`` SAME_UPPER padding from `stridekit.geometry.same_padding`.

    >>> same_pads((224, 6), (7, 3), (2, 2), (1, 1))
    ((2, 3), (0, 1))
    """
    return tuple(
        same_padding(n, k, s, d, convention="tf")
        for n, k, s, d in zip(sizes, kernel_size, stride, dilation, strict=True)
    )


def pad_same(
    x: torch.Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    dilation: int | Sequence[int] = 1,
    value: float = 0.0,
) -> torch.Tensor:
    """Pad ``x`` (batch, channels, spatial…) so a VALID window gives SAME_UPPER outputs.

    >>> import torch
    >>> pad_same(torch.zeros(1, 1, 6, 224), kernel_size=(3, 7), stride=2).shape  # +1, +5
    torch.Size([1, 1, 7, 229])
    """
    dims = x.dim() - 2
    if dims not in CONV:
        raise OutputSizeError(
            f"pad_same: expected a 3-d, 4-d or 5-d input (batch, channels, spatial), "
            f"got shape {tuple(x.shape)}"
        )
    kernel = check_tuple("pad_same", "kernel_size", kernel_size, dims)
    strides = check_tuple("pad_same", "stride", stride, dims)
    dilations = check_tuple("pad_same", "dilation", dilation, dims)
    pads = same_pads(spatial_sizes("pad_same", x, dims), kernel, strides, dilations)
    if not any(lo or hi for lo, hi in pads):
        return x
    return F.pad(x, flat_pads(pads), value=value)


def conv_same(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | Sequence[int] = 1,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> torch.Tensor:
    """``F.conv1d``, ``F.conv2d`` or ``F.conv3d`` (by the weight's spatial axes) with
    SAME_UPPER padding; ``conv1d_same``, ``conv2d_same`` and ``conv3d_same`` name it too.

    >>> import torch
    >>> conv1d_same(torch.zeros(1, 2, 513), torch.zeros(4, 2, 3), stride=16).shape
    torch.Size([1, 4, 33])
    >>> conv2d_same(torch.zeros(1, 3, 6, 6), torch.zeros(4, 3, 3, 3), stride=2).shape
    torch.Size([1, 4, 3, 3])
    >>> conv3d_same(torch.zeros(1, 1, 5, 6, 7), torch.zeros(2, 1, 3, 3, 3), stride=2).shape
    torch.Size([1, 2, 3, 3, 4])
    """
    dims = weight.dim() - 2
    if dims not in CONV or x.dim() != weight.dim():
        raise OutputSizeError(
            f"conv_same: expected an input (batch, channels, spatial…) and a weight (out, "
            f"in / groups, kernel…) of 1 to 3 spatial axes alike, got input "
            f"{tuple(x.shape)} and weight {tuple(weight.shape)}"
        )
    kernel = tuple(weight.shape[2:])
    strides = check_tuple("conv_same", "stride", stride, dims)
    dilations = check_tuple("conv_same", "dilation", dilation, dims)
    x = pad_same(x, kernel, strides, dilations)
    return CONV[dims](x, weight, bias, strides, 0, dilations, groups)


conv1d_same = conv2d_same = conv3d_same = conv_same
"""`conv_same` under the names of ``F.conv1d``, ``F.conv2d`` and ``F.conv3d`` (timm's
``conv2d_same``): the weight's spatial axes choose the convolution."""


class _ConvSameMixin(PadFirstConv):
    """Shared SAME logic of `Conv1dSame`, `Conv2dSame` and `Conv3dSame`."""

    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    input_size: tuple[int, ...] | None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        input_size: int | Sequence[int] | None = None,
    ) -> None:
        name = self._init_conv(
            in_channels, out_channels, kernel_size, stride, dilation, groups, bias
        )
        self.input_size = (
            None if input_size is None else check_tuple(name, "input_size", input_size, self._dims)
        )

    @property
    def static_pads(self) -> tuple[tuple[int, int], ...] | None:
        """The padding when it is known without the input, else ``None`` (dynamic).

        Computed from the current kernel, stride and dilation, so converters that change
        them (`antialias`, `replace_stride_with_dilation`) keep SAME semantics.
        """
        if self.input_size is not None:
            return same_pads(self.input_size, self.kernel_size, self.stride, self.dilation)
        # SAME padding is periodic in n with period s (total e − (n mod s or s)), so it is
        # static exactly when it is equal for n = 1 … s on every axis (s = 1, or e = 1).
        pads = []
        for k, s, d in zip(self.kernel_size, self.stride, self.dilation, strict=True):
            options = {same_padding(n, k, s, d, convention="tf") for n in range(1, s + 1)}
            if len(options) > 1:
                return None
            pads.append(options.pop())
        return tuple(pads)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        name = type(self).__name__
        static_pads = self.static_pads
        if static_pads is None:
            return pad_same(x, self.kernel_size, self.stride, self.dilation)
        if self.input_size is not None:
            sizes = spatial_sizes(name, x, self._dims)
            if sizes != self.input_size:
                raise OutputSizeError(
                    f"{name} was built for input size {self.input_size} (static padding "
                    f"{static_pads}) but got {sizes}; build it with input_size=None "
                    "for padding computed from each input"
                )
        if not any(lo or hi for lo, hi in static_pads):
            return x
        return F.pad(x, flat_pads(static_pads))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._window(self._pad(x))

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        text += f", stride={self.stride}"
        if any(d != 1 for d in self.dilation):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.input_size is not None:
            text += f", input_size={self.input_size}"
        return text


class Conv1dSame(_ConvSameMixin, nn.Conv1d):
    """`torch.nn.Conv1d` with SAME_UPPER padding (``ceil(n / stride)`` outputs).

    >>> import torch
    >>> Conv1dSame(2, 4, kernel_size=3, stride=16)(torch.zeros(1, 2, 513)).shape
    torch.Size([1, 4, 33])
    """

    _dims = 1
    _base = nn.Conv1d


class Conv2dSame(_ConvSameMixin, nn.Conv2d):
    """`torch.nn.Conv2d` with SAME_UPPER padding (``ceil(n / stride)`` outputs).

    >>> import torch
    >>> Conv2dSame(3, 8, 3, stride=2)
    Conv2dSame(3, 8, kernel_size=(3, 3), stride=(2, 2))
    >>> Conv2dSame(3, 8, 3, stride=2, input_size=6).static_pads
    ((0, 1), (0, 1))
    """

    _dims = 2
    _base = nn.Conv2d


class Conv3dSame(_ConvSameMixin, nn.Conv3d):
    """`torch.nn.Conv3d` with SAME_UPPER padding (``ceil(n / stride)`` outputs).

    >>> import torch
    >>> Conv3dSame(1, 2, 3, stride=2)(torch.zeros(1, 1, 5, 6, 7)).shape
    torch.Size([1, 2, 3, 3, 4])
    """

    _dims = 3
    _base = nn.Conv3d
