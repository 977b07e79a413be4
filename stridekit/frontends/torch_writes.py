"""Writes into part of a tensor (``dst[...].copy_(src)``): where the written view sits in
its base, and what the write does to positions.

torchvision's detection transform batches its images so (``batch_images``)::

    batched = images[0].new_full((N, C, H', W'), 0)    # H', W' rounded up to 32
    batched[i, :c, :h, :w].copy_(image_i)

The canvas is a constant: the copy places the image at the top-left of a zero batch, a
pad of ``(0, H' − h)`` and ``(0, W' − w)`` (positions kept, stride unchanged), not an op
that mixes positions. `view_placement` reads where a view sits from its strides and
storage offset (a box of step-1 slices and selects of a contiguous base);
`placed_write` lowers the write as the unsqueeze and pad it is, or, when the canvas
already holds activations (the second image of a batch), as the concatenation of the
two along the dim the write selects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stridekit.geometry import layout as lay
from stridekit.lowering import Lowered, Meta, moves, views

if TYPE_CHECKING:
    import torch

__all__ = ["ViewPlacement", "placed_write", "view_placement"]


@dataclass(frozen=True)
class ViewPlacement:
    """A view as a box of its base: per view dim the base dim it runs along (in order),
    per base dim the first index the view holds (a base dim no view dim runs along is
    selected at that index)."""

    dims: tuple[int, ...]
    starts: tuple[int, ...]


def view_placement(view: torch.Tensor, base: torch.Tensor) -> ViewPlacement | None:
    """Where ``view`` sits in ``base``, or None unless it is a box of step-1 slices and
    selects of a contiguous base.

    >>> import torch
    >>> base = torch.zeros(2, 3, 8, 8, device="meta")
    >>> view_placement(base[1, :2, 1:5, :6], base)
    ViewPlacement(dims=(1, 2, 3), starts=(1, 0, 1, 0))
    >>> view_placement(base[..., ::2], base) is None       # every other column: no box
    True
    """
    if not base.is_contiguous():
        return None
    offset = int(view.storage_offset() - base.storage_offset())
    starts = []
    for size, stride in zip(base.shape, base.stride(), strict=True):
        start = int(offset // stride) if size > 1 else 0
        starts.append(start)
        offset -= start * stride
    if offset or any(s >= n for s, n in zip(starts, base.shape, strict=True)):
        return None
    dims, next_dim = [], 0
    for size, stride in zip(view.shape, view.stride(), strict=True):
        found = next(
            (
                d
                for d in range(next_dim, base.dim())
                if base.stride(d) == stride and starts[d] + size <= base.shape[d]
            ),
            None,
        )
        if found is None:
            return None
        dims.append(found)
        next_dim = found + 1
    return ViewPlacement(tuple(dims), tuple(starts))


def placed_write(
    src: Meta, base: tuple[int, ...], placement: ViewPlacement, onto: bool
) -> Lowered | None:
    """The write of ``src`` into the box ``placement`` of a tensor shaped ``base``: the
    unsqueeze (selected dims) and pad (the rest of the box) it is; with ``onto`` (the
    base already holds activations) the concatenation of the base and the placed image
    along a dim without positions that the write selects. None when no such lowering
    holds (then the write may mix positions).

    >>> x = Meta.standard((1, 3, 100, 128), 2)
    >>> image = views.select(x, (3, 100, 128), dim=0)
    >>> src = Meta((3, 100, 128), image.layout, 2)
    >>> padded = placed_write(src, (1, 3, 128, 128), ViewPlacement((1, 2, 3), (0,) * 4), False)
    >>> padded.kind, [axis.describe() for axis in padded.axes]
    ('pad', ['pad (0, 28)', 'identity'])
    """
    filled = [1] * len(base)
    for view_dim, base_dim in enumerate(placement.dims):
        filled[base_dim] = src.shape[view_dim]
    selected = [d for d in range(len(base)) if d not in placement.dims]
    placed = views.unsqueeze(src, tuple(filled), dims=selected)
    x = Meta(tuple(filled), placed.layout, src.spatial)
    if x.layout is None:
        return None
    pads = {
        d: (start, n - start - size)
        for d, (start, n, size) in enumerate(zip(placement.starts, base, filled, strict=True))
    }
    padded = moves.pad(x, base, pads=pads)
    if padded.kind not in ("pad", "elementwise") or not onto:
        return padded if padded.kind in ("pad", "elementwise") else None
    # onto a canvas of activations: only where the image keeps its place (every spatial
    # start 0) is the write one more slice of a concatenation along a selected dim
    layout = padded.layout
    if layout is None or any(
        lay.has_positions(layout[d]) and placement.starts[d] for d in range(len(base))
    ):
        return None
    along = next((d for d in selected if not lay.has_positions(layout[d])), None)
    if along is None:
        return None
    whole = Meta(tuple(base), layout, src.spatial)
    return views.concat([whole, whole], base, dim=along)
