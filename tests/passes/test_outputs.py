"""`Analysis.outputs` against independent oracles: the packages' own strides (YOLO's
``model.stride``, the feature maps torchvision's anchor generator sees), output shapes
from a real forward, and receptive fields measured by autograd on each level's rows.
Torch and ONNX agree on the outputs and levels of a small two-level head."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from stridekit.analysis import analyze, analyze_graph
from stridekit.cli import main
from stridekit.errors import ModelError
from stridekit.frontends.onnx import load_onnx
from stridekit.frontends.torch import trace_torch
from stridekit.output_record import OutputRecord
from tests.frontends.oracles import export_onnx
from tests.frontends.zoo import linearized, measured_interval


class TwoLevels(nn.Module):
    """A detection head in miniature: two levels flattened and concatenated along rows
    (stride 4 and 8), and the stride-8 feature map returned beside them."""

    def __init__(self) -> None:
        super().__init__()
        self.p4 = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 2, 1))
        self.p8 = nn.Conv2d(4, 4, 3, 2, 1)
        self.head = nn.Conv2d(4, 6, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        a = self.p4(x)
        b = self.p8(a)
        rows = torch.cat([self.head(a).flatten(2), self.head(b).flatten(2)], dim=2)
        return rows.sigmoid(), {"p8": b}


def _positions(rows: tuple[int, int], grid: tuple[int, ...]) -> list[tuple[int, int]]:
    """(row, flat position) of the first, a middle and the last position of a level."""
    count = math.prod(grid)
    return [(rows[0] + k, k) for k in sorted({0, count // 2 + grid[-1] // 2, count - 1})]


def _check_level_fields(
    model: nn.Module, analysis_outputs: list[OutputRecord], shape: tuple[int, ...], out_index: int
) -> int:
    """Each level's field against the gradient of its rows in a linearized copy."""
    oracle = linearized(model)
    x = (torch.rand(shape, dtype=torch.float64) + 0.5).requires_grad_()
    out = oracle(x)[out_index]
    checked = 0
    for level in analysis_outputs[out_index].levels:
        assert level.rows is not None and level.receptive_field is not None
        for row, k in _positions(level.rows, level.grid):
            (grad,) = torch.autograd.grad(out[0, :, row].sum(), x, retain_graph=True)
            position = (k // level.grid[1], k % level.grid[1])
            for axis, n in enumerate(shape[2:]):
                jump, size = level.stride[axis], level.receptive_field[axis]
                lo = position[axis] * jump + level.rf_start[axis]
                predicted = (max(0, math.ceil(lo)), min(n - 1, math.floor(lo + size - 1)))
                assert measured_interval(grad, axis) == predicted, (level.grid, row, axis)
                checked += 1
    return checked


def test_a_two_level_head_has_its_levels_rows_and_fields() -> None:
    torch.manual_seed(0)
    model = TwoLevels().eval()
    shape = (1, 3, 64, 64)
    with torch.no_grad():
        rows, maps = model(torch.randn(shape))
    outputs = analyze(model, shape).outputs
    assert [(o.name, o.shape) for o in outputs] == [
        ("0", tuple(rows.shape)),
        ("1.p8", tuple(maps["p8"].shape)),
    ]
    levels = outputs[0].levels
    # 64 / 4 = 16 and 64 / 8 = 8 positions a side: rows 0:256, 256:320
    assert [(lv.grid, lv.rows, lv.stride) for lv in levels] == [
        ((16, 16), (0, 256), (4, 4)),
        ((8, 8), (256, 320), (8, 8)),
    ]
    assert outputs[0].row_dim == 2 and outputs[0].stride is None
    assert outputs[1].stride == (8, 8) and outputs[1].levels == ()
    assert _check_level_fields(model, outputs, shape, 0) == 12


def test_torch_and_onnx_agree_on_outputs_and_levels(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = TwoLevels().eval()
    shape = (1, 3, 64, 64)
    path = export_onnx(model, shape, tmp_path / "two_levels.onnx")
    answers = [
        [
            (
                o.shape,
                o.stride,
                o.receptive_field,
                [lv.to_dict() | {"source": ""} for lv in o.levels],
            )
            for o in analyze_graph(graph).outputs
        ]
        for graph in (trace_torch(model, shape), load_onnx(path))
    ]
    assert answers[0] == answers[1]
    assert len(answers[0]) == 2 and len(answers[0][0][3]) == 2


class Returns(nn.Module):
    def __init__(self, value: object) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.value = value

    def forward(self, x: torch.Tensor) -> object:
        return {"map": self.conv(x), "extra": self.value}


def test_a_dict_output_with_a_non_tensor_value_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(ModelError, match=r"returns extra = 'hello' \(str\), not a tensor"):
        analyze(Returns("hello"), (1, 3, 16, 16))
    assert [o.name for o in analyze(Returns(None), (1, 3, 16, 16)).outputs] == ["map"]


def test_no_spatial_output_is_a_model_error() -> None:
    classifier = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    analysis = analyze(classifier, (1, 3, 16, 16))
    assert analysis.outputs[0].shape == (1, 4) and analysis.outputs[0].stride is None
    with pytest.raises(ModelError, match="has no spatial output"):
        analysis.spatial_outputs()


class Constant(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * 2


def test_an_output_that_reads_no_pixel_is_one_line() -> None:
    with pytest.raises(ModelError, match="no output depends on the input"):
        analyze(Constant(), (1, 3, 8, 8))


def test_cli_bad_outputs_and_config_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "hf:NoSuchModel"]) == 2
    assert main(["analyze", "torchvision:resnet18", "--config", "num_labels=3"]) == 2
    assert main(["analyze", "ultralytics:yolov8n.pt"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert "give a model yaml" in lines[2] and "hf:ClassName models only" in lines[1]
