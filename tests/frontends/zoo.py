"""Small torch models covering the geometry a tracer must get right, and oracle helpers.

Each zoo entry builds a model on CPU whose output is a feature map, so receptive fields
can be measured by gradients (`measured_interval`) and compared with the fields pass.
`EXACT` models have integer windows only (no interpolation): their fields are exact.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(cin: int, cout: int, k: int = 3, s: int = 1, p: int = 1, d: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, s, p, dilation=d, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class Residual(nn.Module):
    """conv-bn-relu, conv, add the input (identity shortcut), relu."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn(3, 8)
        self.body = nn.Sequential(conv_bn(8, 8), nn.Conv2d(8, 8, 3, padding=1))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return self.act(self.body(x) + x)


class StridedShortcut(nn.Module):
    """A ResNet down block: 3×3 stride 2 then 3×3 on the main path, 1×1 stride 2 shortcut."""

    def __init__(self) -> None:
        super().__init__()
        self.main = nn.Sequential(conv_bn(3, 8, s=2), nn.Conv2d(8, 8, 3, padding=1))
        self.shortcut = nn.Conv2d(3, 8, 1, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.main(x) + self.shortcut(x))


class Branches(nn.Module):
    """Inception-like: 1×1, 3×3, dilated 3×3 and pooled branches concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 8, 5, 2, 2), nn.MaxPool2d(3, 2, 1, ceil_mode=True))
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b3 = conv_bn(8, 4, 3, p=1)
        self.b5 = conv_bn(8, 4, 3, p=2, d=2)
        self.pool = nn.Sequential(nn.AvgPool2d(3, 1, 1), nn.Conv2d(8, 4, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], dim=1)


class Dilated(nn.Module):
    """DeepLab-style dilation growth after a strided stem."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            conv_bn(3, 8, 3, 2, 1), conv_bn(8, 8, 3, 1, 2, d=2), conv_bn(8, 8, 3, 1, 3, d=3)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TFSame(nn.Module):
    """TensorFlow SAME padding through F.pad (odd pixel at the end) before strided convs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2)
        self.conv2 = nn.Conv2d(8, 8, 5, stride=2)

    @staticmethod
    def same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
        pads: list[int] = []
        for n in reversed(x.shape[2:]):  # F.pad lists the last axis first
            total = max(0, (-(-n // stride) - 1) * stride + kernel - n)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(self.same(x, 3, 2)))
        return self.conv2(self.same(x, 5, 2))


class SpaceToDepth(nn.Module):
    """Space-to-depth by strided slicing, pixel_unshuffle, then reflection padding."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(12, 4, 3, padding=1)
        self.mix = nn.Conv2d(16, 8, 1)
        self.pad = nn.ReflectionPad2d(1)
        self.out = nn.Conv2d(8, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        quads = [x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]]
        x = self.conv(torch.cat(quads, dim=1))
        return self.out(self.pad(self.mix(F.pixel_unshuffle(x, 2))))


class PixelShuffleUp(nn.Module):
    """A sub-pixel decoder: stride-2 features, pixel_shuffle back up, added to a skip."""

    def __init__(self) -> None:
        super().__init__()
        self.skip = conv_bn(3, 4)
        self.down = conv_bn(4, 16, s=2)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(x)
        return skip + self.shuffle(self.down(skip))


class ChannelsLast(nn.Module):
    """A ConvNeXt block: depthwise 7×7, then LayerNorm and Linear layers on NHWC pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 4, stride=4)
        self.dw = nn.Conv2d(8, 8, 7, padding=3, groups=8)
        self.norm = nn.LayerNorm(8)
        self.mlp = nn.Sequential(nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.mlp(self.norm(self.dw(x).permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
        return x + y


class UNet(nn.Module):
    """Down twice, up by a transposed conv and by nearest interpolation, skips concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = conv_bn(3, 8)
        self.enc2 = conv_bn(8, 8, s=2)
        self.enc3 = conv_bn(8, 8, s=2)
        self.up3 = nn.ConvTranspose2d(8, 8, 4, stride=2, padding=1)
        self.dec2 = conv_bn(16, 8)
        self.dec1 = conv_bn(16, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        d2 = self.dec2(torch.cat([self.up3(self.enc3(e2)), e2], 1))
        up = F.interpolate(d2, scale_factor=2, mode="nearest")
        return self.dec1(torch.cat([up, e1], 1))


class Bilinear(nn.Module):
    """An FPN-style merge: a stride-4 map upsampled bilinearly and added to a stride-2 map."""

    def __init__(self) -> None:
        super().__init__()
        self.c2 = conv_bn(3, 8, s=2)
        self.c4 = conv_bn(8, 8, s=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c2 = self.c2(x)
        return c2 + F.interpolate(self.c4(c2), scale_factor=2, mode="bilinear")


class Upsampler(nn.Module):
    """A stride-4 encoder and one way back up to stride 2 (or down to 8), nothing merged."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.down = nn.Sequential(conv_bn(3, 8, s=2), conv_bn(8, 8, s=2))
        self.up = nn.ConvTranspose2d(8, 8, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(x)
        if self.how == "transposed":
            return self.up(x)
        if self.how == "bilinear_down":
            return F.interpolate(x, scale_factor=0.5, mode="bilinear")
        return F.interpolate(x, scale_factor=2, mode=self.how)


class Signal1d(nn.Module):
    """A 1-d stack: strided and dilated convolutions, ceil-mode max pooling, a skip."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(2, 8, 7, stride=2, padding=3), nn.ReLU())
        self.pool = nn.MaxPool1d(3, 2, ceil_mode=True)
        self.dilated = nn.Conv1d(8, 8, 3, padding=4, dilation=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stem(x))
        return x + self.dilated(x)


class Volume3d(nn.Module):
    """A 3-d stem: anisotropic strided convolution, max and average pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(1, 4, (3, 5, 5), stride=(1, 2, 2), padding=(1, 2, 2))
        self.max = nn.MaxPool3d(2)
        self.avg = nn.AvgPool3d(3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.avg(self.max(self.conv(x)))


class Adaptive(nn.Module):
    """Adaptive average pooling to a size that does not divide the input (bins overlap)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d((5, 7))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


class DataDependent(nn.Module):
    """Control flow on a value: cannot run on meta tensors."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.how == "if":
            return y.relu() if y.mean() > 0 else -y
        if self.how == "item":
            return y * y.abs().max().item()
        return y.flatten()[torch.nonzero(y.flatten() > 0).flatten()]


ZOO: dict[str, Callable[[], nn.Module]] = {
    "signal_1d": Signal1d,
    "volume_3d": Volume3d,
    "adaptive": Adaptive,
    "residual": Residual,
    "strided_shortcut": StridedShortcut,
    "branches": Branches,
    "dilated": Dilated,
    "tf_same": TFSame,
    "space_to_depth": SpaceToDepth,
    "pixel_shuffle": PixelShuffleUp,
    "channels_last": ChannelsLast,
    "unet": UNet,
    "bilinear": Bilinear,
    "nearest_up": lambda: Upsampler("nearest"),
    "bilinear_up": lambda: Upsampler("bilinear"),
    "bicubic_up": lambda: Upsampler("bicubic"),
    "transposed_up": lambda: Upsampler("transposed"),
    "bilinear_down_up": lambda: Upsampler("bilinear_down"),
}
EXACT = (
    frozenset(ZOO)
    - {"unet", "bilinear", "pixel_shuffle", "adaptive"}
    - {n for n in ZOO if "_up" in n}
)
INPUTS = {"signal_1d": (1, 2, 101), "volume_3d": (1, 1, 9, 20, 26)}  # others: (1, 3, 36, 44)


@contextlib.contextmanager
def weights_on_meta() -> Iterator[None]:
    """Build models with parameters and buffers on the meta device (no memory, no init).

    Unlike ``with torch.device("meta")``, code that computes with tensors while building
    the model (RegNet's width schedule) still runs on CPU.
    """
    register_parameter = nn.Module.register_parameter
    register_buffer = nn.Module.register_buffer

    def parameter(self: nn.Module, name: str, param: nn.Parameter | None) -> None:
        if param is not None:
            param = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        register_parameter(self, name, param)

    def buffer(
        self: nn.Module, name: str, tensor: torch.Tensor | None, persistent: bool = True
    ) -> None:
        register_buffer(self, name, None if tensor is None else tensor.to("meta"), persistent)

    nn.Module.register_parameter = parameter  # type: ignore[method-assign]
    nn.Module.register_buffer = buffer  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = register_parameter  # type: ignore[method-assign]
        nn.Module.register_buffer = register_buffer  # type: ignore[method-assign]


def linearized(model: nn.Module) -> nn.Module:
    """The gradient oracle's model: activations → identity, max → average pooling,
    positive weights scaled to keep activations near 1, float64, eval mode.

    With every weight positive no gradient can cancel, so a pixel's gradient is non-zero
    iff some path of ops carries it to the output position.
    """
    for name, child in list(model.named_children()):
        if isinstance(
            child, nn.ReLU | nn.GELU | nn.SiLU | nn.Hardswish | nn.Sigmoid | nn.LayerNorm
        ):
            setattr(model, name, nn.Identity())
        elif isinstance(child, nn.MaxPool1d | nn.MaxPool2d | nn.MaxPool3d):
            average = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}[
                int(type(child).__name__[-2])
            ]
            setattr(
                model,
                name,
                average(child.kernel_size, child.stride, child.padding, child.ceil_mode),
            )
        else:
            linearized(child)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in model.parameters(recurse=False):
            fan_in = max(1, param[0].numel()) if param.dim() > 1 else 1
            param.copy_(torch.rand(param.shape, generator=generator) * 0.5 + 0.5)
            param.div_(fan_in)
        for name, buffer in model.named_buffers(recurse=False):
            if name == "running_var":
                buffer.fill_(1.0)
            elif name == "running_mean":
                buffer.zero_()
    return model.double().eval()


def measured_interval(grad: torch.Tensor, axis: int) -> tuple[int, int] | None:
    """The first and last input index along a spatial axis with a non-zero gradient."""
    other_dims = [d for d in range(grad.dim()) if d != axis + 2]
    hit = (grad != 0).any(dim=other_dims[-1])
    for dim in reversed(other_dims[:-1]):
        hit = hit.any(dim=dim)
    indices = torch.nonzero(hit).flatten()
    if len(indices) == 0:
        return None
    return int(indices[0]), int(indices[-1])
