"""Spectral pooling with a fixed real stride (Rippel et al., 2015; the DiffStride baseline).

Per axis: DFT (``norm="forward"``, so a constant input stays that constant), multiply by
the box mask of `stridekit.geometry.spectral` (``smoothness`` bins of linear ramp, ``0`` for
a hard box), keep the band ``|k| ≤ K``, inverse DFT of the ``m = 2K + 1`` kept bins. The
kept band is symmetric and so is the mask, so the result is real, and the whole op is a
real linear map per axis: ``y = A_h · x · A_wᵀ`` with ``A`` of shape ``(m, n)``,
``A[j, i] = (1/n) Σ_k mask(k) · cos(2πk·(j/m − i/n))``. Applying those two small matrices
is the same transform as FFT → mask → crop → inverse FFT (the tests check it against
``torch.fft``), several times faster on CPU for feature-map sizes, and exports to ONNX as
two MatMuls. Output pixel ``j`` sits at input coordinate ``j·n/m``.

>>> import torch
>>> SpectralPool2d(2)(torch.zeros(1, 8, 56, 56)).shape     # 2·⌊56/4⌋ + 1 = 29
torch.Size([1, 8, 29, 29])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from stridekit.errors import InvalidWindowError, OutputSizeError
from stridekit.geometry.spectral import spectral_frequencies, spectral_mask


def axis_operator(
    n: int, frequencies: torch.Tensor, mask: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """The real ``(m, n)`` matrix that keeps ``frequencies`` (signed, DFT order) of an
    ``n``-point axis, weighted by ``mask``, and returns ``m = len(frequencies)`` samples.

    >>> import torch
    >>> a = axis_operator(4, torch.tensor([0.0]), torch.tensor([1.0]), torch.float64)
    >>> a                                      # only the mean survives
    tensor([[0.2500, 0.2500, 0.2500, 0.2500]], dtype=torch.float64)
    """
    k = frequencies.to(torch.float64)
    weight = mask.to(torch.float64)
    m = k.shape[0]
    out_pos = torch.arange(m, dtype=torch.float64, device=k.device)[:, None] * k / m
    in_pos = torch.arange(n, dtype=torch.float64, device=k.device)[:, None] * k / n
    out_angle, in_angle = 2 * math.pi * out_pos, 2 * math.pi * in_pos
    # cos(a − b) = cos a·cos b + sin a·sin b; the sine terms of ±k cancel in the imaginary
    # part, so the real part is the whole inverse transform
    matrix = (torch.cos(out_angle) * weight) @ torch.cos(in_angle).T
    matrix = matrix + (torch.sin(out_angle) * weight) @ torch.sin(in_angle).T
    return (matrix / n).to(dtype)


def apply_axis_operators(
    x: torch.Tensor, height_op: torch.Tensor, width_op: torch.Tensor
) -> torch.Tensor:
    """``height_op · x · width_opᵀ`` over the last two axes of ``x``."""
    return torch.matmul(height_op, torch.matmul(x, width_op.transpose(0, 1)))


def _check_stride(layer: str, stride: float | Sequence[float]) -> tuple[float, float]:
    values = (stride, stride) if isinstance(stride, int | float) else tuple(stride)
    if len(values) != 2:
        raise InvalidWindowError(f"{layer}: stride must be a number or a pair, got {stride!r}")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidWindowError(f"{layer}: stride must be a number >= 1, got {value!r}")
        if not math.isfinite(value) or value < 1:
            raise InvalidWindowError(
                f"{layer}: stride must be a finite number >= 1, got {value!r}; a stride "
                "below 1 would upsample"
            )
    return (float(values[0]), float(values[1]))


def _check_smoothness(layer: str, smoothness: float, positive: bool) -> float:
    ok = isinstance(smoothness, int | float) and not isinstance(smoothness, bool)
    if not ok or not math.isfinite(smoothness) or smoothness < 0 or (positive and smoothness == 0):
        bound = "> 0 (the ramp carries the gradient to the stride)" if positive else ">= 0"
        raise InvalidWindowError(
            f"{layer}: smoothness must be a finite number {bound}, got {smoothness!r}"
        )
    return float(smoothness)


@torch.compiler.assume_constant_result
def _band(n: int, stride: float, smoothness: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    # exact (Fraction) arithmetic from the geometry; a constant for torch.compile
    frequencies = tuple(float(k) for k in spectral_frequencies(n, stride, smoothness))
    return frequencies, tuple(float(v) for v in spectral_mask(n, stride, smoothness))


def _fixed_operator(
    n: int, stride: float, smoothness: float, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    frequencies, mask = _band(n, stride, smoothness)
    return axis_operator(
        n,
        torch.tensor(frequencies, dtype=torch.float64, device=device),
        torch.tensor(mask, dtype=torch.float64, device=device),
        dtype,
    )


def spectral_pool2d(
    x: torch.Tensor, stride: float | Sequence[float] = 2.0, smoothness: float = 0.0
) -> torch.Tensor:
    """Spectral pooling of ``x`` (batch, channels, h, w) with a fixed stride per axis.

    >>> import torch
    >>> y = spectral_pool2d(torch.ones(1, 1, 8, 8), 2)  # T = 2: 5 bins, a constant stays
    >>> y.shape, bool(torch.allclose(y, torch.ones(1, 1, 5, 5)))
    (torch.Size([1, 1, 5, 5]), True)
    """
    strides = _check_stride("spectral_pool2d", stride)
    r = _check_smoothness("spectral_pool2d", smoothness, positive=False)
    if x.dim() != 4:
        raise OutputSizeError(
            f"spectral_pool2d: expected a 4-d input (batch, channels, height, width), "
            f"got shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise InvalidWindowError(f"spectral_pool2d: expected a floating-point input, got {x.dtype}")
    h, w = (int(size) for size in x.shape[-2:])
    height_op = _fixed_operator(h, strides[0], r, x.dtype, x.device)
    width_op = _fixed_operator(w, strides[1], r, x.dtype, x.device)
    return apply_axis_operators(x, height_op, width_op)


class SpectralPool2d(nn.Module):
    """Spectral pooling at a fixed real ``stride`` (a number or ``(height, width)``).

    The output size per axis is `stridekit.geometry.spectral.spectral_output_size`:
    ``min(n, 2·K + 1)`` with ``K = max(⌊n/2S⌋, ⌈n/2S + R⌉ − 1)``.

    >>> SpectralPool2d(2)
    SpectralPool2d(stride=2.0)
    >>> SpectralPool2d((2.5, 2.0), smoothness=4.0)
    SpectralPool2d(stride=(2.5, 2.0), smoothness=4.0)
    """

    # stridekit's doctor reads this: the layer low-passes before it subsamples
    stridekit_antialiased = True

    def __init__(self, stride: float | Sequence[float] = 2.0, smoothness: float = 0.0) -> None:
        super().__init__()
        name = type(self).__name__
        self.stride = _check_stride(name, stride)
        self.smoothness = _check_smoothness(name, smoothness, positive=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spectral_pool2d(x, self.stride, self.smoothness)

    def extra_repr(self) -> str:
        stride = self.stride[0] if self.stride[0] == self.stride[1] else self.stride
        text = f"stride={stride}"
        if self.smoothness:
            text += f", smoothness={self.smoothness}"
        return text
