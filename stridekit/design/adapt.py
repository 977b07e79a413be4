"""Fit images to a model: the nearest valid input for each image size, and its price.

For every image axis the options are to pad up to the next valid size, crop down to the
previous one, or resize to the nearest; each is priced in pixels: padding adds pixels,
cropping loses them, and resizing resamples every pixel of the result (and changes the
aspect ratio), so it is priced at the whole target area.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from stridekit.analysis import Analysis
from stridekit.design.sizes import model_sizes
from stridekit.errors import SizeError, UsageError
from stridekit.geometry import SizeSet
from stridekit.geometry.limits import check_size
from stridekit.render import Result, table

ACTIONS = ("none", "pad", "crop", "resize")


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


def _above(sizes: SizeSet, n: int) -> int:
    members = sizes.between(n, n + sizes.period + sizes.minimum)
    if not members:
        raise SizeError(f"no valid size at or above {n}: the model accepts none")
    return members[0]


def _below(sizes: SizeSet, n: int) -> int | None:
    members = sizes.between(max(1, n - sizes.period), n)
    return members[-1] if members else None


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
    up = tuple(_above(s, n) for n, s in zip(image, sizes, strict=True))
    options = [Adaptation(image, up, "pad", _area(up) - area)]
    down = [_below(s, n) for n, s in zip(image, sizes, strict=True)]
    if all(d is not None for d in down):
        target = tuple(d for d in down if d is not None)
        options.append(Adaptation(image, target, "crop", area - _area(target)))
    nearest = [s.nearest(n) for n, s in zip(image, sizes, strict=True)]
    if all(m is not None for m in nearest):
        target = tuple(m for m in nearest if m is not None)
        options.append(Adaptation(image, target, "resize", _area(target)))
    return min(options, key=lambda o: (o.pixels, o.action != "pad"))


@dataclass(frozen=True)
class Adaptations(Result):
    """A set of images fitted to a model: each image's `Adaptation` and the totals."""

    model: str
    valid: tuple[SizeSet, ...]  # the model's valid sizes per axis
    images: tuple[Adaptation, ...]

    def summary(self) -> dict[str, int]:
        """How many images take each action, most common first."""
        return dict(Counter(a.action for a in self.images).most_common())

    @property
    def pixels(self) -> int:
        return sum(a.pixels for a in self.images)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "valid_sizes": [v.closed_form() for v in self.valid],
            "images": [a.to_dict() for a in self.images],
            "summary": dict(Counter(a.action for a in self.images)),
            "pixels": self.pixels,
        }

    def __rich__(self) -> RenderableType:
        forms = " | ".join(v.closed_form() for v in self.valid)
        images = table(
            f"{self.model}: valid input sizes per axis: {forms}",
            ("image", "action", "input", "pixels"),
            (a.cells() for a in self.images),
        )
        summary = ", ".join(f"{n} {action}" for action, n in self.summary().items())
        return Group(
            images,
            Text(f"{len(self.images)} images: {summary}; {self.pixels:,} pixels touched in all"),
        )


def adapt_images(analysis: Analysis, images: Sequence[tuple[int, ...]]) -> Adaptations:
    """The cheapest valid input for each image size (height, width, ...) of the model."""
    valid = model_sizes(analysis).axes
    return Adaptations(
        analysis.model, valid, tuple(adapt_size(tuple(image), valid) for image in images)
    )
