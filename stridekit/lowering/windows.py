"""Canonical ops that slide a window: convolutions, pooling, space-to-depth, im2col.

Each builds one `Window` per slid dim (the last dims of the input) with
`stridekit.geometry.make_window`, so padding conventions (``same`` in TF's or ONNX's
sense, ``causal``) and the defaults live in one place: a pool's stride is its kernel
unless given. ``strict`` also applies PyTorch's own limits (a pool's padding at most
half its kernel, no dilation for average pooling): a spec is checked against them, an op
a framework already ran is not.

>>> x = Meta.standard((1, 3, 32, 32), spatial=2)
>>> low = conv(x, None, weight=(8, 3, 3, 3), stride=2, padding=1)
>>> low.kind, low.shape, low.flops, low.axes[0].describe()
('conv', (1, 8, 16, 16), 110592, 'k=3 s=2 p=(1,1)')
>>> pool(x, None, kind="max_pool", kernel=2).shape        # stride defaults to the kernel
(1, 3, 16, 16)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from stridekit.errors import (
    ChoiceError,
    InvalidWindowError,
    OutputSizeError,
)
from stridekit.geometry import Resample, Sizing, Window, make_window
from stridekit.geometry import layout as lay
from stridekit.geometry.padding import PaddingSpec
from stridekit.lowering.core import AxisMap, Lowered, Meta, Shape, other, per_axis, slide
from stridekit.lowering.cost import conv_flops

Paddings = PaddingSpec | Sequence[PaddingSpec]


def _paddings(padding: Paddings, count: int) -> list[PaddingSpec]:
    """One padding per axis: an int, a ``(lo, hi)`` tuple or a name for every axis, or a
    list with one of those per axis."""
    if isinstance(padding, int | str) or (
        isinstance(padding, tuple)
        and len(padding) == 2
        and all(isinstance(p, int) for p in padding)
    ):
        return [padding] * count  # type: ignore[list-item]
    items = list(padding)
    if len(items) == 1:
        return items * count
    if len(items) != count:
        raise InvalidWindowError(f"padding {padding!r} needs one entry per spatial axis ({count})")
    return [tuple(p) if isinstance(p, list) else p for p in items]


def _windows(
    op: str,
    sizes: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Paddings,
    dilation: Sequence[int],
    *,
    ceil_mode: bool = False,
    output_padding: Sequence[int] | None = None,
    convention: str = "torch",
    strict: bool = False,
) -> tuple[Window, ...]:
    count = len(sizes)
    pads = _paddings(padding, count)
    extras = output_padding or (0,) * count
    windows = []
    for n, k, s, p, d, o in zip(sizes, kernel, stride, pads, dilation, extras, strict=True):
        if strict:
            windows.append(make_window(op, n, k, s, p, d, ceil_mode=ceil_mode,
                                       output_padding=o, convention=convention))  # fmt: skip
        else:
            # the framework accepted the op: only its geometry matters, not its limits
            rule = "conv_transpose" if op == "conv_transpose" else "conv"
            window = make_window(rule, n, k, s, p, d, output_padding=o, convention=convention)
            if ceil_mode:
                window = Window(k, s, d, window.padding, ceil_mode=True)
            windows.append(window)
    return tuple(windows)


def conv(
    x: Meta,
    out: Shape | None,
    *,
    weight: Shape,
    stride: int | Sequence[int] = 1,
    padding: Paddings = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    transposed: bool = False,
    output_padding: int | Sequence[int] = 0,
    convention: str = "torch",
    strict: bool = False,
) -> Lowered:
    """A convolution with a PyTorch-shaped ``weight`` (``(C_out, C_in/g, *k)``; transposed:
    ``(C_in, C_out/g, *k)``)."""
    count = len(weight) - 2
    op = "conv_transpose" if transposed else "conv"
    windows = _windows(
        op,
        x.shape[x.rank - count :],
        weight[2:],
        per_axis(stride, count, 1),
        padding,
        per_axis(dilation, count, 1),
        output_padding=per_axis(output_padding, count, 0) if transposed else None,
        convention=convention,
        strict=strict,
    )
    channels = weight[1] * groups if transposed else weight[0]
    lowered = slide(x, op, windows, out, channels)
    if lowered.shape is not None:
        flops = conv_flops(x.shape, weight, lowered.shape, transposed)
        lowered = Lowered(lowered.kind, lowered.axes, lowered.layout, lowered.shape, flops,
                          lowered.notes)  # fmt: skip
    return lowered


POOL_KINDS = ("max_pool", "avg_pool", "lp_pool")


def pool(
    x: Meta,
    out: Shape | None,
    *,
    kind: str,
    kernel: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: Paddings = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
    convention: str = "torch",
    strict: bool = False,
    count: int | None = None,
) -> Lowered:
    """Max, average or Lp pooling over the last ``count`` dims (default: as many as the
    kernel lists, else the model's spatial axes); the stride defaults to the kernel."""
    if kind not in POOL_KINDS:
        raise ChoiceError(f"unknown pooling {kind!r}; choose one of {', '.join(POOL_KINDS)}")
    if count is None:
        count = len(kernel) if isinstance(kernel, Sequence) and len(kernel) > 1 else x.spatial
    kernels = per_axis(kernel, count, 1)
    strides = kernels if stride is None or stride == [] else per_axis(stride, count, 1)
    rule = "avg_pool" if kind == "avg_pool" else "max_pool"
    windows = _windows(
        rule,
        x.shape[x.rank - count :],
        kernels,
        strides,
        padding,
        per_axis(dilation, count, 1),
        ceil_mode=ceil_mode,
        convention=convention,
        strict=strict,
    )
    return slide(x, kind, windows, out)


def adaptive_map(n: int, out: int) -> Resample:
    """Bin ``i`` of an adaptive pool reads ``[floor(i·n/o), ceil((i+1)·n/o) − 1]``, and
    the output has ``o`` pixels at every input size (a fixed-size map, even when ``o``
    divides ``n``: at another input the bins change, not the output).

    The bin start is at most ``(q−1)/q`` before ``i·n/o`` and its end at most
    ``n/o − 1 + (q−1)/q`` after it, with ``q`` the denominator of ``n/o``: exact when
    ``o`` divides ``n`` (``q = 1``: the window ``k = s = n/o``).

    >>> adaptive_map(14, 7).describe(), adaptive_map(14, 7).start, adaptive_map(14, 7).stop
    ('adaptive x1/2', Fraction(0, 1), Fraction(1, 1))
    >>> adaptive_map(10, 4).output_size(99)
    4
    """
    ratio = Fraction(n, out)
    slack = Fraction(ratio.denominator - 1, ratio.denominator)
    return Resample(ratio, -slack, ratio - 1 + slack, "adaptive", 1 / ratio, Sizing(fixed=out))


def global_pool(x: Meta, out: Shape | None = None) -> Lowered:
    """Pooling every position to one (``AdaptiveAvgPool2d(1)``, ``GlobalAveragePool``)."""
    shape = out or (*x.shape[:2], *(1 for _ in x.shape[2:]))
    layout = lay.collapse(x.layout, range(2, x.rank)) if x.layout is not None else None
    return Lowered("global_pool", None, lay.resize(layout, shape), shape)


def adaptive_pool(x: Meta, out: Shape, *, kind: str) -> Lowered:
    """Adaptive pooling to ``out``'s sizes (`adaptive_map`): global when every size is 1."""
    count = min(x.spatial, x.rank - 2) or x.rank - 2
    sizes_in, sizes_out = x.shape[x.rank - count :], out[len(out) - count :]
    if all(o == 1 for o in sizes_out) and not x.mixes(range(x.rank - count)):
        return global_pool(x, out)
    maps = [adaptive_map(n, o) for n, o in zip(sizes_in, sizes_out, strict=True)]
    return slide(x, kind, maps, out)


def space_to_depth(x: Meta, out: Shape | None, *, block: int) -> Lowered:
    """``pixel_unshuffle`` / ``SpaceToDepth``: output ``i`` covers ``[i·b, i·b + b − 1]``."""
    count = x.rank - 2
    if any(n % block for n in x.shape[2:]):
        raise OutputSizeError(
            f"space-to-depth by {block} needs sizes divisible by {block}, got {x.shape[2:]}"
        )
    return slide(x, "pixel_unshuffle", [Window(block, block)] * count, out,
                 x.shape[1] * block**count)  # fmt: skip


def depth_to_space(x: Meta, out: Shape | None, *, block: int) -> Lowered:
    """``pixel_shuffle`` / ``DepthToSpace``: output ``i`` reads ``floor(i/b)``."""
    count = x.rank - 2
    area = block**count
    if x.shape[1] % area:
        raise OutputSizeError(
            f"depth-to-space by {block} needs channels divisible by {area}, got {x.shape[1]}"
        )
    return slide(x, "pixel_shuffle", [Resample.nearest(block)] * count, out, x.shape[1] // area)


@dataclass(frozen=True)
class Unfold:
    """The arguments of ``F.unfold`` and ``F.fold`` (im2col, col2im), one per slid axis.

    >>> Unfold((3, 3), (2, 2), (1, 1), (1, 1)).windows()[0].describe()
    'k=3 s=2 p=(1,1)'
    """

    kernel: Sequence[int]
    stride: Sequence[int]
    padding: Sequence[int]
    dilation: Sequence[int]

    def windows(self) -> tuple[Window, ...]:
        """The window of each axis (padded alike on both sides)."""
        args = (self.kernel, self.stride, self.padding, self.dilation)
        return tuple(Window(k, s, d, (p, p)) for k, s, p, d in zip(*args, strict=True))


def im2col(x: Meta, out: Shape, *, unfold: Unfold) -> Lowered:
    """``F.unfold``: ``(N, C, H, W)`` → ``(N, C·kh·kw, L)``, the windows' positions
    merged in the last dim (row-major), their taps in the channels."""
    windows = unfold.windows()
    count = len(windows)
    axes = slid_or_none(x, count)
    if axes is None:
        return other(reason="im2col over dims that are not the spatial axes")
    sizes = [w.output_size(n) for w, n in zip(windows, x.shape[x.rank - count :], strict=True)]
    if len(out) != 3 or out[2] != _product(sizes):
        return other(reason=f"im2col: windows give {sizes} positions, torch gives {out}")
    positions = tuple(lay.Digit(axis, size, 1) for axis, size in zip(axes, sizes, strict=True))
    layout = ((), (lay.Digit(lay.CHANNEL, out[1]),), positions)
    return Lowered("unfold", on_axes(axes, windows, x.spatial), layout, out)


def col2im(x: Meta, out: Shape, *, unfold: Unfold) -> Lowered:
    """``F.fold``: ``(N, C·kh·kw, L)`` → ``(N, C, H, W)``, the inverse of `im2col`: every
    output pixel sums the window taps that land on it, a transposed window per axis.

    The windows follow from fold's own arguments (``L`` per axis is
    ``floor((n + 2p − e)/s) + 1``), so they are known even when the positions in ``L``
    went through attention (VOLO's outlook attention): the jump comes back down. The
    ``(n + 2p − e) mod s`` pixels after the last window get nothing (``output_padding``)."""
    count = len(unfold.kernel)
    if len(out) != count + 2:
        return other(reason=f"col2im to {out}: expected (N, C) and {count} spatial sizes")
    windows = []
    for forward, n in zip(unfold.windows(), out[2:], strict=True):
        window = replace(forward, transposed=True)
        extra = n - window.output_size(forward.output_size(n))  # in [0, s)
        windows.append(replace(window, output_padding=extra) if extra else window)
    axes = list(range(count))
    if x.layout is not None and x.rank == 3:
        owners = [g.owner for g in x.layout[2] if g.owner >= 0]
        if len(owners) == count:
            axes = owners
    return Lowered("fold", on_axes(axes, windows, x.spatial), lay.standard(out, x.spatial), out)


def on_axes(axes: Sequence[int], maps: Sequence[Window], spatial: int) -> tuple[AxisMap, ...]:
    """One map per spatial axis of the model: ``maps[i]`` on ``axes[i]``, identity elsewhere."""
    by_axis: dict[int, AxisMap] = dict(zip(axes, maps, strict=True))
    return tuple(by_axis.get(a, Resample.identity()) for a in range(spatial))


def tensor_unfold(x: Meta, out: Shape, *, dim: int, size: int, step: int) -> Lowered:
    """``Tensor.unfold(dim, size, step)``: windows of ``size`` along ``dim`` every
    ``step``, their offsets in a new last dim (timm's HaloNet, TNT, VOLO)."""
    dim %= x.rank
    if not x.mixes([dim]):
        layout = lay.resize(x.layout, out[:-1])
        return Lowered("elementwise", None, None if layout is None else (*layout, ()), out)
    axis = lay.axis_of(x.layout[dim]) if x.layout is not None else None
    if axis is None:
        return other(reason="unfold along a dim that merges spatial axes")
    window = Window(size, step)
    if window.output_size(x.shape[dim]) != out[dim]:
        return other(reason=f"unfold: {window.formula(x.shape[dim])}, torch gives {out[dim]}")
    assert x.layout is not None
    dims = list(x.layout)
    dims[dim] = (lay.Digit(axis, out[dim], 1),)
    layout = (*dims, (lay.Digit(lay.CHANNEL, size),))
    return Lowered("unfold", on_axes([axis], [window], x.spatial), layout, out)


def slid_or_none(x: Meta, count: int) -> list[int] | None:
    """The spatial axes of the last ``count`` dims, each present; else None."""
    from stridekit.lowering.core import slid_axes

    axes = slid_axes(x, count)
    if axes is None or None in axes:
        return None
    return [a for a in axes if a is not None]


def _product(values: Sequence[int]) -> int:
    total = 1
    for v in values:
        total *= v
    return total
