"""Where the spatial axes are inside a tensor, through reshapes and transposes.

Exporters write space-to-depth (``pixel_unshuffle``, timm's ``SpaceToDepth``, einops) as
Reshape → Transpose → Reshape, and flatten as a Reshape. To tell them apart, every tensor
dim is a list of *digits* (most significant first): a digit belongs to a spatial axis
(``owner`` ≥ 0) or to the batch and channels (`OTHER`), has an ``extent``, and — for a
spatial digit — a ``weight``: its place value in that axis' coordinate. A reshape regroups
the digits (splitting one where a new dim boundary falls inside it); a transpose permutes
the dims. `settle` then reads each spatial axis:

- its digits alone in one dim, in place-value order: the axis is intact;
- the high digits alone in one dim, the low ones (total ``F``) moved into channel dims:
  space-to-depth, output ``i`` covers ``[i·F, i·F + F − 1]``: ``Window(F, F)``;
- its digits followed by channel digits (total ``R``) in one dim: depth-to-space, output
  ``i`` reads ``floor(i/R)``: ``Resample.nearest(R)``;
- spread over several dims of its own: half-way through such a sequence (*pending*);
- anything else (merged with another spatial axis, all of it folded into channels):
  the positions are destroyed, a flatten.

>>> state = standard_digits((1, 2, 16, 16), (2, 3))
>>> state = regroup(state, (1, 2, 8, 2, 8, 2))      # x.view(N, C, H/2, 2, W/2, 2)
>>> settle(state, 2).kind
'pending'
>>> state = regroup(tuple(state[p] for p in (0, 1, 3, 5, 2, 4)), (1, 8, 8, 8))
>>> settled = settle(state, 2)
>>> settled.kind, settled.maps
('pixel_unshuffle', (Window(kernel=2, stride=2, dilation=1, padding=(0, 0), ceil_mode=False, transposed=False, output_padding=0), Window(kernel=2, stride=2, dilation=1, padding=(0, 0), ceil_mode=False, transposed=False, output_padding=0)))
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod
from typing import NamedTuple

from stridekit.geometry import Window
from stridekit.graph import AxisMap, Resample

OTHER = -1


class Digit(NamedTuple):
    owner: int  # a spatial axis of the model input, or OTHER (batch, channels)
    extent: int
    weight: int  # place value in the owner's coordinate (0 for OTHER)


Digits = tuple[tuple[Digit, ...], ...]  # per tensor dim, its digits, most significant first


def standard_digits(shape: Sequence[int], layout: Sequence[int]) -> Digits:
    """Digits of a tensor whose spatial axis ``a`` is the whole of dim ``layout[a]``.

    >>> standard_digits((1, 3, 4, 5), (2, 3))[2:]
    ((Digit(owner=0, extent=4, weight=1),), (Digit(owner=1, extent=5, weight=1),))
    """
    owners = {d: a for a, d in enumerate(layout)}
    return tuple(
        (Digit(owners[d], n, 1),) if d in owners else ((Digit(OTHER, n, 0),) if n > 1 else ())
        for d, n in enumerate(shape)
    )


def axis_dims(digits: Digits | None, spatial: int) -> tuple[int, ...] | None:
    """The dim of each spatial axis when each is intact and alone in one dim.

    >>> axis_dims(standard_digits((1, 3, 4, 5), (2, 3)), 2)
    (2, 3)
    """
    if digits is None:
        return None
    found: dict[int, int] = {}
    for d, dim in enumerate(digits):
        owners = {digit.owner for digit in dim}
        if owners - {OTHER}:
            if len(dim) != 1:
                return None
            found[dim[0].owner] = d
    if sorted(found) != list(range(spatial)):
        return None
    return tuple(found[a] for a in range(spatial))


def regroup(digits: Digits, target: Sequence[int]) -> Digits | None:
    """Digits after a reshape to ``target`` (row-major), or None if they cannot be split.

    >>> regroup(standard_digits((1, 8, 4, 4), (2, 3)), (1, 8, 16))[2]
    (Digit(owner=0, extent=4, weight=1), Digit(owner=1, extent=4, weight=1))
    """
    queue = [digit for dim in digits for digit in dim]
    regrouped = []
    for size in target:
        dim: list[Digit] = []
        if size == 1:  # keeps a size-1 axis through reshapes that keep it in place
            if queue and queue[0].extent == 1:
                dim.append(queue.pop(0))
            regrouped.append(tuple(dim))
            continue
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
        regrouped.append(tuple(dim))
    return tuple(regrouped)


def _radix(digits: Sequence[Digit], base: int) -> bool:
    """True when ``digits`` (in order) are a mixed-radix number whose last place is ``base``."""
    place = base
    for digit in reversed(digits):
        if digit.weight != place:
            return False
        place *= digit.extent
    return True


@dataclass(frozen=True)
class Settled:
    """How a reshape or transpose left the spatial axes."""

    kind: str  # elementwise, pixel_unshuffle, pixel_shuffle, pending, flatten
    maps: tuple[AxisMap, ...] | None
    digits: Digits | None


def _settle_axis(digits: Digits, axis: int) -> tuple[str, AxisMap | None, Digits]:
    """One axis: (status, map, digits with the axis renumbered from 0 if it settled)."""
    places = [(d, digit) for d, dim in enumerate(digits) for digit in dim if digit.owner == axis]
    if not places:
        return "gone", None, digits
    own = sorted({d for d, _ in places})
    pure = [d for d in own if all(digit.owner == axis for digit in digits[d])]
    folded = sorted((g for d, g in places if d not in pure), key=lambda g: -g.weight)
    if len(pure) > 1:
        return "pending", None, digits
    if not pure:  # depth-to-space: the axis' digits, then channel digits, in one dim
        dim = digits[own[0]]
        count = sum(1 for g in dim if g.owner == axis)
        head, tail = dim[:count], dim[count:]
        if len(own) == 1 and _radix(head, 1) and all(g.owner == OTHER for g in tail):
            factor = prod(g.extent for g in tail)
            size = prod(g.extent for g in dim)
            return "unfolded", Resample.nearest(factor), _replace(digits, own[0], size, axis)
        return "destroyed", None, digits
    kept = digits[pure[0]]
    fold = prod(g.extent for g in folded)
    if not (_radix(kept, fold) and _radix(folded, 1)):
        return "destroyed", None, digits
    size = prod(g.extent for g in kept)
    renamed = tuple(
        tuple(Digit(OTHER, g.extent, 0) if g.owner == axis else g for g in dim) for dim in digits
    )
    status = "folded" if fold > 1 else "intact"
    return status, Window(fold, fold), _replace(renamed, pure[0], size, axis)


def _replace(digits: Digits, d: int, size: int, axis: int) -> Digits:
    return (*digits[:d], (Digit(axis, size, 1),), *digits[d + 1 :])


def settle(digits: Digits, spatial: int) -> Settled:
    """Read every spatial axis after a reshape or transpose (see the module docstring)."""
    statuses, maps = [], []
    settled = digits
    for axis in range(spatial):
        status, axis_map, settled = _settle_axis(settled, axis)
        statuses.append(status)
        maps.append(axis_map)
    if "destroyed" in statuses:
        return Settled("flatten", None, None)
    if "pending" in statuses:
        return Settled("pending", None, digits)
    if "folded" in statuses:
        windows = tuple(m if isinstance(m, Window) else Window(1) for m in maps)
        return Settled("pixel_unshuffle", windows, settled)
    if "unfolded" in statuses:
        resamples = tuple(m if isinstance(m, Resample) else Resample.shift(0) for m in maps)
        return Settled("pixel_shuffle", resamples, settled)
    return Settled("elementwise", None, settled)
