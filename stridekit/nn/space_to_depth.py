"""Space-to-depth: fold each ``block × block`` patch into the channels, dropping nothing.

Output channel ``c·b² + i·b + j`` holds input pixel ``(y·b + i, x·b + j)`` of channel ``c``
(PyTorch's ``pixel_unshuffle`` order). As a window along each axis it is kernel ``b``,
stride ``b``, no padding, so the size must be divisible by ``b``; with ``pad=True`` the
input is first padded with zeros to the next multiple, split like TensorFlow's SAME
(`stridekit.geometry.same_padding` with kernel and stride ``b``), giving ``ceil(n / b)``.

>>> import torch
>>> SpaceToDepth(2)(torch.zeros(1, 3, 8, 6)).shape
torch.Size([1, 12, 4, 3])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stridekit.errors import OutputSizeError
from stridekit.geometry import same_padding
from stridekit.nn._checks import check_int, spatial_sizes


def space_to_depth(x: torch.Tensor, block: int = 2, pad: bool = False) -> torch.Tensor:
    """Move each ``block × block`` patch of ``x`` (batch, channels, h, w) into channels.

    >>> import torch
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> space_to_depth(x)[0, :, 0, 0]       # the top-left 2×2 patch
    tensor([0., 1., 4., 5.])
    >>> space_to_depth(torch.zeros(1, 1, 5, 4)).shape
    Traceback (most recent call last):
    ...
    stridekit.errors.OutputSizeError: space_to_depth: height 5 is not divisible by block 2 (5 = 2·2 + 1); pad the input to 6 (pad=True pads by (0, 1)) or crop it to 4
    """  # noqa: E501
    b = check_int("space_to_depth", "block", block)
    sizes = spatial_sizes("space_to_depth", x, 2)
    if pad:
        pads = [same_padding(n, b, b, convention="tf") for n in sizes]
        if any(lo or hi for lo, hi in pads):
            (top, bottom), (left, right) = pads
            x = F.pad(x, (left, right, top, bottom))
    else:
        for axis, n in zip(("height", "width"), sizes, strict=True):
            if n % b:
                padded = -(-n // b) * b
                raise OutputSizeError(
                    f"space_to_depth: {axis} {n} is not divisible by block {b} "
                    f"({n} = {n // b}·{b} + {n % b}); pad the input to {padded} "
                    f"(pad=True pads by {same_padding(n, b, b, convention='tf')}) "
                    f"or crop it to {n - n % b}"
                )
    return F.pixel_unshuffle(x, b)


class SpaceToDepth(nn.Module):
    """Space-to-depth with block ``block``: ``(N, C, H, W) → (N, C·b², H/b, W/b)``.

    >>> SpaceToDepth(2, pad=True)
    SpaceToDepth(2, pad=True)
    """

    def __init__(self, block: int = 2, pad: bool = False) -> None:
        super().__init__()
        self.block = check_int(type(self).__name__, "block", block)
        self.pad = bool(pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return space_to_depth(x, self.block, self.pad)

    def extra_repr(self) -> str:
        return f"{self.block}" + (", pad=True" if self.pad else "")
