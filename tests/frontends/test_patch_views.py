"""Patch embeddings written as views, against gradients measured on timm's own code.

NaFlexViT and Gemma 4's encoder cut the image into patches with ``view`` and ``permute``
(timm's ``batch_patchify``, the patch's pixels before or after its channels) and embed
them with a linear layer; CSATv2's stem cuts 8 × 8 blocks the same way, runs a DCT along
each side of the block as two linear layers, reorders the 64 coefficients by indexing and
embeds them with 1×1 convolutions. Each is a patchifying convolution: an output position
reads exactly its own patch. The oracle: the input pixels whose gradient reaches an
output position (every output channel tried, so no cancellation hides a pixel).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stridekit.frontends.torch import trace_torch
from stridekit.passes import propagate_fields

timm = pytest.importorskip("timm")


def reached(out: torch.Tensor, x: torch.Tensor, index: tuple) -> list[tuple[int, int]]:
    """Per axis, the first and last input pixel whose gradient reaches ``out[index]``
    (any channel)."""
    hits = torch.zeros(x.shape[2:], dtype=torch.bool)
    for value in out[index].flatten():
        (grad,) = torch.autograd.grad(value, x, retain_graph=True)
        hits |= grad[0].abs().sum(dim=0) > 0
    extents = []
    for axis in range(2):
        found = torch.nonzero(hits.any(dim=1 - axis)).flatten().tolist()
        extents.append((found[0], found[-1]))
    return extents


class Patchify(nn.Module):
    """timm's ``batch_patchify`` and a linear embedding of each patch."""

    def __init__(self, patch: int, channels_last: bool) -> None:
        super().__init__()
        self.patch, self.channels_last = patch, channels_last
        self.proj = nn.Linear(3 * patch * patch, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from timm.models.naflexvit import batch_patchify

        patches, _ = batch_patchify(x, (self.patch, self.patch), channels_last=self.channels_last)
        return self.proj(patches)


def last_field(model: nn.Module, shape: tuple[int, ...]) -> tuple:
    graph = trace_torch(model, shape)
    return propagate_fields(graph).fields[graph.nodes[-1].name]


@pytest.mark.parametrize("channels_last", [True, False])
def test_a_linear_layer_over_patchified_views_reads_its_patch(channels_last: bool) -> None:
    torch.manual_seed(0)
    model = Patchify(4, channels_last).double()
    shape = (1, 3, 16, 12)
    fields = last_field(model, shape)
    x = torch.rand(shape, dtype=torch.float64, requires_grad=True)
    out = model(x)  # (1, 4·3 tokens, 8), row-major over the 4 × 3 patches
    for i, j in [(0, 0), (1, 2), (3, 1)]:
        measured = reached(out, x, (0, i * 3 + j))
        assert measured == [(4 * i, 4 * i + 3), (4 * j, 4 * j + 3)]
        for field, m, extent in zip(fields, (i, j), measured, strict=True):
            assert not field.is_global and field.jump == 4
            assert field.interval(m) == extent


def test_csatv2_dct_stem_reads_its_8x8_block() -> None:
    from timm.models.csatv2 import LearnableDct2d

    torch.manual_seed(0)
    stem = LearnableDct2d(8, out_chs=32).double().eval()
    shape = (1, 3, 24, 32)
    fields = last_field(stem, shape)
    x = torch.rand(shape, dtype=torch.float64, requires_grad=True)
    out = stem(x)  # (1, 32, 3, 4)
    for i, j in [(0, 0), (2, 3), (1, 2)]:
        measured = reached(out, x, (0, slice(None), i, j))
        assert measured == [(8 * i, 8 * i + 7), (8 * j, 8 * j + 7)]
        for field, m, extent in zip(fields, (i, j), measured, strict=True):
            assert not field.is_global and field.jump == 8
            assert field.interval(m) == extent
