"""One cost formula per op: ``torch.utils.flop_counter``'s, which are pure functions of
shapes (a multiply-add counts two FLOPs, biases are not counted, a transposed conv is
counted over its input positions). The torch frontend gets the same numbers from the same
registry on each aten call; the ONNX and spec frontends and the planner call these.

>>> conv_flops((1, 3, 32, 32), (8, 3, 3, 3), (1, 8, 16, 16))   # 2·1·8·3·9·256
110592
>>> matmul_flops((4, 10), (4, 5))                               # 2·4·5·10
400
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod


def conv_flops(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    out_shape: Sequence[int],
    transposed: bool = False,
) -> int:
    """FLOPs of a convolution (``conv_flop_count``); ``w_shape`` as PyTorch stores it."""
    from torch.utils.flop_counter import conv_flop_count

    return int(conv_flop_count(list(x_shape), list(w_shape), list(out_shape), transposed))


def matmul_flops(a_shape: Sequence[int], out_shape: Sequence[int]) -> int:
    """FLOPs of ``a @ b`` with broadcast batch dims: ``2 · prod(out) · K``, ``K`` the last
    dim of ``a`` (what ``mm_flop``, ``addmm_flop`` and ``bmm_flop`` count: 2·M·N·K per
    batch, the bias not counted)."""
    return 2 * prod(out_shape) * (a_shape[-1] if a_shape else 1)
