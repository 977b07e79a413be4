"""Canonical ops that may mix positions: reductions, softmax, matrix products, attention,
and ops along a dim (roll, flip, cumulative sums).

An op over dims that hold no positions is position-wise (identity for fields); over
every position it is global: a reduction is ``global_pool``, a softmax or a product of two
activations ``attention``, a matrix product contracting positions ``linear``. A linear
layer on rows of pixels (ConvNeXt's ``(N·H·W, C)``) is a 1×1 convolution.

>>> x = Meta.standard((1, 8, 7, 7), spatial=2)
>>> reduce(x, (1, 8, 1, 1), dims=[2, 3], keepdim=True).kind
'global_pool'
>>> softmax(x, (1, 8, 7, 7), dims=[1]).kind, softmax(x, (1, 8, 7, 7), dims=[3]).kind
('elementwise', 'attention')
"""

from __future__ import annotations

from collections.abc import Sequence

from stridekit.geometry import Window
from stridekit.geometry import layout as lay
from stridekit.lowering.core import Lowered, Meta, Shape, dims_of, other, out_layout
from stridekit.lowering.cost import matmul_flops


def reduce(x: Meta, out: Shape, *, dims: Sequence[int] | None, keepdim: bool) -> Lowered:
    """A reduction (mean, sum, max, norm, argmax...) over ``dims`` (None: every dim)."""
    chosen = dims_of(dims, x.rank)
    layout = lay.collapse(x.layout, chosen) if keepdim else lay.remove(x.layout, chosen)
    layout = lay.resize(layout, out)
    if not x.mixes(chosen):
        return Lowered("elementwise", None, layout, tuple(out))
    if x.mixes([d for d in range(x.rank) if d not in chosen]):
        return other(reason="a reduction over some spatial axes only")
    return Lowered("global_pool", None, layout, tuple(out))


def softmax(x: Meta, out: Shape, *, dims: Sequence[int]) -> Lowered:
    """A softmax over positions is attention: every position weighs every other."""
    if x.mixes(dims_of(list(dims), x.rank)):
        return Lowered("attention", None, None, tuple(out))
    return Lowered("elementwise", None, out_layout(x, tuple(out)), tuple(out))


def attention(out: Shape) -> Lowered:
    """Fused attention (scaled dot product, multi-head): every token meets every other."""
    return Lowered("attention", None, None, tuple(out))


def matmul(
    left: Meta | None, right: Meta | None, out: Shape, *, shapes: tuple[Shape, Shape]
) -> Lowered:
    """``a @ b`` (``mm``, ``bmm``, ``linear``, ``MatMul``, ``Gemm``), broadcasting batch dims;
    ``left``/``right`` are None for weights. ``shapes``: both operands' shapes as
    multiplied (after any transposition), for the cost.

    Two activations meet: attention. One activation times weights is a linear layer,
    global when it contracts positions (or when its positions are unknown), a 1×1
    convolution when its rows are pixels."""
    flops = matmul_flops(shapes[0], out)
    out = tuple(out)
    if left is not None and right is not None:
        return Lowered("attention", None, None, out, flops)
    x = left if left is not None else right
    if x is None:
        return Lowered("elementwise", None, None, out, flops)
    contracted = x.rank - 1 if x is left else max(x.rank - 2, 0)
    if x.layout is None or x.mixes([contracted]) or not x.positional:
        return Lowered("linear", None, None, out, flops)
    layout: lay.Layout = (*x.layout[:contracted], (), *x.layout[contracted + 1 :])
    for _ in range(len(out) - x.rank):
        layout = ((), *layout)
    return Lowered("conv", (Window(1),) * x.spatial, lay.resize(layout, out), out, flops)


def along(x: Meta, out: Shape, *, dims: Sequence[int] | None, name: str) -> Lowered:
    """An op acting along ``dims`` (roll, flip, cumsum, glu): position-wise only when those
    dims hold no positions."""
    if x.mixes(dims_of(dims, x.rank)):
        return other(reason=f"{name} along a spatial axis")
    return Lowered("elementwise", None, out_layout(x, tuple(out)), tuple(out))
