"""What the convolutions that pad first share (`Conv2dSame`, `Conv2dPadded` and their 1-d
and 3-d kin): a ``torch.nn.ConvNd`` built with padding 0, its arguments checked, and the
window run on the input they padded themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from stridekit.errors import InvalidWindowError
from stridekit.nn._checks import check_int, check_tuple

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def flat_pads(pads: Sequence[tuple[int, int]]) -> list[int]:
    """``F.pad``'s argument for ``(lo, hi)`` per axis: the last axis first.

    >>> flat_pads(((0, 1), (2, 3)))
    [2, 3, 0, 1]
    """
    return [p for lo_hi in reversed(pads) for p in lo_hi]


def check_conv_args(name: str, in_channels: int, out_channels: int, groups: int) -> None:
    """Channels and groups as ``torch.nn.ConvNd`` needs them, else an `InvalidWindowError`.

    >>> check_conv_args("Conv2dSame", 6, 4, groups=3)
    Traceback (most recent call last):
    ...
    stridekit.errors.InvalidWindowError: Conv2dSame: in_channels 6 and out_channels 4 must both be divisible by groups 3
    """  # noqa: E501
    check_int(name, "in_channels", in_channels)
    check_int(name, "out_channels", out_channels)
    check_int(name, "groups", groups)
    if in_channels % groups or out_channels % groups:
        raise InvalidWindowError(
            f"{name}: in_channels {in_channels} and out_channels {out_channels} must both "
            f"be divisible by groups {groups}"
        )


class PadFirstConv(nn.Module):
    """A mixin before ``torch.nn.Conv1d``/``2d``/``3d`` (``_base``, with ``_dims``
    spatial axes) for a layer that pads the input itself, then runs the window."""

    _dims: ClassVar[int]
    _base: ClassVar[Any]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    weight: torch.Tensor
    bias: torch.Tensor | None

    def _init_conv(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int],
        dilation: int | Sequence[int],
        groups: int,
        bias: bool,
    ) -> str:
        """Build the ``torch.nn`` convolution with padding 0; returns the layer's name
        for the caller's own checks."""
        name = type(self).__name__
        check_conv_args(name, in_channels, out_channels, groups)
        self._base.__init__(
            self,
            in_channels,
            out_channels,
            check_tuple(name, "kernel_size", kernel_size, self._dims),
            check_tuple(name, "stride", stride, self._dims),
            0,
            check_tuple(name, "dilation", dilation, self._dims),
            groups,
            bias,
        )
        return name

    def _window(self, padded: torch.Tensor) -> torch.Tensor:
        """The convolution over an input already padded."""
        conv = CONV[self._dims]
        return conv(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
