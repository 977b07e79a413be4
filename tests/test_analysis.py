"""The `Analysis` object: invariants beside the renderers (table, markdown, JSON, rows)."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from torch import nn

import stridekit
from stridekit.analysis import LayerRecord
from stridekit.errors import ModelError, StrideError


class SqueezeExcite(nn.Module):
    """A conv path gated by global pooling: the field is global, the local one is not."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 8, 1), nn.Sigmoid())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.head(y * self.gate(y))


@pytest.fixture(scope="module")
def analysis() -> stridekit.Analysis:
    return stridekit.analyze(SqueezeExcite(), (1, 3, 32, 32))


def test_totals_are_the_sums_of_the_layers(analysis: stridekit.Analysis) -> None:
    model = SqueezeExcite()
    assert analysis.total_params == sum(p.numel() for p in model.parameters())
    assert analysis.total_macs == sum(r.macs for r in analysis.layers)
    assert analysis.total_flops == 2 * analysis.total_macs


def test_global_gate_gives_a_global_field_and_a_local_one(analysis: stridekit.Analysis) -> None:
    assert analysis.receptive_field is None  # the SE gate mixes every position
    assert analysis.local_receptive_field == (Fraction(3), Fraction(3))  # the 3x3 conv alone
    assert analysis.output_stride == (Fraction(2), Fraction(2))


def test_renderers_agree_with_the_data(analysis: stridekit.Analysis) -> None:
    data = json.loads(analysis.to_json())
    assert data["totals"]["params"] == analysis.total_params
    assert data["totals"]["receptive_field"] is None
    assert data["totals"]["local_receptive_field"] == [3, 3]
    assert [row["name"] for row in data["layers"]] == [r.name for r in analysis.layers]
    assert data["layers"] == analysis.rows()
    text = str(analysis)
    assert "receptive field global (sliding windows alone: 3)" in text
    markdown = analysis.to_markdown()
    assert markdown.startswith("### SqueezeExcite at 1x3x32x32") and "| name | op |" in markdown


def test_depth_folding_keeps_the_sums(analysis: stridekit.Analysis) -> None:
    folded = analysis.view(depth=1, ops="all").rows()
    assert sum(row.params for row in folded) == analysis.total_params
    assert sum(row.macs for row in folded) == analysis.total_macs
    assert {row.name for row in folded} >= {"conv", "gate", "head"}


@pytest.mark.parametrize(
    ("model", "size", "error"),
    [
        (object(), (1, 3, 8, 8), ModelError),
        (nn.Conv2d(3, 4, 3), None, ModelError),
        (nn.Conv2d(3, 4, 7), (1, 3, 4, 4), StrideError),
    ],
)
def test_bad_input_raises_stride_errors(
    model: object, size: tuple[int, ...] | None, error: type
) -> None:
    with pytest.raises(error):
        stridekit.analyze(model, size)


def _stride_layers() -> dict[str, nn.Module]:
    from stridekit.nn import (
        BlurPool2d,
        Conv2dSame,
        DiffStride2d,
        SpaceToDepth,
        SPDConv,
        SpectralPool2d,
    )

    return {
        "blur_pool": BlurPool2d(4),
        "conv_same": Conv2dSame(4, 8, 3, stride=2),
        "diff_stride": DiffStride2d(2.5, smoothness=2.0),
        "spd_conv": SPDConv(4, 8, 3),
        "space_to_depth": SpaceToDepth(2),
        "spectral_pool": SpectralPool2d(2.0),
    }


@pytest.mark.parametrize("name", sorted(_stride_layers()))
def test_analysis_knows_every_stride_layer(name: str) -> None:
    layer = _stride_layers()[name]
    model = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), layer)
    analysis = stridekit.analyze(model, (1, 4, 30, 30))
    eager = model(torch.zeros(1, 4, 30, 30))
    assert analysis.layers[-1].output_shape == tuple(eager.shape)
    assert analysis.total_params == sum(p.numel() for p in model.parameters())
    assert "forward" not in vars(layer)  # the trace's stand-in forward is gone again


class WithAuxHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.aux = nn.Linear(10, 10)  # declared, never called by forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def test_unused_parameters_are_reported() -> None:
    model = WithAuxHead()
    analysis = stridekit.analyze(model, (1, 3, 8, 8))
    assert analysis.total_params == 3 * 4 * 9 + 4  # the conv's weight and bias
    assert analysis.unused_params == 10 * 10 + 10
    assert "110 declared parameters are never used" in str(analysis)


def test_a_record_carries_every_field(analysis: stridekit.Analysis) -> None:
    names = {f.name for f in dataclasses.fields(LayerRecord)}
    for record, row in zip(analysis.layers, analysis.rows(), strict=True):
        assert set(row) == names
        assert row["module"] == record.module
        assert row["local_rf"] == [int(v) for v in record.local_rf]


class Upsampler(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=2, padding=1)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.conv(x))


def _read_by_gradient(size: int, index: int) -> set[int]:
    """Input pixels whose value reaches output ``index`` of a x2 bilinear upsample."""
    x = torch.rand(1, 1, 1, size, requires_grad=True)
    y = torch.nn.functional.interpolate(x, scale_factor=(1, 2), mode="bilinear")
    y[0, 0, 0, index].backward()
    assert x.grad is not None
    return {int(i) for i in torch.nonzero(x.grad[0, 0, 0]).flatten()}


def test_a_resample_row_reports_its_own_geometry() -> None:
    record = next(
        r for r in stridekit.analyze(Upsampler(), (1, 1, 16, 16)).layers if r.name == "up"
    )
    row = record.to_dict()
    # no window numbers for a resize: they meant nothing (kernel 3, padding (5/4, -5/4))
    assert (row["kernel"], row["stride"], row["padding"], row["dilation"]) == (None,) * 4
    assert [axis["description"] for axis in row["resample"]] == ["linear x2"] * 2
    assert record.describe_window() == "linear x2"
    axis = row["resample"][0]
    assert (axis["kind"], axis["factor"]) == ("linear", 2)
    # output i reads input [i·scale + start, i·scale + stop]: every pixel the gradient of a
    # real bilinear upsample reaches lies inside (outputs 1..14 of 16, away from the border)
    scale, (start, stop) = Fraction(axis["scale"]), (Fraction(v) for v in axis["read"])
    for i in range(1, 15):
        inside = {j for j in range(8) if i * scale + start <= j <= i * scale + stop}
        assert _read_by_gradient(8, i) <= inside


def test_a_padding_row_names_its_padding() -> None:
    from stridekit.geometry import Resample
    from stridekit.graph import Graph, Node

    graph = Graph(input_shape=(1, 1, 8, 8))
    pad = Resample.pad(1, 2)
    graph.add(Node("pad", "pad", ("input",), ((1, 1, 8, 8),), (1, 1, 11, 11), (pad, pad)))
    record = stridekit.analyze(graph).layers[-1]
    assert record.describe_window() == "pad (1, 2)"
    # output i reads input i − 1: the interval [i·1 − 1, i·1 − 1]
    assert record.to_dict()["resample"][0]["read"] == [-1, -1]
    assert record.kernel is None


def test_a_reference_is_analysed_at_its_declared_size(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(
        "input: [1, 1, 40, 48]\nlayers:\n  - {type: conv, channels: 4, kernel: 3, stride: 2}\n"
    )
    assert stridekit.analyze(str(spec)).input_shape == (1, 1, 40, 48)  # not (1, 3, 224, 224)
    assert stridekit.analyze(str(spec), (1, 1, 20, 20)).input_shape == (1, 1, 20, 20)


def test_a_factory_without_a_declared_size_asks_for_one(tmp_path: Path) -> None:
    source = tmp_path / "net.py"
    source.write_text("import torch\ndef build():\n    return torch.nn.Conv2d(1, 4, 3)\n")
    with pytest.raises(ModelError, match="declares no input size"):
        stridekit.analyze(f"{source}:build")


@pytest.mark.parametrize(
    ("size", "fragment"),
    [
        ((1, 3, 0, 8), "must be >= 1"),
        ((1, 3, 2**20 + 1, 8), "beyond 2^20"),
        ((1, 3, 8.0, 8), "integers"),
    ],
)
def test_input_sizes_are_bounded(size: tuple[int, ...], fragment: str) -> None:
    with pytest.raises(StrideError, match=fragment.replace("^", r"\^")):
        stridekit.analyze(nn.Conv2d(3, 4, 3), size)


def test_analysis_and_report_show_in_jupyter(analysis: stridekit.Analysis) -> None:
    html = analysis._repr_html_()
    assert html.startswith("<table><caption>SqueezeExcite at 1x3x32x32</caption>")
    assert "<pre>params" in html
    report = stridekit.doctor(analysis)
    assert report._repr_html_().count("<tr>") == len(report.findings) + 1
