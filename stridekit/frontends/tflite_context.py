"""What a TFLite translation sees and answers: `OpContext` (one operator, its tensors'
shapes in TFLite's order, layouts and constant values) and `Translated` (a lowered op and
its outputs' shapes), and the channels-last ↔ channels-first orders.

TFLite keeps activations channels-last (NHWC); the layouts say where the spatial axes
are, so most ops are lowered in TFLite's own order, and the ops that slide over the
trailing dims see the tensor channels-first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from stridekit.errors import ModelError
from stridekit.frontends.op_inputs import OpInputs
from stridekit.frontends.tflite_model import OperatorInfo
from stridekit.geometry.layout import Layout
from stridekit.lowering import Lowered, Meta

Shape = tuple[int, ...]


def channels_first(rank: int) -> tuple[int, ...]:
    """The order that shows an ``(N, *spatial, C)`` tensor as ``(N, C, *spatial)``.

    >>> channels_first(4), channels_last(4)
    ((0, 3, 1, 2), (0, 2, 3, 1))
    """
    return (0, rank - 1, *range(1, rank - 1))


def channels_last(rank: int) -> tuple[int, ...]:
    return (0, *range(2, rank), 1)


def permuted(items: Sequence[Any], order: Sequence[int]) -> tuple[Any, ...]:
    return tuple(items[o] for o in order)


@dataclass(frozen=True)
class Translated:
    """A lowered op (its layout in TFLite's order) and the shapes of its outputs."""

    lowered: Lowered
    outputs: tuple[Shape, ...]


@dataclass
class OpContext(OpInputs):
    """What a translation may look at: one operator and the facts about its tensors."""

    op: OperatorInfo
    shapes: tuple[Shape | None, ...]  # per input, TFLite's order (None: left out)
    active: tuple[bool, ...]  # which inputs carry activations
    layouts: tuple[Layout | None, ...]
    spatial: int
    values: tuple[np.ndarray | None, ...]  # constant inputs' values, when known
    recorded: tuple[Shape, ...] | None  # the file's output shapes, when they hold

    def opt(self, name: str, default: Any = None) -> Any:
        return self.op.option(name, default)

    def shape(self, position: int) -> Shape:
        shape = self.shapes[position] if position < len(self.shapes) else None
        if shape is None:
            raise ModelError(f"input {position} is missing")
        return shape

    def channels_first(self, position: int | None = None) -> Meta:
        x = self.meta(position)
        order = channels_first(x.rank)
        layout = None if x.layout is None else permuted(x.layout, order)
        return Meta(permuted(x.shape, order), layout, x.spatial)

    def ints(self, position: int) -> list[int] | None:
        if position >= len(self.values) or self.values[position] is None:
            return None
        return [int(v) for v in np.asarray(self.values[position]).ravel()]

    def recorded_shapes(self, reason: str) -> tuple[Shape, ...]:
        """The file's output shapes, when they hold at this input size."""
        if self.recorded is None:
            raise ModelError(
                f"{reason}: its output shape at this input size is unknown; analyse the model "
                "at the input size it was converted for"
            )
        return self.recorded


Translation = Callable[[OpContext], Translated]


def one(lowered: Lowered, shape: Sequence[int]) -> Translated:
    return Translated(lowered, (tuple(int(s) for s in shape),))


def noted(lowered: Lowered, **notes: object) -> Lowered:
    return replace(lowered, notes={**lowered.notes, **notes})


def broadcast(shapes: Sequence[Shape | None]) -> Shape:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*[s for s in shapes if s is not None]))
    except ValueError:
        raise ModelError(f"shapes {[s for s in shapes if s]} do not broadcast") from None
