"""Build a torch module without its weights: every parameter lands on the meta device.

The torch frontend traces on meta tensors and reads nothing of a parameter but its shape,
dtype and size, so a zoo model built for analysis needs no weight storage at all:
``timm:vit_huge_patch14_224`` (632M parameters, 2.5 GB in float32) builds in 0.05 s
instead of 20 s (two cores) and costs no more memory than its largest single layer.

`build_on_meta` tries two ways, then gives up and builds normally:

1. `parameters_on_meta`: each parameter moves to the meta device as its module registers
   it (accelerate's ``init_empty_weights``), before the module initialises it, so no
   weight is ever filled and the short-lived uninitialised CPU tensor of ``torch.empty``
   is never touched. Everything else stays real: buffers computed from values in
   ``__init__`` (position indices, anchors) and what the builder computes along the way
   (timm's ``torch.linspace(0, rate, depth).tolist()`` drop-path rates).
2. ``with torch.device("meta")``: every tensor the builder creates is meta, for builders
   that run a forward pass to measure their own feature maps (torchvision's SSDlite,
   timm's hybrid ViTs: a real input against meta weights fails) or copy a computed
   table into a buffer (timm's Swin-V2-CR, RoPE ViTs).

In both, the initialisers' in-place writes into meta tensors (``trunc_normal_``,
``zero_``...), which change nothing but cost time in torch's Python meta kernels, are
skipped (ViT-H: 0.05 s instead of 0.16 s). A builder that reads a value (``.item()``,
``.tolist()``) fails under a way rather than building something else, so whatever way
succeeds gives the same architecture as a normal build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["build_on_meta", "parameters_on_meta"]

Built = TypeVar("Built")


@contextmanager
def parameters_on_meta() -> Iterator[None]:
    """Inside the block, parameters are moved to the meta device as modules register them.

    It patches ``nn.Module.register_parameter`` (which ``module.name = Parameter(...)``
    calls) for the duration of the block, so build only in one thread meanwhile.

    >>> from torch import nn
    >>> with parameters_on_meta():
    ...     layer = nn.Linear(50_000, 50_000)  # 10 GB of float32, never allocated
    >>> layer.weight.is_meta, layer.weight.shape, layer.weight.requires_grad
    (True, torch.Size([50000, 50000]), True)
    """
    original = nn.Module.register_parameter

    def register(self: nn.Module, name: str, param: nn.Parameter | None) -> None:
        original(self, name, param)
        if param is None or isinstance(param, UninitializedParameter) or param.is_meta:
            return
        self._parameters[name] = _on_meta(param)

    nn.Module.register_parameter = register  # type: ignore[method-assign]
    try:
        with _SkipMetaWrites():
            yield
    finally:
        nn.Module.register_parameter = original  # type: ignore[method-assign]


class _SkipMetaWrites(TorchDispatchMode):
    """In-place ops into a meta tensor return it untouched: a meta tensor has no values
    to write. Ops that change a tensor's shape in place (``resize_``, ``t_``: torch tags
    them ``inplace_view``) and every op on real tensors still run."""

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        tags = func.tags
        if (
            torch.Tag.inplace in tags
            and torch.Tag.inplace_view not in tags
            and args
            and isinstance(args[0], torch.Tensor)
            and args[0].is_meta
        ):
            return args[0]
        return func(*args, **(kwargs or {}))


def _on_meta(param: nn.Parameter) -> nn.Parameter:
    """The same parameter (class, ``requires_grad``, attributes) on the meta device."""
    data = param.detach().to("meta")
    try:
        moved = type(param)(data, requires_grad=param.requires_grad)
    except TypeError:  # a subclass with its own constructor: a plain Parameter will do
        moved = nn.Parameter(data, requires_grad=param.requires_grad)
    moved.__dict__.update(param.__dict__)  # e.g. timm's or a user's tags on parameters
    return moved


def build_on_meta(builder: Callable[[], Built]) -> tuple[Built, bool]:
    """``builder()`` with its parameters on meta if one of the two ways above works (then
    ``True``), else ``builder()`` called normally (``False``; its errors propagate).

    >>> from torch import nn
    >>> net, on_meta = build_on_meta(lambda: nn.Conv2d(3, 8, 3))
    >>> on_meta, net.weight.is_meta
    (True, True)
    >>> class Checked(nn.Conv2d):
    ...     def __init__(self):
    ...         super().__init__(3, 8, 3)
    ...         assert self.weight.abs().max().item() < 1  # reads a value
    >>> net, on_meta = build_on_meta(Checked)
    >>> on_meta, net.weight.is_meta
    (False, False)
    """
    for way in (parameters_on_meta, _everything_on_meta):
        try:
            with way():
                return builder(), True
        except Exception:  # it needs values somewhere: try the next way
            continue
    return builder(), False


@contextmanager
def _everything_on_meta() -> Iterator[None]:
    with torch.device("meta"), _SkipMetaWrites():
        yield
