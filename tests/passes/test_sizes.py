"""The size pass against real torch forward passes at every input size of a range.

The reference (`tests.passes.reachability.valid_by_forward`) runs each model on CPU at
``n × n`` and judges it by whether the forward raises and by gradient reachability; the
pass predicts every size from one meta trace at a single size.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from stridekit.analysis import analyze
from stridekit.geometry import Resample, Sizing, Window, valid_input_sizes
from stridekit.graph import Graph, Node
from stridekit.passes import model_valid_sizes
from stridekit.passes.sizes import SizePlan
from tests.passes.reachability import valid_by_forward, valid_sizes_by_forward

TOP = 48  # sizes 1..TOP are checked


def conv(stride: int = 1, kernel: int = 3, padding: int = 0, channels: int = 2) -> nn.Conv2d:
    return nn.Conv2d(channels, 2, kernel, stride=stride, padding=padding)


class FixedResize(nn.Module):
    """Resize to ``size × size`` first, then two unpadded 3x3 stride-2 convs: the sizes
    after the resize no longer follow the input (antialiased, so every pixel is read)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.convs = nn.Sequential(conv(2, channels=1), conv(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        resized = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True)
        return self.convs(resized)


class ScaledUp(nn.Module):
    """Nearest upsampling by ``factor`` (size floor(n·factor)), then a 4x4 stride-4 conv."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor
        self.conv = conv(4, kernel=4, channels=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=self.factor))


class UNet(nn.Module):
    """Two levels: max pooling down; bilinear x2 and a transposed conv up; skips by cat."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1, self.enc2 = conv(padding=1, channels=1), conv(padding=1)
        self.pool = nn.MaxPool2d(2)
        self.bottom = conv(padding=1)
        self.dec2 = conv(padding=1, channels=4)
        self.up1 = nn.ConvTranspose2d(2, 2, 2, stride=2)
        self.dec1 = conv(padding=1, channels=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)  # n
        e2 = self.enc2(self.pool(e1))  # floor(n/2)
        bottom = self.bottom(self.pool(e2))  # floor(n/4)
        up2 = F.interpolate(bottom, scale_factor=2, mode="bilinear")  # 2·floor(n/4)
        d2 = self.dec2(torch.cat([e2, up2], dim=1))
        return self.dec1(torch.cat([e1, self.up1(d2)], dim=1))  # 2·floor(n/2) = n?


class FixedSkip(nn.Module):
    """A branch resized to a fixed size merged with one that follows the input: only the
    inputs where ceil(n/2) = size fit, and a 2x2 stride-2 head then needs an even size."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.stem = conv(2, padding=1, channels=1)  # ceil(n/2)
        self.main = conv(padding=1)
        self.head = conv(2, kernel=2, channels=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stem = self.stem(x)
        side = F.interpolate(stem, size=(self.size, self.size), mode="bilinear", antialias=True)
        return self.head(torch.cat([self.main(stem), side], dim=1))


class UnequalStrides(nn.Module):
    """Branches pooled by 2 and by 3 merged: floor(n/2) = floor(n/3) only at n = 3."""

    def __init__(self) -> None:
        super().__init__()
        self.by_two, self.by_three = nn.MaxPool2d(2), nn.MaxPool2d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.by_two(x), self.by_three(x)], dim=1)


class ShapeFollowingSkip(nn.Module):
    """A decoder that resizes to its skip's shape (``size=skip.shape[-2:]``, as FPN and
    LRASPP do): the real model fits at every size, but a trace records the size as a
    number, so the graph says "fixed"."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.down = conv(padding=1, channels=1), conv(2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.stem(x)
        up = F.interpolate(self.down(skip), size=skip.shape[-2:], mode="nearest")
        return torch.cat([skip, up], dim=1)


# name → (model, an input size at which its forward runs, for the one meta trace)
MODELS: dict[str, tuple[Callable[[], nn.Module], int]] = {
    "fixed_resize_fits": (lambda: FixedResize(39), 20),  # 39 → 19 → 9: every n
    "fixed_resize_drops": (lambda: FixedResize(40), 20),  # (40 − 3) mod 2 = 1: none
    "scale_factor_2": (lambda: ScaledUp(2.0), 16),  # 2n ≡ 0 mod 4: even n
    "scale_factor_1.5": (lambda: ScaledUp(1.5), 16),  # floor(1.5n) ≡ 0 mod 4
    "unet": (UNet, 32),  # multiples of 4
    "fixed_skip_even": (lambda: FixedSkip(8), 16),  # n in 15, 16
    "fixed_skip_odd": (lambda: FixedSkip(9), 18),  # 9 is odd: the head drops a pixel
    "unequal_strides": (UnequalStrides, 3),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_valid_sizes_match_real_forward_passes(name: str) -> None:
    factory, traced = MODELS[name]
    model = factory()
    graph = analyze(model, (1, 1, traced, traced)).graph
    rows, columns = model_valid_sizes(graph, 0), model_valid_sizes(graph, 1)
    predicted = [n for n in range(1, TOP + 1) if n in rows and n in columns]
    expected = valid_sizes_by_forward(model, TOP)
    assert predicted == expected, (rows.closed_form(), columns.closed_form())


def test_a_resize_to_a_skips_shape_follows_the_input() -> None:
    """The torch frontend traces twice to tell a resize to a skip's shape from a fixed one."""
    model = ShapeFollowingSkip()
    graph = analyze(model, (1, 1, 16, 16)).graph
    sizes = model_valid_sizes(graph)
    assert sizes.between(1, 24) == valid_sizes_by_forward(model, 24)


def test_the_reference_sees_both_failures() -> None:
    # FixedSkip(8) at 17: ceil(17/2) = 9 ≠ 8, cat raises; UNet at 36 runs (36 = 4·9)
    assert not valid_by_forward(FixedSkip(8), 17)
    assert valid_by_forward(UNet(), 36)
    # a 3x3 stride-2 conv at 8: floor(5/2) + 1 = 3 windows end at pixel 6, pixel 7 unread
    assert not valid_by_forward(nn.Sequential(conv(2, channels=1)), 8)
    assert valid_by_forward(nn.Sequential(conv(2, channels=1)), 9)


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("fixed_resize_fits", "every n >= 1"),
        ("fixed_resize_drops", "none"),
        ("scale_factor_2", "2k"),
        ("unet", "4k"),
        ("fixed_skip_even", "n in 15, 16"),  # ceil(n/2) = 8
        ("fixed_skip_odd", "none"),
        ("unequal_strides", "n in 3"),
    ],
)
def test_closed_forms(name: str, form: str) -> None:
    factory, traced = MODELS[name]
    graph = analyze(factory(), (1, 1, traced, traced)).graph
    assert model_valid_sizes(graph).closed_form() == form


def test_a_fixed_size_merge_is_bounded() -> None:
    graph = analyze(FixedSkip(8), (1, 1, 16, 16)).graph
    sizes = model_valid_sizes(graph)
    assert sizes.maximum is not None
    assert (sizes.minimum, sizes.maximum, sizes.nearest(100), 1000 in sizes) == (15, 16, 16, False)


def node(name: str, source: str, axis_map: Window | Resample, n_in: int, n_out: int) -> Node:
    return Node(name, "pad", (source,), ((1, 1, n_in),), (1, 1, n_out), axes=(axis_map,))


def test_sizing_is_used_and_the_fit_only_without_it() -> None:
    # a fixed size of 9 traced at 20 → 9: with sizing the size stays 9 at every input;
    # without it the fit says n·(9/20)·... (affine through the traced pair)
    fixed = Resample(Fraction(20, 9), Fraction(0), Fraction(2), sizing=Sizing(fixed=9))
    unsized = Resample(Fraction(20, 9), Fraction(0), Fraction(2))
    for axis_map, at_40 in ((fixed, 9), (unsized, 18)):
        graph = Graph(input_shape=(1, 1, 20))
        graph.add(node("resize", "input", axis_map, 20, 9))
        plan = SizePlan.compile(graph)
        assert plan.sizes(40) == [40, at_40]  # 40·9/20 + (9 − 20·9/20) = 18


def test_period_is_the_lcm_of_cumulative_strides() -> None:
    # strides 2, 2, 2 then a x2 upsample: rates 1, 1/2, 1/4, 1/8, 1/4 → period 8, not 2·2·2·…
    graph = Graph(input_shape=(1, 1, 64))
    sizes = [64, 32, 16, 8]
    for i in range(3):
        source = "input" if i == 0 else f"c{i - 1}"
        graph.add(node(f"c{i}", source, Window(2, 2), sizes[i], sizes[i + 1]))
    graph.add(node("up", "c2", Resample.nearest(2), 8, 16))
    assert SizePlan.compile(graph).period == 8


@st.composite
def chains(draw: st.DrawFn) -> list[Window]:
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        kernel, stride = draw(st.integers(1, 5)), draw(st.integers(1, 3))
        pads = (draw(st.integers(0, kernel - 1)), draw(st.integers(0, kernel - 1)))
        if draw(st.integers(0, 5)) == 0 and stride > 1:
            layers.append(Window(kernel, stride, 1, pads, transposed=True))
        else:
            layers.append(Window(kernel, stride, 1, pads, ceil_mode=draw(st.booleans())))
    return layers


@settings(max_examples=100, deadline=None)
@given(windows=chains())
def test_a_chain_as_a_graph_agrees_with_the_chain_solver(windows: list[Window]) -> None:
    n = 512
    graph = Graph(input_shape=(1, 1, n))
    source = "input"
    for i, window in enumerate(windows):
        out = window.output_size(n)
        graph.add(node(f"w{i}", source, window, n, out))
        source, n = f"w{i}", out
    expected = valid_input_sizes(windows, "no-drop")
    assert model_valid_sizes(graph).between(1, 300) == expected.between(1, 300)
