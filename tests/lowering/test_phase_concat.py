"""A concatenation of the strided-slice phases of one tensor (Swin's patch merging) is
space-to-depth in every frontend: traced from torch and read from ONNX, the op is a
2x2 stride-2 window over the sliced tensor, the field at the output is the one measured
by gradients, and the doctor finds no misaligned merge. Phases that do not tile the
grid stay a merge of shifted grids, which the doctor reports."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from stridekit.analysis import analyze, analyze_graph
from stridekit.doctor import Severity, doctor
from stridekit.frontends.onnx import load_onnx
from stridekit.geometry import Window
from stridekit.graph import Graph
from stridekit.passes import propagate_fields
from tests.frontends.oracles import export_onnx, gradient_extent, integer_interval

SHAPE = (1, 2, 12, 12)
SWIN = [(0, 0), (1, 0), (0, 1), (1, 1)]  # torchvision's PatchMerging order


class PatchMerging(nn.Module):
    """A 3x3 conv, then Swin's patch merging on channels-last pixels, then a 1x1 conv."""

    def __init__(self, phases: list[tuple[int, int]]) -> None:
        super().__init__()
        self.phases = phases
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.reduction = nn.Conv2d(3 * len(phases), 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x).permute(0, 2, 3, 1)  # (N, H, W, C)
        x = torch.cat([x[:, a::2, b::2, :] for a, b in self.phases], -1)
        return self.reduction(x.permute(0, 3, 1, 2))


def traced(phases: list[tuple[int, int]], frontend: str, tmp_path: Path) -> Graph:
    model = PatchMerging(phases).eval()
    if frontend == "torch":
        return analyze(model, SHAPE).graph
    return load_onnx(export_onnx(model, SHAPE, tmp_path / "merge.onnx"))


@pytest.mark.parametrize("frontend", ["torch", "onnx"])
def test_patch_merging_is_space_to_depth(frontend: str, tmp_path: Path) -> None:
    graph = traced(SWIN, frontend, tmp_path)
    (merge,) = [n for n in graph.nodes if n.attributes.get("phases")]
    assert merge.op == "pixel_unshuffle" and merge.axes == (Window(2, 2),) * 2
    assert graph[merge.inputs[0]].output_shape[-1] == 3  # it reads the sliced tensor
    assert not any(n.op == "concat" for n in graph.nodes)
    report = doctor(analyze_graph(graph))
    assert [f for f in report.findings if f.code == "misaligned-merge"] == []


@pytest.mark.parametrize("frontend", ["torch", "onnx"])
@pytest.mark.parametrize("position", [(0, 0), (2, 3), (5, 5)])
def test_patch_merging_field_matches_gradients(
    frontend: str, position: tuple[int, int], tmp_path: Path
) -> None:
    graph = traced(SWIN, frontend, tmp_path)
    fields = propagate_fields(graph).fields[graph.output.name]
    measured = gradient_extent(PatchMerging(SWIN), SHAPE, position)
    for field, m, n, (lo, hi) in zip(fields, position, SHAPE[2:], measured, strict=True):
        want_lo, want_hi = integer_interval(field, m)  # conv 3x3 p1, then 2x2: [2m − 1, 2m + 2]
        assert (max(want_lo, 0), min(want_hi, n - 1)) == (lo, hi)


@pytest.mark.parametrize("frontend", ["torch", "onnx"])
def test_two_of_four_phases_stay_a_misaligned_merge(frontend: str, tmp_path: Path) -> None:
    # x[0::2, 0::2] and x[1::2, 1::2]: centres one pixel apart on both axes, half the
    # pixels never read: a merge of shifted grids, not space-to-depth
    graph = traced([(0, 0), (1, 1)], frontend, tmp_path)
    assert [n.op for n in graph.nodes if n.op in ("concat", "pixel_unshuffle")] == ["concat"]
    found = doctor(analyze_graph(graph), select=["misaligned-merge"]).findings
    assert [(f.severity, f.data["grid_offset"]) for f in found] == [(Severity.warning, ["1", "1"])]
