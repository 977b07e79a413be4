"""Convolutions and pools with explicit padding per side: ``(lo, hi)`` on each axis.

PyTorch's layers pad both sides of an axis alike. A layer ported from a framework that
pads one side more (TF's ``SAME`` at stride 2, ONNX ``SAME_LOWER``, an explicit
``ZeroPadding2D((0, 1))``) needs the pixel on one side only; these layers pad first and
then run the window with padding 0. `Conv2dPadded` is an `nn.Conv2d` (same parameters,
same ``state_dict`` keys); `PaddedPool` wraps a max or average pool (a max pool pads with
−inf, so padding never wins; an average pool with ``count_include_pad=False`` divides by
the real pixels only, as TF's does).

>>> import torch
>>> conv = Conv2dPadded(3, 8, 3, stride=2, padding=((0, 1), (0, 1)))
>>> conv(torch.zeros(1, 3, 224, 224)).shape   # (224 + 0 + 1 − 3) // 2 + 1 = 112
torch.Size([1, 8, 112, 112])
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from stridekit.errors import InvalidWindowError, UnsupportedError
from stridekit.nn._checks import check_pad_mode, check_tuple, torch_pad_mode
from stridekit.nn._pad_first import PadFirstConv, flat_pads

_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)

Pads = tuple[tuple[int, int], ...]


def check_pads(layer: str, padding: Any, dims: int) -> Pads:
    """``padding`` as ``(lo, hi)`` per axis: an int (all sides), or per axis an int or a
    pair, each ``>= 0``.

    >>> check_pads("conv", 1, 2), check_pads("conv", [(0, 1), 2], 2)
    (((1, 1), (1, 1)), ((0, 1), (2, 2)))
    """
    if isinstance(padding, int) and not isinstance(padding, bool):
        padding = [padding] * dims
    if not isinstance(padding, Sequence) or isinstance(padding, str) or len(padding) != dims:
        raise InvalidWindowError(
            f"{layer}: padding must be an integer or {dims} entries (an integer or "
            f"(lo, hi) each), got {padding!r}"
        )
    pads = []
    for axis in padding:
        pair = check_tuple(layer, "padding", axis, 2, minimum=0)
        pads.append((pair[0], pair[1]))
    return tuple(pads)


class _ConvPaddedMixin(PadFirstConv):
    """Shared logic of `Conv1dPadded`, `Conv2dPadded`, `Conv3dPadded`."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: Any = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        name = self._init_conv(
            in_channels, out_channels, kernel_size, stride, dilation, groups, bias
        )
        self.pads = check_pads(name, padding, self._dims)
        self.pad_mode = check_pad_mode(name, padding_mode)

    @classmethod
    def from_conv(cls, conv: Any, padding: Any) -> Any:
        """A copy of ``conv`` (weights included, same ``state_dict`` keys) padded
        ``padding`` per side instead of its own padding."""
        made = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            conv.stride,
            padding,
            conv.dilation,
            conv.groups,
            conv.bias is not None,
            getattr(conv, "padding_mode", "zeros"),
        )
        made.to(conv.weight.device, conv.weight.dtype)  # first: float64 stays float64
        made.load_state_dict(conv.state_dict())
        return made

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(lo or hi for lo, hi in self.pads):
            x = F.pad(x, flat_pads(self.pads), mode=torch_pad_mode(self.pad_mode))
        return self._window(x)

    def extra_repr(self) -> str:
        return f"{self._base.extra_repr(self)}, pads={self.pads}"


class Conv1dPadded(_ConvPaddedMixin, nn.Conv1d):
    """`torch.nn.Conv1d` padded ``(lo, hi)``.

    >>> import torch
    >>> Conv1dPadded(1, 1, 3, padding=((2, 0),))(torch.zeros(1, 1, 10)).shape   # causal
    torch.Size([1, 1, 10])
    """

    _dims = 1
    _base = nn.Conv1d


class Conv2dPadded(_ConvPaddedMixin, nn.Conv2d):
    """`torch.nn.Conv2d` padded ``(lo, hi)`` per axis.

    >>> Conv2dPadded(3, 8, 3, stride=2, padding=((0, 1), (1, 1))).pads
    ((0, 1), (1, 1))
    """

    _dims = 2
    _base = nn.Conv2d


class Conv3dPadded(_ConvPaddedMixin, nn.Conv3d):
    """`torch.nn.Conv3d` padded ``(lo, hi)`` per axis.

    >>> import torch
    >>> Conv3dPadded(1, 2, 3, stride=2, padding=(0, 1, (0, 1)))(torch.zeros(1, 1, 5, 6, 6)).shape
    torch.Size([1, 2, 2, 3, 3])
    """

    _dims = 3
    _base = nn.Conv3d


class PaddedPool(nn.Module):
    """A max or average pool (``torch.nn.MaxPool2d`` …) run after padding ``(lo, hi)``
    per axis; the pool's own padding is replaced.

    >>> import torch
    >>> pool = PaddedPool(nn.AvgPool2d(3, 2), ((0, 1), (0, 1)), count_include_pad=False)
    >>> pool(torch.ones(1, 1, 4, 4))   # the padded zeros do not count
    tensor([[[[1., 1.],
              [1., 1.]]]])
    """

    def __init__(
        self, pool: nn.Module, padding: Any, count_include_pad: bool | None = None
    ) -> None:
        super().__init__()
        if not isinstance(pool, _POOLS):
            raise UnsupportedError(
                f"PaddedPool: expected a torch.nn max or average pool, got {type(pool).__name__}"
            )
        if getattr(pool, "return_indices", False) or getattr(pool, "divisor_override", None):
            raise UnsupportedError(
                f"PaddedPool: {type(pool).__name__} with return_indices or divisor_override "
                "depends on its own padding; pad it by hand"
            )
        dims = int(type(pool).__name__[-2])
        self.pool = copy.deepcopy(pool)
        self.pool.padding = 0
        self.pads = check_pads("PaddedPool", padding, dims)
        self.is_max = isinstance(pool, nn.MaxPool1d | nn.MaxPool2d | nn.MaxPool3d)
        self.count_include_pad = (
            getattr(pool, "count_include_pad", True)
            if count_include_pad is None
            else count_include_pad
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not any(lo or hi for lo, hi in self.pads):
            return self.pool(x)
        flat = flat_pads(self.pads)
        if self.is_max:
            return self.pool(F.pad(x, flat, value=float("-inf")))
        pooled = self.pool(F.pad(x, flat))
        if self.count_include_pad:
            return pooled
        # the share of real pixels in each window: the average of ones padded with zeros
        ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        return pooled / self.pool(F.pad(ones, flat))

    def extra_repr(self) -> str:
        return f"pads={self.pads}"
