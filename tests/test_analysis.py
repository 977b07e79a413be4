"""The `Analysis` object: invariants beside the renderers (table, markdown, JSON, rows)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
import torch
from torch import nn

import stridekit
from stridekit.errors import ModelError, StrideError
from stridekit.render import display_rows


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
    folded = display_rows(analysis, depth=1, ops="all")
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
