"""The valid input sizes of a model, per spatial axis: ``stridekit sizes MODEL``'s answer.

A size is valid when no tensor drops a real pixel and every merge keeps its branches'
sizes equal (`stridekit.passes.model_valid_sizes`, one `SizeSet` per axis).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from stridekit.analysis import Analysis
from stridekit.geometry import SizeSet
from stridekit.geometry.solve import check_span
from stridekit.passes import model_valid_sizes
from stridekit.render import Result


@dataclass(frozen=True)
class ModelSizes(Result):
    """A model's valid input sizes on each spatial axis, listed over ``span``.

    >>> from torch import nn
    >>> from stridekit.analysis import analyze
    >>> conv = nn.Conv2d(3, 8, kernel_size=2, stride=2)
    >>> print(model_sizes(analyze(conv, (1, 3, 224, 224)), span=(1, 9)), end="")
    Conv2d: input sizes that drop no pixel and keep merges equal
    axis 0: 2k; in 1..9: 2, 4, 6, 8
    axis 1: 2k; in 1..9: 2, 4, 6, 8
    """

    model: str
    axes: tuple[SizeSet, ...]
    span: tuple[int, int] = (1, 1024)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "range": list(self.span),
            "axes": [
                {"axis": axis, **sizes.to_dict(), "sizes": sizes.between(*self.span)}
                for axis, sizes in enumerate(self.axes)
            ],
        }

    def __rich__(self) -> RenderableType:
        start, stop = self.span
        lines = [f"{self.model}: input sizes that drop no pixel and keep merges equal"]
        for axis, sizes in enumerate(self.axes):
            members = sizes.between(start, stop)
            shown = ", ".join(map(str, members[:16])) + (", ..." if len(members) > 16 else "")
            lines.append(f"axis {axis}: {sizes.closed_form()}; in {start}..{stop}: {shown}")
        return Text("\n".join(lines))


def model_sizes(analysis: Analysis, span: tuple[int, int] = (1, 1024)) -> ModelSizes:
    """The valid input sizes of the analysed model on each of its spatial axes."""
    axes = range(len(analysis.input_shape) - 2)
    sets = tuple(model_valid_sizes(analysis.graph, axis) for axis in axes)
    return ModelSizes(analysis.model, sets, check_span(span))
