"""Canonical ops that may mix positions: reductions, softmax, matrix products, attention,
and ops along a dim (roll, flip, cumulative sums).

An op over dims that hold no positions is position-wise (identity for fields); over
every position it is global: a reduction is ``global_pool``, a softmax or a product of two
activations ``attention``, a matrix product contracting positions ``linear``. A linear
layer on rows of pixels (ConvNeXt's ``(N·H·W, C)``) is a 1×1 convolution.

Attention inside a partition (`stridekit.geometry.layout`: Swin's and MaxViT's windows)
mixes only the positions its tokens hold: where those are the lowest places of each axis
(windows of ``w`` pixels) it is ``window_attention``, whose axis maps are
`Resample.window`; over a dilated grid or the whole map it is ``attention`` (global). Its
output keeps the query's positions either way, so the inverse rearrangement restores the
map, and a query sampled more sparsely than its keys (LeViT's subsampling attention)
carries the query's stride.

>>> x = Meta.standard((1, 8, 7, 7), spatial=2)
>>> reduce(x, (1, 8, 1, 1), dims=[2, 3], keepdim=True).kind
'global_pool'
>>> softmax(x, (1, 8, 7, 7), dims=[1]).kind, softmax(x, (1, 8, 7, 7), dims=[3]).kind
('elementwise', 'attention')
"""

from __future__ import annotations

from collections.abc import Sequence

from stridekit.geometry import Resample, Window
from stridekit.geometry import layout as lay
from stridekit.geometry.partition import mixed_windows
from stridekit.lowering import views
from stridekit.lowering.core import Lowered, Meta, Shape, dims_of, other, out_layout
from stridekit.lowering.cost import matmul_flops


def reduce(x: Meta, out: Shape, *, dims: Sequence[int] | None, keepdim: bool) -> Lowered:
    """A reduction (mean, sum, max, norm, argmax...) over ``dims`` (None: every dim)."""
    chosen = dims_of(dims, x.rank)
    layout = lay.collapse(x.layout, chosen) if keepdim else lay.remove(x.layout, chosen)
    layout = lay.resize(layout, out)
    if not x.mixes(chosen):
        return Lowered("elementwise", None, layout, tuple(out))
    if x.mixes([d for d in range(x.rank) if d not in chosen]):
        return _pooled(x, tuple(out), chosen, keepdim)
    return Lowered("global_pool", None, layout, tuple(out))


def _pooled(x: Meta, out: Shape, chosen: Sequence[int], keepdim: bool) -> Lowered:
    """A reduction over the dims of a partition that hold the lowest places of the axes
    (Hiera's pooling over its unrolled tokens): output ``i`` covers ``[i·w, i·w + w − 1]``,
    ``Window(w, w)``, and the places left count in steps of ``w``; otherwise ``other``."""
    sizes = mixed_windows(x.layout, chosen, x.spatial)
    if sizes is None or x.layout is None:
        return other(reason="a reduction over some spatial axes only")
    rest = lay.collapse(x.layout, chosen) if keepdim else lay.remove(x.layout, chosen)
    windows = tuple(Window(size, size) for size in sizes)
    layout = lay.resize(_coarsened(rest, sizes), out)
    return Lowered("avg_pool", windows, layout, out, notes={"reduction": True})


def _coarsened(layout: lay.Layout | None, sizes: Sequence[int]) -> lay.Layout:
    """The places left once the lowest ``sizes[a]`` places of each axis were read whole
    (a window of ``w`` pixels per output): they count in steps of ``w``."""
    assert layout is not None
    return tuple(
        tuple(
            lay.Digit(g.owner, g.extent, g.weight // sizes[g.owner]) if g.owner >= 0 else g
            for g in dim
            if g.owner < 0 or g.extent > 1 or g.weight >= sizes[g.owner]
        )
        for dim in layout
    )


def _mixing(
    x: Meta, out: Shape, dims: Sequence[int], layout: lay.Layout | None, **notes: object
) -> Lowered:
    """An op whose every output position reads the positions held along ``dims`` of ``x``
    (and its own): position-wise, inside windows, or global (`mixed_windows`)."""
    out = tuple(out)
    sizes = mixed_windows(x.layout, dims, x.spatial)
    if sizes is None:
        return Lowered("attention", None, layout, out, notes=dict(notes))
    if all(size == 1 for size in sizes):
        return Lowered("elementwise", None, layout, out, notes=dict(notes))
    maps = tuple(Resample.window(size) if size > 1 else Resample.identity() for size in sizes)
    return Lowered("window_attention", maps, layout, out, notes=dict(notes))


def softmax(x: Meta, out: Shape, *, dims: Sequence[int]) -> Lowered:
    """A softmax over positions is attention: every position weighs every other (inside
    its window when the positions are a partition's windows)."""
    return _mixing(x, out, dims_of(list(dims), x.rank), out_layout(x, tuple(out)))


def attention(
    out: Shape, query: Meta | None = None, key: Meta | None = None, *, flops: int = 0
) -> Lowered:
    """Fused attention (scaled dot product, multi-head) of ``(..., tokens, features)``
    operands: every query token meets every key token; with the operands' layouts known,
    the product ``query @ keyᵀ`` says which positions meet (`product`)."""
    if query is None or key is None or key.layout is None or key.rank < 2:
        return Lowered("attention", None, None, tuple(out), flops)
    order = views.swap(key.rank, -1, -2)
    transposed = Meta(
        tuple(key.shape[d] for d in order), lay.permute(key.layout, order), key.spatial
    )
    return product(query, transposed, out, flops=flops)


def _positions(dims: Sequence[lay.Dim]) -> list[tuple[lay.Digit, ...]]:
    return [tuple(g for g in dim if g.owner >= 0 and g.extent > 1) for dim in dims]


def product(left: Meta, right: Meta, out: Shape, *, flops: int = 0) -> Lowered:
    """``left @ right`` of two activations, ``(..., M, K) @ (..., K, N)``: output
    ``[m, n]`` reads row ``m`` of ``left`` and column ``n`` of ``right``.

    The output's positions are the rows' (``M`` and the batch dims of ``left``: a query's
    tokens, an attention map's rows), or, when the rows hold none, the columns' (XCiT's
    ``attn @ v`` over channels); the other operand's positions are mixed: all of them
    where the two operands' batch dims hold different positions (a subsampled query
    against its keys, a cross attention: ``attention``), else the ones along the
    contracted and column dims, a window when they are its lowest places."""
    out = tuple(out)
    if left.layout is None or right.layout is None or left.rank < 2 or right.rank < 2:
        return Lowered("attention", None, None, out, flops)
    batch = len(out) - 2
    lead_l = ((),) * (batch - left.rank + 2) + left.layout[:-2]
    lead_r = ((),) * (batch - right.rank + 2) + right.layout[:-2]
    rows_hold = any(_positions([*lead_l, left.layout[-2]]))
    columns_hold = any(_positions([right.layout[-1]]))
    position_input = 0 if rows_hold or not columns_hold else 1
    if position_input == 0:
        layout: lay.Layout | None = (*lead_l, left.layout[-2], (lay.Digit(lay.CHANNEL, out[-1]),))
        mixed, dims = right, [right.rank - 2, right.rank - 1]
        mixed_own = [left.rank - 1]
    else:
        layout = (*lead_r, (lay.Digit(lay.CHANNEL, out[-2]),), right.layout[-1])
        mixed, dims = left, [left.rank - 1]
        mixed_own = [right.rank - 2]
    layout = lay.resize(layout, out)
    notes: dict[str, object] = {"position_input": position_input}
    positioned = left if position_input == 0 else right
    lead_mixed = _positions(lead_r if position_input == 0 else lead_l)
    lead_own = _positions(lead_l if position_input == 0 else lead_r)
    blocks = _unfolded_blocks(mixed, lead_mixed, lead_own)
    same_batch = lead_mixed == lead_own or not any(lead_mixed) or bool(blocks)
    if not same_batch or not _same_axes(left, right, blocks):
        if any(lead_mixed) and not any(_positions(lead_l if position_input == 0 else lead_r)):
            # keys in windows, one query shared by every window (GC ViT's global query):
            # the windows are the keys', so are the output's grid and stride
            return Lowered(
                "attention", None, None, out, flops, {"position_input": 1 - position_input}
            )
        return Lowered("attention", None, layout, out, flops, notes)
    # what the other operand mixes, read in its own layout, and the positions the
    # positional operand contracts (keys of a transposed product)
    found = _mixing(mixed, out, dims, layout)
    own = _mixing(positioned, out, mixed_own, layout)
    if found.kind == "attention" or own.kind == "attention":
        return Lowered("attention", None, layout, out, flops, notes)
    maps = [m.axes or (Resample.identity(),) * left.spatial for m in (found, own)]
    merged = tuple(max(a, b, key=lambda m: m.stop) for a, b in zip(*maps, strict=True))
    if own.kind == "window_attention":
        notes = {}  # the positional operand is mixed too: every input goes through the maps
    return Lowered("window_attention", merged, layout, out, flops, notes)


def _unfolded_blocks(
    mixed: Meta, lead_mixed: list[tuple[lay.Digit, ...]], lead_own: list[tuple[lay.Digit, ...]]
) -> frozenset[int]:
    """The axes whose only places in the mixed operand are a block index in its batch dims,
    as many blocks as the positioned operand's batch dims index: the windows of an unfold
    (HaloNet's and BAT's keys: a block and its halo, their positions unfolded into the
    features, counted on the grid of blocks) paired with the queries' blocks. Empty when
    the batch dims differ otherwise."""
    counts = [[(g.owner, g.extent) for g in dim] for dim in lead_mixed]
    if not any(lead_mixed) or counts != [[(g.owner, g.extent) for g in dim] for dim in lead_own]:
        return frozenset()
    assert mixed.layout is not None
    owners = {g.owner for dim in lead_mixed for g in dim}
    held = sum(1 for dim in mixed.layout for g in dim if g.owner in owners and g.extent > 1)
    return frozenset(owners) if held == len(owners) else frozenset()


def _same_axes(left: Meta, right: Meta, skip: frozenset[int] = frozenset()) -> bool:
    """Both operands hold the same places of every axis they share (one coordinate system)."""
    assert left.layout is not None and right.layout is not None
    found: list[dict[int, set[tuple[int, int]]]] = []
    for layout in (left.layout, right.layout):
        digits: dict[int, set[tuple[int, int]]] = {}
        for dim in layout:
            for g in dim:
                if g.owner >= 0 and g.extent > 1:
                    digits.setdefault(g.owner, set()).add((g.extent, g.weight))
        found.append(digits)
    shared = found[0].keys() & found[1].keys()
    return all(found[0][a] == found[1][a] for a in shared if a not in skip)


def matmul(
    left: Meta | None, right: Meta | None, out: Shape, *, shapes: tuple[Shape, Shape]
) -> Lowered:
    """``a @ b`` (``mm``, ``bmm``, ``linear``, ``MatMul``, ``Gemm``), broadcasting batch dims;
    ``left``/``right`` are None for weights. ``shapes``: both operands' shapes as
    multiplied (after any transposition), for the cost.

    Two activations meet: attention (`product`). One activation times weights is a linear
    layer, global when it contracts positions (or when its positions are unknown), a 1×1
    convolution when its rows are pixels, and a ``w × w`` convolution of stride ``w`` when
    it contracts the lowest places of the axes (the pixels of a ``w × w`` patch cut off by
    views), whose rows are the patches: each output reads its whole patch."""
    flops = matmul_flops(shapes[0], out)
    out = tuple(out)
    if left is not None and right is not None:
        return product(left, right, out, flops=flops)
    x = left if left is not None else right
    if x is None:
        return Lowered("elementwise", None, None, out, flops)
    contracted = x.rank - 1 if x is left else max(x.rank - 2, 0)
    if x.layout is None or not x.positional:
        return Lowered("linear", None, None, out, flops)
    # a linear layer over a patch's pixels (the lowest places of the axes, split off by
    # views: NaFlexViT's patch embedding, a DCT over 8 × 8 blocks) is a patchifying conv
    sizes = mixed_windows(x.layout, [contracted], x.spatial) if x.mixes([contracted]) else None
    if x.mixes([contracted]) and sizes is None:
        return Lowered("linear", None, None, out, flops)
    sizes = sizes or (1,) * x.spatial
    layout: lay.Layout = (*x.layout[:contracted], (), *x.layout[contracted + 1 :])
    for _ in range(len(out) - x.rank):
        layout = ((), *layout)
    windows = tuple(Window(size, size) for size in sizes)
    return Lowered("conv", windows, lay.resize(_coarsened(layout, sizes), out), out, flops)


def along(x: Meta, out: Shape, *, dims: Sequence[int] | None, name: str) -> Lowered:
    """An op acting along ``dims`` (roll, flip, cumsum, glu): position-wise only when those
    dims hold no positions."""
    if x.mixes(dims_of(dims, x.rank)):
        return other(reason=f"{name} along a spatial axis")
    return Lowered("elementwise", None, out_layout(x, tuple(out)), tuple(out))
