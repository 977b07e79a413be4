# ruff: noqa: E501  (the table of cases reads best one case to a few lines)
"""Every canonical op against an oracle measured on real tensors (`tests.lowering.oracles`):
the pixels each output element holds (data movement) or depends on (Jacobians) must be
where the op's axis maps and output layout say, exactly for exact maps. The cases cover
every op in `stridekit.lowering.OPS` (asserted), so a new op cannot go untested."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor

import pytest
import torch
import torch.nn.functional as F

from stridekit.geometry import Resample, Window
from stridekit.geometry.layout import positional
from stridekit.lowering import OPS, Lowered, Meta, mixing, moves, pointwise, views, windows
from tests.lowering.oracles import coordinates, dependencies, reads

GLOBAL = {"global_pool", "attention", "linear", "other", "flatten"}
X = (1, 2, 7, 6)


def meta(shape: tuple[int, ...] = X) -> Meta:
    return Meta.standard(shape, spatial=len(shape) - 2)


def positive(*shape: int) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 0.5


@dataclass
class Case:
    op: str  # the canonical op under test
    run: Callable[[torch.Tensor], torch.Tensor]  # the same op in torch
    lower: Callable[[], Lowered]
    kind: str
    shape: tuple[int, ...] = X
    oracle: str = "depends"  # "reads" for pure data movement (ids), else Jacobians
    exact: bool = True  # the maps are exact (not outer bounds)
    borders: bool = True  # outputs that read padding positions are checked too
    source: Callable[[], Meta] | None = None  # the input's layout, when not (N, C, *spatial)


W3 = positive(4, 2, 3, 3)
WT = positive(2, 3, 3, 3)  # transposed: (C_in, C_out, k, k)
NHWC = views.permute(meta(), (1, 7, 6, 2), order=[0, 2, 3, 1])


def _s2d_views(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    return (
        x.reshape(n, c, h // 2, 2, w // 2, 2)
        .permute(0, 1, 3, 5, 2, 4)
        .reshape(n, 4 * c, h // 2, w // 2)
    )


def _s2d_lowered() -> Lowered:
    a = views.reshape(meta((1, 2, 8, 6)), (1, 2, 4, 2, 3, 2))
    b = views.permute(
        Meta((1, 2, 4, 2, 3, 2), a.layout, 2), (1, 2, 2, 2, 4, 3), order=[0, 1, 3, 5, 2, 4]
    )
    return views.reshape(Meta((1, 2, 2, 2, 4, 3), b.layout, 2), (1, 8, 4, 3))


PHASES = [(a, b) for b in (0, 1) for a in (0, 1)]  # Swin's order: (0,0), (1,0), (0,1), (1,1)


def _phase_concat(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x[:, :, a::2, b::2] for a, b in PHASES], 1)


def _phases_lowered(order: list[tuple[int, int]]) -> Lowered:
    quarter = meta((1, 2, 4, 3))
    return views.concat(
        [quarter] * len(order),
        (1, 2 * len(order), 4, 3),
        dim=1,
        phases=[(Resample.step(a, 2), Resample.step(b, 2)) for a, b in order],
    )


UNFOLD = windows.Unfold(kernel=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(1, 1))


def _unfolded() -> Meta:
    low = windows.im2col(meta(), (1, 18, 12), unfold=UNFOLD)
    return Meta((1, 18, 12), low.layout, 2)


PART = (1, 2, 4, 6)  # cut into 2 × 2 windows of 2 × 3 pixels, or a grid of 2 × 2 cells


def _partition_run(grid: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """MaxViT's window (or grid) partition of an NCHW map: (cells, tokens, C)."""

    def run(x: torch.Tensor) -> torch.Tensor:
        nhwc = x.permute(0, 2, 3, 1).reshape(1, 2, 2, 2, 3, 2)
        order = (0, 2, 4, 1, 3, 5) if grid else (0, 1, 3, 2, 4, 5)
        return nhwc.permute(*order).reshape(-1, 4 if grid else 6, 2)

    return run


def _partition(grid: bool) -> Meta:
    nhwc = views.permute(meta(PART), (1, 4, 6, 2), order=[0, 2, 3, 1])
    cut = views.reshape(Meta((1, 4, 6, 2), nhwc.layout, 2), (1, 2, 2, 2, 3, 2))
    order = (0, 2, 4, 1, 3, 5) if grid else (0, 1, 3, 2, 4, 5)
    moved = views.permute(Meta((1, 2, 2, 2, 3, 2), cut.layout, 2), (1, 2, 2, 2, 3, 2), order=order)
    shape = tuple((1, 2, 2, 2, 3, 2)[d] for d in order)
    tokens = (6, 4, 2) if grid else (4, 6, 2)
    return Meta(tokens, views.reshape(Meta(shape, moved.layout, 2), tokens).layout, 2)


def _window_product(x: torch.Tensor) -> torch.Tensor:
    tokens = _partition_run(grid=False)(x)
    return tokens @ tokens.transpose(1, 2)


def _window_product_lowered() -> Lowered:
    tokens = _partition(grid=False)
    transposed = views.permute(tokens, (4, 2, 6), order=[0, 2, 1])
    right = Meta((4, 2, 6), transposed.layout, 2)
    return mixing.matmul(tokens, right, (4, 6, 6), shapes=((4, 6, 2), (4, 2, 6)))


PATCHES = (1, 2, 4, 6)  # 2 × 3 patches of 2 × 2 pixels


def _patch_tokens(channels_first: bool) -> Meta:
    """A patch embedding's input written as views (NaFlexViT: ``(N, tokens, p·p·C)``;
    Gemma 4's encoder: ``(N, tokens, C·p·p)``)."""
    cut = views.reshape(meta(PATCHES), (1, 2, 2, 2, 3, 2))
    order = (0, 2, 4, 1, 3, 5) if channels_first else (0, 2, 4, 3, 5, 1)
    moved = views.permute(Meta((1, 2, 2, 2, 3, 2), cut.layout, 2), (1, 2, 3, 2, 2, 2), order=order)
    shape = tuple((1, 2, 2, 2, 3, 2)[d] for d in order)
    return Meta((1, 6, 8), views.reshape(Meta(shape, moved.layout, 2), (1, 6, 8)).layout, 2)


def _patch_run(channels_first: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    order = (0, 2, 4, 1, 3, 5) if channels_first else (0, 2, 4, 3, 5, 1)
    return lambda x: x.reshape(1, 2, 2, 2, 3, 2).permute(*order).reshape(1, 6, 8) @ positive(8, 5)


def _dct_rows() -> Meta:
    """CSATv2's DCT stem: 2 × 2 blocks as ``(N, H/2, W/2, C, 2, 2)``, transformed along
    the block's width first."""
    cut = views.reshape(meta(PATCHES), (1, 2, 2, 2, 3, 2))
    moved = views.permute(
        Meta((1, 2, 2, 2, 3, 2), cut.layout, 2), (1, 2, 3, 2, 2, 2), order=[0, 2, 4, 1, 3, 5]
    )
    return Meta((1, 2, 3, 2, 2, 2), moved.layout, 2)


CASES: dict[str, Case] = {
    "conv_strided": Case(
        "conv", lambda x: F.conv2d(x, W3, stride=2, padding=1),
        lambda: windows.conv(meta(), None, weight=(4, 2, 3, 3), stride=2, padding=1), "conv"),
    "conv_dilated_asymmetric": Case(
        "conv", lambda x: F.conv2d(F.pad(x, (0, 0, 2, 1)), W3, dilation=2),
        lambda: windows.conv(meta(), None, weight=(4, 2, 3, 3), dilation=2, padding=[(2, 1), (0, 0)]),
        "conv"),
    "conv_transposed": Case(
        "conv", lambda x: F.conv_transpose2d(x, WT, stride=2, padding=1, output_padding=1),
        lambda: windows.conv(meta(), None, weight=(2, 3, 3, 3), stride=2, padding=1,
                             transposed=True, output_padding=1), "conv_transpose"),
    "avg_pool_ceil": Case(
        "pool", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
        lambda: windows.pool(meta(), None, kind="avg_pool", kernel=3, stride=2, padding=1,
                             ceil_mode=True), "avg_pool"),
    "avg_pool_default_stride": Case(
        "pool", lambda x: F.avg_pool2d(x, 2),
        lambda: windows.pool(meta(), None, kind="avg_pool", kernel=2), "avg_pool"),
    "adaptive_uneven": Case(
        "adaptive_pool", lambda x: F.adaptive_avg_pool2d(x, (3, 4)),
        lambda: windows.adaptive_pool(meta(), (1, 2, 3, 4), kind="avg_pool"), "avg_pool",
        exact=False),
    "adaptive_global": Case(
        "adaptive_pool", lambda x: F.adaptive_avg_pool2d(x, 1),
        lambda: windows.adaptive_pool(meta(), (1, 2, 1, 1), kind="avg_pool"), "global_pool"),
    "global_pool": Case(
        "global_pool", lambda x: x.mean((2, 3), keepdim=True),
        lambda: windows.global_pool(meta()), "global_pool"),
    "space_to_depth": Case(
        "space_to_depth", lambda x: F.pixel_unshuffle(x, 2),
        lambda: windows.space_to_depth(meta((1, 2, 8, 6)), None, block=2), "pixel_unshuffle",
        (1, 2, 8, 6), "reads"),
    "depth_to_space": Case(
        "depth_to_space", lambda x: F.pixel_shuffle(x, 2),
        lambda: windows.depth_to_space(meta((1, 8, 4, 3)), None, block=2), "pixel_shuffle",
        (1, 8, 4, 3), "reads"),
    "im2col": Case(
        "im2col", lambda x: F.unfold(x, 3, padding=1, stride=2),
        lambda: windows.im2col(meta(), (1, 18, 12), unfold=UNFOLD), "unfold", oracle="reads"),
    "col2im_after_im2col": Case(
        "col2im", lambda x: F.fold(x, (7, 6), 3, padding=1, stride=2),
        lambda: windows.col2im(_unfolded(), (1, 2, 7, 6), unfold=UNFOLD), "fold", (1, 18, 12),
        source=_unfolded),
    "tensor_unfold": Case(
        "tensor_unfold", lambda x: x.unfold(2, 3, 2),
        lambda: windows.tensor_unfold(meta(), (1, 2, 3, 6, 3), dim=2, size=3, step=2), "unfold",
        oracle="reads"),
    "resize_bilinear_x2": Case(
        "resize", lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
        lambda: moves.resize(meta(), None, mode="linear", coordinate="half_pixel", scales=[2, 2]),
        "upsample", exact=False),
    "resize_nearest_to_size": Case(
        "resize", lambda x: F.interpolate(x, size=(10, 4), mode="nearest"),
        lambda: moves.resize(meta(), None, sizes=[10, 4]), "upsample", oracle="reads", exact=False),
    "resize_nearest_exact_half": Case(
        "resize", lambda x: F.interpolate(x, scale_factor=0.5, mode="nearest-exact"),
        lambda: moves.resize(meta(), None, nearest="round_prefer_ceil", coordinate="half_pixel",
                             scales=[0.5, 0.5]), "upsample", oracle="reads", exact=False),
    "resize_bicubic_corners": Case(
        "resize", lambda x: F.interpolate(x, size=(9, 11), mode="bicubic", align_corners=True),
        lambda: moves.resize(meta(), (1, 2, 9, 11), mode="cubic", coordinate="align_corners"),
        "upsample", exact=False),
    "pad_constant": Case(
        "pad", lambda x: F.pad(x, (0, 2, 1, 3)),
        lambda: moves.pad(meta(), None, pads={2: (1, 3), 3: (0, 2)}), "pad", oracle="reads"),
    "pad_reflect": Case(
        "pad", lambda x: F.pad(x, (2, 1, 0, 0), mode="reflect"),
        lambda: moves.pad(meta(), None, pads={3: (2, 1)}, mode="reflect"), "pad", borders=False),
    "slice_phases": Case(
        "slice", lambda x: x[:, :, 1::2, :-1],
        lambda: moves.slice_(meta(), None, dims=[2, 3], starts=[1, 0], steps=[2, 1],
                             stops=[None, -1]), "slice", oracle="reads"),
    "reshape_tokens": Case(
        "reshape", lambda x: x.flatten(2), lambda: views.reshape(meta(), (1, 2, 42)),
        "elementwise", oracle="reads"),
    "reshape_space_to_depth": Case(
        "reshape", _s2d_views, _s2d_lowered, "pixel_unshuffle", (1, 2, 8, 6), "reads"),
    "reshape_window_partition": Case(
        "reshape", _partition_run(grid=False), lambda: views.reshape(_partition(False), (4, 6, 2)),
        "elementwise", PART, "reads"),
    "reshape_grid_partition": Case(
        "reshape", _partition_run(grid=True), lambda: views.reshape(_partition(True), (6, 4, 2)),
        "elementwise", PART, "reads"),
    "reshape_flatten": Case(
        "reshape", lambda x: x.flatten(1), lambda: views.reshape(meta(), (1, 84)), "flatten",
        oracle="reads"),
    "permute_nhwc": Case(
        "permute", lambda x: x.permute(0, 2, 3, 1), lambda: NHWC, "elementwise", oracle="reads"),
    "unsqueeze": Case(
        "unsqueeze", lambda x: x.unsqueeze(2), lambda: views.unsqueeze(meta(), (1, 2, 1, 7, 6), dims=[2]),
        "elementwise", oracle="reads"),
    "squeeze": Case(
        "squeeze", lambda x: x.squeeze(0), lambda: views.squeeze(meta(), (2, 7, 6), dims=[0]),
        "elementwise", oracle="reads"),
    "expand_channels": Case(
        "expand", lambda x: x.expand(1, 5, 7, 6), lambda: views.expand(meta((1, 1, 7, 6)), (1, 5, 7, 6)),
        "elementwise", (1, 1, 7, 6), "reads"),
    "split_channels": Case(
        "split", lambda x: x.split(1, dim=1)[1], lambda: views.split(meta(), (1, 1, 7, 6), dim=1),
        "elementwise", oracle="reads"),
    "split_height": Case(
        "split", lambda x: x.split(3, dim=2)[0], lambda: views.split(meta(), (1, 2, 3, 6), dim=2),
        "other", oracle="reads"),
    "select_channel": Case(
        "select", lambda x: x[:, 1], lambda: views.select(meta(), (1, 7, 6), dim=1),
        "elementwise", oracle="reads"),
    "index_channels": Case(
        "select", lambda x: x[:, [1, 0, 1]], lambda: views.select(meta(), (1, 3, 7, 6), dim=1, index_rank=1),
        "elementwise", oracle="reads"),
    "concat_channels": Case(
        "concat", lambda x: torch.cat([x, x.flip(1)], 1),
        lambda: views.concat([meta(), meta()], (1, 4, 7, 6), dim=1), "concat", oracle="reads"),
    "concat_phases_space_to_depth": Case(
        "concat", _phase_concat, lambda: _phases_lowered(PHASES), "pixel_unshuffle", (1, 2, 8, 6),
        "reads"),
    "concat_height": Case(
        "concat", lambda x: torch.cat([x, x], 2),
        lambda: views.concat([meta(), meta()], (1, 2, 14, 6), dim=2), "other", oracle="reads"),
    "reduce_channels": Case(
        "reduce", lambda x: x.sum(1), lambda: mixing.reduce(meta(), (1, 7, 6), dims=[1], keepdim=False),
        "elementwise"),
    "reduce_space": Case(
        "reduce", lambda x: x.sum((2, 3)), lambda: mixing.reduce(meta(), (1, 2), dims=[2, 3], keepdim=False),
        "global_pool"),
    "softmax_channels": Case(
        "softmax", lambda x: x.softmax(1), lambda: mixing.softmax(meta(), X, dims=[1]), "elementwise"),
    "softmax_width": Case(
        "softmax", lambda x: x.softmax(3), lambda: mixing.softmax(meta(), X, dims=[3]), "attention"),
    "softmax_in_windows": Case(
        "softmax", lambda x: _partition_run(grid=False)(x).softmax(1),
        lambda: mixing.softmax(_partition(False), (4, 6, 2), dims=[1]), "window_attention", PART,
        exact=False),
    "softmax_over_grid": Case(
        "softmax", lambda x: _partition_run(grid=True)(x).softmax(1),
        lambda: mixing.softmax(_partition(True), (6, 4, 2), dims=[1]), "attention", PART),
    "product_in_windows": Case(
        "matmul", _window_product, _window_product_lowered, "window_attention", PART,
        exact=False),
    "linear_on_nhwc_rows": Case(
        "matmul", lambda x: x.permute(0, 2, 3, 1).reshape(42, 2) @ positive(2, 3),
        lambda: mixing.matmul(
            Meta((42, 2), views.reshape(Meta((1, 7, 6, 2), NHWC.layout, 2), (42, 2)).layout, 2),
            None, (42, 3), shapes=((42, 2), (2, 3))), "conv"),
    "linear_over_patch_pixels": Case(
        "matmul", _patch_run(False),
        lambda: mixing.matmul(_patch_tokens(False), None, (1, 6, 5), shapes=((1, 6, 8), (8, 5))), "conv",
        PATCHES),
    "linear_over_patch_pixels_channels_first": Case(
        "matmul", _patch_run(True),
        lambda: mixing.matmul(_patch_tokens(True), None, (1, 6, 5), shapes=((1, 6, 8), (8, 5))), "conv",
        PATCHES),
    "linear_along_a_block_row": Case(
        "matmul", lambda x: x.reshape(1, 2, 2, 2, 3, 2).permute(0, 2, 4, 1, 3, 5) @ positive(2, 2),
        lambda: mixing.matmul(_dct_rows(), None, (1, 2, 3, 2, 2, 2), shapes=((1, 2, 3, 2, 2, 2), (2, 2))),
        "conv", PATCHES),
    "linear_over_width": Case(
        "matmul", lambda x: x @ positive(6, 3),
        lambda: mixing.matmul(meta(), None, (1, 2, 7, 3), shapes=(X, (6, 3))), "linear"),
    "attention": Case(
        "attention", lambda x: F.scaled_dot_product_attention(*(x.flatten(2).transpose(1, 2),) * 3),
        lambda: mixing.attention((1, 42, 2)), "attention"),
    "roll_width": Case(
        "along", lambda x: x.roll(1, 3), lambda: mixing.along(meta(), X, dims=[3], name="roll"),
        "other", oracle="reads"),
    "cumsum_channels": Case(
        "along", lambda x: x.cumsum(1), lambda: mixing.along(meta(), X, dims=[1], name="cumsum"),
        "elementwise"),
    "relu": Case(
        "elementwise", torch.relu, lambda: pointwise.elementwise([meta()], X), "elementwise"),
    "gate": Case(
        "elementwise", lambda x: x * x.mean((2, 3), keepdim=True),
        lambda: pointwise.elementwise([meta(), meta((1, 2, 1, 1))], X, merge="mul"), "mul",
        exact=False),
}  # fmt: skip


def test_every_canonical_op_has_a_case() -> None:
    assert {case.op for case in CASES.values()} == set(OPS)


def _decode(source: Meta, pixel: tuple[int, ...]) -> tuple[int, ...]:
    """An input element's spatial coordinates, read with the input's own layout."""
    assert source.layout is not None
    where = coordinates(source.layout, source.shape, (0, 0, *pixel))
    return tuple(where[a] for a in range(source.spatial))


def _checked_maps(lowered: Lowered, spatial: int) -> None:
    assert lowered.axes is not None and len(lowered.axes) == spatial


def _inside(axis_map: Window | Resample, i: int, p: int) -> bool:
    if isinstance(axis_map, Window):
        return p in axis_map.taps(i)
    return i * axis_map.scale + axis_map.start <= p <= i * axis_map.scale + axis_map.stop


def _exact_reads(axis_map: Window | Resample, i: int, n: int) -> set[int] | None:
    """The input pixels output ``i`` reads when the map is exact; None near the borders."""
    if isinstance(axis_map, Window):
        taps = set(axis_map.taps(i))
        inside = {t for t in taps if 0 <= t < n}
        return inside if inside == taps or axis_map.transposed else None
    lo, hi = i * axis_map.scale + axis_map.start, i * axis_map.scale + axis_map.stop
    if lo < 0 or hi > n - 1:
        return None
    return set(range(ceil(lo), floor(hi) + 1))


@pytest.mark.parametrize("name", CASES)
def test_canonical_op_against_its_oracle(name: str) -> None:
    case = CASES[name]
    lowered = case.lower()
    assert lowered.kind == case.kind
    measure = reads if case.oracle == "reads" else dependencies
    out_shape, found = measure(case.run, case.shape)
    if lowered.shape is not None:
        assert lowered.shape == out_shape
    spatial = len(case.shape) - 2
    if case.source is not None:  # input pixels are where the input's layout says
        source = case.source()
        assert source.layout is not None
        spatial = source.spatial
        found = {
            index: {_decode(source, p) for p in pixels} if isinstance(pixels, set) else pixels
            for index, pixels in found.items()
        }
    held = [{p} if isinstance(p, tuple) else (p or set()) for p in found.values()]
    if case.kind in GLOBAL:
        # it must really move or mix positions, or it would not be global
        assert lowered.axes is None
        if case.kind == "flatten":
            assert lowered.layout is None
            return
        assert any(len(h) > 1 for h in held) or lowered.layout is None
        return
    assert lowered.layout is not None and positional(lowered.layout)
    sizes = tuple(d.extent for d in source.layout[2]) if case.source else case.shape[2:]
    # the pixels held (or depended on) by every element at each output position
    at: dict[tuple[int, ...], set[tuple[int, ...]]] = {}
    for index, pixels in found.items():
        where = coordinates(lowered.layout, out_shape, index)
        position = tuple(where[a] for a in range(spatial))
        got = {pixels} if isinstance(pixels, tuple) else (pixels or set())
        if lowered.axes is None:  # positions kept: each element holds its own pixel
            assert (got == {position}) if case.exact else (position in got), (index, got)
        at.setdefault(position, set()).update(got)
    if lowered.axes is None:
        return
    _checked_maps(lowered, spatial)
    for position, got in at.items():
        for axis, axis_map in enumerate(lowered.axes):
            i = position[axis]
            along = {p[axis] for p in got}
            if not case.borders and _exact_reads(axis_map, i, sizes[axis]) is None:
                continue
            assert all(_inside(axis_map, i, p) for p in along), (position, axis, axis_map, along)
            exact = _exact_reads(axis_map, i, sizes[axis]) if case.exact else None
            if exact is not None and got:
                assert along == exact, (position, axis, axis_map, along)


@pytest.mark.parametrize(
    "order",
    [
        [(0, 0), (1, 1)],  # two of four phases: pixels (0, 1) and (1, 0) of each block unread
        [(0, 0), (1, 0), (0, 1), (0, 1)],  # one phase twice, (1, 1) never
    ],
)
def test_phases_that_do_not_tile_the_grid_stay_a_merge(order: list[tuple[int, int]]) -> None:
    _, found = reads(lambda x: torch.cat([x[:, :, a::2, b::2] for a, b in order], 1), (1, 2, 8, 6))
    counts = Counter(found.values())  # the oracle: how often each pixel is held (2 channels)
    assert len(counts) < 8 * 6 or set(counts.values()) != {2}
    assert _phases_lowered(order).kind == "concat"


def test_a_broadcast_one_pixel_map_keeps_its_jump() -> None:
    """A pooled 1×1 map resized back onto a map (DeepLab's image pooling) reads pixel 0
    everywhere; its field is already global, and it must merge with the map's branch."""
    up = moves.resize(meta((1, 2, 1, 1)), (1, 2, 7, 6), mode="linear", coordinate="half_pixel")
    assert up.axes == (Resample.broadcast(7), Resample.broadcast(6))
    assert all(a.scale == 1 for a in up.axes)
    _, found = reads(lambda x: F.interpolate(x, size=(7, 6), mode="bilinear"), (1, 2, 1, 1))
    assert set(found.values()) == {(0, 0)}
    assert up.axes[0].output_size(1) == 7 and up.axes[0].factor == Fraction(7)
