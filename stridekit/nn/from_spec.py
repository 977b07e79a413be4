"""`from_spec`: a trainable `torch.nn.Module` from a layer spec, the format that
`stridekit.frontends.spec` analyses, so a design (or a plan written by
``stridekit plan --write-spec``) can be trained as it was analysed.

The spec is validated by the same schema and read with the same rules as the analysis
(`stridekit.frontends.spec`): padding names resolve per axis for the actual input size
(TensorFlow's SAME may pad one more pixel at the end), a pooling layer's stride is its
kernel by default, an empty branch is the identity. Layers that stridekit analyses as
moving no pixels become: ``relu``/``activation`` → ReLU, ``gelu``, ``silu``, ``sigmoid``,
``tanh``, ``hardswish`` → those, ``norm`` → GroupNorm(1, C) without parameters,
``dropout`` → Dropout(0.1), ``identity``/``elementwise`` → Identity.

>>> import torch
>>> spec = {"input": [1, 3, 32, 32], "layers": [
...     {"type": "conv", "channels": 8, "kernel": 3, "stride": 2, "padding": "same",
...      "convention": "tf", "name": "stem"},
...     {"type": "relu"},
...     {"type": "max_pool", "kernel": 2},
...     {"type": "global_pool"}, {"type": "flatten"}, {"type": "linear", "channels": 10}]}
>>> model = from_spec(spec)
>>> model(torch.zeros(2, 3, 32, 32)).shape
torch.Size([2, 10])
>>> list(dict(model.named_children()))
['stem', '1', '2', '3', '4', '5']
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from pydantic import ValidationError
from torch import nn
from torch.func import functional_call

from stridekit.errors import ModelError
from stridekit.frontends.spec import _paddings, _per_axis, _scales, load_spec
from stridekit.frontends.spec_schema import Layer, Spec, explain
from stridekit.geometry.padding import resolve_padding

__all__ = ["from_spec"]

Shape = tuple[int, ...]
CONV: dict[int, Any] = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONV_TRANSPOSE: dict[int, Any] = {
    1: nn.ConvTranspose1d,
    2: nn.ConvTranspose2d,
    3: nn.ConvTranspose3d,
}
MAX_POOL: dict[int, Any] = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVG_POOL: dict[int, Any] = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
GLOBAL_POOL: dict[int, Any] = {
    1: nn.AdaptiveAvgPool1d,
    2: nn.AdaptiveAvgPool2d,
    3: nn.AdaptiveAvgPool3d,
}
BATCH_NORM: dict[int, Any] = {
    0: nn.BatchNorm1d,
    1: nn.BatchNorm1d,
    2: nn.BatchNorm2d,
    3: nn.BatchNorm3d,
}
LINEAR_MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}
POINTWISE: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "activation": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "hardswish": nn.Hardswish,
    "identity": nn.Identity,
    "elementwise": nn.Identity,
}
DROPOUT = 0.1


class Pad(nn.Module):
    """Constant padding ``(lo, hi)`` per spatial axis (first axis first)."""

    def __init__(self, pads: Sequence[tuple[int, int]], value: float = 0.0) -> None:
        super().__init__()
        self.pads = [tuple(p) for p in pads]
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = [side for lo_hi in reversed(self.pads) for side in lo_hi]  # last axis first
        return F.pad(x, flat, value=self.value)

    def extra_repr(self) -> str:
        return f"pads={self.pads}, value={self.value}"


class Crop(nn.Module):
    """Drop ``(lo, hi)`` pixels at the ends of each spatial axis (asymmetric padding of a
    transposed conv)."""

    def __init__(self, crops: Sequence[tuple[int, int]]) -> None:
        super().__init__()
        self.crops = [tuple(c) for c in crops]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for axis, (lo, hi) in enumerate(self.crops):
            dim = 2 + axis
            x = x.narrow(dim, lo, x.shape[dim] - lo - hi)
        return x


class Branches(nn.Module):
    """A block: every branch reads the block's input; their outputs are merged by
    ``add``, ``mul`` or ``concat`` (along channels)."""

    def __init__(self, branches: Sequence[nn.Module], merge: str) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.merge = merge

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [branch(x) for branch in self.branches]
        if self.merge == "concat":
            return torch.cat(outputs, dim=1)
        result = outputs[0]
        for output in outputs[1:]:
            result = result * output if self.merge == "mul" else result + output
        return result

    def extra_repr(self) -> str:
        return f"merge={self.merge!r}"


def from_spec(
    spec: str | os.PathLike[str] | dict[str, Any] | list[Any],
    input_shape: Sequence[int] | None = None,
) -> nn.Module:
    """The spec (a YAML/JSON file, a dict or a list of layers) as a trainable module,
    built for ``input_shape`` (N, C, *spatial; default: the spec's ``input``).

    Names: a layer's ``name`` (dots become ``_``) or its index. The module's shapes,
    parameters and FLOPs are those `stridekit.analyze` gives the spec.
    """
    data = _read(spec)
    graph = load_spec(data, tuple(input_shape) if input_shape is not None else None)
    layers = Spec.model_validate(data).layers
    model, _ = _chain(layers, graph.input_shape)
    return model


def _read(source: str | os.PathLike[str] | dict[str, Any] | list[Any]) -> dict[str, Any]:
    if isinstance(source, list):
        return {"layers": source}
    if isinstance(source, dict):
        return source
    path = Path(source)
    if not path.is_file():
        raise ModelError(f"spec file {str(path)!r} not found")
    try:
        data = yaml.safe_load(path.read_text())  # JSON is YAML
    except yaml.YAMLError as error:
        raise ModelError(
            f"{path}: not valid YAML or JSON: {' '.join(str(error).split())}"
        ) from None
    data = {"layers": data} if isinstance(data, list) else data
    if not isinstance(data, dict):
        raise ModelError(f"{path}: a spec is a mapping with `layers` (or a list of layers)")
    try:
        Spec.model_validate(data)
    except ValidationError as error:
        raise ModelError(f"{path}: {explain(error, data)}") from None
    return data


def _chain(layers: Sequence[Layer], shape: Shape) -> tuple[nn.Sequential, Shape]:
    modules: dict[str, nn.Module] = {}
    for index, layer in enumerate(layers):
        name = (layer.name or str(index)).replace(".", "_")
        module = _build(layer, shape)
        modules[name] = module
        shape = _output_shape(module, shape)
    return nn.Sequential(OrderedDict(modules)), shape


def _output_shape(module: nn.Module, shape: Shape) -> Shape:
    """The module's output shape for ``shape``: one forward on meta tensors (parameters
    and buffers swapped for meta stand-ins, so nothing is computed or changed)."""
    params = {k: torch.empty_like(v, device="meta") for k, v in module.named_parameters()}
    buffers = {k: torch.empty_like(v, device="meta") for k, v in module.named_buffers()}
    x = torch.empty(shape, device="meta")
    training = module.training
    module.eval()
    try:
        with torch.no_grad():
            return tuple(functional_call(module, {**params, **buffers}, (x,)).shape)
    finally:
        module.train(training)


def _build(layer: Layer, shape: Shape) -> nn.Module:
    count = len(shape) - 2
    kind = layer.kind
    if kind == "block":
        branches = [_chain(branch, shape)[0] for branch in layer.branches or ()]
        return Branches(branches, layer.merge)
    if kind in ("conv", "conv_transpose"):
        return _conv(layer, shape, count)
    if kind in ("max_pool", "avg_pool"):
        return _pool(layer, shape, count)
    if kind == "upsample":
        if layer.size is not None:
            size = _per_axis(layer.size, count, "size", 1)
            return nn.Upsample(size=size, mode=_mode(layer.mode, count))
        scales = tuple(float(s) for s in _scales(layer.scale, count))
        return nn.Upsample(scale_factor=scales, mode=_mode(layer.mode, count))
    if kind == "pixel_shuffle":
        return nn.PixelShuffle(layer.factor or 1)
    if kind == "pixel_unshuffle":
        return nn.PixelUnshuffle(layer.factor or 1)
    if kind == "global_pool":
        return GLOBAL_POOL[count](1)
    if kind == "flatten":
        return nn.Flatten()
    if kind == "linear":
        return nn.Linear(shape[1], layer.channels or 1, bias=layer.bias)
    if kind == "pad":
        pads = [p if isinstance(p, tuple) else (p, p) for p in _paddings(layer.padding, count)]
        return Pad([(int(lo), int(hi)) for lo, hi in pads])
    if kind == "batch_norm":
        return BATCH_NORM[max(count, 0)](shape[1])
    if layer.type == "norm":
        return nn.GroupNorm(1, shape[1], affine=False)
    if layer.type == "dropout":
        return nn.Dropout(DROPOUT)
    return POINTWISE.get(str(layer.type), nn.Identity)()


def _mode(mode: str, count: int) -> str:
    return "nearest" if mode == "nearest" else LINEAR_MODES[count]


def _explicit(
    layer: Layer, shape: Shape, count: int, kernels: Shape, strides: Shape
) -> list[tuple[int, int]]:
    """``(lo, hi)`` per axis for this input, as the analysis resolves them."""
    dilations = _per_axis(layer.dilation, count, "dilation", 1)
    output_padding = _per_axis(layer.output_padding, count, "output_padding", 0)
    return [
        resolve_padding(
            padding,
            shape[2 + axis],
            kernels[axis],
            strides[axis],
            dilations[axis],
            convention=layer.convention,
            transposed=layer.kind == "conv_transpose",
            output_padding=output_padding[axis],
        )
        for axis, padding in enumerate(_paddings(layer.padding, count))
    ]


def _conv(layer: Layer, shape: Shape, count: int) -> nn.Module:
    kernels = _per_axis(layer.kernel, count, "kernel", 1)
    strides = _per_axis(layer.stride, count, "stride", 1)
    dilations = _per_axis(layer.dilation, count, "dilation", 1)
    pads = _explicit(layer, shape, count, kernels, strides)
    c_in, c_out = shape[1], layer.channels or 1
    symmetric = all(lo == hi for lo, hi in pads)
    if layer.kind == "conv_transpose":
        output_padding = _per_axis(layer.output_padding, count, "output_padding", 0)
        inner = tuple(min(lo, hi) for lo, hi in pads)
        deconv = CONV_TRANSPOSE[count](
            c_in,
            c_out,
            kernels,
            strides,
            inner,
            output_padding,
            layer.groups,
            layer.bias,
            dilations,
        )
        if symmetric:
            return deconv
        crops = [(lo - low, hi - low) for (lo, hi), low in zip(pads, inner, strict=True)]
        return nn.Sequential(deconv, Crop(crops))
    padding = tuple(lo for lo, _ in pads) if symmetric else 0
    conv = CONV[count](c_in, c_out, kernels, strides, padding, dilations, layer.groups, layer.bias)
    return conv if symmetric else nn.Sequential(Pad(pads), conv)


def _pool(layer: Layer, shape: Shape, count: int) -> nn.Module:
    kernels = _per_axis(layer.kernel, count, "kernel", 1)
    strides = kernels if layer.stride is None else _per_axis(layer.stride, count, "stride", 1)
    pads = _explicit(layer, shape, count, kernels, strides)
    # PyTorch pools pad at most half the kernel, and the same on both sides
    inside = all(lo == hi and 2 * lo <= k for (lo, hi), k in zip(pads, kernels, strict=True))
    padding = tuple(lo for lo, _ in pads) if inside else 0
    if layer.kind == "max_pool":
        dilations = _per_axis(layer.dilation, count, "dilation", 1)
        pool: nn.Module = MAX_POOL[count](
            kernels, strides, padding, dilations, ceil_mode=layer.ceil_mode
        )
        fill = float("-inf")
    else:
        pool = AVG_POOL[count](kernels, strides, padding, ceil_mode=layer.ceil_mode)
        fill = 0.0
    if inside:
        return pool
    return nn.Sequential(Pad(pads, fill), pool)
