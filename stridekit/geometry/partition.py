"""What attention inside a partition reads: the positions the mixed dims hold.

A partition (`stridekit.geometry.layout`) keeps every position and only moves it: Swin's
and MaxViT's windows put the lowest places of each axis in the token dims and the window
index beside the batch; MaxViT's grid puts the highest places in the token dims. An op
that mixes the token dims (attention, a softmax, a product) lets each position read the
others that differ only in the places those dims hold: its window, or, for a grid, places
spread across the whole image.

>>> from stridekit.geometry.layout import permute, reshape, standard, transpose
>>> nhwc = permute(standard((1, 2, 16, 16), 2), (0, 2, 3, 1))
>>> grid = transpose(reshape(nhwc, (1, 4, 4, 4, 4, 2)).layout, (0, 2, 4, 1, 3, 5), 2)
>>> cells = reshape(grid.layout, (16, 4, 4, 2))       # MaxViT's grid of 4 × 4 cells
>>> mixed_windows(cells.layout, [1, 2], 2) is None     # attention over the grid: global
True
"""

from __future__ import annotations

from collections.abc import Iterable
from math import prod

from stridekit.geometry.layout import Layout, is_radix


def mixed_windows(
    layout: Layout | None, dims: Iterable[int], spatial: int
) -> tuple[int, ...] | None:
    """What an op that mixes the elements along ``dims`` (attention over tokens, a softmax,
    a product contracting them) lets one position read, per spatial axis: ``1`` where it
    mixes no digit of the axis, ``w`` where the digits it mixes are the lowest places of
    the axis (total ``w``: windows of ``w`` pixels, as Swin's), None when any axis is mixed
    otherwise (a dilated grid, blocks that are not the lowest places, the whole axis):
    then every position may read far away, a global field.

    >>> from stridekit.geometry.layout import permute, reshape, standard, transpose
    >>> x = permute(standard((1, 8, 14, 14), 2), (0, 2, 3, 1))   # (N, H, W, C)
    >>> windows = transpose(reshape(x, (1, 2, 7, 2, 7, 8)).layout, (0, 1, 3, 2, 4, 5), 2)
    >>> tokens = reshape(windows.layout, (4, 49, 8)).layout     # 4 windows of 7 × 7 tokens
    >>> mixed_windows(tokens, [1], 2), mixed_windows(tokens, [2], 2)
    ((7, 7), (1, 1))
    >>> mixed_windows(x, [1, 2], 2) is None                     # every position
    True
    """
    if layout is None:
        return None
    chosen = {d % len(layout) for d in dims} if layout else set()
    found = []
    for axis in range(spatial):
        digits = [g for dim in layout for g in dim if g.owner == axis and g.extent > 1]
        mixed = sorted(
            (g for d in chosen for g in layout[d] if g.owner == axis and g.extent > 1),
            key=lambda g: g.weight,
        )
        if not mixed:
            found.append(1)
            continue
        size, whole = prod(g.extent for g in mixed), prod(g.extent for g in digits)
        if size >= whole or not is_radix(mixed[::-1], 1):
            return None
        found.append(size)
    return tuple(found)
