"""One op's windows, axis by axis, from the arguments ``stridekit shape`` takes: the one
place the CLI's ``shape``, the pictures of an op and the explorer's layer tab build them.

A pool's stride defaults to its kernel (PyTorch's rule); every argument is one value for
all axes or a list with one value per axis; ``padding`` is one spec (``3``, ``(2, 3)`` as
lo/hi, ``"same"``) or a list of specs, one per axis.

>>> op_windows((224, 225), 3, stride=2)[1][1].describe()
'k=3 s=2 p=(0,0)'
>>> op_windows(6, 3, op="max_pool", ceil_mode=True)[1][0].describe()
'k=3 s=3 p=(0,0) ceil'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from stridekit.errors import UsageError
from stridekit.geometry import Window, make_window
from stridekit.geometry.limits import check_size
from stridekit.geometry.padding import PaddingSpec

T = TypeVar("T")


def per_axis(value: T | Sequence[T], axes: int, what: str) -> tuple[T, ...]:
    """One value for every axis, or a list with exactly one value per axis.

    >>> per_axis(3, 2, "kernel"), per_axis([3, 5], 2, "kernel")
    ((3, 3), (3, 5))
    """
    if isinstance(value, list):
        values = tuple(value)
    elif isinstance(value, tuple) and what != "padding":
        values = value
    else:
        values = (value,)
    if len(values) == 1:
        return values * axes
    if len(values) != axes:
        raise UsageError(f"{what} has {len(values)} values but the input has {axes} axes")
    return values


def op_windows(
    size: int | Sequence[int],
    kernel: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: PaddingSpec | list[PaddingSpec] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    op: str = "conv",
    ceil_mode: bool = False,
    output_padding: int | Sequence[int] = 0,
    convention: str = "torch",
) -> tuple[tuple[int, ...], tuple[Window, ...]]:
    """The sizes and the `Window` of each axis."""
    sizes = tuple(size) if isinstance(size, Sequence) else (size,)
    for n in sizes:
        check_size(n, "input size")
    axes = len(sizes)
    kernels = per_axis(kernel, axes, "kernel")
    if stride is None:
        strides = kernels if op.endswith("pool") else (1,) * axes
    else:
        strides = per_axis(stride, axes, "stride")
    windows = tuple(
        make_window(op, n, k, s, p, d, ceil_mode=ceil_mode, output_padding=o, convention=convention)
        for n, k, s, p, d, o in zip(
            sizes,
            kernels,
            strides,
            per_axis(padding, axes, "padding"),
            per_axis(dilation, axes, "dilation"),
            per_axis(output_padding, axes, "output_padding"),
            strict=True,
        )
    )
    return sizes, windows
