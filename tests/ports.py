"""Two sides of a port for the compare and match tests: a naive PyTorch port (symmetric
padding everywhere) and the reference it was ported from, written with TF SAME padding
out by hand (``F.pad`` on the high side, then a window with padding 0), which is what TF
does at stride 2 on an even input. Same module names, so weights copy across."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Naive(nn.Module):
    """conv k3 s2 → BN → ReLU → max pool k3 s2 → conv k3 s2 → conv k1 → conv k3 s1."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(3, 2, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(8, 16, 1)
        self.conv4 = nn.Conv2d(16, 16, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.bn(self.conv1(x))))
        return self.conv4(F.relu(self.conv3(self.conv2(x))))


class Reference(Naive):
    """`Naive`'s layers with TF SAME written out: the stride-2 windows get padding 0 and
    an explicit pad (0, 1) on each axis before them (−inf before the max pool)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1.padding = (0, 0)
        self.pool.padding = 0
        self.conv2.padding = (0, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(F.pad(x, (0, 1, 0, 1)))
        x = F.relu(self.bn(x))
        x = self.pool(F.pad(x, (0, 1, 0, 1), value=float("-inf")))
        x = self.conv2(F.pad(x, (0, 1, 0, 1)))
        return self.conv4(F.relu(self.conv3(x)))


def randomized(model: nn.Module, seed: int = 0) -> nn.Module:
    """``model`` in float64 and eval mode with random weights and BN statistics."""
    generator = torch.Generator().manual_seed(seed)
    model = model.double().eval()
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype))
    return model


def one_channel() -> nn.Module:
    """A model for grey images: it cannot run where `Naive` does."""
    return nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1))


def mlp() -> nn.Module:
    """A model with no spatial layer (for 1x3x8x8 inputs)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 10))
