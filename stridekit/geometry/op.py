"""`Op`: one windowed op on one input, as one value: the nine arguments of ``stridekit
shape`` (``size, kernel, stride, padding, dilation, op, ceil_mode, output_padding,
convention``), checked once and turned into a `Window` per axis.

The shape report, the windows of an op, the animation, the coverage map and the
explorer's layer tab all take an `Op`; their keyword forms build one with `Op.of`, and
the CLI's text (``--size 224x320 --padding 1x2:3``) is read by `Op.parse`.

A pool's stride defaults to its kernel (PyTorch's rule); every argument is one value for
all axes or a list with one value per axis; ``padding`` is one spec (``3``, ``(2, 3)`` as
lo/hi, ``"same"``) or a list of specs, one per axis.

>>> op = Op((224, 225), 3, stride=2)
>>> op.output_sizes, op.windows[1].describe()
((111, 112), 'k=3 s=2 p=(0,0)')
>>> Op(6, 3, op="max_pool", ceil_mode=True).windows[0].describe()
'k=3 s=3 p=(0,0) ceil'
>>> Op.parse("224x320", "3", padding="1x2:3") == Op([224, 320], 3, padding=[1, (2, 3)])
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, TypedDict, TypeVar, Unpack

from stridekit.errors import ConventionError, UsageError
from stridekit.geometry.limits import check_size
from stridekit.geometry.notation import parse_ints, parse_padding, parse_sizes
from stridekit.geometry.ops import make_window
from stridekit.geometry.padding import CONVENTIONS, PaddingSpec
from stridekit.geometry.report import ShapeReport, describe_op
from stridekit.geometry.window import Window

T = TypeVar("T")
PerAxis = int | Sequence[int]


def per_axis(value: T | Sequence[T], axes: int, what: str) -> tuple[T, ...]:
    """One value for every axis, or a list with exactly one value per axis.

    >>> per_axis(3, 2, "kernel"), per_axis([3, 5], 2, "kernel"), per_axis((2, 3), 2, "padding")
    ((3, 3), (3, 5), ((2, 3), (2, 3)))
    """
    if isinstance(value, list):
        values = tuple(value)
    elif isinstance(value, tuple) and what != "padding":  # a padding tuple is one (lo, hi)
        values = value
    else:
        values = (value,)
    if len(values) == 1:
        return values * axes
    if len(values) != axes:
        raise UsageError(f"{what} has {len(values)} values but the input has {axes} axes")
    return values


def output_sizes(windows: Sequence[Window], sizes: Sequence[int]) -> tuple[int, ...]:
    """The output size of ``windows[i]`` on ``sizes[i]`` pixels, axis by axis.

    >>> output_sizes([Window(3, 2), Window(1)], (7, 5))
    (3, 5)
    """
    return tuple(w.output_size(n) for w, n in zip(windows, sizes, strict=True))


def windows_text(windows: Sequence[Window]) -> str:
    """An op's windows in words: one when every axis has the same, else one per axis.

    >>> windows_text([Window(3, 2)] * 2), windows_text([Window(3), Window(1)])
    ('k=3 s=2 p=(0,0)', 'k=3 s=1 p=(0,0) | k=1 s=1 p=(0,0)')
    """
    described = [w.describe() for w in windows]
    return described[0] if len(set(described)) == 1 else " | ".join(described)


class OpArguments(TypedDict, total=False):
    """`Op`'s arguments after the size, by keyword: what the keyword forms pass on."""

    kernel: PerAxis
    stride: PerAxis | None
    padding: PaddingSpec | list[PaddingSpec]
    dilation: PerAxis
    op: str
    ceil_mode: bool
    output_padding: PerAxis
    convention: str


@dataclass(frozen=True)
class Op:
    """``op`` (``conv``, ``conv_transpose``, ``max_pool``, ``avg_pool``) over an input of
    ``size`` pixels per axis; `sizes` and `windows` are what it means, axis by axis (two
    ops are equal when those are). An `Op` that exists is valid: a bad argument raises a
    `stridekit.StrideError` that says what to change."""

    size: PerAxis = field(compare=False)
    kernel: PerAxis = field(compare=False)
    stride: PerAxis | None = field(default=None, compare=False)
    padding: PaddingSpec | list[PaddingSpec] = field(default=0, compare=False)
    dilation: PerAxis = field(default=1, compare=False)
    _: KW_ONLY
    op: str = "conv"
    ceil_mode: bool = field(default=False, compare=False)
    output_padding: PerAxis = field(default=0, compare=False)
    convention: str = "torch"
    sizes: tuple[int, ...] = field(init=False, repr=False)
    windows: tuple[Window, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.convention not in CONVENTIONS:
            raise ConventionError(
                f"unknown convention {self.convention!r}; choose one of {', '.join(CONVENTIONS)}"
            )
        sizes = tuple(self.size) if isinstance(self.size, Sequence) else (self.size,)
        for n in sizes:
            check_size(n, "input size")
        axes = len(sizes)
        kernels = per_axis(self.kernel, axes, "kernel")
        if self.stride is None:  # PyTorch's rule: a pool's stride is its kernel
            strides = kernels if self.op.endswith("pool") else (1,) * axes
        else:
            strides = per_axis(self.stride, axes, "stride")
        windows = tuple(
            make_window(
                self.op,
                n,
                k,
                s,
                p,
                d,
                ceil_mode=self.ceil_mode,
                output_padding=o,
                convention=self.convention,
            )
            for n, k, s, p, d, o in zip(
                sizes,
                kernels,
                strides,
                per_axis(self.padding, axes, "padding"),
                per_axis(self.dilation, axes, "dilation"),
                per_axis(self.output_padding, axes, "output_padding"),
                strict=True,
            )
        )
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "windows", windows)

    @classmethod
    def of(cls, size: Op | PerAxis, *arguments: Any, **options: Unpack[OpArguments]) -> Op:
        """``size`` itself when it is an `Op`, else the `Op` of the arguments: what the
        keyword forms (`stridekit.viz.animate_conv` and the like) call.

        >>> Op.of(5, 3, stride=2) == Op.of(Op(5, 3, 2))
        True
        """
        if isinstance(size, Op):
            if arguments or options:
                raise UsageError(
                    "give an Op or the op's arguments (size, kernel, stride...), not both"
                )
            return size
        return cls(size, *arguments, **options)

    @classmethod
    def parse(
        cls,
        size: str,
        kernel: str,
        *,
        stride: str | None = None,
        padding: str = "0",
        dilation: str = "1",
        op: str = "conv",
        ceil_mode: bool = False,
        output_padding: str = "0",
        convention: str = "torch",
    ) -> Op:
        """The op of the CLI's options (``stridekit shape``, ``viz conv``, the explorer's
        layer tab): sizes and numbers per axis joined by ``x``, padding ``lo:hi``.

        >>> Op.parse("224", "7", stride="2", padding="3").output_sizes
        (112,)
        >>> Op.parse("224", "7", stride="two")
        Traceback (most recent call last):
        ...
        stridekit.errors.UsageError: --stride 'two': expected integers like 224 or 224x320
        """
        return cls(
            parse_sizes(size, "size"),
            parse_ints(kernel, "kernel", 1),
            None if stride is None else parse_ints(stride, "stride", 1),
            list(parse_padding(padding)),
            parse_ints(dilation, "dilation", 1),
            op=op,
            ceil_mode=ceil_mode,
            output_padding=parse_ints(output_padding, "output-padding"),
            convention=convention,
        )

    @property
    def output_sizes(self) -> tuple[int, ...]:
        """The output's size on each axis."""
        return output_sizes(self.windows, self.sizes)

    @property
    def window_text(self) -> str:
        """The windows in words (`windows_text`).

        >>> Op((8, 8), 3).window_text, Op((8, 8), [3, 1]).window_text
        ('k=3 s=1 p=(0,0)', 'k=3 s=1 p=(0,0) | k=1 s=1 p=(0,0)')
        """
        return windows_text(self.windows)

    def describe(self) -> ShapeReport:
        """Output size, padding, unread pixels, coverage and formula of each axis: the
        answer of ``stridekit shape``.

        >>> Op(224, 3, stride=2).describe().to_dict()["output_size"]
        [111]
        """
        return describe_op(self.op, self.windows, self.sizes, self.convention)
