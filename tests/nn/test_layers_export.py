"""Every layer: torch.compile, torch.export and ONNX give the eager result; repr rebuilds it.

The cases below are the registry the tests walk; a new layer gets every check by one line.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import onnx
import pytest
import torch
from onnx.reference import ReferenceEvaluator
from torch import nn

from stridekit import nn as snn

LAYERS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "Conv1dSame": (lambda: snn.Conv1dSame(2, 3, 3, stride=2), (2, 2, 11)),
    "Conv2dSame": (lambda: snn.Conv2dSame(2, 3, (3, 4), stride=(2, 3), dilation=2), (2, 2, 9, 10)),
    "Conv3dSame": (lambda: snn.Conv3dSame(2, 3, 3, stride=2), (2, 2, 5, 6, 7)),
    "BlurPool2d": (lambda: snn.BlurPool2d(2, filter_size=5), (2, 2, 9, 10)),
    "SpaceToDepth": (lambda: snn.SpaceToDepth(2, pad=True), (2, 2, 9, 10)),
    "SPDConv": (lambda: snn.SPDConv(2, 3), (2, 2, 8, 10)),
    "SpectralPool2d": (lambda: snn.SpectralPool2d((2.0, 2.5), smoothness=2.0), (2, 2, 16, 12)),
    "DiffStride2d": (lambda: snn.DiffStride2d((2.0, 2.5), smoothness=2.0), (2, 2, 16, 12)),
}
STATIC = [name for name in LAYERS if name != "DiffStride2d"]  # DiffStride's shape is learned


def _case(name: str) -> tuple[nn.Module, torch.Tensor]:
    factory, shape = LAYERS[name]
    return factory().eval(), torch.randn(*shape)


def _gradients(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    x = x.clone().requires_grad_(True)
    model.zero_grad()
    model(x).square().sum().backward()
    return [x.grad, *(p.grad for p in model.parameters())]


@pytest.mark.parametrize("name", LAYERS)
def test_compile_matches_eager(name: str) -> None:
    model, x = _case(name)
    torch._dynamo.reset()
    # DiffStride's crop size depends on the stride's value: the graph breaks there
    compiled = torch.compile(model, backend="aot_eager", fullgraph=name in STATIC)
    torch.testing.assert_close(compiled(x), model(x))
    for got, expected in zip(_gradients(compiled, x), _gradients(model, x), strict=True):
        torch.testing.assert_close(got, expected)


def test_inductor_compiles_a_layer() -> None:
    model, x = _case("Conv2dSame")
    torch._dynamo.reset()
    torch.testing.assert_close(torch.compile(model, fullgraph=True)(x), model(x))


@pytest.mark.parametrize("name", LAYERS)
def test_export_matches_eager(name: str) -> None:
    model, x = _case(name)
    program = torch.export.export(model, (x,))
    torch.testing.assert_close(program.module()(x), model(x))


@pytest.mark.parametrize("name", STATIC)
def test_onnx_export_checks_and_runs(name: str) -> None:
    model, x = _case(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proto = torch.onnx.export(model, (x,), dynamo=True, verbose=False).model_proto
    onnx.checker.check_model(proto, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    dims = inferred.graph.output[0].type.tensor_type.shape.dim
    expected = model(x)
    assert tuple(d.dim_value for d in dims) == tuple(expected.shape)
    (got,) = ReferenceEvaluator(proto).run(None, {proto.graph.input[0].name: x.numpy()})
    np.testing.assert_allclose(got, expected.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_frozen_diffstride_exports_to_onnx() -> None:
    model, x = _case("DiffStride2d")
    frozen, _ = snn.freeze_strides(nn.Sequential(model))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proto = torch.onnx.export(frozen, (x,), dynamo=True, verbose=False).model_proto
    onnx.checker.check_model(proto, full_check=True)
    (got,) = ReferenceEvaluator(proto).run(None, {proto.graph.input[0].name: x.numpy()})
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", LAYERS)
def test_repr_is_a_constructor_call(name: str) -> None:
    model, _ = _case(name)
    text = repr(model)
    assert text.startswith(f"{name}(") and "\n" not in text
    assert repr(eval(text, vars(snn))) == text
