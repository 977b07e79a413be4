"""Torch layers that downsample well, and converters that put them into models.

One layer per file, the functional form beside the module form:

- `Conv1dSame` / `Conv2dSame` / `Conv3dSame`, `conv_same` (also `conv2d_same`), `pad_same`:
  TF/ONNX SAME_UPPER;
- `BlurPool2d` / `blur_pool2d`: anti-aliased downsampling; `antialias` converts a model;
- `SpaceToDepth` / `space_to_depth` and `SPDConv`: downsampling that drops no pixel;
- `DiffStride2d` / `diff_stride2d`: learned real strides; `stride_penalty`, `freeze_strides`;
  `SpectralPool2d` / `spectral_pool2d`: the fixed-stride spectral baseline;
- `replace_stride_with_dilation`: trade strides for dilation in any fx-traceable model;
- `Conv2dPadded` / `PaddedPool`: padding per side; `match`: a copy of a model padded like a
  reference model (a port's fix, found by `stridekit.compare`).

>>> import torch
>>> from stridekit.nn import Conv2dSame
>>> Conv2dSame(3, 8, 7, stride=2)(torch.zeros(1, 3, 224, 224)).shape
torch.Size([1, 8, 112, 112])
"""

from stridekit.nn.antialias import antialias
from stridekit.nn.blur_pool import BlurPool2d, binomial_filter, blur_pool2d
from stridekit.nn.conv_same import (
    Conv1dSame,
    Conv2dSame,
    Conv3dSame,
    conv1d_same,
    conv2d_same,
    conv3d_same,
    conv_same,
    pad_same,
)
from stridekit.nn.diff_stride import DiffStride2d, diff_stride2d, stride_penalty
from stridekit.nn.dilation import replace_stride_with_dilation
from stridekit.nn.freeze import freeze_strides
from stridekit.nn.match import match
from stridekit.nn.padded import Conv1dPadded, Conv2dPadded, Conv3dPadded, PaddedPool
from stridekit.nn.space_to_depth import SpaceToDepth, space_to_depth
from stridekit.nn.spd_conv import SPDConv
from stridekit.nn.spectral_pool import SpectralPool2d, spectral_pool2d

__all__ = [
    "BlurPool2d",
    "Conv1dPadded",
    "Conv1dSame",
    "Conv2dPadded",
    "Conv2dSame",
    "Conv3dPadded",
    "Conv3dSame",
    "DiffStride2d",
    "PaddedPool",
    "SPDConv",
    "SpaceToDepth",
    "SpectralPool2d",
    "antialias",
    "binomial_filter",
    "blur_pool2d",
    "conv1d_same",
    "conv2d_same",
    "conv3d_same",
    "conv_same",
    "diff_stride2d",
    "freeze_strides",
    "match",
    "pad_same",
    "replace_stride_with_dilation",
    "space_to_depth",
    "spectral_pool2d",
    "stride_penalty",
]
