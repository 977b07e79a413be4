"""What a canonical op sees (`Meta`) and answers (`Lowered`), and the helpers rules share.

A frontend translates each framework op (an aten call, an ONNX node, a spec layer) into
one canonical op (`stridekit.lowering.OPS`); the op's rule, a pure function, says what it
does to the spatial axes: its IR kind (`stridekit.graph.OP_KINDS`), one `Window` or
`Resample` per spatial axis of the model when it moves pixels, where the spatial axes are
in its output (`stridekit.geometry.layout`), its output shape when the frontend did not
know it (a spec), and its FLOPs (`stridekit.lowering.cost`).

>>> x = Meta.standard((1, 3, 32, 32), spatial=2)
>>> x.axis_dims
(2, 3)
>>> unknown("aten.roll_everything").kind, unknown("aten.roll_everything").unhandled
('other', True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from stridekit.errors import (
    UsageError,
)
from stridekit.geometry import Resample, Window
from stridekit.geometry import layout as lay
from stridekit.geometry.layout import Layout

Shape = tuple[int, ...]
AxisMap = Window | Resample
Answer = TypeVar("Answer")  # what a frontend's translations return (a Lowered, or more)


@dataclass(frozen=True)
class Meta:
    """An activation as a rule sees it: its shape, its layout (None: the positions are
    unknown or gone), and how many spatial axes the model input has."""

    shape: Shape
    layout: Layout | None
    spatial: int

    @classmethod
    def standard(cls, shape: Sequence[int], spatial: int) -> Meta:
        """An ``(N, C, *spatial)`` tensor (a spec's layers, the model input)."""
        return cls(tuple(shape), lay.standard(shape, spatial), spatial)

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def axis_dims(self) -> tuple[int, ...] | None:
        """The dim of each spatial axis, when every axis is intact and alone in its dim."""
        return lay.axis_dims(self.layout, self.spatial)

    def mixes(self, dims: Sequence[int]) -> bool:
        """True when one of ``dims`` holds positions (an op along it mixes pixels)."""
        return self.layout is not None and any(
            lay.has_positions(self.layout[d % self.rank]) for d in dims
        )

    @property
    def positional(self) -> bool:
        return lay.positional(self.layout)


@dataclass(frozen=True)
class Lowered:
    """A canonical op's answer."""

    kind: str
    axes: tuple[AxisMap, ...] | None = None
    layout: Layout | None = None
    shape: Shape | None = None  # the output shape, when the rule computed it
    flops: int = 0
    notes: dict[str, object] = field(default_factory=dict)
    unhandled: bool = False


def other(**notes: object) -> Lowered:
    """An op that may mix positions: the fields pass treats it as global.

    >>> other(reason="roll along a spatial axis").notes
    {'reason': 'roll along a spatial axis'}
    """
    return Lowered("other", notes=dict(notes))


def unknown(op: str) -> Lowered:
    """An op no rule knows, in every frontend alike: conservative (global, since it may
    mix positions) and listed in `Analysis.unhandled`."""
    return Lowered("other", notes={"op": op}, unhandled=True)


def dims_of(value: int | Sequence[int] | None, rank: int) -> list[int]:
    """A dim argument (int, list, None = every dim) → non-negative dims.

    >>> dims_of(-1, 4), dims_of(None, 3), dims_of([2, -1], 4)
    ([3], [0, 1, 2], [2, 3])
    """
    if value is None or (isinstance(value, Sequence) and not value):
        return list(range(rank))
    items = [value] if isinstance(value, int) else list(value)
    return [int(d) % rank for d in items]


def out_layout(x: Meta, out: Shape) -> Layout | None:
    """The input's layout with the output's sizes (positions unchanged)."""
    return lay.resize(x.layout, out)


def slid_axes(x: Meta, count: int) -> list[int | None] | None:
    """The spatial axis each of the last ``count`` dims holds (None: a size-1 dim with
    no axis); None when those dims hold something else or some axis sits elsewhere.
    A tensor whose layout is unknown (already global) slides over dims 2…"""
    if x.layout is None:
        return list(range(count)) if count == x.spatial and x.rank == count + 2 else None
    axes: list[int | None] = []
    for dim in x.layout[x.rank - count :]:
        axis = lay.axis_of(dim)
        if axis is None and dim:
            return None
        axes.append(axis)
    present = {a for a in axes if a is not None}
    held = {g.owner for dim in x.layout for g in dim if g.owner >= 0 and g.extent > 1}
    return axes if held <= present else None


def slide(
    x: Meta,
    kind: str,
    maps: Sequence[AxisMap],
    out: Shape | None,
    channels: int | None = None,
    flops: int = 0,
    notes: dict[str, object] | None = None,
) -> Lowered:
    """Attach per-dim maps (one per slid dim: the last ``len(maps)`` dims) to the model's
    spatial axes. With ``out`` None the output shape is computed (``channels`` replaces
    dim 1); with ``out`` given, a map that disagrees with it makes the op ``other``."""
    count = len(maps)
    axes = slid_axes(x, count)
    if axes is None:
        return other(reason=f"{kind} over dims that are not the spatial axes")
    sizes = []
    for axis_map, n in zip(maps, x.shape[x.rank - count :], strict=True):
        size = axis_map.output_size(n)
        sizes.append(size)
    if out is None:
        if None in sizes:
            raise UsageError(f"{kind}: the output size is unknown; give it")
        head = list(x.shape[: x.rank - count])
        if channels is not None and len(head) >= 2:
            head[1] = channels
        out = (*head, *(int(s) for s in sizes if s is not None))
    else:
        for axis_map, n, size, got in zip(maps, x.shape[-count:], sizes, out[-count:], strict=True):
            if size is not None and size != got:
                shown = axis_map.formula(n) if isinstance(axis_map, Window) else str(size)
                return other(reason=f"{kind}: {axis_map.describe()} gives {shown}, not {got}")
    by_axis = {axis: m for axis, m in zip(axes, maps, strict=True) if axis is not None}
    identity = Resample.identity()
    layout = lay.resize(x.layout, out) if x.layout is not None else None
    if layout is not None:
        layout = _inside_windows(layout, x, by_axis, count, out)
        if layout is None:
            return other(reason=f"{kind} inside windows that it does not tile")
    layout = layout or lay.standard(out, x.spatial)
    return Lowered(
        kind,
        tuple(by_axis.get(a, identity) for a in range(x.spatial)),
        layout,
        out,
        flops,
        dict(notes or {}),
    )


def per_axis(value: int | Sequence[int] | None, count: int, default: int) -> tuple[int, ...]:
    """An int, a one-element list or a full list → one int per axis (the last ``count``).

    >>> per_axis(2, 3, 1), per_axis([3], 2, 1), per_axis(None, 2, 1), per_axis([1, 2, 3], 2, 0)
    ((2, 2, 2), (3, 3), (1, 1), (2, 3))
    """
    if value is None or (isinstance(value, Sequence) and not value):
        return (default,) * count
    if isinstance(value, int):
        return (value,) * count
    items = [int(v) for v in value]
    return tuple(items) * count if len(items) == 1 else tuple(items[-count:])


def translation_table(
    *groups: tuple[Sequence[str], Callable[[Any], Answer]],
) -> dict[str, Callable[[Any], Answer]]:
    """A frontend's table of framework op → translation, filled explicitly; an op listed
    twice is a bug caught at import.

    >>> translation_table((["Relu"], other), (["Relu"], other))
    Traceback (most recent call last):
    ...
    RuntimeError: duplicate translation for Relu
    """
    table: dict[str, Callable[[Any], Answer]] = {}
    for names, translation in groups:
        for name in names:
            if name in table:
                raise RuntimeError(f"duplicate translation for {name}")
            table[name] = translation
    return table


def _inside_windows(
    layout: Layout, x: Meta, maps: dict[int, AxisMap], count: int, out: Shape
) -> Layout | None:
    """A window op over the in-window dims of a partition (SAM2 Hiera's pooled queries,
    the last ``count`` dims): the places of the window index shrink by the stride when
    the op tiles each window exactly (``n`` pixels to ``n/s``); None when it does not;
    the layout unchanged where no axis is partitioned."""
    strides: dict[int, int] = {}
    for axis, axis_map in maps.items():
        if not any(g.owner == axis for dim in layout[: len(layout) - count] for g in dim):
            continue
        if not isinstance(axis_map, Window) or axis_map.transposed:
            return None
        strides[axis] = axis_map.stride
    if not strides:
        return layout
    for dim, n, o in zip(layout[-count:], x.shape[-count:], out[-count:], strict=True):
        owner = lay.axis_of(dim)
        if owner is not None and owner in strides and n != o * strides[owner]:
            return None
    return tuple(
        tuple(
            lay.Digit(g.owner, g.extent, g.weight // strides[g.owner])
            if g.owner in strides and g.weight > 1
            else g
            for g in dim
        )
        for dim in layout
    )


def broadcast_shape(shapes: Sequence[Shape]) -> Shape | None:
    """The shape numpy's broadcasting gives ``shapes`` (aligned at their last dims), or
    None when two of them differ on a dim where neither is 1.

    >>> broadcast_shape([(1, 8, 4, 4), (8, 1, 1)]), broadcast_shape([(2, 3), (4, 3)])
    ((1, 8, 4, 4), None)
    """
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for sizes in zip(*padded, strict=True):
        wide = {n for n in sizes if n != 1}
        if len(wide) > 1:
            return None
        out.append(wide.pop() if wide else 1)
    return tuple(out)
