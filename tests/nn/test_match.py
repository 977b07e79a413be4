"""`stridekit.nn.match`: a copy of a naive port padded like its reference. Oracles: the
reference's own outputs on the same weights (float64, 1e-5), `compare` on the result,
and the original model bit for bit."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stridekit import compare
from stridekit.errors import ModelError
from stridekit.nn import Conv2dPadded, Conv2dSame, PaddedPool, match
from tests.ports import Naive, Reference, randomized

SHAPE = (1, 3, 64, 64)


def test_match_makes_compare_agree() -> None:
    fixed = match(Naive(), Reference(), SHAPE)
    assert compare(fixed, Reference(), SHAPE).agree


def test_the_matched_port_computes_what_the_reference_does() -> None:
    naive = randomized(Naive())
    reference = Reference().double().eval()
    reference.load_state_dict(naive.state_dict())  # the weights copied across
    x = torch.rand(2, 3, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(x)
        assert not torch.allclose(naive(x), expected, atol=1e-5)  # the port is off
        fixed = match(naive, reference, SHAPE)
        torch.testing.assert_close(fixed(x), expected, atol=1e-5, rtol=0)


def test_the_original_is_untouched_and_the_weights_keep_their_names() -> None:
    naive = randomized(Naive())
    before = {k: v.clone() for k, v in naive.state_dict().items()}
    types = {name: type(m) for name, m in naive.named_modules()}
    fixed = match(naive, Reference(), SHAPE)
    after = naive.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert {name: type(m) for name, m in naive.named_modules()} == types
    assert naive.conv1.padding == (1, 1)
    assert fixed.state_dict().keys() == before.keys()
    assert all(torch.equal(before[k], v) for k, v in fixed.state_dict().items())
    assert fixed.conv1.weight.data_ptr() != naive.conv1.weight.data_ptr()


def test_what_each_layer_becomes() -> None:
    fixed = match(Naive(), Reference(), SHAPE)
    assert type(fixed.conv1) is Conv2dSame and type(fixed.conv2) is Conv2dSame  # TF SAME
    assert isinstance(fixed.pool, PaddedPool) and fixed.pool.pads == ((0, 1), (0, 1))
    assert type(fixed.conv3) is nn.Conv2d and type(fixed.conv4) is nn.Conv2d  # agreed


def test_symmetric_reference_padding_gives_a_plain_layer() -> None:
    same = nn.Sequential(Conv2dSame(3, 4, 3, stride=2), nn.MaxPool2d(3, 2))
    torch_style = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.MaxPool2d(3, 2, 1))
    fixed = match(same, torch_style, (1, 3, 32, 32))
    assert type(fixed[0]) is nn.Conv2d and fixed[0].padding == (1, 1)
    assert type(fixed[1]) is nn.MaxPool2d and fixed[1].padding == (1, 1)
    assert compare(fixed, torch_style, (1, 3, 32, 32)).agree


def test_lower_padding_gives_a_conv_padded_per_side() -> None:
    # ONNX SAME_LOWER pads the odd pixel first: (1, 0) for k3 s2 on an even input
    lower = nn.Sequential(nn.ZeroPad2d((1, 0, 1, 0)), nn.Conv2d(3, 4, 3, 2))
    fixed = match(nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1)), lower, (1, 3, 16, 16))
    assert isinstance(fixed[0], Conv2dPadded) and fixed[0].pads == ((1, 0), (1, 0))
    assert compare(fixed, lower, (1, 3, 16, 16)).agree


def test_another_stride_is_not_a_padding_fix() -> None:
    a = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1))
    b = nn.Sequential(nn.Conv2d(3, 4, 3, 1, 1))
    with pytest.raises(ModelError, match="match changes padding only, but layer 0 is conv k3 s2"):
        match(a, b, (1, 3, 16, 16))


def test_a_functional_conv_cannot_be_repadded() -> None:
    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(4, 3, 3, 3))

        def forward(self, x):  # type: ignore[no-untyped-def]
            return F.conv2d(x, self.weight, stride=2, padding=1)

    with pytest.raises(ModelError, match="which match cannot re-pad"):
        match(Functional(), nn.Sequential(Conv2dSame(3, 4, 3, stride=2)), (1, 3, 16, 16))


def test_match_needs_a_torch_module() -> None:
    with pytest.raises(ModelError, match=r"expected a torch\.nn\.Module"):
        match("torchvision:resnet18", Naive(), SHAPE)  # type: ignore[arg-type]
