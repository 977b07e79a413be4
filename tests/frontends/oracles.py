"""Independent oracles for the frontends' tests: what PyTorch and onnx's reference
evaluator say, measured, not computed with stridekit's algebra.

- `gradient_extent`: the input pixels whose gradient reaches one output position of a
  model with positive weights and no activations (max pooling → average pooling): a
  pixel is in the receptive field iff its gradient is non-zero.
- `impulse_support`: for a tiny ONNX graph run by onnx's ReferenceEvaluator, which
  input pixels each output reads (one impulse per input pixel, weights all ones).
- `export_onnx`: the legacy (TorchScript) exporter, which needs no network; BatchNorm is
  not folded into the convs so the parameter counts match the module's.

And `model_of`, `ones`, `ints`, `floats`: tiny ONNX graphs with ``onnx.helper``.
"""

from __future__ import annotations

import copy
import math
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from stridekit.geometry import Field

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.GELU, nn.Dropout)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def export_onnx(model: nn.Module, shape: tuple[int, ...], path: Path, **options: object) -> Path:
    """Export ``model`` in eval mode with the legacy exporter (dynamo as a fallback)."""
    model.eval()
    example = (torch.randn(shape),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                model, example, path, dynamo=False, do_constant_folding=False, **options
            )
        except Exception:  # pragma: no cover - only where the legacy exporter is gone
            torch.onnx.export(model, example, path, dynamo=True, **options)
    onnx.checker.check_model(str(path))
    return path


def eager_facts(model: nn.Module, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int]:
    """Output shape, parameter count and MACs (FlopCounterMode / 2) of an eager run."""
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = model(torch.randn(shape))
    if isinstance(out, dict):  # torchvision segmentation models
        out = out["out"]
    params = sum(p.numel() for p in model.parameters())
    return tuple(out.shape), params, counter.get_total_flops() // 2


def positive_copy(model: nn.Module) -> nn.Module:
    """A copy with positive weights (mean-like, so float64 neither overflows nor vanishes),
    no activations or norms, and average pooling instead of max pooling."""
    clone = copy.deepcopy(model).double().eval()
    for name, module in list(clone.named_modules()):
        replacement: nn.Module | None = None
        if isinstance(module, ACTIVATIONS + NORMS):
            replacement = nn.Identity()
        elif isinstance(module, nn.MaxPool2d | nn.MaxPool1d):
            assert module.dilation in (1, (1, 1)), "no average pooling with dilation"
            pool = nn.AvgPool2d if isinstance(module, nn.MaxPool2d) else nn.AvgPool1d
            replacement = pool(
                module.kernel_size, module.stride, module.padding, ceil_mode=module.ceil_mode
            )
        elif hasattr(module, "weight") and isinstance(module.weight, torch.Tensor):
            with torch.no_grad():
                fan_in = module.weight[0].numel()
                module.weight.uniform_(0.5, 1.5).div_(fan_in)
                if getattr(module, "bias", None) is not None:
                    module.bias.zero_()
        if replacement is not None:
            parent_name, _, child = name.rpartition(".")
            setattr(clone.get_submodule(parent_name) if parent_name else clone, child, replacement)
    return clone


def gradient_extent(
    model: nn.Module, shape: tuple[int, ...], position: tuple[int, ...]
) -> list[tuple[int, int]]:
    """Per spatial axis, the first and last input pixel whose gradient reaches the
    output at ``position`` (spatial indices) of ``positive_copy(model)``."""
    oracle = positive_copy(model)
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    out = oracle(x)
    out[(0, slice(None), *position)].sum().backward()
    assert x.grad is not None
    reached = x.grad[0].abs().sum(dim=0) > 0  # spatial map
    extents = []
    for axis in range(reached.dim()):
        others = tuple(a for a in range(reached.dim()) if a != axis)
        hits = reached.any(dim=others) if others else reached
        index = torch.nonzero(hits).flatten().tolist()
        extents.append((index[0], index[-1]))
    return extents


def field_interval(field: Field, m: int) -> tuple[Fraction, Fraction]:
    """The input interval the Field says output ``m`` reads."""
    return m * field.jump + field.lo, m * field.jump + field.hi


def integer_interval(field: Field, m: int) -> tuple[int, int]:
    """The integer pixels inside `field_interval`."""
    lo, hi = field_interval(field, m)
    return math.ceil(lo), math.floor(hi)


def impulse_support(model: onnx.ModelProto, shape: tuple[int, ...]) -> tuple[np.ndarray, tuple]:
    """Run one impulse per input pixel; ``reads[out_index][in_index]`` (flattened spatial)."""
    from onnx.reference import ReferenceEvaluator

    session = ReferenceEvaluator(model)
    name = model.graph.input[0].name
    pixels = int(np.prod(shape[2:]))
    columns = []
    out_shape: tuple = ()
    for pixel in range(pixels):
        x = np.zeros(shape, dtype=np.float32)
        x.reshape(shape[0], shape[1], -1)[:, :, pixel] = 1.0
        (y,) = session.run(None, {name: x})
        out_shape = y.shape
        columns.append(np.abs(y).reshape(y.shape[0], y.shape[1], -1).sum(axis=(0, 1)) > 0)
    return np.stack(columns, axis=1), out_shape


# --- tiny ONNX graphs --------------------------------------------------------------------


def ones(name: str, shape: list[int]) -> onnx.TensorProto:
    return helper.make_tensor(name, TensorProto.FLOAT, shape, [1.0] * math.prod(shape))


def ints(name: str, values: list[int]) -> onnx.TensorProto:
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def floats(name: str, values: list[float]) -> onnx.TensorProto:
    return helper.make_tensor(name, TensorProto.FLOAT, [len(values)], values)


def model_of(
    nodes: list[onnx.NodeProto],
    shape: tuple[int, ...] | list[object],
    initializers: list[onnx.TensorProto] | tuple[onnx.TensorProto, ...] = (),
    opset: int = 19,
) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "g", [x], [y], list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
