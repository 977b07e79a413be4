"""The canonical op of position-wise arithmetic: activations, norms, channel ops, and
the merges of several activations (``add``, ``mul``).

>>> x = Meta.standard((1, 8, 7, 7), spatial=2)
>>> gate = Meta.standard((1, 8, 1, 1), spatial=2)
>>> elementwise([x], (1, 8, 7, 7)).kind, elementwise([x, gate], (1, 8, 7, 7), merge="mul").kind
('elementwise', 'mul')
"""

from __future__ import annotations

from collections.abc import Sequence

from stridekit.errors import (
    ChoiceError,
)
from stridekit.geometry import layout as lay
from stridekit.lowering.core import Lowered, Meta, Shape

MERGES = ("add", "mul")


def elementwise(inputs: Sequence[Meta], out: Shape, *, merge: str = "add") -> Lowered:
    """One activation: ``elementwise``; several: the merge ``merge`` (``add`` for sums,
    maxima and the like, ``mul`` for products, quotients and masks).

    The output layout is that of the input with the most positions that has the output's
    shape (broadcasting a gate ``(N, C, 1, 1)`` over a map keeps the map's layout)."""
    if merge not in MERGES:
        raise ChoiceError(f"unknown merge {merge!r}; choose one of {', '.join(MERGES)}")
    out = tuple(out)
    if not inputs:
        return Lowered("elementwise", None, None, out)
    ranked = sorted(inputs, key=lambda t: (t.shape == out, t.rank, lay.positional(t.layout)))
    best = ranked[-1]
    layout = best.layout
    for _ in range(len(out) - best.rank):
        layout = lay.insert(layout, 0)
    layout = lay.resize(layout, out)
    return Lowered(merge if len(inputs) > 1 else "elementwise", None, layout, out)
