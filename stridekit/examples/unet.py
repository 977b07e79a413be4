"""A small U-Net: ``depth`` poolings, each undone by a stride-2 transposed conv whose
output is concatenated with the skip of the same level. It runs only at input sizes its
strides can reproduce (``2**depth``·k): at 250 the pooled 125 comes back as 124.

    stridekit analyze examples/unet.py:unet --input 1x3x256x256
    stridekit doctor examples/unet.py:unet --input 1x3x250x250   # which merge fails, and why

(``stridekit examples --copy examples`` writes this file there; installed, it is also the
module ``stridekit.examples.unet:unet``.)
"""

from __future__ import annotations

import torch
from torch import nn


def block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.ReLU(),
    )


class UNet(nn.Module):
    def __init__(self, in_channels: int = 3, classes: int = 2, width: int = 16, depth: int = 3):
        super().__init__()
        widths = [width * 2**level for level in range(depth + 1)]
        self.down = nn.ModuleList(
            block(in_channels if level == 0 else widths[level - 1], widths[level])
            for level in range(depth)
        )
        self.pool = nn.MaxPool2d(2)
        self.bottom = block(widths[depth - 1], widths[depth])
        levels = list(reversed(range(depth)))
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[level + 1], widths[level], 2, stride=2) for level in levels
        )
        self.merge = nn.ModuleList(block(2 * widths[level], widths[level]) for level in levels)
        self.head = nn.Conv2d(width, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.down:
            x = down(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for up, merge in zip(self.up, self.merge, strict=True):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)


def unet() -> UNet:
    return UNet()
