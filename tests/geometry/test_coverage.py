"""`coverage` and `unread` against a brute-force reference and against torch's gradients."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from stridekit.errors import StrideError
from stridekit.geometry import Window


@st.composite
def windows(draw: st.DrawFn, transposed: bool = False) -> tuple[Window, int]:
    kernel, stride, dilation = (
        draw(st.integers(1, 6)),
        draw(st.integers(1, 5)),
        draw(st.integers(1, 3)),
    )
    lo, hi = draw(st.integers(0, 5)), draw(st.integers(0, 5))
    n = draw(st.integers(1, 30))
    if transposed:
        op = draw(st.integers(0, max(stride, dilation) - 1))
        window = Window(kernel, stride, dilation, (lo, hi), transposed=True, output_padding=op)
    else:
        window = Window(kernel, stride, dilation, (lo, hi), ceil_mode=draw(st.booleans()))
    return window, n


def brute_force(window: Window, n: int) -> tuple[list[int], set[int]]:
    """Per-pixel read counts and the set of coordinates read, by walking every tap."""
    out = window.output_size(n)
    counts = [0] * n
    read: set[int] = set()
    for i in range(out):
        for t in range(window.kernel):
            if window.transposed:
                continue
            x = i * window.stride - window.pad_lo + t * window.dilation
            read.add(x)
            if 0 <= x < n:
                counts[x] += 1
    if window.transposed:  # input j writes output j·s − lo + t·d when it lands in range
        for j in range(n):
            for t in range(window.kernel):
                if 0 <= j * window.stride - window.pad_lo + t * window.dilation < out:
                    counts[j] += 1
    return counts, read


@settings(max_examples=500, deadline=None)
@given(case=st.one_of(windows(), windows(transposed=True)))
def test_coverage_and_unread_match_brute_force(case: tuple[Window, int]) -> None:
    window, n = case
    try:
        window.output_size(n)
    except StrideError:
        return
    counts, read = brute_force(window, n)
    assert window.coverage(n).tolist() == counts
    unread = window.unread(n)
    assert list(unread.real) == [i for i in range(n) if counts[i] == 0]
    if not window.transposed:
        pads = [*range(-window.pad_lo, 0), *range(n, n + window.pad_hi)]
        assert list(unread.padding) == [p for p in pads if p not in read]


@settings(max_examples=300, deadline=None)
@given(case=windows())
def test_coverage_equals_gradient_of_ones_conv(case: tuple[Window, int]) -> None:
    # d(sum y)/dx_j with an all-ones kernel counts the (output, tap) pairs reading j
    window, n = case
    if window.ceil_mode:
        return
    try:
        window.output_size(n)
    except StrideError:
        return
    x = torch.zeros(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = F.conv1d(
        F.pad(x, window.padding),
        torch.ones(1, 1, window.kernel, dtype=torch.float64),
        stride=window.stride,
        dilation=window.dilation,
    )
    y.sum().backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad[0, 0].numpy().astype(np.int64), window.coverage(n))


@settings(max_examples=300, deadline=None)
@given(case=windows(transposed=True))
def test_transposed_coverage_equals_gradient(case: tuple[Window, int]) -> None:
    window, n = case
    try:
        window.output_size(n)
    except StrideError:
        return
    x = torch.zeros(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = F.conv_transpose1d(
        x,
        torch.ones(1, 1, window.kernel, dtype=torch.float64),
        stride=window.stride,
        padding=0,
        output_padding=0,
        dilation=window.dilation,
    )
    # torch's conv_transpose takes symmetric padding; crop (lo, hi) by hand, then add
    # output_padding as extra positions that read nothing but zeros beyond the input
    full = F.pad(y, (0, window.output_padding))
    cropped = full[..., window.pad_lo : full.shape[-1] - window.pad_hi]
    assert cropped.shape[-1] == window.output_size(n)
    cropped.sum().backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad[0, 0].numpy().astype(np.int64), window.coverage(n))


def test_three_by_three_stride_two_drops_last_pixel() -> None:
    # floor((224 − 3)/2) + 1 = 111 windows; the last covers 220..222, pixel 223 is dropped
    unread = Window(3, 2).unread(224)
    assert unread.real == (223,)
    assert Window(3, 2).dropped_end(224) == 1


def test_gaps_when_stride_exceeds_kernel() -> None:
    # k=1, s=2: every odd pixel is skipped (the ResNet shortcut)
    assert Window(1, 2).unread(8).real == (1, 3, 5, 7)
