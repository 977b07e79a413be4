"""Where the spatial axes of a tensor live, through views, transposes and reductions.

A model's input is ``(N, C, *spatial)``, but its activations do not stay that way:
ConvNeXt permutes to ``(N, H, W, C)`` and runs its linear layers on ``(N·H·W, C)`` rows,
ViT flattens ``(N, D, h, w)`` to ``(N, D, h·w)`` tokens, exporters write space-to-depth as
Reshape → Transpose → Reshape. A `Layout` says, for each dim of a tensor, which *digits*
it holds, most significant first: a digit belongs to a spatial axis (``owner ≥ 0``), to
the batch (`BATCH`) or to anything else (`CHANNEL`), has an ``extent`` and, for a spatial
digit, a ``weight``: its place value in that axis' coordinate. One model for every
frontend; pure Python.

A reshape regroups the digits (splitting one where a new dim boundary falls inside it),
a transpose permutes the dims, and `reshape` then reads each spatial axis:

- its digits alone in one dim: the axis is *intact*;
- intact inside a dim it shares with the batch or other intact axes (``N·H·W`` rows,
  ``h·w`` tokens): positions are kept (a linear layer on such rows is a 1×1 conv);
- its high digits alone in one dim, the low ones (total ``F``) moved into channel dims:
  space-to-depth, output ``i`` covers ``[i·F, i·F + F − 1]``: ``Window(F, F)``;
- its digits followed by channel digits (total ``R``) in one dim: depth-to-space,
  output ``i`` reads ``floor(i/R)``: ``Resample.nearest(R)``;
- cut into pieces that sit in dims of their own or beside the batch and other axes,
  never beside channels: a *partition* (Swin's and MaxViT's windows, MaxViT's dilated
  grid, BAT's and HaloNet's blocks, MobileViT's patches, half-way through a
  space-to-depth): every position is kept, only moved, so it is identity for fields; an
  op that mixes some of those dims reads the positions they hold
  (`stridekit.geometry.partition.mixed_windows`), and
  the inverse rearrangement fuses the pieces back into the intact axis;
- pieces that lead a dim beside channels, not a space-to-depth (the window index before
  the heads in a batched product's batch dim), or the lowest places beside channels
  while the others sit in dims without (a patch's pixels among its features: a patch
  embedding written as views): a partition too, since every op that mixes a dim checks
  which positions it holds;
- anything else (the whole axis merged with channels in one dim, pieces after
  channels): the positions are destroyed, a flatten (before a classifier).

>>> x = standard((1, 2, 16, 16), spatial=2)
>>> step = reshape(x, (1, 2, 8, 2, 8, 2))       # x.view(N, C, H/2, 2, W/2, 2)
>>> step.kind
'partition'
>>> nhwc = permute(x, (0, 2, 3, 1))               # MaxViT's grid of 4 × 4 cells
>>> grid = transpose(reshape(nhwc, (1, 4, 4, 4, 4, 2)).layout, (0, 2, 4, 1, 3, 5), 2)
>>> cells = reshape(grid.layout, (16, 4, 4, 2))
>>> cells.kind
'partition'
>>> back = reshape(cells.layout, (1, 4, 4, 4, 4, 2))
>>> restored = reshape(transpose(back.layout, (0, 3, 1, 4, 2, 5), 2).layout, (1, 16, 16, 2))
>>> restored.kind, axis_dims(restored.layout, 2)         # the inverse: intact again
('view', (1, 2))
>>> done = reshape(permute(step.layout, (0, 1, 3, 5, 2, 4)), (1, 8, 8, 8))
>>> done.kind, [m.describe() for m in done.maps]
('pixel_unshuffle', ['k=2 s=2 p=(0,0)', 'k=2 s=2 p=(0,0)'])
>>> rows = reshape(permute(standard((2, 8, 7, 7), 2), (0, 2, 3, 1)), (98, 8))
>>> rows.kind, positional(rows.layout)                  # ConvNeXt's rows of pixels
('view', True)
>>> reshape(standard((2, 8, 7, 7), 2), (2, 392)).kind     # before a classifier
'flatten'
>>> patches = transpose(reshape(x, (1, 2, 4, 4, 4, 4)).layout, (0, 2, 4, 1, 3, 5), 2)
>>> reshape(patches.layout, (1, 16, 32)).kind              # (N, tokens, C·4·4)
'partition'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from math import prod
from typing import NamedTuple

from stridekit.geometry.resample import Resample
from stridekit.geometry.window import Window

BATCH = -1
CHANNEL = -2


class Digit(NamedTuple):
    owner: int  # a spatial axis of the model input, BATCH or CHANNEL
    extent: int
    weight: int = 0  # place value in the owner's coordinate (spatial digits only)


Dim = tuple[Digit, ...]
Layout = tuple[Dim, ...]
AxisMap = Window | Resample


def _dim(digits: Iterable[Digit]) -> Dim:
    """Drop size-1 digits that carry no position (a batch of one, a single channel)."""
    return tuple(d for d in digits if d.extent != 1 or d.owner >= 0)


def standard(shape: Sequence[int], spatial: int) -> Layout | None:
    """The layout of an ``(N, C, *spatial)`` tensor, or None for another rank.

    >>> standard((1, 3, 32, 24), spatial=2)  # doctest: +NORMALIZE_WHITESPACE
    ((), (Digit(owner=-2, extent=3, weight=0),), (Digit(owner=0, extent=32, weight=1),),
     (Digit(owner=1, extent=24, weight=1),))
    """
    if len(shape) != spatial + 2:
        return None
    batch, channels, *sizes = shape
    return (
        _dim([Digit(BATCH, batch)]),
        _dim([Digit(CHANNEL, channels)]),
        *((Digit(axis, size, 1),) for axis, size in enumerate(sizes)),
    )


def has_positions(dim: Dim) -> bool:
    """True when the dim holds a spatial axis longer than one pixel."""
    return any(d.owner >= 0 and d.extent > 1 for d in dim)


def positional(layout: Layout | None) -> bool:
    """True when some dim holds positions (the tensor is still a map of pixels).

    >>> positional(standard((1, 8, 7, 7), 2)), positional(standard((1, 8, 1, 1), 2))
    (True, False)
    """
    return layout is not None and any(has_positions(dim) for dim in layout)


def axis_of(dim: Dim) -> int | None:
    """The spatial axis a dim holds alone and whole (one digit of weight 1), or None."""
    if len(dim) == 1 and dim[0].owner >= 0 and dim[0].weight == 1:
        return dim[0].owner
    return None


def axis_dims(layout: Layout | None, spatial: int) -> tuple[int, ...] | None:
    """The dim of each spatial axis when every axis is intact and alone in its dim.

    >>> axis_dims(standard((1, 3, 4, 5), 2), 2)
    (2, 3)
    >>> axis_dims(reshape(standard((1, 3, 4, 5), 2), (1, 3, 20)).layout, 2) is None
    True
    """
    if layout is None:
        return None
    found: dict[int, int] = {}
    for d, dim in enumerate(layout):
        for digit in dim:
            if digit.owner < 0:
                continue
            if axis_of(dim) != digit.owner or digit.owner in found:
                return None
            found[digit.owner] = d
    if sorted(found) != list(range(spatial)):
        return None
    return tuple(found[a] for a in range(spatial))


def axis_sizes(layout: Layout | None, spatial: int) -> tuple[int, ...] | None:
    """The size of each spatial axis (the product of its digits' extents), wherever the
    layout holds it; None when some axis is gone or the layout is unknown.

    >>> axis_sizes(permute(standard((1, 8, 5, 6), 2), (0, 2, 3, 1)), 2)
    (5, 6)
    """
    if layout is None:
        return None
    sizes = [0] * spatial
    for digit in (g for dim in layout for g in dim):
        if 0 <= digit.owner < spatial:
            sizes[digit.owner] = (sizes[digit.owner] or 1) * digit.extent
    return tuple(sizes) if all(sizes) else None


def resize(layout: Layout | None, shape: Sequence[int]) -> Layout | None:
    """The same structure with new sizes (channels changed, an axis strided...).

    A dim that holds one digit takes the new size; a merged dim without positions
    becomes one channel digit; a merged dim with positions that changed size loses the
    layout.

    >>> [len(dim) for dim in resize(standard((1, 3, 32, 32), 2), (1, 8, 16, 16))]
    [0, 1, 1, 1]
    """
    if layout is None or len(layout) != len(shape):
        return None
    dims = []
    for dim, size in zip(layout, shape, strict=True):
        if prod(d.extent for d in dim) == size:
            dims.append(dim)
        elif len(dim) == 1:
            dims.append(_dim([dim[0]._replace(extent=size)]))
        elif not has_positions(dim):
            dims.append(_dim([Digit(CHANNEL, size)]))
        else:
            return None
    return tuple(dims)


def permute(layout: Layout | None, order: Sequence[int]) -> Layout | None:
    """Reorder dims: ``permute(x, (0, 2, 3, 1))`` is NCHW → NHWC."""
    if layout is None:
        return None
    return tuple(layout[d % len(layout)] for d in order)


def insert(layout: Layout | None, dim: int) -> Layout | None:
    """A new size-1 dim at ``dim`` (unsqueeze, stack)."""
    if layout is None:
        return None
    dim = dim % (len(layout) + 1)
    return (*layout[:dim], (), *layout[dim:])


def remove(layout: Layout | None, dims: Iterable[int]) -> Layout | None:
    """Drop dims (squeeze, select, reductions without keepdim)."""
    if layout is None:
        return None
    gone = {d % len(layout) for d in dims} if layout else set()
    return tuple(dim for i, dim in enumerate(layout) if i not in gone)


def collapse(layout: Layout | None, dims: Iterable[int]) -> Layout | None:
    """Reduce dims to size 1, keeping a lone spatial axis as a 1-pixel axis (keepdim)."""
    if layout is None:
        return None
    gone = {d % len(layout) for d in dims}
    out = []
    for i, dim in enumerate(layout):
        axis = axis_of(dim)
        if i not in gone:
            out.append(dim)
        else:
            out.append((Digit(axis, 1, 1),) if axis is not None else ())
    return tuple(out)


# --- reshape: regroup the digits, then read every spatial axis ------------------------


def _fused(layout: Layout) -> list[Digit]:
    """All digits in memory order; neighbours that form one number fuse: batch and
    channel runs (channel wins), and consecutive places of one spatial axis."""
    digits: list[Digit] = []
    for digit in (d for dim in layout for d in dim):
        if digit.extent == 1:
            if digit.owner >= 0:
                digits.append(digit)  # a 1-pixel axis: kept where a size-1 dim takes it
            continue
        last = digits[-1] if digits else None
        if last is not None and digit.owner < 0 and last.owner < 0:
            owner = CHANNEL if CHANNEL in (digit.owner, last.owner) else BATCH
            digits[-1] = Digit(owner, last.extent * digit.extent)
        elif (
            last is not None
            and digit.owner >= 0
            and last.extent > 1
            and last.owner == digit.owner
            and last.weight == digit.weight * digit.extent
        ):
            digits[-1] = Digit(digit.owner, last.extent * digit.extent, digit.weight)
        else:
            digits.append(digit)
    return digits


def _regroup(layout: Layout, shape: Sequence[int]) -> Layout | None:
    """The digits cut into dims of ``shape`` (row-major), or None if they cannot be."""
    queue = _fused(layout)
    dims: list[Dim] = []
    for size in shape:
        if size == 1:
            dims.append((queue.pop(0),) if queue and queue[0].extent == 1 else ())
            continue
        dim: list[Digit] = []
        need = size
        while need > 1:
            if not queue:
                return None
            digit = queue.pop(0)
            if digit.extent == 1:
                continue
            if need % digit.extent == 0:
                dim.append(digit)
                need //= digit.extent
            elif digit.extent % need == 0:  # the boundary falls inside: split the digit
                low = digit.extent // need
                dim.append(Digit(digit.owner, need, digit.weight * low))
                queue.insert(0, Digit(digit.owner, low, digit.weight))
                need = 1
            else:
                return None
        dims.append(tuple(dim))
    return None if any(d.extent > 1 for d in queue) else tuple(dims)


def is_radix(digits: Sequence[Digit], base: int) -> bool:
    """True when ``digits`` (in order) are a mixed-radix number whose last place is ``base``."""
    place = base
    for digit in reversed(digits):
        if digit.weight != place:
            return False
        place *= digit.extent
    return True


@dataclass(frozen=True)
class Reshaped:
    """How a reshape or transpose left the spatial axes.

    ``kind``: ``view`` (positions kept), ``partition`` (positions kept, rearranged),
    ``pixel_unshuffle`` / ``pixel_shuffle`` (with one map per spatial axis), ``flatten``
    (positions destroyed: ``layout`` is None).
    """

    kind: str
    layout: Layout | None
    maps: tuple[AxisMap, ...] | None = None


def _whole(dim: Dim, axis: int, size: int) -> Dim:
    """``dim`` with the digits of ``axis`` replaced by one digit of the whole axis."""
    out: list[Digit] = []
    for digit in dim:
        if digit.owner != axis:
            out.append(digit)
        elif not out or out[-1].owner != axis:
            out.append(Digit(axis, size, 1))
    return tuple(out)


def _with_channels(dim: Dim) -> bool:
    return any(g.owner == CHANNEL for g in dim)


def _settle_axis(layout: Layout, axis: int) -> tuple[str, AxisMap | None, Layout]:
    """One axis: (status, map, layout with the axis renumbered where it settled)."""
    places = [(d, i) for d, dim in enumerate(layout) for i, g in enumerate(dim) if g.owner == axis]
    if not places:
        return "gone", None, layout
    own = sorted({d for d, _ in places})
    # no digit of the axis beside channels: its positions are only rearranged (a partition)
    partition = not any(_with_channels(layout[d]) for d in own)
    if len(own) == 1:
        d = own[0]
        dim = layout[d]
        first, last = places[0][1], places[-1][1]
        mine = dim[first : last + 1]
        if any(g.owner != axis for g in mine) or not is_radix(mine, 1):
            return ("partitioned" if partition else "destroyed"), None, layout
        before, after = dim[:first], dim[last + 1 :]
        size = prod(g.extent for g in mine)
        if not before and after and all(g.owner == CHANNEL for g in after):
            factor = prod(g.extent for g in after)  # depth-to-space: i reads floor(i/R)
            whole = ((Digit(axis, size * factor, 1),), *layout[d + 1 :])
            return "unfolded", Resample.nearest(factor), (*layout[:d], *whole)
        if any(g.owner == CHANNEL for g in (*before, *after)):
            # after another axis' piece that leads the dim (the patch index of a
            # partition), the dim is an outer index, like the batch
            led = before and before[0].owner >= 0 and before[0].owner != axis
            outer_index = led and not any(g.owner == CHANNEL for g in before)
            return ("partitioned" if outer_index else "destroyed"), None, layout
        return "intact", None, (*layout[:d], _whole(dim, axis, size), *layout[d + 1 :])
    if partition:
        return "partitioned", None, layout
    pure = [d for d in own if all(g.owner == axis for g in layout[d])]
    if len(pure) > 1:  # half-way through a space-to-depth written as views
        return "partitioned", None, layout
    # pieces that lead a dim beside channels are an outer index, like a batch (a batched
    # product's (windows · heads)); pieces after channels are folded into them
    outer = all(dim[0].owner >= 0 for dim in (layout[d] for d in own) if _with_channels(dim))
    # the lowest places beside channels, the others in dims without: a patch's pixels
    # unfolded into its features (a patch embedding written as views), positions kept
    low = sorted((g for d, i in places for g in [layout[d][i]] if _with_channels(layout[d])),
                 key=lambda g: -g.weight)  # fmt: skip
    outer = outer or (is_radix(low, 1) and any(not _with_channels(layout[d]) for d in own))
    if len(pure) != 1:
        return ("partitioned" if outer else "destroyed"), None, layout
    kept = layout[pure[0]]
    folded = sorted((layout[d][i] for d, i in places if d != pure[0]), key=lambda g: -g.weight)
    fold = prod(g.extent for g in folded)
    # space-to-depth: the low places moved into channel dims, the high ones alone in a dim
    beside_channels = all(_with_channels(layout[d]) for d in own if d != pure[0])
    if not (beside_channels and is_radix(kept, fold) and is_radix(folded, 1)):
        return ("partitioned" if outer else "destroyed"), None, layout
    renamed = tuple(
        tuple(Digit(CHANNEL, g.extent) if g.owner == axis else g for g in dim) for dim in layout
    )
    size = prod(g.extent for g in kept)
    settled = (*renamed[: pure[0]], (Digit(axis, size, 1),), *renamed[pure[0] + 1 :])
    return "folded", Window(fold, fold), settled


def settle(layout: Layout, spatial: int) -> Reshaped:
    """Read every spatial axis of a regrouped or permuted layout (module docstring)."""
    statuses, maps = [], []
    settled = layout
    for axis in range(spatial):
        status, axis_map, settled = _settle_axis(settled, axis)
        statuses.append(status)
        maps.append(axis_map)
    if "destroyed" in statuses:
        return Reshaped("flatten", None)
    if "partitioned" in statuses and "folded" not in statuses and "unfolded" not in statuses:
        return Reshaped("partition", layout)
    if "folded" in statuses:
        windows = tuple(m if isinstance(m, Window) else Window(1) for m in maps)
        return Reshaped("pixel_unshuffle", settled, windows)
    if "unfolded" in statuses:
        identity = Resample.identity()
        return Reshaped("pixel_shuffle", settled, tuple(m or identity for m in maps))
    return Reshaped("view", settled)


def spatial_count(layout: Layout) -> int:
    """How many spatial axes a layout knows of (the largest owner + 1)."""
    owners = [g.owner for dim in layout for g in dim if g.owner >= 0]
    return max(owners) + 1 if owners else 0


def reshape(layout: Layout | None, shape: Sequence[int], spatial: int | None = None) -> Reshaped:
    """The layout after a view/reshape to ``shape``, read axis by axis.

    A layout that knows no positions any more stays unknown (``view`` of None).
    """
    if layout is None:
        return Reshaped("view", None)
    regrouped = _regroup(layout, shape)
    if regrouped is None:
        return Reshaped("flatten", None)
    return settle(regrouped, spatial if spatial is not None else spatial_count(layout))


def transpose(layout: Layout | None, order: Sequence[int], spatial: int) -> Reshaped:
    """The layout after a transpose, read axis by axis like a reshape."""
    moved = permute(layout, order)
    return Reshaped("view", None) if moved is None else settle(moved, spatial)
