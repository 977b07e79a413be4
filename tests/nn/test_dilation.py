"""replace_stride_with_dilation: same receptive fields, finer output, for any traceable model.

The receptive field is measured, not computed: with positive weights and no activations,
an input pixel is in the field of an output position iff the gradient of that output with
respect to the pixel is non-zero. (The analysis, once it exists, should give the same
fields and jumps from the algebra.)
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from stridekit.errors import FieldError, ModelError, StrideError, UnsupportedError
from stridekit.geometry import Window
from stridekit.nn import BlurPool2d, Conv2dSame, replace_stride_with_dilation


@pytest.mark.parametrize(
    ("layers", "flags"),
    [(["layer4"], [False, False, True]), (["layer3", "layer4"], [False, True, True])],
)
def test_resnet50_equals_torchvision_dilated_resnet(layers: list[str], flags: list[bool]) -> None:
    # torchvision builds the dilated ResNet itself: the same weights must give the same output
    original = torchvision.models.resnet50().eval()
    reference = torchvision.models.resnet50(replace_stride_with_dilation=flags).eval()
    reference.load_state_dict(original.state_dict())
    converted = replace_stride_with_dilation(original, layers).eval()
    assert original.layer4[0].conv2.stride == (2, 2)  # a copy by default
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(converted(x), reference(x))


class Branchy(nn.Module):
    """Not a ResNet: a strided stem, two branches joined by concatenation, max pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.left = nn.Conv2d(4, 4, 3, padding=1)
        self.right = nn.MaxPool2d(3, stride=1, padding=1)
        self.down = nn.Conv2d(8, 4, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Conv2d(4, 3, 3, padding=2, dilation=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem(x))
        x = torch.cat([self.left(x), self.right(x)], dim=1)
        return self.head(self.pool(self.down(x)))


@pytest.mark.parametrize(
    ("layers", "factor"),
    [(["stem"], 2), (["down"], 2), (["pool"], 2), (["stem", "down"], 4), (["stem", "pool"], 4)],
)
@pytest.mark.parametrize("size", [32, 29])
def test_outputs_at_multiples_of_the_factor_are_the_original(
    layers: list[str], factor: int, size: int
) -> None:
    model = Branchy().eval()
    dense = replace_stride_with_dilation(model, layers)
    x = torch.randn(2, 2, size, size)
    with torch.no_grad():
        original, fine = model(x), dense(x)
    picked = fine[..., ::factor, ::factor][..., : original.shape[-2], : original.shape[-1]]
    assert picked.shape == original.shape
    torch.testing.assert_close(picked, original)


def test_padding_beyond_half_the_kernel_becomes_explicit_minus_infinity() -> None:
    dense = replace_stride_with_dilation(Branchy(), ["stem"])
    # right: MaxPool(3, 1, padding 1) dilated ×2 needs padding 2 > 3 // 2
    assert isinstance(dense.right, nn.Sequential)
    assert dense.right[0].value == float("-inf") and dense.right[1].dilation == (2, 2)


def _positive_chain() -> nn.Sequential:
    layers = nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=2, padding=1),
        nn.Conv2d(2, 2, 3, padding=1),
        nn.Conv2d(2, 2, 3, stride=2, padding=1),
        nn.Conv2d(2, 1, 3, padding=1),
    )
    with torch.no_grad():
        for conv in layers:
            conv.weight.uniform_(0.1, 1.0)
            conv.bias.zero_()
    return layers


def _field(model: nn.Module, size: int, row: int, col: int) -> torch.Tensor:
    x = torch.randn(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    model.double()(x)[0, 0, row, col].backward()
    return x.grad[0, 0] != 0


@pytest.mark.parametrize(("layers", "factor"), [(["0"], 2), (["2"], 2), (["0", "2"], 4)])
@pytest.mark.parametrize(("row", "col"), [(0, 0), (3, 5), (7, 7)])
def test_receptive_field_is_kept_and_output_stride_shrinks(
    layers: list[str], factor: int, row: int, col: int
) -> None:
    size = 32
    model = _positive_chain()
    dense = replace_stride_with_dilation(model, layers)
    before = _field(model, size, row, col)
    after = _field(dense, size, row * factor, col * factor)
    assert torch.equal(before, after)
    assert 0 < int(before.sum()) < size * size
    # the shape follows the geometry of the converted layers (windows composed in order)
    n = size
    for conv in dense:
        n = Window(conv.kernel_size[0], conv.stride[0], conv.dilation[0],
                   (conv.padding[0],) * 2).output_size(n)  # fmt: skip
    x = torch.randn(1, 1, size, size, dtype=torch.float64)
    assert dense(x).shape[-1] == n == (size // 4) * factor


def test_same_padded_convs_are_dilated_too() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3, 2, 1), Conv2dSame(2, 2, 3), Conv2dSame(2, 1, 5))
    dense = replace_stride_with_dilation(model, ["0"])
    assert [m.dilation for m in dense] == [(1, 1), (2, 2), (2, 2)]
    x = torch.randn(1, 1, 20, 20)
    with torch.no_grad():
        torch.testing.assert_close(dense(x)[..., ::2, ::2], model(x))


def test_misaligned_branches_are_refused() -> None:
    model = torchvision.models.resnet18()
    with pytest.raises(FieldError, match=r"layer3\.0\.bn2.*layer3\.0\.downsample\.1"):
        replace_stride_with_dilation(model, ["layer3.0.conv1"])


class AvgAfter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=2)
        self.pool = nn.AvgPool2d(3)
        self.spare = nn.MaxPool2d(2)  # registered, never called

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


class FunctionalPoolAfter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(self.conv(x), 2)


@pytest.mark.parametrize(
    ("model", "layers", "error", "message"),
    [
        (
            nn.Sequential(nn.Conv2d(1, 1, 3, 2), BlurPool2d(1)),
            ["0"],
            UnsupportedError,
            "BlurPool2d.*cannot be dilated",
        ),
        (
            nn.Sequential(Conv2dSame(1, 1, 3, stride=2), Conv2dSame(1, 1, 3)),
            ["0"],
            UnsupportedError,
            "SAME conv whose padding splits unevenly",
        ),
        (
            nn.Sequential(nn.Conv2d(1, 1, 3, 2), Conv2dSame(1, 1, 4)),
            ["0"],
            UnsupportedError,
            "SAME conv whose padding splits unevenly",
        ),
        (_positive_chain(), ["9"], ModelError, "no layer named '9'"),
        (AvgAfter(), ["spare"], ModelError, "never run"),
        (_positive_chain(), ["1"], StrideError, "has no strided conv or pooling layer"),
        (AvgAfter(), ["conv"], UnsupportedError, "average pooling has no dilation"),
        (FunctionalPoolAfter(), ["conv"], UnsupportedError, "max_pool2d.*cannot be dilated"),
    ],
    ids=[
        "blur-pool",
        "same-strided",
        "same-even",
        "unknown",
        "unused",
        "no-stride",
        "avg-pool",
        "functional-pool",
    ],
)
def test_what_cannot_be_converted_says_why(model, layers, error, message) -> None:
    with pytest.raises(error, match=message):
        replace_stride_with_dilation(model, layers)


def test_typo_gets_a_suggestion() -> None:
    with pytest.raises(ModelError, match="did you mean 'layer4'"):
        replace_stride_with_dilation(torchvision.models.resnet18(), "layer5")
