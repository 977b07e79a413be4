"""The spectral size rule (geometry) and SpectralPool2d against a direct FFT oracle."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from stridekit.errors import InvalidWindowError, OutputSizeError
from stridekit.geometry.spectral import (
    spectral_frequencies,
    spectral_mask,
    spectral_output_size,
)
from stridekit.nn import SpectralPool2d, spectral_pool2d
from tests.nn.oracles import FAST, spectral_by_fft

# strides as float32 values (what a learned parameter holds)
STRIDES = st.floats(1.0, 6.0, width=32)
SMOOTHNESS = st.sampled_from([0.0, 0.5, 1.0, 2.5, 4.0])


def _count_kept_bins(n: int, stride: float, smoothness: float) -> int:
    half_width = Fraction(n, 2) / Fraction(stride)
    signed = [k if k < (n + 1) // 2 else k - n for k in range(n)]  # the DFT's frequencies
    return sum(abs(k) <= half_width or abs(k) < half_width + Fraction(smoothness) for k in signed)


@FAST
@given(n=st.integers(1, 300), stride=STRIDES, smoothness=SMOOTHNESS)
def test_output_size_counts_the_bins_the_mask_keeps(n: int, stride: float, smoothness: float):
    assert spectral_output_size(n, stride, smoothness) == _count_kept_bins(n, stride, smoothness)


@pytest.mark.parametrize(
    ("n", "stride", "smoothness", "size"),
    [
        (32, 2, 0, 17),  # |k| ≤ 8
        (32, 2, 4, 23),  # |k| < 12
        (56, 2, 4, 35),  # |k| < 18: n/S + 2R − 1
        (224, 4, 4, 63),  # |k| < 32
        (8, 1, 0, 8),  # the whole spectrum, Nyquist included
        (7, 1.5, 0, 5),  # T = 7/3: |k| ≤ 2
    ],
)
def test_output_size_worked_cases(n: int, stride: float, smoothness: float, size: int) -> None:
    assert spectral_output_size(n, stride, smoothness) == size


def test_frequencies_and_mask_are_exact() -> None:
    # T = 10/4 = 2.5, T + R = 3.5: |k| ≤ 3, in DFT order
    assert spectral_frequencies(10, 2, 1) == (0, 1, 2, 3, -3, -2, -1)
    # T = 2, ramp over 3 bins: 1 for |k| ≤ 2, then (5 − |k|)/3
    expected = ["1", "1", "1", "2/3", "1/3", "1/3", "2/3", "1", "1"]
    assert [str(v) for v in spectral_mask(16, 4, 3)] == expected


@pytest.mark.parametrize("smoothness", [0.0, 1.0, 4.0])
@FAST
@given(height=st.integers(2, 40), width=st.integers(2, 40), stride_h=STRIDES, stride_w=STRIDES)
def test_matches_fft_mask_crop_inverse_fft(
    smoothness: float, height: int, width: int, stride_h: float, stride_w: float
) -> None:
    x = torch.randn(2, 3, height, width, dtype=torch.float64)
    got = spectral_pool2d(x, (stride_h, stride_w), smoothness)
    expected = spectral_by_fft(x, stride_h, stride_w, smoothness)
    torch.testing.assert_close(got, expected)
    assert got.shape[-2:] == (
        spectral_output_size(height, stride_h, smoothness),
        spectral_output_size(width, stride_w, smoothness),
    )


def test_band_limited_signal_is_resampled_exactly() -> None:
    n, frequency = 48, 5  # stride 2: T = 12, m = 25, and 5 < 12
    grid = torch.arange(n, dtype=torch.float64)
    row = torch.cos(2 * math.pi * frequency * grid / n + 0.3)
    y = SpectralPool2d(2.0)(row[None, None, None, :].expand(1, 1, 4, n))
    m = y.shape[-1]
    expected = torch.cos(2 * math.pi * frequency * torch.arange(m, dtype=torch.float64) / m + 0.3)
    np.testing.assert_allclose(y[0, 0, 0].numpy(), expected.numpy(), atol=1e-12)


def test_constant_input_stays_constant_and_stride_1_is_identity() -> None:
    y = SpectralPool2d(3.0)(torch.full((1, 2, 20, 21), 2.5))
    torch.testing.assert_close(y, torch.full_like(y, 2.5))
    x = torch.randn(1, 2, 12, 13)
    torch.testing.assert_close(SpectralPool2d(1.0)(x), x)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stride": 0.5}, "stride must be a finite number >= 1"),
        ({"stride": float("nan")}, "stride must be a finite number >= 1"),
        ({"stride": (2.0, 2.0, 2.0)}, "stride must be a number or a pair"),
        ({"stride": "2"}, "stride must be a number"),
        ({"smoothness": -1.0}, "smoothness must be a finite number >= 0"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidWindowError, match=message):
        SpectralPool2d(**kwargs)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: spectral_output_size(0, 2), OutputSizeError),
        (lambda: spectral_output_size(8, 2, -1), InvalidWindowError),
        (lambda: spectral_output_size(8, True), InvalidWindowError),
        (lambda: spectral_pool2d(torch.zeros(3, 8, 8)), OutputSizeError),
        (lambda: spectral_pool2d(torch.zeros(1, 1, 8, 8, dtype=torch.int64)), InvalidWindowError),
    ],
)
def test_bad_inputs(call, error: type) -> None:
    with pytest.raises(error):
        call()
