"""BlurPool2d: the binomial filter, the SAME-sized output, and less aliasing than max pooling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from stridekit.errors import InvalidWindowError, OutputSizeError
from stridekit.geometry import Window
from stridekit.nn import BlurPool2d, antialias, binomial_filter, blur_pool2d
from stridekit.nn.blur_pool import default_blur_padding
from tests.nn.oracles import FAST, shift_equivariance_error


@pytest.mark.parametrize("filter_size", range(1, 8))
def test_filter_is_repeated_box_filter(filter_size: int) -> None:
    # binomial row = [1, 1] convolved with itself f − 1 times (Pascal's triangle)
    row = np.array([1.0])
    for _ in range(filter_size - 1):
        row = np.convolve(row, [1.0, 1.0])
    expected = np.outer(row, row) / row.sum() ** 2
    np.testing.assert_allclose(binomial_filter(filter_size).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("filter_size", range(1, 8))
@FAST
@given(
    height=st.integers(8, 40),
    width=st.integers(8, 40),
    stride=st.integers(1, 4),
    pad_mode=st.sampled_from(["reflect", "replicate", "zeros", "circular"]),
)
def test_output_size_is_the_geometry_and_ceil(
    filter_size: int, height: int, width: int, stride: int, pad_mode: str
) -> None:
    y = BlurPool2d(2, filter_size, stride, pad_mode)(torch.randn(1, 2, height, width))
    window = Window(filter_size, stride, padding=default_blur_padding(filter_size))
    assert y.shape[-2:] == (window.output_size(height), window.output_size(width))
    assert y.shape[-2:] == (-(-height // stride), -(-width // stride))


def test_filter_2_without_padding_is_average_pooling() -> None:
    x = torch.randn(2, 3, 10, 12)
    got = blur_pool2d(x, filter_size=2, stride=2, padding=(0, 0))
    torch.testing.assert_close(got, F.avg_pool2d(x, 2))


def test_filter_1_is_plain_subsampling() -> None:
    x = torch.randn(2, 3, 11, 12)
    torch.testing.assert_close(BlurPool2d(3, filter_size=1, stride=3)(x), x[..., ::3, ::3])


@pytest.mark.parametrize("pad_mode", ["reflect", "replicate", "zeros", "circular"])
def test_filter_3_matches_explicit_padding_and_depthwise_conv(pad_mode: str) -> None:
    x = torch.randn(1, 2, 9, 7)
    mode = {"zeros": "constant"}.get(pad_mode, pad_mode)
    kernel = torch.tensor([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
    expected = F.conv2d(F.pad(x, (1, 1, 1, 1), mode=mode), kernel.expand(2, 1, 3, 3), stride=2,
                        groups=2)  # fmt: skip
    torch.testing.assert_close(BlurPool2d(2, 3, 2, pad_mode)(x), expected)


def test_constant_input_stays_constant() -> None:
    y = BlurPool2d(4, filter_size=5)(torch.full((1, 4, 13, 13), 3.0))
    torch.testing.assert_close(y, torch.full_like(y, 3.0))


SHIFTS_2 = [(1, 0), (0, 1), (1, 1)]


@pytest.mark.parametrize("filter_size", [4, 5, 6, 7])
def test_blurpool_is_more_shift_equivariant_than_maxpool(filter_size: int) -> None:
    x = torch.randn(8, 16, 32, 32)
    blur = shift_equivariance_error(
        BlurPool2d(16, filter_size, pad_mode="circular"), x, 2, SHIFTS_2
    )
    maxpool = shift_equivariance_error(nn.MaxPool2d(2), x, 2, SHIFTS_2)
    # measured (seed 0): max pool ≈ 0.55; blur 0.38 (f=4) … 0.11 (f=7)
    assert blur < 0.75 * maxpool


def test_antialiased_random_net_is_more_shift_equivariant() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, padding_mode="circular"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3, padding=1, padding_mode="circular"), nn.ReLU(), nn.MaxPool2d(2),
    )  # fmt: skip
    x = torch.randn(4, 3, 32, 32)
    shifts = [(1, 0), (0, 1), (2, 2), (3, 1)]
    base = shift_equivariance_error(net, x, 4, shifts)
    smooth = shift_equivariance_error(antialias(net, pad_mode="circular"), x, 4, shifts)
    assert smooth < 0.5 * base  # measured (seed 0): 0.35 → 0.06


def test_the_measure_catches_a_wrong_reference() -> None:
    # the oracle itself can fail: a stride-2 op judged as if it had stride 1 is far off
    x = torch.randn(4, 4, 32, 32)
    right = shift_equivariance_error(BlurPool2d(4, 7, pad_mode="circular"), x, 2, SHIFTS_2)
    wrong = shift_equivariance_error(BlurPool2d(4, 7, pad_mode="circular"), x, 1, SHIFTS_2)
    assert right < 0.2 < wrong


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filter_size": 0}, "filter_size must be an integer >= 1"),
        ({"filter_size": 8}, r"filter_size must be 1 … 7"),
        ({"stride": 0}, "stride must be an integer >= 1"),
        ({"pad_mode": "mirror"}, "unknown pad_mode 'mirror'; choose one of reflect"),
        ({"padding": (1, -1)}, "padding must be an integer >= 0"),
        ({"channels": 0}, "channels must be an integer >= 1"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidWindowError, match=message):
        BlurPool2d(**({"channels": 4} | kwargs))


def test_channel_mismatch_and_tiny_input() -> None:
    with pytest.raises(OutputSizeError, match=r"built for 4 channels.*BlurPool2d\(3\)"):
        BlurPool2d(4)(torch.zeros(1, 3, 8, 8))
    with pytest.raises(OutputSizeError, match=r"reflect padding.*replicate"):
        BlurPool2d(4, filter_size=5)(torch.zeros(1, 4, 2, 2))


@pytest.mark.parametrize(
    "layer",
    [BlurPool2d(64), BlurPool2d(None, 3, (2, 1), "zeros"), BlurPool2d(8, 4, 2, padding=(0, 2))],
)
def test_repr_rebuilds_the_layer(layer: BlurPool2d) -> None:
    rebuilt = eval(repr(layer), {"BlurPool2d": BlurPool2d})
    assert repr(rebuilt) == repr(layer)
    assert (rebuilt.stride, rebuilt.padding) == (layer.stride, layer.padding)
