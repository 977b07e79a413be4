"""Spectral pooling along one axis: which frequencies a (soft) box keeps, and the output size.

Spectral pooling (Rippel et al., 2015) downsamples by cropping the spectrum; DiffStride
(Riad et al., ICLR 2022) makes the crop follow a learnable real stride ``S`` through a soft
box mask. stridekit uses one exact rule for both (``stridekit.nn.SpectralPool2d`` with
``smoothness=0`` and ``stridekit.nn.DiffStride2d``).

For an axis of ``n`` pixels the DFT bins are the signed frequencies
``k ∈ {−⌊n/2⌋, …, ⌈n/2⌉ − 1}``. With stride ``S ≥ 1`` and smoothness ``R ≥ 0`` (bins):

- the box half-width is ``T = n / (2·S)``; the mask is ``1`` for ``|k| ≤ T`` and ramps
  linearly to ``0`` at ``|k| = T + R``: ``mask(k) = clamp((T + R − |k|) / R, 0, 1)``;
- a bin is kept when the mask is positive there: ``|k| < T + R`` (for ``R = 0``, when
  ``|k| ≤ T``), so the kept band is ``|k| ≤ K`` with
  ``K = max(⌊T⌋, ⌈T + R⌉ − 1)``;
- the output has ``m = min(n, 2·K + 1)`` pixels: odd (a symmetric band keeps the inverse
  transform real) unless the band covers the whole spectrum, when ``m = n``.

For ``R > 0`` that is ``m = 2·⌈n/(2S) + R⌉ − 1 ≈ n/S + 2R − 1`` pixels (before the cap at
``n``): the ramp keeps a margin of about ``2·smoothness`` bins beyond the box's ``n/S``.
The published DiffStride layer (TensorFlow, ``rfft``-based) keeps ``2·⌈T + R⌉`` bins per
axis: one more, an unpaired negative-frequency row and the Nyquist column, so its outputs
are even. stridekit keeps the symmetric odd band, whose inverse transform is exactly real.

Every output pixel depends on every input pixel (the receptive field is global along the
axis). All arithmetic is exact (``Fraction``): a float stride is taken at its exact
binary value.
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil, floor

from stridekit.errors import InvalidWindowError, OutputSizeError

Number = int | float | Fraction


def _exact(name: str, value: Number, minimum: int) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
        raise InvalidWindowError(f"spectral pooling: {name} must be a number, got {value!r}")
    exact = Fraction(value)
    if exact < minimum:
        raise InvalidWindowError(
            f"spectral pooling: {name} must be >= {minimum}, got {value!r}"
            + (
                "; a stride below 1 would upsample (DiffStride2d clamps it at 1)"
                if name == "stride"
                else ""
            )
        )
    return exact


def spectral_half_band(n: int, stride: Number, smoothness: Number = 0) -> int:
    """``K``: the kept band is ``|k| ≤ K`` (before capping at the spectrum's size).

    >>> spectral_half_band(32, 2)            # T = 32/4 = 8, box only: ⌊8⌋
    8
    >>> spectral_half_band(32, 2, 4)         # T + R = 12 is a bin: |k| < 12 → 11
    11
    >>> spectral_half_band(56, 2.5, 1.5)     # T = 11.2, ⌈12.7⌉ − 1 = 12
    12
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise OutputSizeError(f"spectral pooling: input size must be an integer >= 1, got {n!r}")
    s = _exact("stride", stride, 1)
    r = _exact("smoothness", smoothness, 0)
    half_width = Fraction(n, 2) / s
    return max(floor(half_width), ceil(half_width + r) - 1)


def spectral_output_size(n: int, stride: Number, smoothness: Number = 0) -> int:
    """Output size of spectral pooling / DiffStride on an axis of ``n`` pixels.

    >>> spectral_output_size(32, 2)          # 2·8 + 1
    17
    >>> spectral_output_size(32, 2, 4)       # 2·11 + 1: the ramp keeps 6 extra bins
    23
    >>> spectral_output_size(56, 2, 4)       # T = 14, ⌈18⌉ − 1 = 17 → 35
    35
    >>> spectral_output_size(8, 1, 4)        # the band covers everything: m = n
    8
    >>> spectral_output_size(32, 0.5)
    Traceback (most recent call last):
    ...
    stridekit.errors.InvalidWindowError: spectral pooling: stride must be >= 1, got 0.5; a stride below 1 would upsample (DiffStride2d clamps it at 1)
    """  # noqa: E501
    return min(n, 2 * spectral_half_band(n, stride, smoothness) + 1)


def spectral_frequencies(n: int, stride: Number, smoothness: Number = 0) -> tuple[int, ...]:
    """The kept signed frequencies in DFT order (``0, 1, …, K, −K, …, −1``).

    >>> spectral_frequencies(8, 2)           # T = 2: |k| ≤ 2
    (0, 1, 2, -2, -1)
    >>> spectral_frequencies(4, 1)           # all of a 4-point DFT, Nyquist included
    (0, 1, -2, -1)
    """
    half = spectral_half_band(n, stride, smoothness)
    if 2 * half + 1 >= n:
        return (*range((n + 1) // 2), *range(-(n // 2), 0))
    return (*range(half + 1), *range(-half, 0))


def spectral_mask(n: int, stride: Number, smoothness: Number = 0) -> tuple[Fraction, ...]:
    """The mask value at each kept frequency (same order as `spectral_frequencies`).

    >>> [str(v) for v in spectral_mask(16, 2, 2)]   # T = 4, ramp to 0 at |k| = 6
    ['1', '1', '1', '1', '1', '1/2', '1/2', '1', '1', '1', '1']
    """
    s = _exact("stride", stride, 1)
    r = _exact("smoothness", smoothness, 0)
    half_width = Fraction(n, 2) / s
    values = []
    for k in spectral_frequencies(n, stride, smoothness):
        if abs(k) <= half_width:
            values.append(Fraction(1))
        else:  # only reached when r > 0: |k| < T + R
            values.append(min(Fraction(1), max(Fraction(0), (half_width + r - abs(k)) / r)))
    return tuple(values)
