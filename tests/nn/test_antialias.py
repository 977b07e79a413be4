"""antialias(model): strides become stride 1 + BlurPool, output shapes unchanged."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from stridekit.errors import ModelError, UnsupportedError
from stridekit.nn import BlurPool2d, Conv2dSame, antialias
from tests.nn.oracles import shift_equivariance_error


def _strided_leaves(model: nn.Module) -> list[str]:
    return [
        name
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d)
        and not isinstance(m, BlurPool2d)
        and m.stride not in (1, (1, 1))
    ]


def test_conv_bn_relu_gets_the_blur_after_the_activation() -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 1))
    aa = antialias(net)
    assert aa[0].stride == (1, 1)
    assert isinstance(aa[2], nn.Sequential)
    assert [type(m) for m in aa[2]] == [nn.ReLU, BlurPool2d]
    assert (aa[2][1].channels, aa[2][1].stride) == (8, (2, 2))
    net.eval(), aa.eval()
    x = torch.randn(2, 3, 17, 17)
    manual = aa[3](BlurPool2d(8)(F.relu(net[1](F.conv2d(x, net[0].weight, net[0].bias, 1, 1)))))
    torch.testing.assert_close(aa(x), manual)
    assert aa(x).shape == net(x).shape


class FunctionalRelu(nn.Module):
    """The activation is a function, not a module: the blur goes before the consumer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.head = nn.Conv2d(6, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.relu(self.bn(self.conv(x))))


def test_functional_activation_puts_the_blur_before_the_consumer() -> None:
    aa = antialias(FunctionalRelu()).eval()
    assert isinstance(aa.head, nn.Sequential)
    assert isinstance(aa.head[0], BlurPool2d) and isinstance(aa.bn, nn.BatchNorm2d)
    x = torch.randn(1, 3, 15, 15)
    expected = aa.head[1](aa.head[0](F.relu(aa.bn(aa.conv(x)))))
    torch.testing.assert_close(aa(x), expected)


@pytest.mark.parametrize(
    "pool",
    [
        nn.MaxPool2d(2),
        nn.MaxPool2d(3, 2, 1),
        nn.MaxPool2d(3, 3, 1, dilation=2),
        nn.AvgPool2d(2),
        nn.AvgPool2d(3, 2, 1),
        nn.AvgPool2d(7, 2),  # f + 2p − k < 0: AvgPool(7, 1) + BlurPool
        nn.AvgPool2d((2, 3), 2),  # axes differ: AvgPool(k, 1) + BlurPool
        nn.Conv2d(4, 4, 4, 3, 1),
        nn.Conv2d(4, 4, (3, 5), (2, 3), (0, 2), dilation=(2, 1)),
        Conv2dSame(4, 4, 3, stride=2),  # SAME at stride 1, then the blur: ceil(n / 2)
    ],
    ids=repr,
)
@pytest.mark.parametrize("size", [15, 16, 23])
def test_output_shape_is_kept(pool: nn.Module, size: int) -> None:
    net = nn.Sequential(nn.Identity(), pool)
    x = torch.randn(1, 4, size, size + 3)
    aa = antialias(net, filter_size=5)
    assert not _strided_leaves(aa)
    assert aa(x).shape == net(x).shape


def test_average_pooling_becomes_a_blur_of_the_same_size() -> None:
    aa = antialias(nn.Sequential(nn.AvgPool2d(2)), filter_size=4)
    assert isinstance(aa[0], BlurPool2d) and aa[0].padding == (1, 1)  # 4 + 0 − 2 = 2


def _stage_shapes(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """The output shape of each top-level stage (conv1, bn1, relu, maxpool, layer1, …)."""
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        child.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, o.shape))
        for name, child in model.named_children()
    ]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return shapes


@pytest.mark.parametrize("size", [64, 77])
def test_resnet18_keeps_shapes_and_blurs_every_stride(size: int) -> None:
    model = torchvision.models.resnet18().eval()  # random weights, nothing downloaded
    aa = antialias(model).eval()
    x = torch.randn(1, 3, size, size)
    got, expected = _stage_shapes(aa, x), _stage_shapes(model, x)
    # conv1 and bn1 now run at stride 1; the blur after the stem's ReLU restores the size
    for name in ("conv1", "bn1"):
        assert got.pop(name)[-1] == 2 * expected.pop(name)[-1] - size % 2
    assert got == expected  # relu, maxpool, layer1 … layer4, avgpool, fc
    assert not _strided_leaves(aa)
    # Zhang's layout: the shared ReLU stays, the blur sits in front of conv2
    assert isinstance(aa.layer2[0].conv2[0], BlurPool2d)
    assert [type(m) for m in aa.layer2[0].downsample[1]] == [nn.BatchNorm2d, BlurPool2d]
    assert [type(m) for m in aa.relu] == [nn.ReLU, BlurPool2d]


def _circular(model: nn.Module) -> nn.Module:
    """Make every padding circular so that circular input shifts are exact symmetries."""
    for name, m in list(model.named_modules()):
        if isinstance(m, nn.Conv2d):
            m.padding_mode = "circular"
        elif isinstance(m, nn.MaxPool2d) and m.padding not in (0, (0, 0)):
            pool = nn.MaxPool2d(m.kernel_size, m.stride, 0, m.dilation)
            model.set_submodule(name, nn.Sequential(nn.CircularPad2d(m.padding), pool))
    return model


def test_antialiased_resnet18_is_more_shift_equivariant() -> None:
    model = torchvision.models.resnet18().eval()
    features = nn.Sequential(*list(model.children())[:-2])
    aa = nn.Sequential(*list(antialias(model, pad_mode="circular").children())[:-2])
    x = torch.randn(1, 3, 64, 64)
    shifts = [(8, 0), (0, 16), (4, 12)]
    base = shift_equivariance_error(_circular(features), x, 32, shifts)
    smooth = shift_equivariance_error(_circular(aa), x, 32, shifts)
    assert smooth < 0.5 * base  # measured (seed 0): 0.19 → 0.004


def test_copy_or_in_place() -> None:
    net = nn.Sequential(nn.Conv2d(1, 1, 3, 2))
    copy = antialias(net)
    assert copy is not net and net[0].stride == (2, 2)
    same = antialias(net, inplace=True)
    assert same is net and net[0][0].stride == (1, 1)


class Untraceable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) if x.sum() > 0 else x


@pytest.mark.parametrize(
    ("model", "error", "message"),
    [
        (nn.Sequential(nn.MaxPool2d(2, ceil_mode=True)), UnsupportedError, "ceil_mode=True"),
        (nn.Sequential(nn.Conv1d(1, 1, 3, 2)), UnsupportedError, "2-d layers only"),
        (nn.MaxPool2d(2), UnsupportedError, "wrap it in torch.nn.Sequential"),
        (Untraceable(), ModelError, "cannot follow the data flow of Untraceable"),
    ],
    ids=["ceil_mode", "conv1d", "bare-layer", "untraceable"],
)
def test_what_cannot_be_converted_says_why(model: nn.Module, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        antialias(model)
