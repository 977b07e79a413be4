"""Padding conventions: TF/ONNX SAME against the documented formula and against torch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from stridekit import output_size, same_padding
from stridekit.errors import ConventionError, InvalidWindowError, StrideError
from stridekit.geometry import Window, resolve_padding


# TensorFlow's documented SAME rule: out = ceil(n / s),
# total = max((out − 1)·s + e − n, 0), lo = total // 2, hi = total − lo.
@pytest.mark.parametrize(
    ("n", "kernel", "stride", "expected_out", "expected_pads"),
    [
        (224, 7, 2, 112, (2, 3)),  # out 112, total 111·2 + 7 − 224 = 5
        (6, 3, 2, 3, (0, 1)),  # out 3, total 2·2 + 3 − 6 = 1
        (513, 3, 16, 33, (1, 1)),  # out 33, total 32·16 + 3 − 513 = 2
        (5, 3, 2, 3, (1, 1)),  # out 3, total 2·2 + 3 − 5 = 2
        (7, 1, 3, 3, (0, 0)),  # out 3, total 2·3 + 1 − 7 = 0
    ],
)
def test_tf_same_worked_cases(
    n: int, kernel: int, stride: int, expected_out: int, expected_pads: tuple[int, int]
) -> None:
    pads = same_padding(n, kernel, stride)
    total = max((-(-n // stride) - 1) * stride + kernel - n, 0)
    assert sum(pads) == total
    assert output_size(n, kernel, stride, "same", convention="tf") == expected_out
    assert pads == expected_pads


@pytest.mark.parametrize("convention", ["tf", "onnx-upper", "onnx-lower"])
@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 5),
    dilation=st.integers(1, 3),
)
def test_same_matches_explicit_pad_then_conv(
    convention: str, n: int, kernel: int, stride: int, dilation: int
) -> None:
    lo, hi = same_padding(n, kernel, stride, dilation, convention)
    assert abs(lo - hi) <= 1
    assert (hi >= lo) if convention != "onnx-lower" else (lo >= hi)
    x = F.pad(torch.zeros(1, 1, n), (lo, hi))
    y = F.conv1d(x, torch.zeros(1, 1, kernel), stride=stride, dilation=dilation)
    assert y.shape[-1] == -(-n // stride)
    assert output_size(n, kernel, stride, "same", dilation, convention=convention) == y.shape[-1]


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 40), kernel=st.integers(1, 7), dilation=st.integers(1, 3))
def test_torch_same_matches_torch(n: int, kernel: int, dilation: int) -> None:
    lo, hi = same_padding(n, kernel, 1, dilation, "torch")
    weight = torch.rand(1, 1, kernel, dtype=torch.float64)
    x = torch.rand(1, 1, n, dtype=torch.float64)
    expected = F.conv1d(x, weight, padding="same", dilation=dilation)
    ours = F.conv1d(F.pad(x, (lo, hi)), weight, dilation=dilation)
    torch.testing.assert_close(ours, expected)


def test_torch_same_with_stride_says_what_to_do() -> None:
    with pytest.raises(ConventionError, match=r"convention='tf'"):
        output_size(224, 3, 2, "same")


@pytest.mark.parametrize(
    ("padding", "expected"),
    [(2, (2, 2)), ((1, 3), (1, 3)), ("valid", (0, 0)), ("causal", (4, 0)), ("SAME", (2, 2))],
)
def test_resolve_padding_forms(
    padding: int | tuple[int, int] | str, expected: tuple[int, int]
) -> None:
    assert resolve_padding(padding, 10, 3, 1, 2) == expected  # e = 2·(3 − 1) + 1 = 5


def test_causal_conv_outputs_ceil_n_over_s() -> None:
    # causal: (e − 1, 0) padding, out = floor((n − 1)/s) + 1 = ceil(n/s)
    assert output_size(10, 3, 3, "causal") == 4


def test_transposed_same_gives_n_times_stride() -> None:
    assert output_size(7, 4, 2, "same", transposed=True, convention="tf") == 14


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"padding": "full"}, InvalidWindowError),
        ({"padding": "same", "convention": "keras"}, ConventionError),
        ({"padding": (1, 2, 3)}, InvalidWindowError),
        ({"padding": -1}, InvalidWindowError),
        ({"stride": 0}, InvalidWindowError),
        ({"kernel": 9}, StrideError),
    ],
)
def test_invalid_inputs_raise_stride_errors(kwargs: dict[str, object], error: type) -> None:
    arguments: dict[str, object] = {"n": 5, "kernel": 3, **kwargs}
    with pytest.raises(error):
        output_size(**arguments)  # type: ignore[arg-type]


def test_error_message_names_numbers_and_formula() -> None:
    with pytest.raises(StrideError) as info:
        Window(7).output_size(5)
    message = str(info.value)
    assert "floor((5 + 0 + 0 - 7)/1) + 1 = -1" in message
    assert "at least 7" in message
