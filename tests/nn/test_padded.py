"""`Conv2dPadded` and `PaddedPool` against PyTorch's own layers (symmetric padding) and
`Conv2dSame` (TF SAME, an independent implementation of the asymmetric case)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stridekit.errors import InvalidWindowError, UnsupportedError
from stridekit.nn import Conv1dPadded, Conv2dPadded, Conv2dSame, Conv3dPadded, PaddedPool

X = torch.rand(2, 3, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


def test_symmetric_padding_is_torch_padding() -> None:
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=(1, 2)).double()
    padded = Conv2dPadded.from_conv(conv, ((1, 1), (2, 2)))
    torch.testing.assert_close(padded(X), conv(X))
    assert padded.state_dict().keys() == conv.state_dict().keys()


def test_high_side_padding_is_tf_same_on_an_even_input() -> None:
    same = Conv2dSame(3, 4, 3, stride=2).double()  # 12 → 6, total 1: (0, 1)
    padded = Conv2dPadded.from_conv(same, ((0, 1), (0, 1)))
    torch.testing.assert_close(padded(X), same(X))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_other_pad_modes_follow_the_conv(mode: str) -> None:
    conv = nn.Conv2d(3, 4, 3, padding=1, padding_mode=mode).double()
    torch.testing.assert_close(Conv2dPadded.from_conv(conv, 1)(X), conv(X))


def test_one_and_three_dimensions() -> None:
    conv1 = nn.Conv1d(3, 2, 3, padding=1).double()
    x1 = X[:, :, 0]
    torch.testing.assert_close(Conv1dPadded.from_conv(conv1, 1)(x1), conv1(x1))
    conv3 = nn.Conv3d(3, 2, 3, stride=2, padding=1).double()
    x3 = X[:, :, None].repeat(1, 1, 5, 1, 1)  # (2, 3, 5, 12, 12)
    torch.testing.assert_close(Conv3dPadded.from_conv(conv3, 1)(x3), conv3(x3))


@pytest.mark.parametrize(
    "pool",
    [
        nn.MaxPool2d(3, 2, padding=1),
        nn.AvgPool2d(3, 2, padding=1),
        nn.AvgPool2d(3, 2, padding=1, count_include_pad=False),
        nn.MaxPool2d(3, 2, padding=1, ceil_mode=True),
    ],
    ids=["max", "avg", "avg-exclude-pad", "max-ceil"],
)
def test_symmetric_pools_are_torch_pools(pool: nn.Module) -> None:
    torch.testing.assert_close(PaddedPool(pool, 1)(X - 0.5), pool(X - 0.5))


def test_max_pool_padding_never_wins() -> None:
    pooled = PaddedPool(nn.MaxPool2d(3, 2), ((0, 1), (0, 1)))(-torch.ones(1, 1, 4, 4))
    assert torch.equal(pooled, -torch.ones(1, 1, 2, 2))


def test_bad_arguments() -> None:
    with pytest.raises(InvalidWindowError, match="padding must be an integer or 2 entries"):
        Conv2dPadded(3, 4, 3, padding=((0, 1),))
    with pytest.raises(InvalidWindowError, match="padding must be an integer >= 0"):
        Conv2dPadded(3, 4, 3, padding=-1)
    with pytest.raises(InvalidWindowError, match="must both be divisible by groups 2"):
        Conv2dPadded(3, 4, 3, groups=2)
    with pytest.raises(UnsupportedError, match=r"expected a torch\.nn max or average pool"):
        PaddedPool(nn.Conv2d(3, 4, 3), 1)
    with pytest.raises(UnsupportedError, match="return_indices"):
        PaddedPool(nn.MaxPool2d(2, return_indices=True), 1)
