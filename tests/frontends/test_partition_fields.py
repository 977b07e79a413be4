"""Receptive fields of attention inside partitions (Swin and MaxViT windows, MaxViT's
grid, LeViT's global attention) against gradients measured on the real timm modules.

The oracle: a copy with positive weights and identity activations and norms
(`tests.frontends.oracles.positive_copy`), run in float64; an input pixel is in the field
of an output position iff its gradient is non-zero. Windows must bound the field: the
measured pixels are the window's own (computed from the model's configuration) and lie
inside stridekit's interval, which is not global; a grid, shifted windows that wrap
around the border, or attention over every token reach across the image, and stridekit
says global.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stridekit.frontends.torch import trace_torch
from stridekit.passes import propagate_fields
from tests.frontends.oracles import positive_copy

timm = pytest.importorskip("timm")


Request = tuple[str, tuple[int, int]]  # a module and an output position in it


def measure(
    model: nn.Module, shape: tuple[int, ...], requests: list[Request]
) -> list[list[tuple[int, int]]]:
    """For each request, per axis, the first and last input pixel whose gradient reaches
    that position of the module's output (``(N, H, W, C)``: the blocks here run channels
    last), from one forward pass of `positive_copy`."""
    oracle = positive_copy(model)
    captured: dict[str, torch.Tensor] = {}
    handles = [
        oracle.get_submodule(name).register_forward_hook(
            lambda m, i, o, name=name: captured.setdefault(name, o)
        )
        for name in {name for name, _ in requests}
    ]
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    try:
        oracle(x)
    finally:
        for handle in handles:
            handle.remove()
    found = []
    for name, position in requests:
        out = captured[name].permute(0, 3, 1, 2)
        (grad,) = torch.autograd.grad(out[(0, slice(None), *position)].sum(), x, retain_graph=True)
        reached = grad[0].abs().sum(dim=0) > 0
        extents = []
        for axis in range(2):
            hits = torch.nonzero(reached.any(dim=1 - axis)).flatten().tolist()
            extents.append((hits[0], hits[-1]))
        found.append(extents)
    return found


def fields_of(model: nn.Module, shape: tuple[int, ...], modules: list[str]) -> dict[str, tuple]:
    """stridekit's dependency fields of the last node of each module."""
    graph = trace_torch(model, shape)
    result = propagate_fields(graph)
    found = {}
    for module in modules:
        inside = [n for n in graph.nodes if n.module == module or n.module.startswith(module + ".")]
        found[module] = result.fields[inside[-1].name]
    return found


def swin() -> nn.Module:
    """A two-stage Swin (timm's class) on 56×56: 14×14 patches of 4 pixels, 7×7 windows."""
    from timm.models.swin_transformer import SwinTransformer

    torch.manual_seed(0)
    return SwinTransformer(
        img_size=56, patch_size=4, window_size=7, embed_dim=24, depths=(2, 2), num_heads=(1, 2)
    ).eval()


def test_swin_window_bounds_the_field_and_shifted_windows_wrap() -> None:
    """The first block attends inside 7×7 windows of 4×4 patches (28 input pixels);
    the second rolls the map first, and its masked wrap-around window still reaches the
    far border (the mask's weight is tiny, never zero): global."""
    model, shape = swin(), (1, 3, 56, 56)
    first, second = "layers.0.blocks.0", "layers.0.blocks.1"
    fields = fields_of(model, shape, [first, second])
    positions = (0, 5, 9, 13)  # the first window (0..6), the second (7..13)
    measured = measure(model, shape, [(first, (m, m)) for m in positions] + [(second, (0, 0))])
    for m, extents in zip(positions, measured, strict=False):
        start = m // 7 * 7 * 4
        assert extents == [(start, start + 27)] * 2  # the window's own patches
        for axis, field in enumerate(fields[first]):
            lo, hi = field.interval(m)
            assert not field.is_global and field.jump == 4
            assert lo <= extents[axis][0] <= extents[axis][1] <= hi
    assert all(hi == 55 for _, hi in measured[-1])  # from the top-left corner
    assert all(field.is_global and field.jump == 4 for field in fields[second])


def maxvit() -> nn.Module:
    """MaxViT-pico at 128×128 (4×4 windows and grid) without its squeeze-and-excitation
    gates (global by themselves), so that the partitions alone decide the field."""
    torch.manual_seed(0)
    model = timm.create_model("maxvit_pico_rw_256", pretrained=False, img_size=128).eval()
    for block in model.stages[0].blocks:
        block.conv.se = nn.Identity()
    return model


def test_maxvit_window_then_grid() -> None:
    """Stage 0 runs at stride 4 on 32×32: 4×4 windows (16 input pixels) after the
    MBConv, then a 4×4 grid whose cells are 8 tokens apart: across the image."""
    model, shape = maxvit(), (1, 3, 128, 128)
    window, grid = "stages.0.blocks.0.attn_block", "stages.0.blocks.0.attn_grid"
    fields = fields_of(model, shape, [window, grid])
    positions = (2, 13, 29)
    measured = measure(model, shape, [(window, (m, m)) for m in positions] + [(grid, (13, 13))])
    for m, extents in zip(positions, measured, strict=False):
        own = (m // 4 * 16, m // 4 * 16 + 15)
        for axis, field in enumerate(fields[window]):
            lo, hi = field.interval(m)
            assert not field.is_global and field.jump == 4
            assert extents[axis][0] <= own[0] and own[1] <= extents[axis][1]
            assert lo <= extents[axis][0] <= extents[axis][1] <= hi
            assert extents[axis][1] - extents[axis][0] < 48  # the window and a halo
    assert all(hi - lo >= 3 * 8 * 4 for lo, hi in measured[-1])  # tokens 5, 13, 21, 29
    assert all(f.is_global and f.jump == 4 for f in fields[grid])  # the grid's inverse


def test_levit_attention_is_global_and_keeps_the_query_stride() -> None:
    """LeViT attends over every token from its first stage; its subsampling attention
    reads its queries from every other token, so the grid halves at each stage (64 at
    the end, as timm declares) and every field reaches across the image."""
    torch.manual_seed(0)
    model, shape = timm.create_model("levit_128s", pretrained=False, img_size=112), (1, 3, 112, 112)
    model.eval()
    fields = fields_of(model, shape, ["stages.0.blocks.0", "stages.2"])
    oracle = positive_copy(model)
    captured: list[torch.Tensor] = []
    handle = oracle.stages[0].blocks[0].register_forward_hook(lambda m, i, o: captured.append(o))
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    oracle(x)
    handle.remove()
    captured[0][0, 0].sum().backward()  # the first token (top-left patch)
    assert x.grad is not None
    reached = (x.grad[0].abs().sum(dim=0) > 0).nonzero()
    assert reached.max().item() >= 112 - 16  # as far as the last patch row or column
    assert all(field.is_global and field.jump == 16 for field in fields["stages.0.blocks.0"])
    assert all(field.is_global and field.jump == 64 for field in fields["stages.2"])


class _Halo(nn.Module):
    """timm's `HaloAttn` on a 16×16 map of 1×1-conv features (so the field is the
    attention's alone): 4×4 query blocks, each attending to its block and a halo of one
    position around it; ``nhwc`` shows the output channels last for `measure`. One head,
    and no relative-position logits: their skew (a pad across a merged dim) is an op
    stridekit cannot prove stays inside the block, global by itself, as MaxViT's gates
    are removed above."""

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        from timm.layers.halo_attn import HaloAttn

        self.stem = nn.Conv2d(3, 16, 1)
        self.attn = HaloAttn(16, 16, stride=stride, num_heads=1, block_size=4, halo_size=1)
        self.attn.pos_embed = _NoLogits()
        self.nhwc = _ChannelsLast()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nhwc(self.attn(self.stem(x)))


class _NoLogits(nn.Module):
    """Zero logits, read from the query position by position (broadcast over keys)."""

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        return q.sum(-1, keepdim=True) * 0


class _ChannelsLast(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1)


@pytest.mark.parametrize("stride", [1, 2])
def test_halo_blocks_bound_the_field_around_every_query(stride: int) -> None:
    """A query at position m of block b reads the keys of its block and the halo around
    it: key positions [4b − 1, 4b + 4] of the 16×16 map, clipped to it, with b = m // 4 at
    stride 1 and m // 2 at stride 2 (the queries every other position, blocks of 2, the
    keys' blocks still 4 wide). stridekit's interval holds them for every query, on the
    queries' grid, and is local: the block's window (6) and the queries before the
    query in its block (3 positions at stride 1, one of 2 pixels at stride 2)."""
    torch.manual_seed(0)
    model, shape = _Halo(stride).eval(), (1, 3, 16, 16)
    (fields,) = fields_of(model, shape, ["nhwc"]).values()
    queries, per_block = 16 // stride, 4 // stride
    measured = measure(model, shape, [("nhwc", (m, m)) for m in range(queries)])
    for m, extents in enumerate(measured):
        block = m // per_block
        keys = (max(block * 4 - 1, 0), min(block * 4 + 4, 15))
        assert extents == [keys, keys]
        for axis, field in enumerate(fields):
            lo, hi = field.interval(m)
            assert not field.is_global and field.jump == stride
            assert lo <= extents[axis][0] <= extents[axis][1] <= hi
            assert hi - lo + 1 == 6 + (4 - stride)
