"""Freeze learned strides: each `DiffStride2d` becomes a fixed `SpectralPool2d`.

The frozen layer keeps the learned layer's size rule and mask (same ``smoothness``), at the
learned stride rounded to ``decimals`` places, so its output has the learned layer's size
unless rounding moves the stride across a bin edge (``decimals=None`` keeps the exact
float32 value, and then the output is the same too). The frozen op has static shapes:
``torch.export`` and ONNX see two constant matrices.
"""

from __future__ import annotations

from typing import TypeVar

from torch import nn

from stridekit.errors import InvalidWindowError, ModelError
from stridekit.nn._graph import replace, working_copy
from stridekit.nn.diff_stride import DiffStride2d
from stridekit.nn.spectral_pool import SpectralPool2d

ModelT = TypeVar("ModelT", bound=nn.Module)


def freeze_strides(
    model: ModelT, decimals: int | None = 2, inplace: bool = False
) -> tuple[ModelT, dict[str, tuple[float, float]]]:
    """Replace every `DiffStride2d` by `SpectralPool2d` at its learned, rounded stride.

    Returns the model (a copy unless ``inplace``) and ``{layer name: (S_h, S_w)}``, the
    frozen strides.

    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), DiffStride2d((2.345, 3.0)))
    >>> frozen, strides = freeze_strides(model)
    >>> strides
    {'1': (2.35, 3.0)}
    >>> frozen[1]
    SpectralPool2d(stride=(2.35, 3.0), smoothness=4.0)
    """
    if decimals is not None and (
        isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0
    ):
        raise InvalidWindowError(
            f"freeze_strides: decimals must be an integer >= 0 or None, got {decimals!r}"
        )
    model = working_copy(model, inplace)
    if isinstance(model, DiffStride2d):
        raise ModelError(
            "freeze_strides: the model is itself a DiffStride2d; build "
            "SpectralPool2d(layer.effective_strides(), layer.smoothness) instead"
        )
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, DiffStride2d)]
    if not layers:
        raise ModelError(f"freeze_strides: {type(model).__name__} has no DiffStride2d layer")
    strides: dict[str, tuple[float, float]] = {}
    for name, layer in layers:
        s_h, s_w = layer.effective_strides()
        if decimals is not None:
            s_h, s_w = max(1.0, round(s_h, decimals)), max(1.0, round(s_w, decimals))
        strides[name] = (s_h, s_w)
        replace(model, name, SpectralPool2d((s_h, s_w), smoothness=layer.smoothness))
    return model, strides
