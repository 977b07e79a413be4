"""One op's windows, axis by axis: `op_windows` gives an `Op`'s sizes and windows, from
the `Op` or from its arguments (the keyword form, kept for the callers that use it).

>>> op_windows((224, 225), 3, stride=2)[1][1].describe()
'k=3 s=2 p=(0,0)'
>>> op_windows(Op(6, 3, op="max_pool", ceil_mode=True))[1][0].describe()
'k=3 s=3 p=(0,0) ceil'
"""

from __future__ import annotations

from typing import Any, Unpack

from stridekit.geometry.op import Op, OpArguments, PerAxis, per_axis
from stridekit.geometry.window import Window

__all__ = ["Op", "op_windows", "per_axis"]


def op_windows(
    size: Op | PerAxis, *arguments: Any, **options: Unpack[OpArguments]
) -> tuple[tuple[int, ...], tuple[Window, ...]]:
    """The sizes and the `Window` of each axis of an `Op` (or of ``Op(size, ...)``)."""
    op = Op.of(size, *arguments, **options)
    return op.sizes, op.windows
