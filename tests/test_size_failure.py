"""A model that cannot run at the size asked: the tracer recognises a failed merge by what
the failing op is, and `analyze` answers from a nearby size that runs, against eager runs
of the model at every size (`tests.passes.reachability`)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stridekit.analysis import analyze
from stridekit.errors import MergeSizeError, ModelError
from stridekit.size_failure import SizeFailure, nearby_shapes
from tests.passes.reachability import valid_sizes_by_forward


class UNet(nn.Module):
    """Three 2x2 poolings, each undone by a stride-2 transposed conv and concatenated
    with its level's skip: it runs at multiples of 8 only."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.ModuleList(nn.Conv2d(c, 2, 3, padding=1) for c in (1, 2, 2))
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(nn.ConvTranspose2d(2, 2, 2, stride=2) for _ in range(3))
        self.merge = nn.ModuleList(nn.Conv2d(4, 2, 3, padding=1) for _ in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.down:
            x = down(x)
            skips.append(x)
            x = self.pool(x)
        for up, merge in zip(self.up, self.merge, strict=True):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        return x


def failure_at(model: nn.Module, size: tuple[int, int]) -> MergeSizeError:
    with pytest.raises(MergeSizeError) as caught:
        analyze(model, (1, 1, *size))
    return caught.value


def test_unet_at_34_names_the_merge_its_sizes_and_the_valid_sizes() -> None:
    model = UNet()
    error = failure_at(model, (34, 34))
    # 34 → 17 → 8 → 4 pooled; 4 → 8 meets the skip of 8, then 8 → 16 meets 17: fails there
    assert error.sizes == ((16, 16), (17, 17))
    failure = error.explanation
    assert isinstance(failure, SizeFailure)
    concats = [n.name for n in failure.nearby.graph.nodes if n.op == "concat"]
    assert failure.merge == concats[1]
    # the oracle: the sizes at which the eager model runs and every pixel reaches the output
    runs = valid_sizes_by_forward(model, 48)
    for valid in failure.valid:
        assert valid is not None and valid.between(1, 48) == runs
    assert [failure.nearest(axis) for axis in (0, 1)] == [
        (max(n for n in runs if n < 34), min(n for n in runs if n > 34))
    ] * 2
    assert "8k" in str(error) and "32 (crop 2) or 40 (pad 6)" in str(error)
    assert "the branches merged at" in str(error) and "16x16 and 17x17" in str(error)


def test_each_axis_gets_its_own_answer() -> None:
    error = failure_at(UNet(), (34, 40))  # 40 is valid: only the first axis fails
    assert error.sizes == ((16, 40 // 2), (17, 40 // 2))
    assert "valid sizes on axis 0: 8k: 32 (crop 2) or 40 (pad 6)" in str(error)
    assert "valid sizes on axis 1: 8k: 40 is one" in str(error)


class Mismatch(nn.Module):
    def __init__(self, merge: str) -> None:
        super().__init__()
        self.merge = merge
        self.conv = nn.Conv2d(1, 4, 3)  # 3x3 without padding: 2 pixels fewer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.merge == "add":
            return y + x  # spatial sizes differ
        if self.merge == "cat":
            return torch.cat([y, x], 1)
        if self.merge == "channels":
            return self.conv(x) + y[:, :2]  # equal sizes, channels differ: not ours
        return y.view(3, -1)  # a view that cannot hold the elements: no merge at all


@pytest.mark.parametrize(
    ("merge", "recognised"),
    [("add", True), ("cat", True), ("channels", False), ("view", False)],
)
def test_failed_merges_are_recognised_by_the_op_and_the_sizes(merge: str, recognised: bool) -> None:
    with pytest.raises(ModelError) as caught:
        analyze(Mismatch(merge), (1, 1, 12, 12))
    assert isinstance(caught.value, MergeSizeError) is recognised
    if recognised:
        assert isinstance(caught.value, MergeSizeError)
        assert caught.value.sizes == ((10, 10), (12, 12))  # 12 − 3 + 1 = 10


def test_a_merge_that_fails_at_every_size_keeps_the_tracer_message() -> None:
    # no size runs (10 ≠ 12 for every n): nothing nearby to answer from
    error = failure_at(Mismatch("cat"), (12, 12))
    assert error.explanation is None and "forward pass failed" in str(error)


def test_nearby_shapes_round_each_axis_to_growing_multiples() -> None:
    shapes = list(nearby_shapes((1, 3, 250, 37)))
    assert shapes[:2] == [(1, 3, 250, 38), (1, 3, 250, 36)]  # multiples of 2
    assert (1, 3, 256, 40) in shapes and (1, 3, 250, 37) not in shapes
    assert len(shapes) == len(set(shapes))
