"""`Field` against gradient-measured receptive fields of small random torch chains.

A pixel is in an output's field iff the gradient of that output reaches it. Chains use
positive weights and no activations, so no gradient cancels by accident; max pooling is
replaced by average pooling of the same geometry (same windows, dense gradient).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from stridekit.errors import StrideError
from stridekit.geometry import Field, Window, merge_fields

Layer = Callable[[torch.Tensor], torch.Tensor]


def as_torch(window: Window) -> Layer:
    """A 1-d torch op with exactly this window's geometry and positive weights."""
    weight = torch.rand(1, 1, window.kernel, dtype=torch.float64) + 0.5
    if window.transposed:

        def upsample(x: torch.Tensor) -> torch.Tensor:
            y = F.conv_transpose1d(x, weight, stride=window.stride, dilation=window.dilation)
            y = F.pad(y, (0, window.output_padding))
            return y[..., window.pad_lo : y.shape[-1] - window.pad_hi]

        return upsample
    return lambda x: F.conv1d(
        F.pad(x, window.padding), weight, stride=window.stride, dilation=window.dilation
    )


@st.composite
def chains(draw: st.DrawFn, allow_transposed: bool) -> list[Window]:
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        if allow_transposed and draw(st.booleans()):
            stride = draw(st.integers(2, 3))
            layers.append(
                Window(
                    draw(st.integers(1, 4)),
                    stride,
                    1,
                    (draw(st.integers(0, 1)),) * 2,
                    transposed=True,
                )
            )
            continue
        kernel, dilation = draw(st.integers(1, 5)), draw(st.integers(1, 2))
        extent = dilation * (kernel - 1) + 1
        pads = (draw(st.integers(0, extent - 1)), draw(st.integers(0, extent - 1)))
        layers.append(Window(kernel, draw(st.integers(1, 3)), dilation, pads))
    return layers


def measured_fields(layers: list[Window], n: int) -> list[set[int]]:
    x = torch.rand(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = x
    for layer in layers:
        y = as_torch(layer)(y)
    fields = []
    for m in range(y.shape[-1]):
        (grad,) = torch.autograd.grad(y[0, 0, m], x, retain_graph=True)
        fields.append({int(i) for i in torch.nonzero(grad[0, 0]).flatten()})
    return fields


def predicted(layers: list[Window]) -> Field:
    field = Field()
    for layer in layers:
        field = field.through(layer)
    return field


def out_size(layers: list[Window], n: int) -> int:
    for layer in layers:
        n = layer.output_size(n)
    return n


@settings(max_examples=150, deadline=None)
@given(layers=chains(allow_transposed=False), n=st.integers(8, 60))
def test_forward_chain_field_is_exact(layers: list[Window], n: int) -> None:
    try:
        out_size(layers, n)
    except StrideError:
        return
    field = predicted(layers)
    for m, seen in enumerate(measured_fields(layers, n)):
        lo, hi = field.interval(m)
        assert all(lo <= i <= hi for i in seen)  # never too small
        if lo >= 0 and hi <= n - 1:  # inside the image the ends are real taps: exact
            assert (min(seen), max(seen)) == (lo, hi)


@settings(max_examples=100, deadline=None)
@given(layers=chains(allow_transposed=True), n=st.integers(4, 30))
def test_chain_with_upsampling_field_is_conservative(layers: list[Window], n: int) -> None:
    try:
        out_size(layers, n)
    except StrideError:
        return
    field = predicted(layers)
    for m, seen in enumerate(measured_fields(layers, n)):
        lo, hi = field.interval(m)
        assert all(lo <= i <= hi for i in seen), (m, seen, lo, hi)


def test_merge_of_branches_is_their_union() -> None:
    # y = conv_a(x) + conv_b(x): both stride 2, kernels 3 and 5 with centred padding
    a, b = Window(3, 2, padding=(1, 1)), Window(5, 2, padding=(2, 2))
    n = 32
    x = torch.rand(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = as_torch(a)(x) + as_torch(b)(x)
    merge = merge_fields([Field().through(a), Field().through(b)])
    assert merge.misalignment == 0  # both centred on 2m
    (grad,) = torch.autograd.grad(y[0, 0, 5], x)
    seen = torch.nonzero(grad[0, 0]).flatten().tolist()
    assert (min(seen), max(seen)) == merge.field.interval(5) == (8, 12)  # 2·5 − 2, 2·5 + 2


def test_tf_same_branch_is_misaligned_by_half_a_pixel_per_side() -> None:
    torch_style = Field().through(Window(3, 2, padding=(1, 1)))  # centre 0
    tf_style = Field().through(Window(3, 2, padding=(0, 1)))  # centre 1
    assert merge_fields([torch_style, tf_style]).misalignment == 1
