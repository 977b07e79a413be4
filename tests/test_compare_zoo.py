"""`compare` and `match` on a real architecture: torchvision's MobileNetV2 (symmetric
padding, the naive port) against the same network with TF's SAME padding on its
stride-2 layers, as Keras builds it (`Conv2dSame`: Keras' ``padding="same"`` and its
``ZeroPadding2D(correct_pad)`` + ``"valid"`` both pad (0, 1) on even inputs)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from torch import nn

from stridekit import compare
from stridekit.nn import Conv2dSame, match

torchvision = pytest.importorskip("torchvision")

SHAPE = (1, 3, 64, 64)


def tf_padded(model: nn.Module) -> nn.Module:
    """``model`` with every stride-2 conv swapped for a `Conv2dSame` (weights kept)."""
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Conv2d) and module.stride == (2, 2):
            same = Conv2dSame(
                module.in_channels,
                module.out_channels,
                module.kernel_size,
                stride=2,
                groups=module.groups,
                bias=module.bias is not None,
            ).to(module.weight.dtype)
            same.load_state_dict(module.state_dict())
            model.set_submodule(name, same)
    return model


def naive_and_reference() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    naive = torchvision.models.mobilenet_v2().double().eval()
    reference = torchvision.models.mobilenet_v2().double().eval()
    reference.load_state_dict(naive.state_dict())
    return naive, tf_padded(reference)


def test_mobilenet_v2_port_diverges_at_its_stem_and_match_fixes_it() -> None:
    naive, reference = naive_and_reference()
    result = compare(naive, reference, SHAPE)
    first = result.first_divergence
    assert first is not None and first.cause == "padding"
    assert first.message.startswith("layer features.0.0 pads (1, 1) in A and (0, 1) in B")
    # MobileNetV2's stride-2 layers (the stem and four depthwise k3 convs) start one of
    # their input pixels earlier in the port; their inputs have jumps 1, 2, 4, 8, 16
    assert result.offset == (Fraction(-(1 + 2 + 4 + 8 + 16)),) * 2
    fixed = match(naive, reference, SHAPE)
    assert compare(fixed, reference, SHAPE).agree
    x = torch.rand(2, *SHAPE[1:], dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():  # the feature maps (torchvision's init makes the logits ~1e-10)
        expected = reference.features(x)
        scale = expected.abs().max().item()  # tolerances relative to the maps' size
        assert (naive.features(x) - expected).abs().max().item() > 1e-3 * scale
        torch.testing.assert_close(fixed.features(x), expected, atol=1e-5 * scale, rtol=0)
