"""`compare` and `match` against an ONNX model with ``auto_pad="SAME_UPPER"`` (TF's SAME),
run by onnx's reference evaluator in float64 as the numerical oracle."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from stridekit import compare
from stridekit.nn import Conv2dSame, PaddedPool, match

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

SIZE = 32


class Port(nn.Module):
    """The ONNX graph's layers with PyTorch's symmetric padding."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(3, 2, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 5, stride=2, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.pool(torch.relu(self.conv1(x))))


def same_upper_model(port: Port, path: Path) -> str:
    """`Port`'s weights in an ONNX graph whose windows pad SAME_UPPER (float64)."""

    def constant(name: str, tensor: torch.Tensor) -> onnx.TensorProto:
        return numpy_helper.from_array(tensor.detach().double().numpy(), name)

    same = {"auto_pad": "SAME_UPPER", "strides": [2, 2]}
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], **same),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[3, 3], **same),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["y"], kernel_shape=[5, 5], **same),
    ]
    weights = [
        constant("w1", port.conv1.weight),
        constant("b1", port.conv1.bias),
        constant("w2", port.conv2.weight),
        constant("b2", port.conv2.bias),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 3, SIZE, SIZE])
    y = helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)
    graph = helper.make_graph(nodes, "port", [x], [y], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    path.write_bytes(model.SerializeToString())
    return str(path)


def test_same_upper_onnx_against_its_port(tmp_path: Path) -> None:
    port = Port()
    reference = same_upper_model(port, tmp_path / "same.onnx")
    result = compare(port, reference)  # at the file's 1x3x32x32
    first = result.first_divergence
    assert first is not None and (first.index, first.cause) == (0, "padding")
    # SAME_UPPER at 32, k3 s2: total (16 − 1)·2 + 3 − 32 = 1 → (0, 1); the pool at 16:
    # total 7·2 + 3 − 16 = 1 → (0, 1); conv2 (k5 s2) at 8: total 3·2 + 5 − 8 = 3 → (1, 2)
    # against (2, 2): each starts one of its input pixels earlier, jump_in 1, 2 and 4
    assert [p.b.padding[0] for p in result.pairs if p.b] == [(0, 1), (0, 1), (1, 2)]
    assert result.offset == (Fraction(-(1 + 2 + 4)),) * 2


def test_the_matched_port_computes_what_onnx_does(tmp_path: Path) -> None:
    port = Port().double()
    reference = same_upper_model(port, tmp_path / "same.onnx")
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, SIZE, SIZE))
    (expected,) = ReferenceEvaluator(reference).run(None, {"x": x})
    with torch.no_grad():
        ours = torch.from_numpy(x)
        assert not np.allclose(port(ours).numpy(), expected, atol=1e-5)
        fixed = match(port, reference)
        np.testing.assert_allclose(fixed(ours).numpy(), expected, atol=1e-5, rtol=0)
    assert type(fixed.conv1) is Conv2dSame and type(fixed.conv2) is Conv2dSame
    assert type(fixed.pool) is PaddedPool
    assert compare(fixed, reference).agree
