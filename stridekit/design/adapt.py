"""Fit images to a model: the nearest valid input for each image size, and its price.

The model's valid sizes come from `stridekit.design.model_sizes`; each image is fitted
by `adapt_size` (`stridekit.geometry.adapt`: pad, crop or resize, priced in pixels).
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
from stridekit.geometry import SizeSet
from stridekit.geometry.adapt import ACTIONS, Adaptation, adapt_size
from stridekit.render import Result, table

__all__ = ["ACTIONS", "Adaptation", "Adaptations", "adapt_images", "adapt_size"]


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
