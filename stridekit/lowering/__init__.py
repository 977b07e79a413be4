"""Canonical ops: the one lowering every frontend shares.

The torch, ONNX and spec frontends only translate their sources' arguments into calls of
these functions (as einops' backends do); what an op does to the spatial axes, its output
layout and its cost are decided here, once, and tested once against gradient oracles.
`OPS` lists them by name (the tests walk it); an op without a rule is `unknown`, treated
and listed the same way everywhere.

>>> sorted(OPS)[:4]
['adaptive_pool', 'along', 'attention', 'col2im']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stridekit.lowering import mixing, moves, pointwise, views, windows
from stridekit.lowering.core import Lowered, Meta, other, unknown

OPS: dict[str, Callable[..., Lowered]] = {
    "conv": windows.conv,
    "pool": windows.pool,
    "adaptive_pool": windows.adaptive_pool,
    "global_pool": windows.global_pool,
    "space_to_depth": windows.space_to_depth,
    "depth_to_space": windows.depth_to_space,
    "im2col": windows.im2col,
    "col2im": windows.col2im,
    "tensor_unfold": windows.tensor_unfold,
    "resize": moves.resize,
    "pad": moves.pad,
    "slice": moves.slice_,
    "reshape": views.reshape,
    "permute": views.permute,
    "unsqueeze": views.unsqueeze,
    "squeeze": views.squeeze,
    "expand": views.expand,
    "split": views.split,
    "select": views.select,
    "concat": views.concat,
    "reduce": mixing.reduce,
    "softmax": mixing.softmax,
    "matmul": mixing.matmul,
    "attention": mixing.attention,
    "along": mixing.along,
    "elementwise": pointwise.elementwise,
}


def lower(op: str, *args: Any, **kwargs: Any) -> Lowered:
    """Call the canonical op ``op``; an unknown name is `unknown` (global, listed).

    >>> x = Meta.standard((1, 3, 8, 8), spatial=2)
    >>> lower("elementwise", [x], (1, 3, 8, 8)).kind, lower("fft2", x).unhandled
    ('elementwise', True)
    """
    rule = OPS.get(op)
    return unknown(op) if rule is None else rule(*args, **kwargs)


__all__ = ["OPS", "Lowered", "Meta", "lower", "other", "unknown"]
