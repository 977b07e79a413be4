"""A brute-force reference planner: try every stride, dilation and padding for every layer.

It ranks plans as the planner should, written out directly (no bitmask, no pruning):
fewest layers over the preferred volume drop, then the earliest of them as late as
possible (then the next, ...), then the fewest MACs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from stridekit.design.plan import Constraints, Layer


@dataclass(frozen=True, order=True)
class Reference:
    """A plan that meets the constraints, ordered as the planner must rank it."""

    over: int  # how many layers shrink C·H·W more than the preferred volume drop
    lateness: tuple[int, ...]  # their indices negated, earliest first: smaller is later
    macs: int
    choices: tuple[tuple[int, int, str], ...] = field(compare=False)  # (stride, dilation, pad)

    @property
    def bottlenecks(self) -> tuple[int, ...]:
        return tuple(-i for i in self.lateness)

    @property
    def key(self) -> tuple[int, tuple[int, ...], int]:
        return self.over, self.lateness, self.macs


def exhaustive_all(
    template: list[Layer], size: int, c: Constraints, channels: int = 3
) -> list[Reference]:
    """Every plan that meets ``c``, best first."""
    found = []
    # a drop over p/q: volume_in·q > p·volume_out, in integers (volumes are positive)
    hard = None if c.max_volume_drop is None else c.max_volume_drop.as_integer_ratio()
    preferred = (
        None if c.preferred_volume_drop is None else c.preferred_volume_drop.as_integer_ratio()
    )
    choices = list(itertools.product(c.strides, c.dilations, c.paddings))
    indices = range(len(template))
    for combo in itertools.product(choices, repeat=len(template)):
        n, jump, rf, macs, c_in, levels, ok = size, 1, 1, 0, channels, set(), True
        over = []
        for index, layer, (stride, dilation, padding) in zip(indices, template, combo, strict=True):
            extent = dilation * (layer.kernel - 1) + 1
            if stride > extent and not c.allow_gaps:
                ok = False
                break
            pad = (extent - 1) // 2 if padding == "same" else 0
            n_in = n
            n = (n + 2 * pad - extent) // stride + 1  # PyTorch's output size
            if n < 1:
                ok = False
                break
            volume_in, volume_out = c_in * n_in * n_in, layer.channels * n * n
            if hard is not None and volume_in * hard[1] > hard[0] * volume_out:
                ok = False
                break
            if preferred is not None and volume_in * preferred[1] > preferred[0] * volume_out:
                over.append(index)
            macs += n * n * layer.kernel**2 * c_in * layer.channels
            rf += (extent - 1) * jump
            jump *= stride
            levels.add(jump)
            c_in = layer.channels
        ok = (
            ok
            and (c.output_stride is None or jump == c.output_stride)
            and (c.output_size is None or n == c.output_size)
            and (c.min_rf is None or rf >= c.min_rf)
            and (c.max_macs is None or macs <= c.max_macs)
            and set(c.levels) <= levels
        )
        if ok:
            found.append(Reference(len(over), tuple(-i for i in over), macs, combo))
    return sorted(found)


def exhaustive(
    template: list[Layer], size: int, c: Constraints, channels: int = 3
) -> Reference | None:
    """The best plan meeting ``c``, or None."""
    found = exhaustive_all(template, size, c, channels)
    return found[0] if found else None
