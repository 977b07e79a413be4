"""The doctor and the size solver on real torch models, against independent checks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from stridekit.analysis import analyze
from stridekit.doctor import Severity, doctor
from stridekit.passes import model_valid_sizes
from tests.passes.reachability import valid_by_forward, valid_sizes_by_forward


def test_resnet50_at_224_drops_no_real_pixel() -> None:
    report = doctor(analyze(torchvision.models.resnet50(), (1, 3, 224, 224)))
    assert [f for f in report.findings if f.code == "dropped-pixels"] == []
    assert report.exit_code == 0
    # the 1x1 stride-2 shortcuts skip odd pixels the main path reads: gaps, as info
    gaps = [f for f in report.findings if f.code == "gaps"]
    assert gaps and all(f.severity == Severity.info for f in gaps)
    assert {f.node.split(".")[0] for f in gaps} == {"layer2", "layer3", "layer4"}


def test_three_by_three_stride_two_conv_drops_one_row_and_column() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
    found = doctor(analyze(model, (1, 3, 224, 224)), select=["dropped-pixels"]).findings
    assert [(f.data["axes"], f.data["count"], f.data["sides"]) for f in found] == [
        ([0, 1], 1, {"start": 0, "end": 1, "interior": 0})
    ]
    # (223 − 3) mod 2 = 0 and (225 − 3) mod 2 = 0: the nearest inputs that drop nothing
    assert "padding (0, 1)" in found[0].fix and "model inputs 223 or 225" in found[0].fix


class TwoBranch(nn.Module):
    """A strided main path and a pooled shortcut, merged by ``cat`` (which, unlike ``+``,
    refuses branches of different sizes instead of broadcasting a 1-pixel one)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, stride=2)
        self.main = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.short = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return torch.cat([self.main(x), self.short(x)], dim=1)


MODELS = {
    "vgg_like": lambda: nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.MaxPool2d(2),
    ),
    "unpadded": lambda: nn.Sequential(nn.Conv2d(1, 4, 3, stride=2), nn.Conv2d(4, 4, 3, stride=2)),
    "two_branch": TwoBranch,
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_sizes_match_real_forward_passes(name: str) -> None:
    """The pass (one meta trace at 66) against the model run at every size 1..40: valid
    iff the forward runs and every real pixel of every tensor reaches the output."""
    model = MODELS[name]()
    sizes = model_valid_sizes(analyze(model, (1, 1, 66, 66)).graph)  # 66: every model runs
    assert sizes.between(1, 40) == valid_sizes_by_forward(model, 40), sizes.closed_form()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_dropped_pixels_findings_match_real_forward_passes(name: str) -> None:
    """At each size where the model runs, the doctor finds dropped pixels exactly when
    some pixel's gradient is zero (these models have no size-independent gaps)."""
    model = MODELS[name]()
    runs = [n for n in range(1, 41) if runs_at(model, n)]
    found = [
        n for n in runs if doctor(analyze(model, (1, 1, n, n)), select=["dropped-pixels"]).findings
    ]
    unreached = [n for n in runs if not valid_by_forward(model, n)]
    assert runs and found == unreached


def runs_at(model: nn.Module, n: int) -> bool:
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 1, n, n))
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize(
    ("pad", "dropped"),
    [
        ((1, 2, 1, 2), None),  # 64 + 3 = 67: windows end at 65, index 66 is padding
        ((1, 0, 1, 0), (1, 64)),  # 64 + 1 = 65: windows end at 63, real pixel 63 unread
    ],
)
def test_padding_added_by_a_pad_layer_is_never_dropped(
    pad: tuple[int, int, int, int], dropped: tuple[int, int] | None
) -> None:
    model = nn.Sequential(nn.ZeroPad2d(pad), nn.Conv2d(3, 8, 4, stride=2))
    found = doctor(analyze(model, (1, 3, 64, 64)), select=["dropped-pixels"]).findings
    assert [(f.data["count"], f.data["size"]) for f in found] == ([dropped] if dropped else [])


def test_antialiased_resnet18_has_no_aliasing_and_drops_nothing() -> None:
    from stridekit.nn import antialias

    model = antialias(torchvision.models.resnet18())
    report = doctor(analyze(model, (1, 3, 64, 64)))
    assert {f.code for f in report.findings} & {"aliasing", "dropped-pixels"} == set()
    plain = doctor(analyze(torchvision.models.resnet18(), (1, 3, 64, 64)), select=["aliasing"])
    assert len(plain.findings) == 8  # conv1, maxpool, and conv1 + downsample of layers 2-4


class Shortcut(nn.Module):
    """A down block: a 3x3 stride-2 main path (PyTorch's symmetric padding) added to a
    shortcut that is ResNet-D's (2x2 average pool, 1x1 conv) or TF SAME's (F.pad with the
    odd pixel at the end, then a 3x3 stride-2 conv)."""

    def __init__(self, shortcut: str) -> None:
        super().__init__()
        self.shortcut = shortcut
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.main = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.pool = nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False)
        self.project = nn.Conv2d(
            4, 4, 1 if shortcut == "resnet-d" else 3, stride=1 + (shortcut != "resnet-d")
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        if self.shortcut == "resnet-d":
            return self.main(x) + self.project(self.pool(x))
        total = max(0, (-(-x.shape[-1] // 2) - 1) * 2 + 3 - x.shape[-1])  # TF SAME, k3 s2
        return self.main(x) + self.project(F.pad(x, [total // 2, total - total // 2] * 2))


@pytest.mark.parametrize("shortcut", ["resnet-d", "tf-same"])
def test_merge_severity_follows_whether_the_offset_moves_with_the_input_size(
    shortcut: str,
) -> None:
    """ResNet-D: (0 + 1)/2 − (−1 + 1)/2 = 1/2 pixel at every size: info. TF SAME: pads
    (0, 1) at even sizes (centre (0 + 2)/2 = 1, one pixel off) and (1, 1) at odd ones
    (aligned): an offset that comes and goes with the size: a warning where it is."""
    offsets = {}
    for n in (32, 33, 34, 35):
        found = doctor(analyze(Shortcut(shortcut), (1, 1, n, n)), select=["misaligned-merge"])
        offsets[n] = [(f.severity, f.data["grid_offset"]) for f in found.findings]
    if shortcut == "resnet-d":
        assert all(v == [(Severity.info, ["1/2", "1/2"])] for v in offsets.values())
    else:
        warned = [(Severity.warning, ["1", "1"])]
        assert offsets == {32: warned, 33: [], 34: warned, 35: []}
