"""The range of sizes stridekit handles, checked wherever a size enters (CLI or library).

stridekit's per-pixel answers (unread pixels, coverage, valid input sizes) walk every
pixel of an axis, so a size is bounded by what that walk can do in about a second:
``MAX_SIZE = 2^20 = 1,048,576`` pixels per axis, far beyond any image (a gigapixel slide
is ~100,000 pixels wide). One window's coverage counts every (output, tap) pair, bounded
by ``MAX_TAPS = 2^24`` (about 128 MB of counters).

>>> check_size(224, "--size")
224
>>> check_size(99999999999999999999, "--size")
Traceback (most recent call last):
...
stridekit.errors.SizeError: --size 99,999,999,999,999,999,999 is beyond 2^20 = 1,048,576, the largest size per axis stridekit handles (its per-pixel checks walk every pixel of an axis)
"""  # noqa: E501

from __future__ import annotations

from stridekit.errors import SizeError, UsageError

MAX_SIZE = 1 << 20
MAX_TAPS = 1 << 24


def check_size(value: int, what: str, minimum: int = 1) -> int:
    """``value`` if ``minimum <= value <= MAX_SIZE``, else a `SizeError` naming ``what``."""
    if value < minimum:
        raise SizeError(f"{what} must be >= {minimum}, got {value}")
    if value > MAX_SIZE:
        raise SizeError(
            f"{what} {value:,} is beyond 2^20 = {MAX_SIZE:,}, the largest size per axis "
            "stridekit handles (its per-pixel checks walk every pixel of an axis)"
        )
    return value


def check_taps(outputs: int, kernel: int, what: str) -> None:
    """A window's coverage counts ``outputs · kernel`` taps: at most `MAX_TAPS`.

    >>> check_taps(524_288, 64, "conv")
    Traceback (most recent call last):
    ...
    stridekit.errors.SizeError: conv: 524,288 outputs x 64 taps = 33,554,432 reads is beyond 2^24 = 16,777,216, the most stridekit counts one by one; use a smaller size or kernel
    """  # noqa: E501
    taps = outputs * kernel
    if taps > MAX_TAPS:
        raise SizeError(
            f"{what}: {outputs:,} outputs x {kernel:,} taps = {taps:,} reads is beyond 2^24 = "
            f"{MAX_TAPS:,}, the most stridekit counts one by one; use a smaller size or kernel"
        )


def check_shape(shape: tuple[int, ...], what: str) -> tuple[int, ...]:
    """Every entry of a tensor shape an integer in ``1..MAX_SIZE``.

    >>> check_shape((1, 3, 224, 224), "input_size")
    (1, 3, 224, 224)
    >>> check_shape((1, 3, 0, 224), "input_size")
    Traceback (most recent call last):
    ...
    stridekit.errors.SizeError: input_size (1, 3, 0, 224): size must be >= 1, got 0
    """
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
        raise UsageError(f"{what} {shape!r}: sizes must be integers")
    for n in shape:
        check_size(n, f"{what} {tuple(shape)}: size")
    return tuple(shape)
