"""Model surgery shared by the converters: copying, tracing, replacing submodules."""

from __future__ import annotations

import copy
from typing import TypeVar

import torch.fx
from torch import nn

from stridekit.errors import ModelError

ModelT = TypeVar("ModelT", bound=nn.Module)


def working_copy(model: ModelT, inplace: bool) -> ModelT:
    """``model`` itself when ``inplace``, else a deep copy (weights included)."""
    if not isinstance(model, nn.Module):
        raise ModelError(f"expected a torch.nn.Module, got {type(model).__name__}")
    return model if inplace else copy.deepcopy(model)


class _Tracer(torch.fx.Tracer):
    """torch.fx's tracer, with stridekit's layers kept whole like ``torch.nn``'s."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if type(m).__module__.startswith("stridekit.nn."):
            return True
        return super().is_leaf_module(m, module_qualified_name)


def trace(model: nn.Module, converter: str) -> torch.fx.Graph:
    """The data-flow graph of ``model`` (torch.fx; ``torch.nn`` layers stay single nodes)."""
    try:
        return _Tracer().trace(model)
    except Exception as error:  # fx raises many types for untraceable Python
        raise ModelError(
            f"{converter}: cannot follow the data flow of {type(model).__name__} with "
            f"torch.fx ({type(error).__name__}: {error}); convert the traceable submodules "
            "one by one, or move data-dependent control flow out of forward()"
        ) from None


def replace(model: nn.Module, name: str, module: nn.Module) -> None:
    """Put ``module`` at the dotted path ``name`` inside ``model``."""
    model.set_submodule(name, module)
