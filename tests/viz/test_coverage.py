"""Coverage heatmaps: the values are `Window.coverage` and what torch's gradients say, and
the picture shows them: each cell's colour, read back from the PNG's pixels, is the colour
of its count. A model's coverage is the gradient of the sum of a layer's outputs in the
same network with every weight set to one."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from stridekit.analysis import analyze
from stridekit.errors import ChoiceError, SizeError, UnsupportedError
from stridekit.passes.coverage import path_coverage
from stridekit.viz import CoverageMap, draw_coverage, draw_model_coverage
from stridekit.viz.canvas import figure_bytes
from stridekit.viz.palette import rgb
from tests.viz import oracles

CASES: dict[str, dict[str, Any]] = {
    "stride_gaps": {"size": (12, 12), "kernel": 1, "stride": 3},
    "dropped_border": {"size": (12, 13), "kernel": 3, "stride": 2},
    "uneven_overlap": {"size": (11, 11), "kernel": 3, "stride": 2, "padding": 1},
    "dilated_1d": {"size": 20, "kernel": 3, "stride": 2, "dilation": 3},
    "pool_ceil": {"size": (9, 9), "kernel": 3, "stride": 2, "op": "avg_pool", "ceil_mode": True},
    "transposed": {"size": (6, 6), "kernel": 3, "stride": 2, "padding": 1, "op": "conv_transpose"},
    "transposed_1d": {"size": 7, "kernel": 4, "stride": 3, "op": "conv_transpose"},
}


def heatmap(name: str) -> CoverageMap:
    return draw_coverage(**CASES[name])


def _windows(name: str) -> tuple[str, list[Any], list[int]]:
    from stridekit.geometry.op_windows import op_windows

    case = dict(CASES[name])
    op = case.pop("op", "conv")
    sizes, windows = op_windows(**case, op=op)
    return op, list(windows), list(sizes)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_are_window_coverage_and_torch_read_counts(name: str) -> None:
    h = heatmap(name)
    op, windows, sizes = _windows(name)
    per_axis = [w.coverage(n) for w, n in zip(windows, sizes, strict=True)]
    assert np.array_equal(h.values, per_axis[0] if len(per_axis) == 1 else np.outer(*per_axis))
    assert np.array_equal(h.values, oracles.read_counts(op, windows, sizes))
    assert json.loads(h.to_json())["values"] == h.values.tolist()


@pytest.mark.parametrize("name", ["transposed", "transposed_1d"])
def test_transposed_output_map_is_its_checkerboard(name: str) -> None:
    h = heatmap(name)
    _, windows, sizes = _windows(name)
    assert h.output_values is not None
    assert np.array_equal(h.output_values, oracles.write_counts(windows, sizes))
    assert len(np.unique(h.output_values)) > 1  # uneven: k=3 s=2 writes 1, 2, 1, 2...


def _read_back(figure: Any, gid: str, shape: tuple[int, ...]) -> np.ndarray:
    """Each cell's colour in the rendered PNG, sampled in the cell's upper-left quarter (its
    centre holds the count, written in the cell)."""
    pixels = np.asarray(Image.open(io.BytesIO(figure_bytes(figure, "png"))).convert("RGB"))
    (image,) = [a for ax in figure.axes for a in ax.images if a.get_gid() == gid]
    axes = image.axes
    height = pixels.shape[0]
    rows, columns = (1, shape[0]) if len(shape) == 1 else shape
    colours = np.zeros((rows, columns, 3), dtype=int)
    for row in range(rows):
        for column in range(columns):
            x, y = axes.transData.transform((column - 0.3, row - 0.3))
            colours[row, column] = pixels[int(height - y), int(x)]
    return colours[0] if len(shape) == 1 else colours


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_cell_shows_the_colour_of_its_count(name: str) -> None:
    h = heatmap(name)
    assert h.discrete
    palette = np.array([rgb(c) for c in h.colours])
    maps = [("coverage", h.values)]
    if h.output_values is not None:
        maps.append(("output-coverage", h.output_values))
    figure = h.to_matplotlib()
    for gid, values in maps:
        colours = _read_back(figure, gid, values.shape)
        counts = np.array(
            [
                [int(np.argmin(np.abs(palette - c).sum(1))) for c in row]
                for row in colours.reshape(-1, 1, 3)
            ]
        ).reshape(values.shape)
        assert np.array_equal(counts, values), gid
        # the colours are the palette's own (not blends): each cell is its count's colour
        assert np.abs(palette[counts] - colours).max() <= 2


def test_unread_pixels_are_red_and_counted() -> None:
    h = heatmap("dropped_border")  # k=3 s=2 on 12 rows: row 11 dropped; 13 columns: none
    assert h.unread == 13 and h.colours[0] == "#F08A8A"
    assert "13 never read" in h.summary()


def test_large_counts_get_a_continuous_scale() -> None:
    values = np.arange(1, 401, dtype=float).reshape(20, 20)
    values[0, 0] = 0
    h = CoverageMap("many", values)
    assert not h.discrete and h.to_dict()["colours"] is None
    (image,) = h.to_matplotlib().axes[0].images
    assert np.ma.is_masked(image.get_array()[0, 0])  # zero: drawn in the unread colour
    assert np.array_equal(image.get_array()[1:].data, values[1:])


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_rendering_is_deterministic(fmt: str) -> None:
    assert heatmap("transposed").render(fmt) == heatmap("transposed").render(fmt)


# --- a model's coverage: path counts against autograd on a network of ones ------------


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 1, 3, stride=2, padding=1, bias=False)
        self.body = nn.Conv2d(1, 1, 3, padding=2, dilation=2, bias=False)
        self.skip = nn.AvgPool2d(1)
        self.down = nn.Conv2d(1, 1, 2, stride=2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return self.down(self.body(x) + self.skip(x))


class Gated(nn.Module):
    """A squeeze-and-excitation gate: a global branch that multiplies the map."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=2, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y * torch.sigmoid(self.pool(y))


NETS = {
    "chain": lambda: nn.Sequential(
        nn.Conv2d(1, 1, 7, stride=2, padding=3, bias=False),
        nn.ReLU(),
        nn.AvgPool2d(3, stride=2, padding=1, divisor_override=1),
    ),
    "gaps": lambda: nn.Sequential(
        nn.Conv2d(1, 1, 1, stride=2, bias=False), nn.Conv2d(1, 1, 3, stride=3, bias=False)
    ),
    "decoder": lambda: nn.Sequential(
        nn.Conv2d(1, 1, 3, stride=2, bias=False),
        nn.ConvTranspose2d(1, 1, 3, stride=2, bias=False),
        nn.Upsample(scale_factor=2, mode="nearest"),
    ),
    "residual": Residual,
}


def _ones(net: nn.Module) -> nn.Module:
    for parameter in net.parameters():
        nn.init.ones_(parameter)
    return net.double()


@pytest.mark.parametrize("name", sorted(NETS))
def test_model_coverage_is_the_gradient_of_a_network_of_ones(name: str) -> None:
    net = _ones(NETS[name]())
    x = torch.ones(1, 1, 23, 21, dtype=torch.float64, requires_grad=True)  # ReLU passes
    (gradient,) = torch.autograd.grad(net(x).sum(), x)
    h = draw_model_coverage(net, (1, 1, 23, 21), layer=_last(analyze(net, (1, 1, 23, 21))))
    assert np.array_equal(h.values, gradient[0, 0].numpy())


def _last(analysis: Any) -> str:
    return analysis.graph.output.name


def test_global_branches_are_left_out_and_named() -> None:
    gated = draw_model_coverage(Gated(), (1, 1, 16, 16), layer="mul")
    plain = draw_coverage((16, 16), 3, stride=2)
    assert np.array_equal(gated.values, plain.values)
    assert gated.skipped and gated.to_dict()["skipped"] == list(gated.skipped)


def test_layers_counts_windows_from_the_input() -> None:
    net = NETS["chain"]()
    first = draw_model_coverage(net, (1, 1, 16, 16), layers=1)
    assert np.array_equal(first.values, draw_coverage((16, 16), 7, stride=2, padding=3).values)
    with pytest.raises(SizeError, match="has 2 layers with a window"):
        draw_model_coverage(net, (1, 1, 16, 16), layers=3)


def test_a_model_reference_and_its_head() -> None:
    h = draw_model_coverage("stridekit/examples/specs/resnet_stem.yaml")
    analysis = analyze("stridekit/examples/specs/resnet_stem.yaml")
    assert np.array_equal(h.values, path_coverage(analysis.graph, analysis.head.name).values)
    assert analysis.head.name in h.title


def test_bad_layers() -> None:
    with pytest.raises(ChoiceError, match="did you mean"):
        draw_model_coverage(NETS["chain"](), (1, 1, 16, 16), layer="21")
    with pytest.raises(UnsupportedError, match="global op"):
        draw_model_coverage(
            nn.Sequential(nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(1)), (1, 1, 8, 8), layer="1"
        )
    with pytest.raises(UnsupportedError, match="1-d or 2-d"):
        draw_coverage((4, 4, 4), 3)
    with pytest.raises(SizeError, match="more than 2048"):
        draw_coverage(5000, 3)
