"""Keras for the Keras frontend's tests: imported with its torch backend, the process left as
it was (importing Keras sets environment variables and warning filters), and the oracles
read from a live Keras model: every layer's output shape, and which input pixels an
output pixel depends on (the Jacobian, through the torch backend's autograd)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported: no TensorFlow


def import_keras() -> Any:
    """Keras (the test is skipped without it), imported without changing the process."""
    before = dict(os.environ)
    with warnings.catch_warnings():
        keras = pytest.importorskip("keras")
    for key in set(os.environ) - set(before):
        del os.environ[key]
    os.environ.update(before)
    if keras.backend.backend() != "torch":
        pytest.skip(f"Keras runs on {keras.backend.backend()}, the tests need its torch backend")
    return keras


def keras_shapes(model: Any, prefix: str = "") -> dict[str, tuple[int, ...]]:
    """Every layer's output shape as Keras computes it, the batch None read as 1; the
    layers of a nested model under ``outer/inner`` (the frontend's node names)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in getattr(model, "operations", model.layers):  # with ops such as x + y
        if type(layer).__name__ == "InputLayer":
            continue
        if hasattr(layer, "layers"):  # a nested Functional or Sequential
            shapes.update(keras_shapes(layer, f"{prefix}{layer.name}/"))
            continue
        shapes[f"{prefix}{layer.name}"] = tuple(1 if n is None else n for n in layer.output.shape)
    return shapes


def save(model: Any, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy .h5 format warns
        model.save(path)
    return path


def support(model: Any, shape: tuple[int, ...], index: tuple[int, ...], axis: int) -> set[int]:
    """The input positions along spatial ``axis`` that output pixel ``index`` (spatial,
    channels summed) depends on: the nonzero rows of the Jacobian (channels last)."""
    import torch

    x = torch.rand(shape, dtype=torch.float32, requires_grad=True)
    y = model(x)
    y[(0, *index)].sum().backward()
    assert x.grad is not None
    moved = x.grad.abs().sum(dim=-1)[0]  # (spatial...)
    other = [d for d in range(moved.dim()) if d != axis]
    along = moved.sum(dim=other) if other else moved
    return {int(i) for i in torch.nonzero(along).flatten()}
