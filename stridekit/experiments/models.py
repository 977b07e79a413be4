"""Model families for stride experiments, and the downsampling ops they are built with.

Every family takes the same knobs (`ModelConfig`): one stride per stage, one downsampling
``op`` for every stage that downsamples, the convs' ``kernel`` and ``padding``, a ``width``
(the first stage's channels, doubled each stage) and a ``depth`` per stage.

==================  =========================================================================
``plain-cnn``       stages of conv-norm-ReLU (``depth`` 2 by default); a global average pool
                    and a linear head
``resnet-cifar``    ResNet-18, CIFAR style (3x3 stem, no max pool; 2 basic blocks a stage)
``fcn``             plain-cnn's encoder (its strides give the output stride), a 1x1
                    classifier, and a ``bilinear`` or ``transposed``-conv decoder
``centernet``       a CenterNet-style detector (`stridekit.experiments.detection_model`):
                    plain-cnn's encoder, widths capped at 4·width, a centre heatmap, offset
                    and size head at the output stride (the product of the strides)
``spec``            any layer spec (`stridekit.nn.from_spec`), with the task's head added
==================  =========================================================================

How a stage downsamples by ``s`` (a stage with stride 1 is one stride-1 conv in every case):

==============  =======================================================================
``conv``        the stage's first conv has stride ``s``
``max_pool``    a stride-1 conv, then ``MaxPool2d(s)`` (VGG)
``avg_pool``    a stride-1 conv, then ``AvgPool2d(s)``
``blur_pool``   a stride-1 conv, then ``BlurPool2d`` (Zhang 2019: blur, then subsample)
``spd``         ``SpaceToDepth(s)``, then a stride-1 conv (SPD-Conv: no pixel dropped; an
                odd size is padded at the end)
``diffstride``  a stride-1 conv, then ``DiffStride2d`` starting at ``s`` (learned)
==============  =======================================================================

>>> from stridekit.experiments.datasets import DataInfo
>>> from stridekit.experiments.spec import ModelConfig
>>> info = DataInfo("classification", 1, (28, 28), 10)
>>> model = build_model(ModelConfig(strides=(2, 2), op="max_pool", width=8), info)
>>> import torch
>>> model(torch.zeros(2, 1, 28, 28)).shape
torch.Size([2, 10])
>>> [type(m).__name__ for m in model.stages[0]]
['Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'BatchNorm2d', 'ReLU']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from stridekit.errors import SweepSpecError
from stridekit.experiments.datasets import DataInfo
from stridekit.experiments.spec import ModelConfig, _suggest
from stridekit.nn import BlurPool2d, Conv2dSame, DiffStride2d, SpaceToDepth

__all__ = ["FAMILIES", "OPS", "Family", "build_model", "check_model_config", "learned_strides"]

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


class PlainCNN(nn.Module):
    """Stages of conv-norm-ReLU, global average pooling, a linear classifier."""

    def __init__(self, config: ModelConfig, info: DataInfo) -> None:
        super().__init__()
        self.stages = encoder(config, info.channels)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(stage_widths(config)[-1], info.num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(x))


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


class BasicBlock(nn.Module):
    """ResNet's basic block; a 1x1 projection on the shortcut when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int, config: ModelConfig) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *conv_norm_act(c_in, c_out, config, stride),
            *conv_norm_act(c_out, c_out, config, act=False),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)]
            if config.norm == "batch":
                layers.append(nn.BatchNorm2d(c_out))
            self.shortcut = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class ResNetCifar(nn.Module):
    """ResNet-18 for small images: a 3x3 stem, four stages of two basic blocks.

    ``strides`` has one entry per stage (default ``(1, 2, 2, 2)``). With ``op: conv`` a
    stage's first block has the strided 3x3 conv and a strided 1x1 shortcut (ResNet-B);
    with a pixel op the stage starts with that op and its blocks have stride 1, so the
    main path and the shortcut see the same downsampled map (a learned DiffStride stride
    cannot differ between them).
    """

    def __init__(self, config: ModelConfig, info: DataInfo) -> None:
        super().__init__()
        widths = stage_widths(config)
        self.stem = nn.Sequential(*conv_norm_act(info.channels, config.width, config))
        stages = []
        c_in = config.width
        for stride, c_out in zip(config.strides, widths, strict=True):
            layers: list[nn.Module] = []
            block_stride = stride
            if stride > 1 and config.op != "conv":
                layers.append(pixel_downsampler(config.op, c_in, stride, config))
                c_in *= stride * stride if config.op == "spd" else 1
                block_stride = 1
            for index in range(config.depth or 2):
                layers.append(BasicBlock(c_in, c_out, block_stride if index == 0 else 1, config))
                c_in = c_out
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, info.num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


class FitTo(nn.Module):
    """Crop (or, when smaller, bilinearly resize) a map to the input's ``size``."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = self.size
        if x.shape[-2] >= height and x.shape[-1] >= width:
            return x[..., :height, :width]
        return F.interpolate(x, self.size, mode="bilinear", align_corners=False)


class FCN(nn.Module):
    """An encoder (plain-cnn's stages), a 1x1 classifier and a decoder back to full size:
    ``bilinear`` interpolation, or one 3x3 transposed conv per strided stage (kernel 3 with
    stride 2 overlaps unevenly: the checkerboard of Odena et al. 2016)."""

    def __init__(self, config: ModelConfig, info: DataInfo) -> None:
        super().__init__()
        self.stages = encoder(config, info.channels)
        classes = info.num_classes
        self.classifier = nn.Conv2d(stage_widths(config)[-1], classes, 1)
        layers: list[nn.Module] = []
        if config.decoder == "transposed":
            for stride in reversed(config.strides):
                if stride > 1:  # (n − 1)·s − 2 + 3 + (s − 1) = n·s
                    layers.append(
                        nn.ConvTranspose2d(
                            classes, classes, 3, stride, 1, output_padding=stride - 1
                        )
                    )
        layers.append(FitTo(info.size))
        self.decoder = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.classifier(self.stages(x)))


def _centernet(config: ModelConfig, info: DataInfo) -> nn.Module:
    from stridekit.experiments.detection_model import CenterNet  # it builds on this module

    return CenterNet(config, info)


def _spec_model(config: ModelConfig, info: DataInfo) -> nn.Module:
    from stridekit.nn.from_spec import from_spec

    if config.spec is None:
        raise SweepSpecError(
            "model.spec: the spec family needs `spec` (a file or inline)", field="model.spec"
        )
    from stridekit.frontends.spec import load_spec

    shape_in = (1, info.channels, *info.size)
    body = from_spec(config.spec, shape_in)
    # the spec's own analysis gives the body's output shape: no forward pass (a meta
    # input would meet the body's real BatchNorm buffers)
    shape = load_spec(config.spec, shape_in).output.output_shape
    layers: list[nn.Module] = [body]
    if info.task == "segmentation":
        if len(shape) != 4:
            raise SweepSpecError(
                f"model.spec: segmentation needs a spatial output, the spec gives {tuple(shape)}",
                field="model.spec",
            )
        layers += [nn.Conv2d(shape[1], info.num_classes, 1), FitTo(info.size)]
    elif len(shape) > 2:
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(shape[1], info.num_classes)]
    elif shape[1] != info.num_classes:
        layers.append(nn.Linear(shape[1], info.num_classes))
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class Family:
    """A registered model family: the tasks it does and how to build it."""

    name: str
    tasks: tuple[str, ...]
    build: Callable[[ModelConfig, DataInfo], nn.Module]
    stages: int | None = None  # a fixed number of stages (resnet-cifar: 4)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("plain-cnn", ("classification",), PlainCNN),
        Family("resnet-cifar", ("classification",), ResNetCifar, stages=4),
        Family("fcn", ("segmentation",), FCN),
        Family("centernet", ("detection",), _centernet),
        Family("spec", ("classification", "segmentation"), _spec_model),
    )
}


def check_model_config(config: ModelConfig, task: str) -> Family:
    """The family, once the names (family, op) and the task are known to fit."""
    family = FAMILIES.get(config.family)
    if family is None:
        raise SweepSpecError(
            f"model.family: unknown model family {config.family!r}"
            f"{_suggest(config.family, FAMILIES)} (choose one of {', '.join(FAMILIES)})",
            field="model.family",
        )
    if config.op not in OPS:
        raise SweepSpecError(
            f"model.op: unknown downsampling op {config.op!r}{_suggest(config.op, OPS)} "
            f"(choose one of {', '.join(OPS)})",
            field="model.op",
        )
    if task not in family.tasks:
        raise SweepSpecError(
            f"model.family: {family.name} does not do {task} (it does {', '.join(family.tasks)}; "
            f"for {task} use {' or '.join(f.name for f in FAMILIES.values() if task in f.tasks)})",
            field="model.family",
        )
    if family.stages is not None and len(config.strides) != family.stages:
        raise SweepSpecError(
            f"model.strides: {family.name} has {family.stages} stages, so it takes "
            f"{family.stages} strides, got {list(config.strides)}",
            field="model.strides",
        )
    return family


def build_model(config: ModelConfig, info: DataInfo) -> nn.Module:
    """A freshly initialised model of the config's family for data described by ``info``
    (initialised from torch's global generator: seed it first for a reproducible model)."""
    return check_model_config(config, info.task).build(config, info)


def learned_strides(model: nn.Module) -> dict[str, float]:
    """The strides each `DiffStride2d` layer uses now, per axis: ``{"stages.1.3.h": 2.31}``.

    >>> learned_strides(nn.Sequential(DiffStride2d(2.0)))
    {'0.h': 2.0, '0.w': 2.0}
    """
    strides = {}
    for name, module in model.named_modules():
        if isinstance(module, DiffStride2d):
            height, width = module.effective_strides()
            strides[f"{name}.h"], strides[f"{name}.w"] = height, width
    return strides
