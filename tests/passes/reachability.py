"""An independent reference for valid input sizes: real torch forward passes on CPU.

At input ``n × n`` a model is *valid* when

- its forward runs: every layer has an output and merged branches fit (``torch.cat``
  raises on different spatial sizes; the test models merge with ``cat``, because ``+``
  would broadcast a 1-pixel branch that stridekit counts as a mismatch), and
- no tensor has a real pixel that reaches no output: on `positive_copy` (positive
  weights, no activations, max pooling as average pooling) a pixel reaches the output iff
  its gradient is non-zero. The tensors judged are the model's input and every tensor
  that enters or leaves a leaf module, except what a padding module returns (its added
  pixels are padding; its input's real pixels are judged instead).

A dropped pixel's gradient is zero for every tensor it passes through, so a zero
gradient anywhere means some tensor's readers skip a pixel. The test models have no
size-independent gaps (a stride larger than the kernel), so every such pixel is one
that stridekit's size pass counts: real pixels after the last window of some tensor.
"""

from __future__ import annotations

import torch
from torch import nn

from tests.frontends.oracles import positive_copy

PADDING_MODULES = "torch.nn.modules.padding"


def _watch(
    module: nn.Module, watched: list[torch.Tensor]
) -> list[torch.utils.hooks.RemovableHandle]:
    def keep(tensor: object) -> None:
        if isinstance(tensor, torch.Tensor) and tensor.requires_grad and tensor.dim() > 2:
            if not tensor.is_leaf:
                tensor.retain_grad()
            watched.append(tensor)

    def hook(layer: nn.Module, inputs: tuple[object, ...], output: object) -> None:
        for tensor in inputs:
            keep(tensor)
        if type(layer).__module__ != PADDING_MODULES:
            keep(output)

    leaves = [m for m in module.modules() if not list(m.children())]
    return [leaf.register_forward_hook(hook) for leaf in leaves]


def valid_by_forward(model: nn.Module, n: int, channels: int = 1) -> bool:
    """Whether ``model`` runs at ``n × n`` and every real pixel of every watched tensor
    reaches its output."""
    return _valid(positive_copy(model), n, channels)


def valid_sizes_by_forward(model: nn.Module, top: int, channels: int = 1) -> list[int]:
    """The sizes ``1 … top`` at which `valid_by_forward` holds (one positive copy)."""
    oracle = positive_copy(model)
    return [n for n in range(1, top + 1) if _valid(oracle, n, channels)]


def _valid(oracle: nn.Module, n: int, channels: int) -> bool:
    watched: list[torch.Tensor] = []
    handles = _watch(oracle, watched)
    x = torch.ones(1, channels, n, n, dtype=torch.float64, requires_grad=True)
    try:
        out = oracle(x)
    except RuntimeError:  # no output somewhere, or branches of different sizes
        return False
    finally:
        for handle in handles:
            handle.remove()
    out.sum().backward()
    for tensor in [x, *watched]:
        if tensor.grad is None:
            return False  # nothing of it reaches the output
        reached = tensor.grad.abs().sum(dim=(0, 1)) > 0  # one flag per spatial pixel
        if not bool(reached.all()):
            return False
    return True
