"""Frontends: a model (torch module, ONNX file, layer spec) → the `Graph` IR.

Each frontend imports its framework only when used:

>>> from stridekit.frontends import trace_torch
>>> trace_torch.__module__
'stridekit.frontends.torch'
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stridekit.frontends.onnx import load_onnx
    from stridekit.frontends.resolve import Resolved, resolve
    from stridekit.frontends.spec import load_spec
    from stridekit.frontends.torch import trace_torch, unhandled_ops

# public name → the frontend module that defines it
_LAZY = {
    "trace_torch": "torch",
    "unhandled_ops": "torch",
    "load_onnx": "onnx",
    "load_spec": "spec",
    "resolve": "resolve",
    "Resolved": "resolve",
}

__all__ = ["Resolved", "load_onnx", "load_spec", "resolve", "trace_torch", "unhandled_ops"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"stridekit.frontends.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'stridekit.frontends' has no attribute {name!r}")
