"""Anti-aliased downsampling: a binomial low-pass filter, then subsampling (Zhang, ICML 2019).

A stride-``s`` op keeps one pixel in ``s``: frequencies above ``1/(2s)`` cycles per pixel fold
back (alias), so shifting the input by one pixel changes the output a lot. Blurring first
removes most of those frequencies. The filter of size ``f`` is the outer product of the
binomial row ``C(f−1, i) / 2^(f−1)`` (``[1]``, ``[1, 1]/2``, ``[1, 2, 1]/4``, … up to ``f = 7``),
applied per channel with padding ``((f−1)//2, f//2)``, so the output is ``ceil(n / s)``
pixels, the size of TensorFlow's SAME padding: as a window, kernel ``f``, stride ``s``,
padding ``((f−1)//2, f//2)``.

>>> import torch
>>> BlurPool2d(64)(torch.zeros(1, 64, 56, 56)).shape
torch.Size([1, 64, 28, 28])
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

import torch
import torch.nn.functional as F
from torch import nn

from stridekit.errors import InvalidWindowError, OutputSizeError
from stridekit.nn._checks import check_int, check_pad_mode, check_tuple, torch_pad_mode

MAX_FILTER_SIZE = 7


def binomial_filter(filter_size: int) -> torch.Tensor:
    """The normalised 2-d binomial filter of size ``filter_size``, shape ``(f, f)``.

    >>> binomial_filter(3) * 16
    tensor([[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]])
    """
    f = check_int("binomial_filter", "filter_size", filter_size)
    if f > MAX_FILTER_SIZE:
        raise InvalidWindowError(
            f"binomial_filter: filter_size must be 1 … {MAX_FILTER_SIZE}, got {f}"
        )
    row = torch.tensor([comb(f - 1, i) for i in range(f)], dtype=torch.float64)
    grid = row[:, None] * row[None, :]
    return (grid / grid.sum()).to(torch.float32)


def default_blur_padding(filter_size: int) -> tuple[int, int]:
    """Zhang's padding ``((f−1)//2, f//2)``, which gives ``ceil(n / s)`` outputs.

    >>> default_blur_padding(4), default_blur_padding(3)
    ((1, 2), (1, 1))
    """
    return ((filter_size - 1) // 2, filter_size // 2)


def _check_padding(layer: str, padding: Sequence[int] | None, filter_size: int) -> tuple[int, int]:
    if padding is None:
        return default_blur_padding(filter_size)
    pads = check_tuple(layer, "padding", padding, 2, minimum=0)
    return (pads[0], pads[1])


def blur_pool2d(
    x: torch.Tensor,
    filter_size: int = 4,
    stride: int | Sequence[int] = 2,
    pad_mode: str = "reflect",
    padding: Sequence[int] | None = None,
) -> torch.Tensor:
    """Blur each channel of ``x`` with a binomial filter, then keep every ``stride``-th pixel.

    ``padding`` is ``(lo, hi)`` on both axes, by default ``((f−1)//2, f//2)``.

    >>> import torch
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> blur_pool2d(x, filter_size=2, stride=2, padding=(0, 0))   # a 2×2 average pool
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    filt = binomial_filter(filter_size).to(dtype=x.dtype, device=x.device)
    return _blur(
        x,
        filt,
        check_tuple("blur_pool2d", "stride", stride, 2),
        pad_mode,
        _check_padding("blur_pool2d", padding, filter_size),
    )


def _blur(
    x: torch.Tensor,
    filt: torch.Tensor,
    stride: tuple[int, ...],
    pad_mode: str,
    padding: tuple[int, int],
) -> torch.Tensor:
    if x.dim() != 4:
        raise OutputSizeError(
            f"blur_pool2d: expected a 4-d input (batch, channels, height, width), "
            f"got shape {tuple(x.shape)}"
        )
    lo, hi = padding
    if lo or hi:
        if pad_mode == "reflect" and min(x.shape[-2:]) <= max(lo, hi):
            raise OutputSizeError(
                f"blur_pool2d: reflect padding {padding} needs an input larger than "
                f"{max(lo, hi)} pixels, got {tuple(x.shape[-2:])}; use pad_mode='replicate' "
                "or 'zeros', or a smaller filter_size"
            )
        x = F.pad(x, (lo, hi, lo, hi), mode=torch_pad_mode(pad_mode))
    channels = x.shape[1]
    weight = filt[None, None].expand(channels, 1, *filt.shape)
    return F.conv2d(x, weight, stride=stride, groups=channels)


class BlurPool2d(nn.Module):
    """Anti-aliased downsampling: binomial blur of size ``filter_size``, then ``stride``.

    ``channels`` is checked against the input; ``None`` accepts any number (the filter is
    the same for every channel). ``pad_mode`` is ``reflect`` (Zhang's default),
    ``replicate``, ``zeros`` or ``circular``; ``padding`` overrides ``((f−1)//2, f//2)``.

    >>> BlurPool2d(64, filter_size=3)
    BlurPool2d(64, filter_size=3, stride=2, pad_mode='reflect')
    >>> BlurPool2d(64, filter_size=9)
    Traceback (most recent call last):
    ...
    stridekit.errors.InvalidWindowError: BlurPool2d: filter_size must be 1 … 7, got 9
    """

    filter: torch.Tensor

    # stridekit's doctor reads this: the layer low-passes before it subsamples
    stridekit_antialiased = True

    def __init__(
        self,
        channels: int | None,
        filter_size: int = 4,
        stride: int | Sequence[int] = 2,
        pad_mode: str = "reflect",
        padding: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if channels is not None:
            check_int(name, "channels", channels)
        check_int(name, "filter_size", filter_size)
        if filter_size > MAX_FILTER_SIZE:
            raise InvalidWindowError(
                f"{name}: filter_size must be 1 … {MAX_FILTER_SIZE}, got {filter_size}"
            )
        self.channels = channels
        self.filter_size = filter_size
        self.stride = check_tuple(name, "stride", stride, 2)
        self.pad_mode = check_pad_mode(name, pad_mode)
        self.padding = _check_padding(name, padding, filter_size)
        self.register_buffer("filter", binomial_filter(filter_size), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels is not None and x.dim() == 4 and x.shape[1] != self.channels:
            raise OutputSizeError(
                f"BlurPool2d: built for {self.channels} channels, got input of shape "
                f"{tuple(x.shape)}; build it with BlurPool2d({x.shape[1]}) or channels=None"
            )
        return _blur(x, self.filter.to(x.dtype), self.stride, self.pad_mode, self.padding)

    def extra_repr(self) -> str:
        stride = self.stride[0] if self.stride[0] == self.stride[1] else self.stride
        text = f"{self.channels}, filter_size={self.filter_size}, stride={stride}"
        text += f", pad_mode={self.pad_mode!r}"
        if self.padding != default_blur_padding(self.filter_size):
            text += f", padding={self.padding}"
        return text
