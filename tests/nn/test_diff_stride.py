"""DiffStride2d: values, sizes, gradients to the stride, training, penalty and freezing."""

from __future__ import annotations

import io
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from stridekit.errors import InvalidWindowError, ModelError, UnsupportedError
from stridekit.geometry.spectral import spectral_output_size
from stridekit.nn import DiffStride2d, SpectralPool2d, freeze_strides, stride_penalty
from tests.nn.oracles import FAST, spectral_by_fft


@pytest.mark.parametrize("smoothness", [0.5, 2.0, 4.0])
@FAST
@given(
    height=st.integers(2, 48),
    width=st.integers(2, 48),
    stride_h=st.floats(1.0, 6.0, width=32),
    stride_w=st.floats(1.0, 6.0, width=32),
)
def test_matches_fft_oracle_and_geometry(
    smoothness: float, height: int, width: int, stride_h: float, stride_w: float
) -> None:
    layer = DiffStride2d((stride_h, stride_w), smoothness)
    x = torch.randn(2, 3, height, width, dtype=torch.float64)
    y = layer(x)
    torch.testing.assert_close(y, spectral_by_fft(x, stride_h, stride_w, smoothness))
    assert y.shape[-2:] == (
        spectral_output_size(height, stride_h, smoothness),
        spectral_output_size(width, stride_w, smoothness),
    )
    assert y.shape[-2:] == layer.output_size(height, width)


@pytest.mark.parametrize("shared", [False, True])
def test_gradient_reaches_the_stride(shared: bool) -> None:
    layer = DiffStride2d(2.3, smoothness=3.0, shared=shared)
    y = layer(torch.randn(4, 3, 32, 32))
    y.square().mean().backward()
    grad = layer.strides.grad
    assert grad is not None and grad.shape == ((1,) if shared else (2,))
    assert torch.isfinite(grad).all() and (grad != 0).all()


def test_gradient_matches_finite_differences() -> None:
    x = torch.randn(2, 2, 24, 24, dtype=torch.float64)
    # stay inside one size step: T + R from 4 + 6.44 = 10.44 ± 1e-4 keeps 21 bins
    strides = torch.tensor([2.3, 3.1], dtype=torch.float64, requires_grad=True)
    from stridekit.nn import diff_stride2d

    def loss(s: torch.Tensor) -> torch.Tensor:
        return diff_stride2d(x, s, 4.0).square().sum()

    loss(strides).backward()
    eps = 1e-5
    for axis in (0, 1):
        step = torch.zeros(2, dtype=torch.float64)
        step[axis] = eps
        numeric = (loss(strides.detach() + step) - loss(strides.detach() - step)) / (2 * eps)
        torch.testing.assert_close(strides.grad[axis], numeric, rtol=1e-5, atol=1e-8)


def test_stride_below_one_is_clamped_but_keeps_its_gradient() -> None:
    layer = DiffStride2d(2.0, smoothness=2.0)
    with torch.no_grad():
        layer.strides.fill_(0.5)
    y = layer(torch.randn(1, 1, 16, 16))
    assert y.shape[-2:] == (16, 16)  # effective stride 1: the whole spectrum
    y.square().sum().backward()
    assert torch.isfinite(layer.strides.grad).all()
    assert layer.effective_strides() == (1.0, 1.0)


@pytest.mark.parametrize(("sign", "direction"), [(1.0, "up"), (-1.0, "down")])
def test_training_moves_the_stride_the_right_way(sign: float, direction: str) -> None:
    # sign +1 rewards a smaller output (less energy kept: a larger stride); −1 the opposite
    layer = DiffStride2d(2.5, smoothness=4.0)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.05)
    x = torch.randn(8, 4, 32, 32)
    for _ in range(20):
        optimizer.zero_grad()
        (sign * layer(x).square().sum()).backward()
        optimizer.step()
    moved = layer.strides.detach() - 2.5
    assert (moved > 0.3).all() if direction == "up" else (moved < -0.3).all()


def test_stride_penalty_is_the_cumulative_kept_area() -> None:
    model = nn.Sequential(DiffStride2d((2.0, 4.0)), nn.ReLU(), DiffStride2d(1.5, shared=True))
    first, second = 1 / (2.0 * 4.0), 1 / (1.5 * 1.5)
    torch.testing.assert_close(stride_penalty(model), torch.tensor(first + first * second))
    torch.testing.assert_close(
        stride_penalty(model, cumulative=False), torch.tensor(first + second)
    )


def test_minimising_the_penalty_grows_the_strides() -> None:
    model = nn.Sequential(DiffStride2d(1.5), DiffStride2d(1.5))
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    before = stride_penalty(model).item()
    for _ in range(5):
        optimizer.zero_grad()
        stride_penalty(model).backward()
        optimizer.step()
    assert stride_penalty(model).item() < before
    assert all((layer.strides > 1.5).all() for layer in model)


def test_penalty_without_diffstride_says_so() -> None:
    with pytest.raises(ModelError, match="no DiffStride2d layer"):
        stride_penalty(nn.Sequential(nn.ReLU()))


def _trained() -> nn.Sequential:
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), DiffStride2d(2.0, smoothness=2.0))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    x = torch.randn(4, 2, 40, 40)
    for _ in range(8):
        optimizer.zero_grad()
        model(x).square().sum().backward()
        optimizer.step()
    return model


@pytest.mark.parametrize("decimals", [None, 2])
def test_freeze_strides_keeps_the_output_size(decimals: int | None) -> None:
    model = _trained()
    learned = model[1].effective_strides()
    assert learned != (2.0, 2.0)  # training moved them
    frozen, strides = freeze_strides(model, decimals=decimals)
    assert isinstance(frozen[1], SpectralPool2d) and isinstance(model[1], DiffStride2d)
    expected = learned if decimals is None else tuple(round(s, decimals) for s in learned)
    assert strides == {"1": expected}
    x = torch.randn(2, 2, 40, 40)
    with torch.no_grad():
        y_learned, y_frozen = model(x), frozen(x)
    assert y_frozen.shape == y_learned.shape
    if decimals is None:  # same stride, same mask: the same op
        torch.testing.assert_close(y_frozen, y_learned, rtol=1e-4, atol=1e-5)


def test_freeze_in_place_and_errors() -> None:
    model = nn.Sequential(DiffStride2d(2.0))
    assert freeze_strides(model, inplace=True)[0] is model and isinstance(model[0], SpectralPool2d)
    with pytest.raises(ModelError, match="no DiffStride2d layer"):
        freeze_strides(model)
    with pytest.raises(ModelError, match="is itself a DiffStride2d"):
        freeze_strides(DiffStride2d())
    with pytest.raises(InvalidWindowError, match="decimals must be an integer >= 0 or None"):
        freeze_strides(nn.Sequential(DiffStride2d()), decimals=-1)


def test_onnx_export_is_refused_with_a_way_out() -> None:
    with warnings.catch_warnings(), pytest.raises(UnsupportedError, match="freeze_strides"):
        warnings.simplefilter("ignore")
        torch.onnx.export(DiffStride2d(), (torch.randn(1, 2, 16, 16),), io.BytesIO(), dynamo=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"init_stride": 0.5}, "init_stride must be finite numbers >= 1"),
        ({"init_stride": (2.0, 2.0, 2.0)}, "init_stride must be finite numbers >= 1"),
        ({"init_stride": float("inf")}, "init_stride must be finite numbers >= 1"),
        ({"smoothness": 0.0}, r"smoothness must be a finite number > 0"),
        ({"init_stride": (2.0, 3.0), "shared": True}, "shared=True learns one stride"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidWindowError, match=message):
        DiffStride2d(**kwargs)


def test_repr_rebuilds_the_current_layer() -> None:
    layer = DiffStride2d((2.0, 3.5), smoothness=2.0)
    with torch.no_grad():
        layer.strides.add_(0.25)
    assert repr(layer) == "DiffStride2d(init_stride=(2.25, 3.75), smoothness=2.0)"
    rebuilt = eval(repr(layer), {"DiffStride2d": DiffStride2d})
    torch.testing.assert_close(rebuilt.strides, layer.strides.detach())
    assert repr(DiffStride2d(3.0, shared=True)) == (
        "DiffStride2d(init_stride=3.0, smoothness=4.0, shared=True)"
    )
