"""SpaceToDepth and SPD-Conv: no pixel dropped, sizes from the geometry, clear size errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from stridekit.errors import InvalidWindowError, OutputSizeError
from stridekit.geometry import Window, same_padding
from stridekit.nn import SpaceToDepth, SPDConv, space_to_depth
from tests.nn.oracles import FAST, brute_same_padding


def _by_slicing(x: torch.Tensor, block: int) -> torch.Tensor:
    """Channel ``c·b² + i·b + j`` = pixels ``(i::b, j::b)`` of channel ``c``."""
    channels = range(x.shape[1])
    parts = [
        x[:, c, i::block, j::block] for c in channels for i in range(block) for j in range(block)
    ]
    return torch.stack(parts, dim=1)


@FAST
@given(
    block=st.integers(1, 4),
    rows=st.integers(1, 6),
    cols=st.integers(1, 6),
    channels=st.integers(1, 3),
)
def test_divisible_sizes_fold_every_pixel(block: int, rows: int, cols: int, channels: int) -> None:
    x = torch.randn(2, channels, rows * block, cols * block)
    y = SpaceToDepth(block)(x)
    torch.testing.assert_close(y, _by_slicing(x, block))
    window = Window(block, block)
    assert y.shape[1:] == (
        channels * block * block,
        window.output_size(rows * block),
        window.output_size(cols * block),
    )


@FAST
@given(block=st.integers(2, 4), height=st.integers(1, 17), width=st.integers(1, 17))
def test_pad_true_pads_like_tensorflow_same(block: int, height: int, width: int) -> None:
    x = torch.randn(1, 2, height, width)
    (top, bottom), (left, right) = (brute_same_padding(n, block, block, 1) for n in (height, width))
    expected = _by_slicing(F.pad(x, (left, right, top, bottom)), block)
    y = space_to_depth(x, block, pad=True)
    torch.testing.assert_close(y, expected)
    pads = [same_padding(n, block, block, convention="tf") for n in (height, width)]
    sizes = [
        Window(block, block, padding=p).output_size(n)
        for n, p in zip((height, width), pads, strict=True)
    ]
    assert list(y.shape[-2:]) == sizes == [-(-height // block), -(-width // block)]


@pytest.mark.parametrize(("height", "width", "axis"), [(7, 8, "height 7"), (8, 9, "width 9")])
def test_indivisible_size_says_what_to_do(height: int, width: int, axis: str) -> None:
    with pytest.raises(OutputSizeError, match=rf"{axis} is not divisible by block 2.*pad=True"):
        SpaceToDepth(2)(torch.zeros(1, 1, height, width))


def test_spd_conv_shape_and_it_can_express_any_strided_conv() -> None:
    # a 1×1 conv after space-to-depth sees every pixel of each 2×2 patch: it can be exactly
    # the 2×2 stride-2 conv, which shows that nothing was dropped
    strided = torch.nn.Conv2d(3, 5, kernel_size=2, stride=2)
    spd = SPDConv(3, 5, kernel_size=1, block=2)
    with torch.no_grad():
        # SPD channel c·4 + i·2 + j holds pixel (i, j) of channel c
        spd.conv.weight.copy_(strided.weight.reshape(5, 12, 1, 1))
        spd.conv.bias.copy_(strided.bias)
    x = torch.randn(2, 3, 10, 14)
    torch.testing.assert_close(spd(x), strided(x))
    assert SPDConv(3, 8)(x).shape == (2, 8, 5, 7)
    assert SPDConv(3, 8, pad=True)(torch.randn(1, 3, 9, 9)).shape == (1, 8, 5, 5)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: SpaceToDepth(0), "block must be an integer >= 1"),
        (lambda: SpaceToDepth(2.0), "block must be an integer >= 1"),  # type: ignore[arg-type]
        (lambda: SPDConv(0, 4), "in_channels must be an integer >= 1"),
        (lambda: SPDConv(4, 4, kernel_size=-1), "kernel_size must be an integer >= 1"),
    ],
)
def test_bad_arguments(factory, message: str) -> None:
    with pytest.raises(InvalidWindowError, match=message):
        factory()


@pytest.mark.parametrize(
    "text",
    [
        "SpaceToDepth(2)",
        "SpaceToDepth(3, pad=True)",
        "SPDConv(4, 8, kernel_size=3, block=2)",
        "SPDConv(4, 8, kernel_size=1, block=4, pad=True, bias=False)",
    ],
)
def test_repr_mirrors_the_constructor(text: str) -> None:
    assert repr(eval(text, {"SpaceToDepth": SpaceToDepth, "SPDConv": SPDConv})) == text
