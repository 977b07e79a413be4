"""Fit an image size to valid input sizes: the nearest valid sizes, and the cheapest way.

For every image axis the options are to pad up to the next valid size, crop down to the
previous one, or resize to the nearest; each is priced in pixels: padding adds pixels,
cropping loses them, and resizing resamples every pixel of the result (and changes the
aspect ratio), so it is priced at the whole target area. Only `SizeSet` arithmetic:
the planner (`stridekit.design.adapt_images`, ``stridekit adapt``) and the doctor's
``size-mismatch`` answer both build on it.

>>> valid = SizeSet(period=32, residues=(0,), minimum=32)
>>> around(valid, 250), around(valid, 256), around(valid, 10)
((224, 256), (256, 256), (None, 32))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from stridekit.errors import SizeError, UsageError
from stridekit.geometry.limits import check_size
from stridekit.geometry.solve import SizeSet
from stridekit.render import Result

ACTIONS = ("none", "pad", "crop", "resize")


def around(sizes: SizeSet, n: int) -> tuple[int | None, int | None]:
    """The members of ``sizes`` nearest ``n`` at or below it and at or above it (``n``
    twice when it is one; None on a side with none)."""
    if sizes.maximum is not None:
        members = sizes.between(sizes.minimum, sizes.maximum)
    else:  # every `period` consecutive sizes from the minimum on hold a member
        members = sizes.between(max(1, n - sizes.period), n + sizes.period + sizes.minimum)
    below = [m for m in members if m <= n]
    above = [m for m in members if m >= n]
    return (below[-1] if below else None), (above[0] if above else None)


@dataclass(frozen=True)
class Adaptation(Result):
    """How to bring one image size to a valid input size."""

    image: tuple[int, ...]
    target: tuple[int, ...]
    action: str  # "none", "pad", "crop" or "resize"
    pixels: int  # pixels added (pad), removed (crop) or resampled (resize: the whole target)

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": list(self.image),
            "target": list(self.target),
            "action": self.action,
            "pixels": self.pixels,
        }

    def cells(self) -> tuple[str, str, str, str]:
        return (
            "x".join(map(str, self.image)),
            self.action,
            "x".join(map(str, self.target)),
            f"{self.pixels:,}",
        )

    def __rich__(self) -> RenderableType:
        image, action, target, pixels = self.cells()
        return Text(f"{image}: {action} to {target} ({pixels} pixels)")


def _area(shape: tuple[int, ...]) -> int:
    area = 1
    for n in shape:
        area *= n
    return area


def adapt_size(image: tuple[int, ...], sizes: Sequence[SizeSet]) -> Adaptation:
    """The cheapest way (fewest pixels touched) to make ``image`` a valid input.

    >>> valid = SizeSet(period=32, residues=(0,), minimum=32)
    >>> adapt_size((480, 640), [valid, valid])
    Adaptation(image=(480, 640), target=(480, 640), action='none', pixels=0)
    >>> choice = adapt_size((375, 500), [valid, valid])   # +9,108 pixels beats −18,540
    >>> choice.action, choice.target
    ('pad', (384, 512))
    """
    if len(image) != len(sizes):
        raise UsageError(f"image {image} has {len(image)} axes, the model {len(sizes)}")
    for n in image:
        check_size(n, f"image {'x'.join(map(str, image))}: size")
    if all(n in s for n, s in zip(image, sizes, strict=True)):
        return Adaptation(image, image, "none", 0)
    area = _area(image)
    down, up = zip(*(around(s, n) for n, s in zip(image, sizes, strict=True)), strict=True)
    if None in up:
        n = image[up.index(None)]
        raise SizeError(f"no valid size at or above {n}: the model accepts none")
    target = tuple(m for m in up if m is not None)
    options = [Adaptation(image, target, "pad", _area(target) - area)]
    if None not in down:
        target = tuple(m for m in down if m is not None)
        options.append(Adaptation(image, target, "crop", area - _area(target)))
    nearest = [s.nearest(n) for n, s in zip(image, sizes, strict=True)]
    if None not in nearest:
        target = tuple(m for m in nearest if m is not None)
        options.append(Adaptation(image, target, "resize", _area(target)))
    return min(options, key=lambda o: (o.pixels, o.action != "pad"))
