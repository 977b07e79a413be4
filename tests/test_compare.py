"""`stridekit.compare` on PyTorch models: a naive port (symmetric padding) against its
reference with TF SAME written out (`tests.ports`), the alignment of layers, bad input.
The offsets are checked against arithmetic written beside the assertions."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stridekit import analyze, compare
from stridekit.errors import ModelError, StrideError, UsageError
from stridekit.nn import Conv2dSame
from tests.ports import Naive, Reference

SHAPE = (1, 3, 64, 64)


def test_the_first_divergence_is_the_first_stride_2_layer() -> None:
    result = compare(Naive(), Reference(), SHAPE)
    first = result.first_divergence
    assert first is not None and not result.agree and result.exit_code == 1
    assert (first.index, first.cause) == (0, "padding")
    pair = result.pairs[0]
    assert pair.a is not None and pair.b is not None
    assert (pair.a.name, pair.b.name) == ("conv1", "conv1")
    # the reference's F.pad (0, 1) before a padding-0 conv is folded into its padding
    assert pair.a.padding == ((1, 1), (1, 1)) and pair.b.padding == ((0, 1), (0, 1))
    assert pair.b.folded and not pair.a.folded
    assert first.message == (
        "layer conv1 pads (1, 1) in A and (0, 1) in B: the grid moves 1 px at input 64"
    )
    assert "Conv2dSame" in first.fix and "F.pad(x, (0, 1, 0, 1))" in first.fix


def test_the_offset_at_the_output_adds_the_shift_of_each_layer() -> None:
    # each stride-2 layer padding (1, 1) instead of (0, 1) starts its window one of its
    # input pixels earlier, which is jump_in input pixels: conv1 (jump_in 1), the pool
    # (jump_in 2) and conv2 (jump_in 4); the later stride-1 layers pad alike
    expected = -(1 * 1 + 1 * 2 + 1 * 4)
    assert compare(Naive(), Reference(), SHAPE).offset == (Fraction(expected),) * 2


def test_the_table_marks_what_differs_per_layer() -> None:
    result = compare(Naive(), Reference(), SHAPE)
    differs = {p.a.name: p.differs for p in result.pairs if p.a is not None}
    assert differs["conv1"] == ("padding", "rf_start")
    assert differs["pool"] == ("padding", "rf_start")
    assert differs["conv3"] == ("rf_start",)  # same padding, a grid moved before it
    assert [p.a and p.a.name for p in result.pairs] == ["conv1", "pool", "conv2", "conv3", "conv4"]
    data = result.to_dict()
    assert data["agree"] is False and data["first_divergence"]["cause"] == "padding"
    assert data["output"]["offset"] == [-7, -7]
    assert "first divergence: layer conv1 pads" in str(result)
    assert "| conv1 | conv1 | conv k3 s2 |" in result.to_markdown()


def test_same_padding_written_two_ways_agrees() -> None:
    same = nn.Sequential(Conv2dSame(3, 8, 3, stride=2), nn.ReLU(), Conv2dSame(8, 8, 3, stride=2))
    explicit = nn.Sequential(
        nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(),
        nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(8, 8, 3, stride=2),
    )  # fmt: skip
    result = compare(explicit, same, (1, 3, 32, 32))
    assert result.agree and result.exit_code == 0 and result.offset == (0, 0)
    assert result.first_divergence is None
    assert "the models agree: 2 spatial layers" in str(result)


def test_identical_models_agree() -> None:
    result = compare(Naive(), Naive(), SHAPE)
    assert result.agree and result.offset == (0, 0)


def test_extra_norms_and_activations_do_not_break_the_alignment() -> None:
    bare = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 2, 1))
    busy = nn.Sequential(
        nn.Conv2d(3, 4, 3, 2, 1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(),
        nn.Conv2d(4, 4, 3, 2, 1), nn.SiLU(),
    )  # fmt: skip
    assert compare(bare, busy, (1, 3, 32, 32)).agree


def test_an_extra_layer_is_a_missing_partner_and_the_rest_still_aligns() -> None:
    a = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 3, 2, 1))
    b = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 2, 1))
    result = compare(a, b, (1, 3, 32, 32))
    assert [(p.a and p.a.name, p.b and p.b.name) for p in result.pairs] == [
        ("0", "0"),
        ("1", None),
        ("2", "1"),
    ]
    first = result.first_divergence
    assert first is not None and first.cause == "missing"
    assert first.message == "layer 1 (conv k1 s1) in A has no counterpart in B"
    # a 1x1 stride-1 conv moves no grid: the outputs still coincide
    assert result.offset == (0, 0)


def test_another_stride_is_a_geometry_divergence() -> None:
    a = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 2, 1))
    b = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 1, 1))
    result = compare(a, b, (1, 3, 32, 32))
    first = result.first_divergence
    assert first is not None and (first.index, first.cause) == (1, "geometry")
    assert first.message == "layer 1 is conv k3 s2 in A and conv k3 s1 in B"
    assert result.offset is None  # output strides 4 and 2: no common grid


def test_a_pad_with_no_window_after_it_is_named_as_entering_between_layers() -> None:
    class Shifted(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 2, 1)

        def forward(self, x):  # type: ignore[no-untyped-def]
            # a crop of one row and column between the layers: the grid moves, no padding does
            return self.conv2(self.conv1(x)[:, :, 1:, 1:])

    plain = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 2, 1))
    first = compare(Shifted(), plain, (1, 3, 32, 32)).first_divergence
    assert first is not None and first.index == 1 and first.cause in ("grid", "output")
    assert "enters before it" in first.message


def test_analyses_are_compared_as_they_are() -> None:
    a, b = analyze(Naive(), SHAPE), analyze(Reference(), SHAPE)
    assert compare(a, b).offset == (-7, -7)
    with pytest.raises(UsageError, match="analysed at"):
        compare(a, analyze(Reference(), (1, 3, 32, 32)))


def test_torch_modules_need_an_input_size() -> None:
    with pytest.raises(UsageError, match="neither model declares an input size"):
        compare(Naive(), Reference())


def test_different_channel_counts_are_one_error() -> None:
    one_channel = nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1))
    with pytest.raises(StrideError, match=r"B does not run at the input asked \(1, 3, 64, 64\)"):
        compare(Naive(), one_channel, SHAPE)


def test_a_model_with_no_spatial_layer_is_an_error() -> None:
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 10))
    with pytest.raises(ModelError, match=r"B \(Sequential\) has no spatial layer"):
        compare(nn.Sequential(nn.Conv2d(3, 4, 3)), mlp, (1, 3, 8, 8))


def test_functional_pads_fold_through_pointwise_ops() -> None:
    class PadThenAct(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, 2)

        def forward(self, x):  # type: ignore[no-untyped-def]
            return self.conv(F.relu(F.pad(x, (1, 1, 1, 1))))

    result = compare(PadThenAct(), nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1)), (1, 3, 16, 16))
    assert result.agree
    assert result.pairs[0].a is not None and result.pairs[0].a.outer_padding == ((1, 1), (1, 1))


class _AvgPort(nn.Module):
    """conv k3 s2 → avg pool k3 s2 → conv k3 s2, padded symmetrically or, with ``same``,
    by an explicit (0, 1) before each window (TF SAME on an even input)."""

    def __init__(self, same: bool) -> None:
        super().__init__()
        self.same = same
        self.conv1 = nn.Conv2d(1, 1, 3, 2, padding=0 if same else 1, bias=False)
        self.pool = nn.AvgPool2d(3, 2, padding=0 if same else 1)
        self.conv2 = nn.Conv2d(1, 1, 3, 2, padding=0 if same else 1, bias=False)
        for conv in (self.conv1, self.conv2):
            nn.init.ones_(conv.weight)

    def forward(self, x):  # type: ignore[no-untyped-def]
        for layer in (self.conv1, self.pool, self.conv2):
            x = layer(F.pad(x, (0, 1, 0, 1)) if self.same else x)
        return x


def _measured_centre(model: nn.Module, position: int) -> float:
    """The centre of the input pixels output (position, position) depends on: where the
    gradient of that output is non-zero (positive weights: no cancellation)."""
    x = torch.ones(1, 1, 64, 64, dtype=torch.float64, requires_grad=True)
    model.double()(x)[0, 0, position, position].backward()
    assert x.grad is not None
    rows = torch.nonzero(x.grad[0, 0].sum(dim=1)).flatten()
    return (rows.min().item() + rows.max().item()) / 2


def test_the_offset_is_what_gradients_measure() -> None:
    # an output position away from the borders, so no padding cuts its field
    naive, same = _AvgPort(same=False), _AvgPort(same=True)
    measured = _measured_centre(naive, 4) - _measured_centre(same, 4)
    assert compare(naive, same, (1, 1, 64, 64)).offset == (Fraction(measured),) * 2
    assert measured == -(1 * 1 + 1 * 2 + 1 * 4)  # the shift of each layer, as above
