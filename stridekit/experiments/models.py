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
from stridekit.experiments.choices import unknown_name
from stridekit.experiments.data import DataInfo
from stridekit.experiments.detection_model import CenterNet
from stridekit.experiments.spec import ModelConfig
from stridekit.experiments.stages import (
    OPS,
    conv_norm_act,
    downsampling_stage,
    encoder,
    pixel_downsampler,
    stage_widths,
)
from stridekit.frontends.spec import load_spec
from stridekit.nn import DiffStride2d
from stridekit.nn.from_spec import from_spec

__all__ = ["FAMILIES", "OPS", "Family", "build_model", "check_model_config", "learned_strides"]
__all__ += ["downsampling_stage", "encoder", "stage_widths"]  # from stridekit.experiments.stages


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


def _spec_model(config: ModelConfig, info: DataInfo) -> nn.Module:
    if config.spec is None:
        raise SweepSpecError(
            "model.spec: the spec family needs `spec` (a file or inline)", field="model.spec"
        )
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
        Family("centernet", ("detection",), CenterNet),
        Family("spec", ("classification", "segmentation"), _spec_model),
    )
}


def check_model_config(config: ModelConfig, task: str) -> Family:
    """The family, once the names (family, op) and the task are known to fit."""
    family = FAMILIES.get(config.family)
    if family is None:
        raise unknown_name("model.family", "model family", config.family, FAMILIES)
    if config.op not in OPS:
        raise unknown_name("model.op", "downsampling op", config.op, OPS)
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
