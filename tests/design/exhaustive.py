"""A brute-force reference planner: try every stride and dilation for every layer."""

from __future__ import annotations

import itertools

from stridekit.design.plan import Constraints, Layer


def exhaustive(
    template: list[Layer], size: int, c: Constraints, channels: int = 3
) -> tuple[int, tuple[int, ...]] | None:
    """(MACs, strides + dilations) of the cheapest plan meeting ``c``, or None."""
    best: tuple[int, tuple[int, ...]] | None = None
    choices = list(itertools.product(c.strides, c.dilations, c.paddings))
    for combo in itertools.product(choices, repeat=len(template)):
        n, jump, rf, macs, c_in, levels, ok = size, 1, 1, 0, channels, set(), True
        for layer, (stride, dilation, padding) in zip(template, combo, strict=True):
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
            if c.max_volume_drop is not None and volume_in > c.max_volume_drop * volume_out:
                ok = False
                break
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
        if ok and (best is None or macs < best[0]):
            best = (macs, tuple(x for choice in combo for x in choice[:2]))
    return best
