"""A small CenterNet-style detector whose output stride is the product of its strides.

CenterNet (Zhou, Wang and Krähenbühl, "Objects as Points", 2019) predicts, on one map
at output stride ``R``, a heatmap of object centres and, at each centre, the sub-cell
offset of the centre and the object's size. Here: plain-cnn's encoder (one stage per
stride, conv-norm-ReLU, `stridekit.experiments.stages.downsampling_stage` for the
strided ones) with widths ``width · 2^i`` capped at ``4 · width`` (so that moving a
stride later costs FLOPs, not a blow-up of channels), then a 3x3 conv-ReLU and a 1x1
conv to five channels: the centre heatmap's logit, the offset ``(dx, dy)`` in cells and
the size ``(log w, log h)`` in pixels. The heatmap's bias starts at ``-log((1 − π)/π)``
with ``π = 0.1`` (the paper's -2.19), so training starts from few false centres.

>>> from stridekit.experiments.data import DataInfo
>>> from stridekit.experiments.spec import ModelConfig
>>> info = DataInfo("detection", 1, (96, 96), 1)
>>> model = CenterNet(ModelConfig(family="centernet", strides=(2, 2, 2, 1), width=8), info)
>>> model(torch.zeros(2, 1, 96, 96)).shape
torch.Size([2, 5, 12, 12])
>>> detector_widths(ModelConfig(strides=(2, 2, 2, 2, 2), width=8))
[8, 16, 32, 32, 32]
"""

from __future__ import annotations

import math

import torch
from torch import nn

from stridekit.experiments.data import DataInfo
from stridekit.experiments.spec import ModelConfig
from stridekit.experiments.stages import encoder

__all__ = ["HEAD_CHANNELS", "PRIOR", "CenterNet", "detector_widths"]

HEAD_CHANNELS = 5  # heatmap logit, offset x, offset y, log width, log height
PRIOR = 0.1  # the heatmap's starting probability (CenterNet's bias -2.19)


def detector_widths(config: ModelConfig) -> list[int]:
    """``width`` doubled at each stage up to four times ``width``."""
    return [config.width * 2 ** min(i, 2) for i in range(len(config.strides))]


class CenterNet(nn.Module):
    """Encoder stages, then the CenterNet head: ``(N, 5, H/R, W/R)`` (see the module)."""

    def __init__(self, config: ModelConfig, info: DataInfo) -> None:
        super().__init__()
        widths = detector_widths(config)
        self.stages = encoder(config, info.channels, widths)
        c_in = widths[-1]
        self.head = nn.Sequential(
            nn.Conv2d(c_in, c_in, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(c_in, 5, 1)
        )
        last = self.head[-1]
        assert isinstance(last, nn.Conv2d) and last.bias is not None
        with torch.no_grad():
            last.bias[0] = -math.log((1 - PRIOR) / PRIOR)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.stages(x))
        return out
