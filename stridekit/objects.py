"""Object sizes for detection, and the criterion that says which pyramid level serves one.

Object sizes are given in pixels of the model's input, as a range ``8:256`` (its sizes
one octave apart: 8, 16, 32, 64, 128, 256; the end is always included), a list
``8,16,32,128``, or several of those together. Objects are taken as squares of that side.

**The criterion.** A level of stride ``S`` has a grid position every ``S`` pixels; an
object of side ``w`` contains at least ``⌊w/S⌋`` of its positions per axis, wherever it
lies. Detectors that label the positions inside a box as its positives (FCOS, Tian et
al. 2019, §3.1: "a location is a positive sample if it falls into any ground-truth box";
YOLOv8's task-aligned assigner picks its candidates the same way; CenterNet's peaks) can
therefore always label an object with ``w/S >= 1`` *cells*, and may miss one with fewer:
below one cell an object is **lost** at some offsets. A level **serves** an object when
the object spans at least ``MIN_CELLS = 2`` of its cells per axis (at least 2×2 positives
at any offset) and lies within the level's receptive field. Each object goes to the
coarsest level that serves it, as in FPN, where one level is assigned per octave of
object size (Lin et al. 2017, "Feature Pyramid Networks for Object Detection", eq. 1:
``k = ⌊k0 + log2(√(wh)/224)⌋``); here the canonical object spans ``MIN_CELLS`` cells,
so the stride serving an object of side ``w`` is the power of two ``2^⌊log2(w/2)⌋``.
Anchor-based heads place their smallest anchors at a few cells too (YOLOv3's at stride 8
are 10–33 px, 1.3–4 cells; RetinaNet's are 4 strides wide).

>>> objects = parse_objects("8:256")
>>> objects.sizes
(8, 16, 32, 64, 128, 256)
>>> [serving_stride(w) for w in objects.sizes]      # 2^⌊log2(w/2)⌋: w/S in [2, 4)
[4, 8, 16, 32, 64, 128]
>>> cells(8, 8), cells(8, 4)                         # an 8-px object at strides 8 and 4
(Fraction(1, 1), Fraction(2, 1))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from stridekit.errors import UsageError
from stridekit.geometry.limits import MAX_SIZE

MIN_CELLS = 2  # cells per axis an object must span on the level that serves it

__all__ = [
    "MIN_CELLS",
    "ObjectSizes",
    "cells",
    "level_name",
    "parse_objects",
    "serving_stride",
]


@dataclass(frozen=True)
class ObjectSizes:
    """Object sides in input pixels, ascending, and how the user wrote them."""

    sizes: tuple[int, ...]
    text: str

    def to_dict(self) -> dict[str, object]:
        return {"sizes": list(self.sizes), "given": self.text}


def cells(size: int | Fraction, stride: Fraction | int) -> Fraction:
    """How many cells of a grid of ``stride`` an object of side ``size`` spans per axis.

    >>> cells(16, Fraction(64, 25))    # 16 px at stride 2.56: 6.25 cells
    Fraction(25, 4)
    """
    return Fraction(size) / Fraction(stride)


def serving_stride(size: int, min_cells: int = MIN_CELLS) -> int:
    """The coarsest power-of-two stride on which ``size`` spans ``min_cells`` cells (1 at
    least: an object under ``min_cells`` pixels spans fewer cells even at stride 1).

    >>> serving_stride(8), serving_stride(12), serving_stride(3)
    (4, 4, 1)
    """
    stride = 1
    while size >= 2 * stride * min_cells:
        stride *= 2
    return stride


def level_name(stride: Fraction | int) -> str:
    """``P3`` for stride 8 (the pyramid's usual name: stride ``2^k`` is level ``Pk``),
    ``stride 12`` when the stride is no power of two.

    >>> level_name(8), level_name(Fraction(4)), level_name(12), level_name(Fraction(64, 25))
    ('P3', 'P2', 'stride 12', 'stride 64/25')
    """
    value = Fraction(stride)
    if value.denominator == 1 and value.numerator >= 1:
        n = value.numerator
        if n & (n - 1) == 0:
            return f"P{n.bit_length() - 1}"
    return f"stride {value}"


def _octaves(low: int, high: int) -> list[int]:
    sizes = []
    size = low
    while size < high:
        sizes.append(size)
        size *= 2
    return [*sizes, high]


def _size(text: str, spec: str, what: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise UsageError(
            f"{what} {spec!r}: expected object sizes in pixels, a range like 8:256 or a "
            "list like 8,16,32"
        ) from None
    if not 1 <= value <= MAX_SIZE:
        raise UsageError(
            f"{what} {spec!r}: object sizes are pixels in 1..{MAX_SIZE:,}, got {value}"
        )
    return value


def _parse_one(spec: str, what: str) -> list[int]:
    sizes: list[int] = []
    for part in spec.split(","):
        if ":" in part:
            low_text, _, high_text = part.partition(":")
            if not low_text.strip() or not high_text.strip() or ":" in high_text:
                raise UsageError(
                    f"{what} {spec!r}: a range needs both ends, e.g. 8:256 (smallest:largest)"
                )
            low, high = _size(low_text, spec, what), _size(high_text, spec, what)
            if low > high:
                raise UsageError(
                    f"{what} {spec!r}: the range starts above its end; write it "
                    f"smallest:largest, {high}:{low}"
                )
            sizes += _octaves(low, high)
        else:
            sizes.append(_size(part, spec, what))
    return sizes


def parse_objects(
    objects: str | int | Iterable[str | int] | ObjectSizes, what: str = "--objects"
) -> ObjectSizes:
    """Object sizes from ``"8:256"``, ``"8,16,32"``, an int, or several of those (a repeated
    ``--objects``); ``what`` names the option in messages. Malformed or empty: a
    `UsageError` that says how to write them.

    >>> parse_objects(["10:100", "12"]).sizes      # 10, 20, 40, 80 and the end, 100
    (10, 12, 20, 40, 80, 100)
    >>> parse_objects("256:8")
    Traceback (most recent call last):
    ...
    stridekit.errors.UsageError: --objects '256:8': the range starts above its end; write it smallest:largest, 8:256
    """  # noqa: E501
    if isinstance(objects, ObjectSizes):
        return objects
    specs = [objects] if isinstance(objects, str | int) else list(objects)
    if not specs or not "".join(str(s) for s in specs).strip():
        raise UsageError(f"{what}: no object sizes; give a range like 8:256 or a list like 8,16,32")
    sizes: list[int] = []
    for spec in specs:
        if isinstance(spec, bool) or not isinstance(spec, str | int):
            raise UsageError(f"{what}: expected pixel sizes like 8:256 or 8,16,32, got {spec!r}")
        sizes += _parse_one(str(spec), what)
    return ObjectSizes(tuple(sorted(set(sizes))), ",".join(str(s) for s in specs))
