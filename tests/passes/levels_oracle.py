"""The gradient oracle for real models' outputs and levels: which input pixels reach one
position of an output (or of one pyramid level's rows), measured by autograd.

`make_positive` turns a model, in place, into its dependency oracle: positive weights
(mean-like, so values stay near 1), no activations or norms, average pooling for max
pooling. With an all-positive input nothing can cancel, so a pixel's gradient is
non-zero iff some path of ops carries it to the output: the measured extent is the
receptive field, clipped to the image. `Stop` ends a forward once a hook has what it
needs (a detector's head, before the boxes are decoded and suppressed).

`check_extent` compares one measurement with what stridekit says: a local field must
hold every pixel the gradient reaches (the interval ``m·stride + start ... + size − 1``
clipped to the image); a global one is right only where the gradient reaches the whole
image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction

import torch
from torch import nn

ACTIVATIONS = (
    nn.ReLU,
    nn.ReLU6,
    nn.SiLU,
    nn.GELU,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.LeakyReLU,
    nn.Dropout,
)
NORMS = (nn.BatchNorm2d, nn.GroupNorm)


class Stop(Exception):
    """Raised by a capture hook: the forward has gone far enough."""


def make_positive(model: nn.Module) -> nn.Module:
    """``model``, changed in place, as its own dependency oracle (float32, eval)."""
    generator = torch.Generator().manual_seed(0)
    for name, module in list(model.named_modules()):
        replacement: nn.Module | None = None
        if isinstance(module, ACTIVATIONS + NORMS) or type(module).__name__ == "FrozenBatchNorm2d":
            replacement = nn.Identity()
        elif isinstance(module, nn.MaxPool2d):
            replacement = nn.AvgPool2d(
                module.kernel_size, module.stride, module.padding, ceil_mode=module.ceil_mode
            )
        if replacement is not None and name:
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, child, replacement)
    with torch.no_grad():
        for parameter in model.parameters():
            fan_in = parameter[0].numel() if parameter.dim() > 1 else 1
            values = torch.rand(parameter.shape, generator=generator) + 0.5
            parameter.copy_(values / fan_in if parameter.dim() > 1 else values * 0.1)
    return model.float().eval()


def captured(
    model: nn.Module, module: nn.Module, x: torch.Tensor, stop: bool = True
) -> tuple[object, object]:
    """(the model's output or None, ``module``'s output) for input ``x``; with ``stop``
    the forward ends right after ``module``."""
    seen: list[object] = []

    def hook(_: nn.Module, __: object, output: object) -> None:
        seen.append(output)
        if stop:
            raise Stop

    handle = module.register_forward_hook(hook)
    try:
        out = model(x)
    except Stop:
        out = None
    finally:
        handle.remove()
    return out, seen[0]


def extent(grad: torch.Tensor) -> list[tuple[int, int] | None]:
    """Per spatial axis, the first and last input pixel with a non-zero gradient."""
    reached = grad.abs().sum(dim=(0, 1)) > 0
    found: list[tuple[int, int] | None] = []
    for axis in range(reached.dim()):
        hits = reached.any(dim=1 - axis) if reached.dim() == 2 else reached
        index = torch.nonzero(hits).flatten().tolist()
        found.append((index[0], index[-1]) if index else None)
    return found


def measure(
    x: torch.Tensor, targets: Callable[[torch.Tensor], Sequence[torch.Tensor]]
) -> list[list[tuple[int, int] | None]]:
    """The extent of the gradient of each scalar ``targets(x)`` returns (one forward,
    one backward each) with respect to ``x``."""
    x = x.detach().clone().requires_grad_()
    scalars = targets(x)
    found = []
    for i, scalar in enumerate(scalars):
        (grad,) = torch.autograd.grad(scalar, x, retain_graph=i < len(scalars) - 1)
        found.append(extent(grad))
    return found


def check_extent(
    measured: Sequence[tuple[int, int] | None],
    position: Sequence[int],
    stride: Sequence[Fraction],
    start: Sequence[Fraction],
    size: Sequence[Fraction] | None,
    image: Sequence[int],
) -> list[tuple[int, int]]:
    """Assert that stridekit's field of output ``position`` holds the measured extent
    (``size`` None: global, which must then be the whole image); the predicted clipped
    intervals, for the report."""
    assert all(m is not None for m in measured), measured
    if size is None:
        assert list(measured) == [(0, n - 1) for n in image], (measured, "reported global")
        return [(0, n - 1) for n in image]
    predicted = []
    for m, jump, lo, rf, n, got in zip(position, stride, start, size, image, measured, strict=True):
        first = m * jump + lo
        interval = (max(0, math.ceil(first)), min(n - 1, math.floor(first + rf - 1)))
        assert got is not None and interval[0] <= got[0] and got[1] <= interval[1], (
            position,
            got,
            interval,
        )
        predicted.append(interval)
    return predicted
