"""Canonical ops that move dims, not pixels: reshape, permute, (un)squeeze, expand, split,
select, concat. They keep every position (identity for fields) while the spatial axes
stay readable in the layout; a reshape that regroups them may be space-to-depth or
depth-to-space (`stridekit.geometry.layout`), or destroy them (a flatten).

>>> x = Meta.standard((1, 768, 14, 14), spatial=2)
>>> reshape(x, (1, 768, 196)).kind                     # ViT's tokens keep their positions
'elementwise'
>>> reshape(x, (1, 150528)).kind
'flatten'
>>> concat([x, x], (1, 1536, 14, 14), dim=1).kind
'concat'

A concatenation of the strided-slice phases of one tensor (Swin's patch merging,
``cat([x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]])``) reads every pixel
exactly once: it is space-to-depth, not a merge of four shifted grids (`phase_windows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

from stridekit.geometry import Resample, Window
from stridekit.geometry import layout as lay
from stridekit.lowering.core import Lowered, Meta, Shape, dims_of, other, out_layout


def _settled(x: Meta, result: lay.Reshaped, out: Shape) -> Lowered:
    if result.kind == "flatten":
        return Lowered("flatten", None, None, out)
    if result.kind in ("pixel_unshuffle", "pixel_shuffle"):
        return Lowered(result.kind, result.maps, result.layout, out)
    return Lowered("elementwise", None, result.layout, out)


def reshape(x: Meta, out: Shape) -> Lowered:
    """A view or reshape to ``out`` (flatten, squeeze and unsqueeze as reshapes too)."""
    out = tuple(out)
    if x.shape == out:
        return Lowered("elementwise", None, x.layout, out)
    return _settled(x, lay.reshape(x.layout, out, x.spatial), out)


def permute(x: Meta, out: Shape, *, order: Sequence[int]) -> Lowered:
    """Reorder dims (``permute``, ``transpose``, ONNX ``Transpose``)."""
    return _settled(x, lay.transpose(x.layout, order, x.spatial), tuple(out))


def swap(rank: int, a: int, b: int) -> list[int]:
    """The order of a transpose of dims ``a`` and ``b``.

    >>> swap(4, 1, -1)
    [0, 3, 2, 1]
    """
    order = list(range(rank))
    a, b = a % rank, b % rank
    order[a], order[b] = order[b], order[a]
    return order


def unsqueeze(x: Meta, out: Shape, *, dims: Sequence[int]) -> Lowered:
    """New size-1 dims at ``dims`` (positions of the output)."""
    layout = x.layout
    for dim in sorted(d % len(out) for d in dims):
        layout = lay.insert(layout, dim)
    return Lowered("elementwise", None, layout, tuple(out))


def squeeze(x: Meta, out: Shape, *, dims: Sequence[int] | None = None) -> Lowered:
    """Drop size-1 dims (all of them when ``dims`` is None)."""
    chosen = dims_of(dims, x.rank) if dims is not None else list(range(x.rank))
    gone = [d for d in chosen if x.shape[d] == 1]
    return Lowered("elementwise", None, lay.remove(x.layout, gone), tuple(out))


def expand(x: Meta, out: Shape) -> Lowered:
    """Broadcasting to ``out`` (size-1 dims repeated; new leading dims). Broadcasting a
    1-pixel map over space (after global pooling) keeps its field; repeating real pixels
    along a spatial axis (``Tile``) mixes positions."""
    layout = x.layout
    for _ in range(len(out) - x.rank):
        layout = lay.insert(layout, 0)
    offset = len(out) - x.rank
    for d, n in enumerate(x.shape):
        if n != out[d + offset] and n != 1 and x.mixes([d]):
            return other(reason="repeating pixels along a spatial axis")
    return Lowered("elementwise", None, lay.resize(layout, out), tuple(out))


def split(x: Meta, out: Shape, *, dim: int) -> Lowered:
    """One piece of a split along ``dim``: channels keep positions, space does not."""
    if x.mixes([dim]):
        return other(reason="splitting a spatial axis")
    return Lowered("elementwise", None, out_layout(x, out), tuple(out))


def select(x: Meta, out: Shape, *, dim: int, index_rank: int = 0) -> Lowered:
    """Indexing along ``dim`` (``select``, ``unbind``, ``Gather``): the dim is replaced by
    ``index_rank`` dims of indices; picking along space mixes positions."""
    dim %= x.rank
    if x.mixes([dim]):
        return other(reason="indexing along a spatial axis")
    layout = x.layout
    if layout is not None:
        layout = (*layout[:dim], *((),) * index_rank, *layout[dim + 1 :])
    return Lowered("elementwise", None, lay.resize(layout, out), tuple(out))


def phase_windows(phases: Sequence[Sequence[Resample]]) -> tuple[Window, ...] | None:
    """Space-to-depth windows when ``phases`` tile one tensor's grid: each entry is one
    concatenated input, given as the per-axis map that sliced it from that tensor, and
    together they must be ``x[a::s, b::t]`` for every ``a < s`` and ``b < t``, once each.
    Then output ``i`` holds input pixels ``i·s … i·s + s − 1`` (``Window(s, s)``) and every
    pixel is read exactly once; otherwise None (a merge of shifted grids).

    >>> halves = [Resample.step(a, 2) for a in (0, 1)]
    >>> [w.describe() for w in phase_windows([(h, v) for v in halves for h in halves])]
    ['k=2 s=2 p=(0,0)', 'k=2 s=2 p=(0,0)']
    >>> phase_windows([(halves[0], halves[0]), (halves[1], halves[1])]) is None  # 2 of 4
    True
    """
    if len(phases) < 2 or len({len(phase) for phase in phases}) != 1:
        return None
    steps: list[int] = []
    for axis in range(len(phases[0])):
        maps = [phase[axis] for phase in phases]
        if any(not _exact_slice(m) for m in maps) or len({m.scale for m in maps}) != 1:
            return None
        steps.append(int(maps[0].scale))
    starts = [tuple(int(m.start) for m in phase) for phase in phases]
    every = set(product(*(range(step) for step in steps)))
    if max(steps) == 1 or len(starts) != len(every) or set(starts) != every:
        return None
    return tuple(Window(step, step) for step in steps)


def chain_slices(maps: Sequence[Resample]) -> Resample | None:
    """Strided slices applied one after the other (the first reads the tensor) as one
    slice: ``x[a::s][b::t]`` is ``x[a + s·b :: s·t]``; None when one is not ``x[a::s]``.

    >>> chain_slices([Resample.step(1, 2), Resample.step(0, 1), Resample.step(1, 2)]).describe()
    'slice 3::4'
    """
    start, step = 0, 1
    for axis_map in maps:
        if not _exact_slice(axis_map):
            return None
        start += step * int(axis_map.start)
        step *= int(axis_map.scale)
    return Resample.step(start, step)


def _exact_slice(axis_map: Resample) -> bool:
    """``x[a::s]`` to the end of the axis, or the axis as it is."""
    if axis_map.kind == "identity":
        return True
    start, step = axis_map.start, axis_map.scale
    if axis_map.kind != "slice" or start != axis_map.stop or start.denominator != 1:
        return False
    return step.denominator == 1 and axis_map.sizing == Resample.step(int(start), int(step)).sizing


def concat(
    inputs: Sequence[Meta],
    out: Shape,
    *,
    dim: int,
    stack: bool = False,
    phases: Sequence[Sequence[Resample]] | None = None,
) -> Lowered:
    """Concatenation (or stacking) along ``dim``: along channels a merge, along a dim
    with positions ``other``.

    ``phases``, when the inputs were sliced from one tensor: per input, the per-axis map
    of its slicing. Phases that tile that tensor's grid make the op space-to-depth
    (``pixel_unshuffle``), whose axis maps read that tensor (`phase_windows`)."""
    x = inputs[0]
    layout = lay.insert(x.layout, dim) if stack else x.layout
    dim %= len(out)
    if layout is not None and lay.has_positions(layout[dim]):
        # ``along``: the dim, so a pass can tell which rows came from which input
        # (`stridekit.passes.outputs`: a detection head's pyramid levels)
        return other(reason="concatenation along a spatial axis", along=dim)
    if phases is not None and not stack:
        windows = phase_windows(phases)
        if windows is not None:
            shape = tuple(out)
            result = lay.resize(layout, shape)
            return Lowered("pixel_unshuffle", windows, result, shape, notes={"phases": len(phases)})
    kind = "concat" if len(inputs) > 1 else "elementwise"
    return Lowered(kind, None, lay.resize(layout, out), tuple(out))
