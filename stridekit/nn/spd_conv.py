"""SPD-Conv (Sunkara & Luo, 2022): space-to-depth, then a stride-1 convolution.

A strided convolution or pooling discards pixels; SPD-Conv keeps all of them by folding
each ``block × block`` patch into channels and lets a non-strided conv (``padding='same'``)
learn what to keep. The output is ``n / block`` pixels (``ceil(n / block)`` with
``pad=True``), like a stride-``block`` SAME convolution.

>>> import torch
>>> SPDConv(64, 128)(torch.zeros(1, 64, 56, 56)).shape
torch.Size([1, 128, 28, 28])
"""

from __future__ import annotations

import torch
from torch import nn

from stridekit.nn._checks import check_int
from stridekit.nn.space_to_depth import SpaceToDepth


class SPDConv(nn.Module):
    """Space-to-depth by ``block``, then ``Conv2d(in·block², out, kernel_size, padding='same')``.

    >>> SPDConv(64, 128, kernel_size=3, block=2)
    SPDConv(64, 128, kernel_size=3, block=2)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        block: int = 2,
        pad: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_channels = check_int(name, "in_channels", in_channels)
        self.out_channels = check_int(name, "out_channels", out_channels)
        self.kernel_size = check_int(name, "kernel_size", kernel_size)
        self.block = check_int(name, "block", block)
        self.space_to_depth = SpaceToDepth(block, pad)
        self.conv = nn.Conv2d(
            in_channels * block * block, out_channels, kernel_size, padding="same", bias=bias
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.space_to_depth(x))

    def __repr__(self) -> str:
        # the constructor, not the children (they follow from it)
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        text += f", block={self.block}"
        if self.space_to_depth.pad:
            text += ", pad=True"
        if self.conv.bias is None:
            text += ", bias=False"
        return f"{type(self).__name__}({text})"
