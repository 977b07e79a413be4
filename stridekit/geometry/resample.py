"""`Resample`: an axis map that is not a sliding window (resizes, padding, slicing, shuffles).

A resample says that output index ``i`` reads input indices inside
``[i·scale + start, i·scale + stop]``: exact for padding (``scale 1, start = stop = −lo``)
and strided slicing (``x[a::s]``: ``scale s, start = stop = a``), outer bounds for
interpolation. ``sizing`` says how the output size follows the input size ``n`` (a fixed
size, or ``floor((n + offset)·factor)``), so size rules stay exact at every input size;
``kind`` and ``factor`` name what it is for readers (``bilinear ×2``, ``pad (1, 2)``).

Resize bounds (`resize_bounds`) follow ONNX's coordinate transformations, which also
describe PyTorch's modes: output ``i`` samples ``x = a·i + b`` of the input; nearest reads
one pixel next to ``x``, linear the two around it, cubic four. ``D·x`` is an integer for
``D = lcm(den a, den b)``, so ``floor(x) ≥ x − (D − 1)/D``: the bounds are exact where the
arithmetic is, and never too small.

>>> Resample.nearest(2)
Resample(scale=Fraction(1, 2), start=Fraction(-1, 2), stop=Fraction(0, 1), kind='nearest', factor=Fraction(2, 1), sizing=Sizing(factor=Fraction(2, 1), offset=0, fixed=None, follows=None))
>>> Resample.nearest(2).describe(), Resample.shift(-1).describe(), Resample.step(1, 2).describe()
('nearest x2', 'shift 1', 'slice 1::2')
"""  # noqa: E501

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import floor, lcm

from stridekit.errors import InvalidWindowError, OutputSizeError, UnsupportedError

Number = int | Fraction

# interpolation modes and the ONNX coordinate transformations stridekit can bound
MODES: tuple[str, ...] = ("nearest", "linear", "cubic")
COORDINATES: tuple[str, ...] = (
    "half_pixel",
    "pytorch_half_pixel",
    "half_pixel_symmetric",
    "align_corners",
    "asymmetric",
    "tf_half_pixel_for_nn",
)
NEAREST_MODES: tuple[str, ...] = ("floor", "ceil", "round_prefer_floor", "round_prefer_ceil")
# the largest denominator a float scale is read with: 0.333… is 1/3, 1.5 is 3/2
SCALE_DENOMINATOR = 1 << 16


def exact_scale(value: float | int | Fraction) -> Fraction:
    """A framework's float scale factor as the fraction it stands for.

    >>> exact_scale(0.5), exact_scale(1 / 3), exact_scale(2.0)
    (Fraction(1, 2), Fraction(1, 3), Fraction(2, 1))
    """
    if isinstance(value, Fraction):
        return value
    scale = Fraction(value).limit_denominator(SCALE_DENOMINATOR)
    if scale <= 0:
        raise InvalidWindowError(f"a scale factor must be positive, got {value!r}")
    return scale


@dataclass(frozen=True)
class Sizing:
    """How an output size follows the input size ``n``: ``fixed``, the size of another
    tensor (``follows``: a resize to a skip's shape, ``size=skip.shape[-2:]``), else
    ``floor((n + offset)·factor)``.

    >>> Sizing(Fraction(1, 2), offset=1)(7), Sizing(fixed=5)(100)   # floor((7 + 1)/2)
    (4, 5)
    """

    factor: Fraction = Fraction(1)
    offset: int = 0
    fixed: int | None = None
    follows: str | None = None  # a node of the graph whose size this output takes

    def __call__(self, n: int) -> int:
        if self.follows is not None:
            raise UnsupportedError(
                f"this size follows tensor {self.follows!r}, not the resample's own input"
            )
        if self.fixed is not None:
            return self.fixed
        return floor((n + self.offset) * Fraction(self.factor))


@dataclass(frozen=True)
class Resample:
    """Output index ``i`` reads input indices inside ``[i·scale + start, i·scale + stop]``.

    ``sizing`` None: the output size is not a known function of the input size.
    """

    scale: Fraction
    start: Fraction
    stop: Fraction
    kind: str = "resample"  # nearest, linear, cubic, shift, slice, shuffle, adaptive, ...
    factor: Fraction = Fraction(1)  # output pixels per input pixel, for readers
    sizing: Sizing | None = field(default=None, compare=True)

    def __post_init__(self) -> None:
        for name in ("scale", "start", "stop", "factor"):
            object.__setattr__(self, name, Fraction(getattr(self, name)))
        if self.scale <= 0:
            raise InvalidWindowError(f"a resample's scale must be positive, got {self.scale}")

    # --- constructors -------------------------------------------------------------------

    @classmethod
    def nearest(cls, factor: Number) -> Resample:
        """Nearest resampling by ``f`` (``asymmetric``, ``floor``): output ``i`` reads
        ``floor(i/f)``; also depth-to-space (pixel shuffle) by an integer ``f``.

        >>> Resample.nearest(3).start, Resample.nearest(Fraction(1, 2)).start
        (Fraction(-2, 3), Fraction(0, 1))
        """
        return resize_bounds(Fraction(factor), "nearest", "asymmetric")

    @classmethod
    def linear(cls, factor: Number) -> Resample:
        """(Bi)linear with ``align_corners=False`` (ONNX ``half_pixel``), PyTorch's default."""
        return resize_bounds(Fraction(factor), "linear", "half_pixel")

    @classmethod
    def shift(cls, offset: int) -> Resample:
        """Padding ``lo`` (``offset = −lo``) or cropping (``offset > 0``); the size follows
        the input through the total padding, which only the op knows (see `pad`)."""
        return cls(Fraction(1), Fraction(offset), Fraction(offset), "shift")

    @classmethod
    def pad(cls, lo: int, hi: int) -> Resample:
        """Padding ``lo`` before and ``hi`` after (negative values crop): ``n + lo + hi``.

        >>> Resample.pad(1, 2).sizing(8), Resample.pad(1, 2).describe()
        (11, 'pad (1, 2)')
        """
        sizing = Sizing(offset=lo + hi)
        return cls(Fraction(1), Fraction(-lo), Fraction(-lo), "pad", Fraction(1), sizing)

    @classmethod
    def step(cls, start: int, step: int, stop: int | None = None) -> Resample:
        """Strided slicing ``x[start:stop:step]``: with ``stop`` None (to the end) the size
        is ``ceil((n − start)/step)`` at every ``n``, a negative ``stop`` counts from the
        end, and a fixed ``stop`` gives a fixed size.

        >>> Resample.step(1, 2).sizing(9), Resample.step(0, 1, -1).sizing(9)  # 1, 3, 5, 7
        (4, 8)
        """
        sizing: Sizing
        if stop is None or stop < 0:
            end = stop or 0
            sizing = Sizing(Fraction(1, step), offset=step - 1 - start + end)
        else:
            sizing = Sizing(fixed=max(0, -(-(stop - start) // step)))
        offset = Fraction(start)
        return cls(Fraction(step), offset, offset, "slice", Fraction(1, step), sizing)

    @classmethod
    def window(cls, size: int) -> Resample:
        """Mixing inside windows of ``size`` pixels that tile the axis (attention in Swin's
        or MaxViT's windows): output ``i`` reads its window ``[i − i mod w, i − i mod w + w − 1]``,
        inside ``[i − (w − 1), i + w − 1]`` (outer bounds: one interval per output must hold
        every place in the window); the size is kept.

        >>> Resample.window(7).describe(), Resample.window(7).start, Resample.window(7).stop
        ('window 7', Fraction(-6, 1), Fraction(6, 1))
        """
        reach = Fraction(size - 1)
        return cls(Fraction(1), -reach, reach, "window", Fraction(1), Sizing())

    @classmethod
    def identity(cls) -> Resample:
        """An axis the op leaves as it is."""
        return cls(Fraction(1), Fraction(0), Fraction(0), "identity", Fraction(1), Sizing())

    @classmethod
    def broadcast(cls, size: int) -> Resample:
        """One pixel repeated ``size`` times (a pooled map resized back): every output
        reads pixel 0. The jump is kept (``scale 1``): the input's field is already global,
        and a branch broadcast onto a map must merge with it."""
        zero = Fraction(0)
        return cls(Fraction(1), zero, zero, "broadcast", Fraction(size), Sizing(fixed=size))

    # --- reading --------------------------------------------------------------------------

    def output_size(self, n: int) -> int | None:
        """The output size at input size ``n``, or None when the op did not say how."""
        if self.sizing is None or self.sizing.follows is not None:
            return None
        size = self.sizing(n)
        if size < 1:
            raise OutputSizeError(f"{self.describe()}: input {n} gives no output ({size})")
        return size

    def describe(self) -> str:
        """What a reader needs: ``bilinear x2``, ``pad (1, 2)``, ``slice 1::2``."""
        if self.kind == "pad" and self.sizing is not None:
            lo = -self.start
            return f"pad ({lo}, {self.sizing.offset - lo})"
        if self.kind == "shift":
            return f"shift {-self.start}" if self.start <= 0 else f"crop {self.start}"
        if self.kind == "slice":
            return f"slice {self.start}::{self.scale}"
        if self.kind == "window":
            return f"window {self.stop + 1}"
        if self.kind in ("identity", "broadcast"):
            return self.kind if self.kind == "identity" else f"broadcast to {self.factor}"
        return f"{self.kind} x{self.factor}"


def resize_bounds(
    factor: Fraction,
    mode: str = "nearest",
    coordinate: str = "asymmetric",
    nearest: str = "floor",
    *,
    antialias: bool = False,
    n_in: int | None = None,
    n_out: int | None = None,
    fixed: bool = False,
) -> Resample:
    """The input interval each output of a resize reads (outer bounds), one rule for
    PyTorch's ``interpolate`` and ONNX's ``Resize``.

    ``factor`` is the scale the framework samples with (output pixels per input pixel:
    the requested ``scale_factor``, else ``n_out/n_in``); ``align_corners`` and
    ``half_pixel_symmetric`` need ``n_in`` and ``n_out``. ``fixed``: the output size was
    requested as a size, so it stays ``n_out`` at every input size; otherwise it is
    ``floor(n·factor)``. A single input pixel is a `Resample.broadcast`.

    PyTorch's modes in ONNX's terms: ``nearest`` = asymmetric + floor, ``nearest-exact`` =
    half_pixel + round_prefer_ceil, ``bilinear``/``bicubic`` = half_pixel (align_corners
    False) or align_corners, the ``_aa`` variants antialias.

    >>> resize_bounds(Fraction(2), "linear", "half_pixel")    # x = (i + 1/2)/2 − 1/2
    Resample(scale=Fraction(1, 2), start=Fraction(-1, 1), stop=Fraction(3, 4), kind='linear', factor=Fraction(2, 1), sizing=Sizing(factor=Fraction(2, 1), offset=0, fixed=None, follows=None))
    >>> resize_bounds(Fraction(1, 2), "nearest", "asymmetric").start   # x = 2i, exact
    Fraction(0, 1)
    """  # noqa: E501
    factor = Fraction(factor)
    if factor <= 0:
        raise InvalidWindowError(f"a resize factor must be positive, got {factor}")
    if mode not in MODES:
        raise InvalidWindowError(f"unknown resize mode {mode!r}; choose one of {', '.join(MODES)}")
    if coordinate not in COORDINATES:
        raise InvalidWindowError(
            f"unknown coordinate transformation {coordinate!r}; choose one of "
            f"{', '.join(COORDINATES)}"
        )
    if n_in == 1 and n_out is not None:
        return Resample.broadcast(n_out)
    sizing = Sizing(fixed=n_out) if fixed and n_out is not None else Sizing(factor)
    inverse = 1 / factor
    a, b = inverse, Fraction(0)
    if coordinate == "align_corners":
        if n_in is None or n_out is None:
            raise InvalidWindowError("align_corners needs the input and output sizes")
        a = Fraction(n_in - 1, n_out - 1) if n_out > 1 else inverse
    elif coordinate == "tf_half_pixel_for_nn":
        b = inverse / 2
    elif coordinate in ("half_pixel", "pytorch_half_pixel", "half_pixel_symmetric"):
        b = (inverse - 1) / 2
        if coordinate == "half_pixel_symmetric":
            if n_in is None or n_out is None:
                raise InvalidWindowError("half_pixel_symmetric needs the input and output sizes")
            b += Fraction(n_in, 2) * (1 - Fraction(n_out) / (n_in * factor))
    # x = a·i + b is a multiple of 1/D: floor(x) ≥ x − slack, ceil(x) ≤ x + slack
    slack = 1 - Fraction(1, lcm(a.denominator, b.denominator))
    if mode == "nearest":
        if nearest == "floor":
            start, stop = b - slack, b
        elif nearest == "ceil":
            start, stop = b, b + slack
        elif nearest in ("round_prefer_floor", "round_prefer_ceil"):
            start, stop = b - Fraction(1, 2), b + Fraction(1, 2)
        else:
            raise InvalidWindowError(
                f"unknown nearest mode {nearest!r}; choose one of {', '.join(NEAREST_MODES)}"
            )
        return Resample(a, start, stop, "nearest", factor, sizing)
    # linear reads floor(x) and floor(x) + 1, cubic floor(x) − 1 … floor(x) + 2
    taps = 1 if mode == "linear" else 2
    if antialias and factor < 1:  # the filter is stretched by 1/factor
        start, stop = b - taps * inverse - slack, b + taps * inverse
    else:
        start, stop = b - slack - (taps - 1), b + taps
    return Resample(a, start, stop, mode, factor, sizing)
