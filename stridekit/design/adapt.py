"""Fit images to a model: the nearest valid input for each image size, and its price.

For every image axis the options are to pad up to the next valid size, crop down to the
previous one, or resize to the nearest; each is priced in pixels: padding adds pixels,
cropping loses them, and resizing resamples every pixel of the result (and changes the
aspect ratio), so it is priced at the whole target area.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stridekit.errors import StrideError
from stridekit.geometry import SizeSet


@dataclass(frozen=True)
class Adaptation:
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


def _area(shape: tuple[int, ...]) -> int:
    area = 1
    for n in shape:
        area *= n
    return area


def _above(sizes: SizeSet, n: int) -> int:
    members = sizes.between(n, n + sizes.period + sizes.minimum)
    if not members:
        raise StrideError(f"no valid size at or above {n}")
    return members[0]


def _below(sizes: SizeSet, n: int) -> int | None:
    members = sizes.between(max(1, n - sizes.period), n)
    return members[-1] if members else None


def adapt_size(image: tuple[int, ...], sizes: list[SizeSet]) -> Adaptation:
    """The cheapest way (fewest pixels touched) to make ``image`` a valid input.

    >>> valid = SizeSet(period=32, residues=(0,), minimum=32)
    >>> adapt_size((480, 640), [valid, valid])
    Adaptation(image=(480, 640), target=(480, 640), action='none', pixels=0)
    >>> choice = adapt_size((375, 500), [valid, valid])   # +9,108 pixels beats −18,540
    >>> choice.action, choice.target
    ('pad', (384, 512))
    """
    if len(image) != len(sizes):
        raise StrideError(f"image {image} has {len(image)} axes, the model {len(sizes)}")
    if all(n in s for n, s in zip(image, sizes, strict=True)):
        return Adaptation(image, image, "none", 0)
    area = _area(image)
    up = tuple(_above(s, n) for n, s in zip(image, sizes, strict=True))
    options = [Adaptation(image, up, "pad", _area(up) - area)]
    down = [_below(s, n) for n, s in zip(image, sizes, strict=True)]
    if all(d is not None for d in down):
        target = tuple(d for d in down if d is not None)
        options.append(Adaptation(image, target, "crop", area - _area(target)))
    nearest = tuple(s.nearest(n) or n for n, s in zip(image, sizes, strict=True))
    options.append(Adaptation(image, nearest, "resize", _area(nearest)))
    return min(options, key=lambda o: (o.pixels, o.action != "pad"))
