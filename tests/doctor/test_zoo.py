"""The doctor's precision on published models: every torchvision classifier and a set of
timm families (SE, ResNet-D, ViT, Swin, ConvNeXt, RegNet, EfficientNet, DPN, CSP,
hybrids, VGG) at their published input sizes, built on the meta device. A warning must be
something a careful engineer would change, so healthy models get none; the one true finding
(SqueezeNet's unpadded 7x7 stride-2 stem at 224) must stay a warning, and the same
models at inputs too small for their strides must still collapse."""

from __future__ import annotations

import pytest
import torchvision

from stridekit.analysis import analyze
from stridekit.doctor import Report, Severity, doctor
from tests.doctor.published import PUBLISHED, TORCHVISION, WARNINGS


def warning_codes(report: Report) -> set[str]:
    return {f.code for f in report.findings if f.severity.rank >= Severity.warning.rank}


def test_the_zoo_is_every_torchvision_classifier() -> None:
    assert (
        len(TORCHVISION) == 80 and "resnet50" in TORCHVISION and "fcn_resnet50" not in TORCHVISION
    )


@pytest.mark.parametrize("reference", PUBLISHED)
def test_published_models_get_exactly_their_true_warnings(reference: str) -> None:
    report = doctor(analyze(reference))
    assert warning_codes(report) == WARNINGS.get(reference, set()), [
        (f.code, f.node, f.message) for f in report.findings if f.severity == Severity.warning
    ]


@pytest.mark.parametrize("name", ["squeezenet1_0", "squeezenet1_1"])
def test_squeezenet_stem_leaves_the_last_row_and_column_unread(name: str) -> None:
    report = doctor(analyze(f"torchvision:{name}"), select=["dropped-pixels"])
    stem = torchvision.models.get_model(name).features[0]  # 7x7 (1_0) or 3x3 (1_1), stride 2
    kernel, stride = stem.kernel_size[0], stem.stride[0]
    assert stem.padding == (0, 0) and stride == 2
    last = (224 - kernel) // stride * stride + kernel - 1  # the last pixel a window reads: 222
    (finding,) = report.findings
    assert (finding.node, finding.data["axes"]) == ("features.0", [0, 1])
    assert finding.data["count"] == 223 - last == finding.data["sides"]["end"] == 1


@pytest.mark.parametrize(
    ("reference", "node"),
    [
        # 32 → 16 → 8 → 4 → 2 → 1 at layer4's stride-2 conv; layer4.1's 3x3 convs follow
        ("torchvision:resnet50", "layer4.0.conv2"),
        ("timm:seresnet50", "layer4.0.conv2"),
        # the main path's stride-2 depthwise conv in stage 6, not a 1x1 SE gate before it
        ("torchvision:efficientnet_b0", "features.6.0.block.1.0"),
        ("torchvision:vgg11", "features.20"),  # the last max pool; avgpool resizes it to 7x7
    ],
)
def test_the_same_models_too_small_for_their_strides_still_collapse(
    reference: str, node: str
) -> None:
    found = doctor(analyze(reference, (1, 3, 32, 32)), select=["collapse"]).findings
    assert [(f.node, f.severity, f.data["shape"]) for f in found] == [
        (node, Severity.warning, [1, 1])
    ]
