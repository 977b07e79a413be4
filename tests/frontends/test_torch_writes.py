"""Writes into a box of a canvas (``canvas[i, :c, :h, :w].copy_(image)``: torchvision's
batched images) against the gradient oracle: the placed image keeps its positions, so
the fields after it are local and where the gradient says; a write that is no box
(every other column) stays conservative."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from stridekit.frontends.torch import trace_torch
from stridekit.passes import propagate_fields
from tests.frontends.zoo import linearized, measured_interval


class Canvas(nn.Module):
    """Each image of the batch written into a zero canvas ``size`` a side at ``offset``
    (``stride`` 2: every other column, no box), then a strided conv."""

    def __init__(self, size: int, offset: int = 0, step: int = 1) -> None:
        super().__init__()
        self.size, self.offset, self.step = size, offset, step
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        canvas = x.new_full((n, c, self.size, self.size * self.step), 0)
        o, s = self.offset, self.step
        for i, image in enumerate(x.unbind(0)):
            canvas[i, :c, o : o + h, o * s : (o + w) * s : s].copy_(image)
        return self.conv(canvas)


CASES = {  # canvas side, offset; input shape
    "top-left, one image": ((32, 0), (1, 3, 25, 30)),
    "top-left, two images": ((32, 0), (2, 3, 25, 30)),
    "at an offset": ((32, 3), (1, 3, 25, 20)),
}


@pytest.mark.parametrize("case", CASES)
def test_a_write_into_a_box_is_a_pad_whose_fields_the_gradient_confirms(case: str) -> None:
    torch.manual_seed(0)
    (size, offset), shape = CASES[case]
    model = Canvas(size, offset)
    graph = trace_torch(model, shape)
    write = next(n for n in graph.nodes if n.target.startswith("aten.copy_"))
    assert write.output_shape[2:] == (model.size, model.size)
    assert not write.attributes.get("unhandled") and write.op != "other"
    fields = propagate_fields(graph).fields[graph.output.name]
    assert not any(f.is_global for f in fields)
    oracle = linearized(model)
    x = (torch.rand(shape, dtype=torch.float64) + 0.5).requires_grad_()
    out = oracle(x)
    grid = out.shape[2:]
    for position in [(0, 0), (grid[0] // 2, grid[1] // 3), (grid[0] - 1, grid[1] - 1)]:
        (grad,) = torch.autograd.grad(
            out[-1, :, position[0], position[1]].sum(), x, retain_graph=True
        )
        predicted = []
        for axis, n in enumerate(shape[2:]):
            field, m = fields[axis], position[axis]
            lo, hi = m * field.jump + field.lo, m * field.jump + field.hi
            predicted.append((max(0, math.ceil(lo)), min(n - 1, math.floor(hi))))
        if any(lo > hi for lo, hi in predicted):  # over the canvas's zeros alone
            assert not grad.any(), position
        else:
            assert [measured_interval(grad, a) for a in (0, 1)] == predicted, position


def test_a_write_of_every_other_column_stays_conservative() -> None:
    graph = trace_torch(Canvas(16, step=2), (1, 3, 12, 12))
    fields = propagate_fields(graph).fields[graph.output.name]
    assert all(f.is_global for f in fields)
