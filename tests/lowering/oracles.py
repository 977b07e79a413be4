"""Oracles for the canonical ops, measured on real tensors, not computed with stridekit:

- `reads`: which input pixels each output element of a data-movement op holds: the
  input is filled with the ids of its pixels (0 is left for padding), the op is run, and
  the ids are read back;
- `dependencies`: which input pixels each output element depends on: the Jacobian of the
  op at a random positive input (a pixel is read iff its derivative is non-zero);
- `coordinates`: where an element sits according to a `Layout` (the claim under test).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from math import prod

import torch

from stridekit.geometry.layout import Layout

Pixel = tuple[int, ...]


def coordinates(layout: Layout, shape: tuple[int, ...], index: tuple[int, ...]) -> dict[int, int]:
    """The spatial coordinates of element ``index`` that ``layout`` claims: each dim's index
    is a mixed-radix number of its digits, a spatial digit adds ``value · weight``."""
    found: dict[int, int] = {}
    for dim, size, value in zip(layout, shape, index, strict=True):
        assert prod(d.extent for d in dim) == size, (layout, shape)
        for digit in reversed(dim):
            value, place = divmod(value, digit.extent)
            if digit.owner >= 0:
                found[digit.owner] = found.get(digit.owner, 0) + place * digit.weight
    return found


def _pixels(spatial: tuple[int, ...]) -> list[Pixel]:
    return list(itertools.product(*(range(n) for n in spatial)))


def reads(
    op: Callable[[torch.Tensor], torch.Tensor], shape: tuple[int, ...]
) -> tuple[tuple[int, ...], dict[tuple[int, ...], Pixel | None]]:
    """Output shape and, per output element, the input pixel it holds (None: padding)."""
    spatial = shape[2:]
    pixels = _pixels(spatial)
    ids = torch.arange(1, len(pixels) + 1, dtype=torch.float64).reshape(spatial)
    x = ids.expand(shape).clone()
    y = op(x)
    out = {
        index: (pixels[round(v) - 1] if round(v) > 0 else None)
        for index, v in zip(
            itertools.product(*(range(n) for n in y.shape)), y.flatten().tolist(), strict=True
        )
    }
    return tuple(y.shape), out


def dependencies(
    op: Callable[[torch.Tensor], torch.Tensor], shape: tuple[int, ...], seed: int = 0
) -> tuple[tuple[int, ...], dict[tuple[int, ...], set[Pixel]]]:
    """Output shape and, per output element, the input pixels with non-zero derivative."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=generator, dtype=torch.float64) + 0.5
    jacobian = torch.autograd.functional.jacobian(op, x)
    y_shape = tuple(op(x).shape)
    reached = jacobian.reshape(prod(y_shape), *shape).abs()
    reached = reached.sum(dim=tuple(range(1, 3))) > 0  # over batch and channels
    pixels = _pixels(tuple(shape[2:]))
    out = {}
    for flat, index in enumerate(itertools.product(*(range(n) for n in y_shape))):
        hits = reached[flat].flatten().nonzero().flatten().tolist()
        out[index] = {pixels[h] for h in hits}
    return y_shape, out
