"""SAME_UPPER convolution against TensorFlow's worked cases, a brute-force padding search
and ONNX's reference ``Conv(auto_pad=SAME_UPPER)``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from stridekit.errors import InvalidWindowError, OutputSizeError, StrideError, UnsupportedError
from stridekit.geometry import Window
from stridekit.nn import Conv1dSame, Conv2dSame, Conv3dSame, conv2d_same, pad_same
from stridekit.nn.conv_same import conv1d_same, conv3d_same
from tests.nn.oracles import FAST, brute_same_padding

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_SAME = {1: conv1d_same, 2: conv2d_same, 3: conv3d_same}
MODULE = {1: Conv1dSame, 2: Conv2dSame, 3: Conv3dSame}


# TensorFlow's padding documentation: out = ceil(n/s), total = (out−1)·s + e − n
@pytest.mark.parametrize(
    ("n", "kernel", "stride", "out", "pads"),
    [
        (224, 7, 2, 112, (2, 3)),  # (112−1)·2 + 7 − 224 = 5
        (6, 3, 2, 3, (0, 1)),  # (3−1)·2 + 3 − 6 = 1
        (513, 3, 16, 33, (1, 1)),  # (33−1)·16 + 3 − 513 = 2
        (513, 1, 16, 33, (0, 0)),  # 512 + 1 − 513 = 0
    ],
)
def test_tensorflow_worked_cases(n: int, kernel: int, stride: int, out: int, pads: tuple) -> None:
    conv = Conv2dSame(1, 1, kernel, stride=stride, input_size=(n, n))
    assert conv.static_pads == (pads, pads)
    x = torch.randn(1, 1, n, n)
    y = conv(x)
    assert y.shape[-2:] == (out, out)
    explicit = F.conv2d(F.pad(x, (*pads, *pads)), conv.weight, conv.bias, stride)
    torch.testing.assert_close(y, explicit)
    dynamic = Conv2dSame(1, 1, kernel, stride=stride)
    dynamic.load_state_dict(conv.state_dict())
    assert dynamic.static_pads is None or dynamic.static_pads == (pads, pads)
    torch.testing.assert_close(dynamic(x), explicit)


@pytest.mark.parametrize("dims", [1, 2, 3])
@FAST
@given(data=st.data())
def test_random_configurations_match_explicit_pad(dims: int, data: st.DataObject) -> None:
    sizes = data.draw(
        st.lists(st.integers(1, 13 if dims == 3 else 30), min_size=dims, max_size=dims)
    )
    kernel = data.draw(st.lists(st.integers(1, 5), min_size=dims, max_size=dims))
    stride = data.draw(st.lists(st.integers(1, 4), min_size=dims, max_size=dims))
    dilation = data.draw(st.lists(st.integers(1, 3), min_size=dims, max_size=dims))
    x = torch.randn(2, 3, *sizes)
    weight = torch.randn(4, 3, *kernel)
    pads = [brute_same_padding(*args) for args in zip(sizes, kernel, stride, dilation, strict=True)]
    flat = [p for pair in reversed(pads) for p in pair]
    expected = CONV[dims](F.pad(x, flat), weight, None, stride, 0, dilation)
    got = CONV_SAME[dims](x, weight, None, stride, dilation)
    torch.testing.assert_close(got, expected)
    # the shape is the geometry's, and TF's ceil(n / s)
    for axis, (n, k, s, d, p) in enumerate(zip(sizes, kernel, stride, dilation, pads, strict=True)):
        assert got.shape[2 + axis] == Window(k, s, d, p).output_size(n) == -(-n // s)
    module = MODULE[dims](3, 4, kernel, stride, dilation, bias=False)
    module.weight.data.copy_(weight)
    torch.testing.assert_close(module(x), expected)


def _onnx_same_upper(x: np.ndarray, w: np.ndarray, stride: int, dilation: int) -> np.ndarray:
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    node = helper.make_node(
        "Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER",
        strides=[stride, stride], dilations=[dilation, dilation],
    )  # fmt: skip
    graph = helper.make_graph(
        [node],
        "same",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("x", "w")],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return ReferenceEvaluator(model).run(None, {"x": x, "w": w})[0]


@pytest.mark.parametrize(
    ("n", "kernel", "stride", "dilation"),
    [(224 // 8, 7, 2, 1), (6, 3, 2, 1), (33, 3, 16, 1), (17, 3, 3, 2), (10, 4, 3, 1), (9, 2, 1, 3)],
)
def test_matches_onnx_reference_same_upper(n: int, kernel: int, stride: int, dilation: int) -> None:
    x = torch.randn(1, 2, n, n + 1)
    w = torch.randn(3, 2, kernel, kernel)
    expected = _onnx_same_upper(x.numpy(), w.numpy(), stride, dilation)
    got = conv2d_same(x, w, stride=stride, dilation=dilation)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("kernel", "stride", "dilation", "static"),
    [(3, 1, 1, ((1, 1), (1, 1))), (4, 1, 2, ((3, 3), (3, 3))), (1, 2, 1, ((0, 0), (0, 0))),
     (3, 2, 1, None), ((3, 1), (2, 1), 1, None)],
)  # fmt: skip
def test_padding_is_static_when_size_cannot_matter(kernel, stride, dilation, static) -> None:
    assert Conv2dSame(1, 1, kernel, stride, dilation).static_pads == static


def test_static_layer_rejects_other_sizes() -> None:
    conv = Conv2dSame(1, 1, 3, stride=2, input_size=(6, 6))
    with pytest.raises(OutputSizeError, match=r"built for input size \(6, 6\).*input_size=None"):
        conv(torch.zeros(1, 1, 7, 6))


def test_pad_same_fills_with_value() -> None:
    y = pad_same(torch.zeros(1, 1, 6), 3, 2, value=-1.0)  # pads (0, 1)
    assert y.tolist() == [[[0, 0, 0, 0, 0, 0, -1]]]


def test_export_with_dynamic_spatial_size_says_what_to_do() -> None:
    x = torch.randn(1, 3, 9, 10)
    dim = torch.export.Dim("h", min=3, max=64)
    with pytest.raises(UnsupportedError, match="input_size"):
        torch.export.export(Conv2dSame(3, 4, 3, stride=2), (x,), dynamic_shapes={"x": {2: dim}})
    static = Conv2dSame(3, 4, 3, stride=2, input_size=(9, 10))
    batch = torch.export.Dim("batch", min=1, max=8)
    example = x.repeat(2, 1, 1, 1)  # batch 1 would be specialised
    program = torch.export.export(static, (example,), dynamic_shapes={"x": {0: batch}})
    torch.testing.assert_close(program.module()(x.repeat(3, 1, 1, 1)), static(x).repeat(3, 1, 1, 1))


def test_dynamic_compile_follows_the_size() -> None:
    conv = Conv2dSame(2, 2, 3, stride=2)
    compiled = torch.compile(conv, backend="aot_eager", dynamic=True)
    for size in (9, 12, 13):
        x = torch.randn(1, 2, size, size)
        torch.testing.assert_close(compiled(x), conv(x))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kernel_size": 0}, "kernel_size must be an integer >= 1"),
        ({"stride": (2, 0)}, "stride must be an integer >= 1"),
        ({"dilation": (1, 1, 1)}, "dilation must be an integer or 2 integers"),
        ({"groups": 3}, "divisible by groups 3"),
        ({"input_size": (5,)}, "input_size must be an integer or 2 integers"),
    ],
)
def test_bad_arguments_raise_stride_error(kwargs: dict, message: str) -> None:
    args = {"in_channels": 4, "out_channels": 4, "kernel_size": 3} | kwargs
    with pytest.raises(InvalidWindowError, match=message):
        Conv2dSame(**args)


def test_wrong_rank_input() -> None:
    with pytest.raises(StrideError, match="expected a 3-d, 4-d or 5-d input"):
        pad_same(torch.zeros(4, 4), 3)


@pytest.mark.parametrize(
    ("x", "weight"),
    [((1, 3, 8, 8), (4, 3, 3)), ((1, 3, 8), (4, 3, 3, 3)), ((1, 3), (4, 3))],
)
def test_functional_form_needs_input_and_weight_of_one_rank(x: tuple, weight: tuple) -> None:
    # F.conv2d would raise a RuntimeError (or pad_same a KeyError): a StrideError says why
    with pytest.raises(OutputSizeError, match=r"spatial axes alike, got input"):
        conv2d_same(torch.zeros(x), torch.zeros(weight))
