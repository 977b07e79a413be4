"""A module's whole state, taken before a trace and put back after it, whatever happens.

A trace runs the user's model on meta stand-ins (`torch.func.functional_call`), and a
forward pass may write into its module as it goes. Put back naively, such writes stick:

- a submodule registered under two names (``self.conv`` also inside ``self.blocks``) is
  swapped twice and restored once, so its parameters stay meta;
- a cache filled during the forward (timm's ``attention_bias_cache``, an LSTM's
  ``_flat_weights``, torchvision's ``AnchorGenerator.cell_anchors``) keeps meta tensors;
- a trace that fails half-way leaves whatever it had replaced so far.

`preserved` records every module reachable from the model (registered or held in a list
or dict), the contents of each module's ``__dict__`` (parameters, buffers, submodules,
hooks, ``training``, plain attributes), of every list, dict and set reachable from there,
and for every tensor found its storage and ``requires_grad``; the global
module hooks too. On exit it puts each of these containers back as it was (same objects,
same order, keys added during the trace removed) and each tensor's storage back. Nothing
is copied but plain tensor attributes (not parameters, not buffers): a forward may write
into those in place, so their values are kept; parameters and buffers never reach the
forward during a trace (it sees stand-ins), so no weight is ever copied.

>>> import torch
>>> from torch import nn
>>> class Cached(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.conv = nn.Conv2d(3, 4, 3)
...         self.blocks = nn.Sequential(self.conv)  # one module under two names
...         self.cache = {}
...     def forward(self, x):
...         self.cache[str(x.device)] = self.conv.weight.sum()
...         return self.blocks(x)
>>> net = Cached()
>>> weight = net.conv.weight
>>> with preserved(net):
...     net.conv.weight = nn.Parameter(torch.empty(4, 3, 3, 3, device="meta"))
...     _ = net(torch.empty(1, 3, 8, 8, device="meta"))
>>> net.conv.weight is weight, net.cache
(True, {})
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as torch_module

__all__ = ["ModuleState", "preserved"]

# the process-wide hook registries of torch.nn (a trace registers and removes its own)
_GLOBAL_HOOKS = tuple(
    name
    for name in (
        "_global_forward_pre_hooks",
        "_global_forward_hooks",
        "_global_forward_hooks_always_called",
        "_global_forward_hooks_with_kwargs",
        "_global_backward_pre_hooks",
        "_global_backward_hooks",
        "_global_buffer_registration_hooks",
        "_global_module_registration_hooks",
        "_global_parameter_registration_hooks",
    )
    if isinstance(getattr(torch_module, name, None), dict)
)


@dataclass
class _TensorState:
    tensor: torch.Tensor
    data: torch.Tensor  # an alias of its storage: `.data = ...` elsewhere does not move it
    requires_grad: bool
    values: torch.Tensor | None = None  # a copy, for plain attributes a forward may write into

    def restore(self) -> None:
        tensor, data = self.tensor, self.data
        if _storage(tensor) != _storage(data):
            tensor.data = data
        if self.values is not None:  # (a write through `.data` leaves `_version` as it was)
            with torch.no_grad():
                tensor.data.copy_(self.values)
        if tensor.requires_grad != self.requires_grad and tensor.is_leaf:
            tensor.requires_grad_(self.requires_grad)


@dataclass
class ModuleState:
    """Everything of a model a forward pass can change, as it was when `take` ran."""

    modules: list[tuple[nn.Module, type]] = field(default_factory=list)
    dicts: list[tuple[dict[Any, Any], list[tuple[Any, Any]]]] = field(default_factory=list)
    lists: list[tuple[list[Any], list[Any]]] = field(default_factory=list)
    sets: list[tuple[set[Any], list[Any]]] = field(default_factory=list)
    tensors: list[_TensorState] = field(default_factory=list)

    @classmethod
    def take(cls, model: nn.Module) -> ModuleState:
        """Record the state of ``model`` and of everything reachable from it.

        >>> from torch import nn
        >>> state = ModuleState.take(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))
        >>> len(state.modules), len(state.tensors)  # the Sequential and its two children
        (3, 2)
        """
        state = cls()
        seen: set[int] = set()
        stack: list[Any] = [model, *(getattr(torch_module, name) for name in _GLOBAL_HOOKS)]
        while stack:
            value = stack.pop()
            if id(value) in seen or isinstance(value, str | bytes | int | float | bool):
                continue
            seen.add(id(value))
            if isinstance(value, torch.Tensor):
                state.tensors.append(_TensorState(value, value.data, value.requires_grad))
            elif isinstance(value, nn.Module):
                state.modules.append((value, type(value)))
                stack.append(vars(value))
            elif isinstance(value, dict):
                state.dicts.append((value, list(value.items())))
                stack.extend(value.values())
            elif isinstance(value, list):
                state.lists.append((value, list(value)))
                stack.extend(value)
            elif isinstance(value, set):
                state.sets.append((value, list(value)))
                stack.extend(value)
            elif isinstance(value, tuple):
                stack.extend(value)
        registered = {
            id(tensor)
            for module, _ in state.modules
            for tensor in (*module._parameters.values(), *module._buffers.values())
        }
        for saved in state.tensors:
            if id(saved.tensor) not in registered and not saved.tensor.is_meta:
                saved.values = saved.tensor.detach().clone()
        return state

    def restore(self) -> None:
        """Put every recorded container and tensor back as it was (same objects)."""
        for module, kind in self.modules:
            if type(module) is not kind:
                module.__class__ = kind
        for mapping, items in self.dicts:
            mapping.clear()
            mapping.update(items)
        for sequence, elements in self.lists:
            sequence[:] = elements
        for collection, members in self.sets:
            collection.clear()
            collection.update(members)
        for tensor in self.tensors:
            tensor.restore()


def _storage(tensor: torch.Tensor) -> tuple[object, ...]:
    """Where a tensor's values live and how it reads them (no storage address on meta)."""
    where: tuple[object, ...] = (tensor.device, tensor.dtype, tensor.layout, tensor.shape)
    if tensor.layout is not torch.strided:
        return (*where, id(tensor))  # sparse and friends: always put their data back
    address = 0 if tensor.is_meta else tensor.data_ptr()
    return (*where, tensor.stride(), tensor.storage_offset(), address)


@contextmanager
def preserved(model: nn.Module) -> Iterator[ModuleState]:
    """Run the ``with`` block, then put ``model`` back exactly as it was (see the module
    docstring for what that covers), whether the block returns or raises.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3)).train()
    >>> with preserved(net):
    ...     _ = net.eval()
    >>> net.training
    True
    """
    state = ModuleState.take(model)
    try:
        yield state
    finally:
        state.restore()
