"""Merges of branches with different strides, and classifiers written as convs, judged on
small torch modules against torch itself: a gate pooled and resized back to its map's
size runs at every size and stays within one pixel of its coarse grid (measured from
gradients); branches that match in size only by accident fail at the size the doctor
names; a 7x7 conv over a 7x7 map before the head is the head, a stride that shrinks the
map to 1x1 before more 3x3 convs is a collapse."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stridekit.analysis import analyze
from stridekit.doctor import Finding, Severity, doctor


def merge_findings(model: nn.Module, size: int) -> list[Finding]:
    report = doctor(analyze(model, (1, 1, size, size)), select=["misaligned-merge"])
    return list(report.findings)


class DFCGate(nn.Module):
    """GhostNetV2's DFC attention in small: a 2x2 average pool, a conv, a sigmoid,
    nearest-resized back to the map's size and multiplied into it. The convs are 1x1, so
    the rows that reach a position are its grid cell alone (no border clipping)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1)
        self.short = nn.Conv2d(2, 2, 1)

    def branches(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.conv(x)
        gate = torch.sigmoid(self.short(F.avg_pool2d(x, 2)))
        return x, F.interpolate(gate, size=x.shape[-2:], mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main, gate = self.branches(x)
        return main * gate


def support_centres(model: DFCGate, size: int, branch: int) -> list[Fraction]:
    """Per position along axis 0 of a branch's output, the centre of the input rows
    that reach it (the rows with a non-zero gradient), in input pixels."""
    centres = []
    for m in range(size):
        x = torch.randn(1, 1, size, size, dtype=torch.float64, requires_grad=True)
        out = model.branches(x)[branch]
        out[0, :, m, size // 2].sum().backward()
        assert x.grad is not None
        rows = x.grad[0, 0].abs().sum(dim=1).nonzero().flatten().tolist()
        centres.append(Fraction(rows[0] + rows[-1], 2))
    return centres


@pytest.mark.parametrize("size", [7, 9, 15])
def test_a_gate_resized_back_to_its_map_is_info_with_its_offset(size: int) -> None:
    model = DFCGate().double()
    found = merge_findings(model, size)
    assert [(f.node, f.severity) for f in found] == [(found[0].node, Severity.info)]
    # not an accident: torch runs it at every size around this one
    for n in range(size - 3, size + 4):
        assert model(torch.ones(1, 1, n, n, dtype=torch.float64)).shape[-1] == n
    # the gate is computed on the 2x2 pool's grid: 2 input pixels; floor(size/2) of them
    # stretched over size positions gives a jump of 2·floor(size/2)/size
    data = found[0].data
    assert data["coarse_stride"] == "2"
    assert data["strides"] == ["1", str(Fraction(2 * (size // 2), size))]
    assert Fraction(data["largest_offset"]) < 2
    # the claim behind the verdict, measured: every position's gate reads within one
    # pixel of the 2-pixel grid of where the map reads
    main, gate = support_centres(model, size, 0), support_centres(model, size, 1)
    assert max(abs(a - b) for a, b in zip(main, gate, strict=True)) < 2


class GatedResidual(DFCGate):
    """The gated map added back onto the block's input (GhostNetV2's bottleneck)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main, gate = self.branches(x)
        return self.conv(x) + main * gate


def test_a_gated_map_stays_on_its_grid_for_the_merges_after_it() -> None:
    """The residual add merges two maps on the same grid: the gate multiplied into one
    of them does not move its centre (no finding at the add)."""
    found = merge_findings(GatedResidual(), 7)
    assert [(f.severity, f.data["coarse_stride"]) for f in found] == [(Severity.info, "2")]
    assert "mul" in found[0].node


class Accident(nn.Module):
    """A 2x2 stride-2 pool beside a valid 5x5 conv: floor(n/2) and n − 4 pixels, equal
    only at n = 7 and 8."""

    def __init__(self) -> None:
        super().__init__()
        self.wide = nn.Conv2d(1, 1, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(x, 2) + self.wide(x)


def test_sizes_that_match_by_accident_are_an_error_shown_at_a_size_that_fails() -> None:
    model = Accident()
    found = merge_findings(model, 8)
    assert {f.severity for f in found} == {Severity.error}
    (finding,) = found
    other = finding.data["other_input"]
    assert other != 8 and finding.data["strides"] == ["2", "1"]
    x = torch.ones(1, 1, other, other)
    # the sizes it names are torch's, and torch cannot add them
    assert finding.data["other_sizes"] == [F.max_pool2d(x, 2).shape[-1], model.wide(x).shape[-1]]
    with pytest.raises(RuntimeError, match="size of tensor"):
        model(x)
    model(torch.ones(1, 1, 8, 8))  # the analysed size runs


class ZoomedCrop(nn.Module):
    """The top-left quarter of the map, resized back to the whole map and multiplied in:
    the sizes follow at every input, but position m of the map meets position m/2."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        crop = x[:, :, : n // 2, : n // 2]
        return x * F.interpolate(crop, size=x.shape[-2:], mode="nearest")


def test_grids_that_drift_apart_by_more_than_their_stride_are_an_error() -> None:
    (finding,) = merge_findings(ZoomedCrop(), 32)
    # position m of the map against m/2 of the crop: 31 − 31/2 = 31/2 pixels at the end
    assert finding.severity == Severity.error
    assert Fraction(finding.data["largest_offset"]) > 1 == Fraction(finding.data["coarse_stride"])


class ConvClassifier(nn.Module):
    """timm's VGG head in small: a kernel as large as the map it reads, then 1x1 convs,
    then global pooling and a linear layer; ``after`` is the kernel of the layer after
    the whole-map conv (1: the head; 3: later layers still treat the 1x1 as a map)."""

    def __init__(self, after: int = 1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.Conv2d(4, 4, 3, stride=2, padding=1)
        )
        self.fc1 = nn.Conv2d(4, 8, 7)
        self.fc2 = nn.Conv2d(8, 8, after, padding=after // 2)
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc2(torch.relu(self.fc1(self.features(x))))
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))


class StridedCollapse(nn.Module):
    """A stride-2 conv brings a 2x2 map to 1x1 mid-network; 3x3 convs follow."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Sequential(*(nn.Conv2d(1 if i == 0 else 4, 4, 3, 2, 1) for i in range(3)))
        self.more = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1))
        self.head = nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.more(self.down(x))
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))


def collapses(model: nn.Module, size: int) -> list[tuple[str, list[int]]]:
    report = doctor(analyze(model, (1, 1, size, size)), select=["collapse"])
    return [(f.node, f.data["shape"]) for f in report.findings if f.severity == Severity.warning]


def test_a_conv_as_large_as_the_map_before_the_head_is_the_head() -> None:
    model = ConvClassifier()
    x = model.features(torch.ones(1, 1, 28, 28))  # 28 → 14 → 7
    assert x.shape[-1] == model.fc1.kernel_size[0] == 7 and model.fc1(x).shape[-1] == 1
    assert collapses(model, 28) == []


def test_a_whole_map_conv_followed_by_three_by_three_convs_is_a_collapse() -> None:
    # the 3x3 conv after it reads one pixel and eight of padding
    assert collapses(ConvClassifier(after=3), 28) == [("fc1", [1, 1])]


def test_a_stride_that_shrinks_the_map_to_one_pixel_mid_network_is_a_collapse() -> None:
    model = StridedCollapse()
    x = model.down(torch.ones(1, 1, 8, 8))  # 8 → 4 → 2 → 1
    assert x.shape[-2:] == (1, 1)
    assert collapses(model, 8) == [("down.2", [1, 1])]
