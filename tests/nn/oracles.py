"""Oracles shared by the layer tests."""

from __future__ import annotations

import math

import torch
from hypothesis import HealthCheck, settings

# modest example counts: the layer suite must stay fast on 2 shared cores
FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fourier_shift(y: torch.Tensor, shift_h: float, shift_w: float) -> torch.Tensor:
    """``y`` circularly shifted by a (fractional) number of pixels, band-limited."""
    h, w = y.shape[-2:]
    kh = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    kw = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    phase = torch.exp(-2j * math.pi * (kh * shift_h + kw * shift_w))
    return torch.fft.ifft2(torch.fft.fft2(y.double()) * phase).real


def shift_equivariance_error(
    f: torch.nn.Module, x: torch.Tensor, stride: int, shifts: list[tuple[int, int]]
) -> float:
    """Mean over ``shifts`` of ‖f(shift_δ x) − shift_{δ/stride} f(x)‖ / ‖f(x)‖.

    The input is shifted circularly by whole pixels; the reference output is ``f(x)``
    shifted by ``δ / stride`` of its pixels with the ideal (Fourier) interpolator, so an
    op without aliasing scores ~0 and an aliasing op scores high. ``f`` should pad
    circularly so that the shifts are exact at the borders too.
    """
    with torch.no_grad():
        y = f(x).double()
        errors = []
        for dh, dw in shifts:
            shifted = f(torch.roll(x, (dh, dw), (2, 3))).double()
            reference = fourier_shift(y, dh / stride, dw / stride)
            errors.append(((shifted - reference).norm() / y.norm()).item())
    return sum(errors) / len(errors)


def brute_same_padding(n: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TF SAME by search: the least total padding giving ``ceil(n/s)`` VALID outputs,
    the odd pixel at the end (TensorFlow's documented convention)."""
    target = -(-n // stride)
    extent = dilation * (kernel - 1) + 1
    total = 0
    while (n + total - extent) < 0 or (n + total - extent) // stride + 1 < target:
        total += 1
    return total // 2, total - total // 2


def spectral_by_fft(
    x: torch.Tensor, stride_h: float, stride_w: float, smoothness: float
) -> torch.Tensor:
    """Spectral pooling the direct way: FFT, soft box mask, crop, inverse FFT (float64)."""

    def band(n: int, stride: float) -> tuple[torch.Tensor, torch.Tensor]:
        # the bins' frequencies are integers; rounding removes fftfreq's float fuzz
        # (fftfreq(36)·36 gives 6.999… for bin 7, which then sits inside an edge at 7)
        k = torch.fft.fftfreq(n, dtype=torch.float64).mul(n).round().abs()
        half_width = n / (2 * stride)
        keep = (k <= half_width) | (k < half_width + smoothness)
        if smoothness == 0:
            return keep.double(), keep
        mask = ((half_width + smoothness - k) / smoothness).clamp(0, 1)
        return torch.where(k <= half_width, 1.0, mask), keep

    (mask_h, keep_h), (mask_w, keep_w) = band(x.shape[-2], stride_h), band(x.shape[-1], stride_w)
    spectrum = torch.fft.fft2(x.double(), norm="forward") * mask_h[:, None] * mask_w[None, :]
    spectrum = spectrum[..., keep_h, :][..., keep_w]
    return torch.fft.ifft2(spectrum, norm="forward").real
