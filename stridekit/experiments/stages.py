"""The plain-cnn encoder and the layers its stages are made of: conv-norm-ReLU and the
downsampling ops (`OPS`), one stage per stride.

Every model family builds on these: plain-cnn, fcn and the CenterNet detector use
`encoder` whole, resnet-cifar uses `conv_norm_act` and `pixel_downsampler`. They sit in
their own module below `stridekit.experiments.models` (the family registry) and
`stridekit.experiments.detection_model`, so that the registry can import the detector
and the detector its encoder without either importing the other.

>>> from stridekit.experiments.spec import ModelConfig
>>> stages = encoder(ModelConfig(strides=(2, 1), op="spd", width=4), channels=1)
>>> [type(m).__name__ for m in stages[0]]
['SpaceToDepth', 'Conv2d', 'BatchNorm2d', 'ReLU', 'Conv2d', 'BatchNorm2d', 'ReLU']
>>> stage_widths(ModelConfig(strides=(2, 2, 2), width=32))
[32, 64, 128]
"""

from __future__ import annotations

from torch import nn

from stridekit.errors import SweepSpecError
from stridekit.experiments.spec import ModelConfig
from stridekit.nn import BlurPool2d, Conv2dSame, DiffStride2d, SpaceToDepth

__all__ = [
    "OPS",
    "conv_norm_act",
    "downsampling_stage",
    "encoder",
    "pixel_downsampler",
    "stage_widths",
]

OPS = ("conv", "max_pool", "avg_pool", "blur_pool", "spd", "diffstride")


def conv_norm_act(
    c_in: int, c_out: int, config: ModelConfig, stride: int = 1, act: bool = True
) -> list[nn.Module]:
    """A conv with the config's kernel and padding, its norm and a ReLU."""
    k = config.kernel
    bias = config.norm == "none"
    conv: nn.Module
    if config.padding == "tf":
        conv = Conv2dSame(c_in, c_out, k, stride=stride, bias=bias)
    else:
        padding = k // 2 if config.padding == "same" else 0
        conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=bias)
    layers: list[nn.Module] = [conv]
    if config.norm == "batch":
        layers.append(nn.BatchNorm2d(c_out))
    if act:
        layers.append(nn.ReLU(inplace=True))
    return layers


def pixel_downsampler(op: str, channels: int, stride: int, config: ModelConfig) -> nn.Module:
    """The op that moves pixels (no conv): max/avg/blur pool, space-to-depth, DiffStride."""
    if op == "max_pool":
        return nn.MaxPool2d(stride, stride)
    if op == "avg_pool":
        return nn.AvgPool2d(stride, stride)
    if op == "blur_pool":
        return BlurPool2d(channels, stride=stride)
    if op == "spd":
        return SpaceToDepth(stride, pad=True)
    if op == "diffstride":
        return DiffStride2d(float(stride), smoothness=config.smoothness)
    raise SweepSpecError(f"model.op: {op!r} is not a pixel op", field="model.op")


def downsampling_stage(c_in: int, c_out: int, stride: int, config: ModelConfig) -> list[nn.Module]:
    """The first layers of a stage: ``c_in → c_out`` channels, ``stride`` by ``config.op``."""
    op = config.op
    if stride == 1 or op == "conv":
        return conv_norm_act(c_in, c_out, config, stride)
    if op == "spd":  # space-to-depth first: the conv sees every pixel, s² times the channels
        return [
            SpaceToDepth(stride, pad=True),
            *conv_norm_act(c_in * stride * stride, c_out, config),
        ]
    return [*conv_norm_act(c_in, c_out, config), pixel_downsampler(op, c_out, stride, config)]


def stage_widths(config: ModelConfig) -> list[int]:
    """``width`` doubled at each stage: ``[32, 64, 128]`` for three stages of width 32."""
    return [config.width * 2**i for i in range(len(config.strides))]


def encoder(config: ModelConfig, channels: int, widths: list[int] | None = None) -> nn.Sequential:
    """The plain-cnn stages (a downsampling stage per stride, then ``depth − 1`` convs),
    ``widths`` channels each (default `stage_widths`)."""
    stages = []
    c_in = channels
    chosen = stage_widths(config) if widths is None else widths
    for stride, c_out in zip(config.strides, chosen, strict=True):
        layers = downsampling_stage(c_in, c_out, stride, config)
        for _ in range((config.depth or 2) - 1):
            layers += conv_norm_act(c_out, c_out, config)
        stages.append(nn.Sequential(*layers))
        c_in = c_out
    return nn.Sequential(*stages)
