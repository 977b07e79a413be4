"""What a torch model returns, as named tensors in order.

Lists and tuples are numbered (``0``, ``1``), dicts and Hugging Face ``ModelOutput``s
keep their keys, dataclasses their field names, and nesting joins them with dots
(``1.feats.0``: YOLO's ``(y, {"boxes", "scores", "feats": [...]})``). ``None`` is
absent (a ``ModelOutput``'s ``loss`` without labels); any other value that is not a
tensor is a `ModelError`: stridekit cannot say where its pixels come from.

>>> import torch
>>> [(name, tuple(t.shape)) for name, t in flatten_outputs(
...     {"out": torch.zeros(1, 2), "aux": [torch.zeros(3), None]})]
[('out', (1, 2)), ('aux.0', (3,))]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import torch

from stridekit.errors import ModelError

__all__ = ["flatten_outputs"]


def flatten_outputs(value: Any, root: str = "model") -> list[tuple[str, torch.Tensor]]:
    """The tensors in ``value`` with their names; ``root`` names the model in errors.

    >>> flatten_outputs(torch.zeros(2))[0][0]
    'output'
    >>> flatten_outputs({"boxes": torch.zeros(2), "count": 3}, "Net")
    Traceback (most recent call last):
    ...
    stridekit.errors.ModelError: Net returns count = 3 (int), not a tensor: stridekit follows tensors only; return tensors (or lists, tuples, dicts of them), e.g. wrap the model and drop count
    """  # noqa: E501
    if isinstance(value, torch.Tensor):
        return [("output", value)]
    found = list(_walk(value, "", root))
    if not found:
        raise ModelError(
            f"{root} returns no tensor ({type(value).__name__}): stridekit needs the "
            "forward to return tensors (or lists, tuples, dicts of them)"
        )
    return found


def _items(value: Any) -> Iterator[tuple[str, Any]] | None:
    if isinstance(value, Mapping):  # dicts and transformers' ModelOutput (an OrderedDict)
        return ((str(k), v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return ((str(i), v) for i, v in enumerate(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
    return None


def _walk(value: Any, prefix: str, root: str) -> Iterator[tuple[str, torch.Tensor]]:
    items = _items(value)
    if items is None:
        raise ModelError(f"{root}: cannot read outputs of type {type(value).__name__}")
    for key, item in items:
        name = f"{prefix}.{key}" if prefix else key
        if item is None:
            continue
        if isinstance(item, torch.Tensor):
            yield name, item
        elif _items(item) is not None:
            yield from _walk(item, name, root)
        else:
            shown = " ".join(repr(item).split())
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise ModelError(
                f"{root} returns {name} = {shown} ({type(item).__name__}), not a tensor: "
                "stridekit follows tensors only; return tensors (or lists, tuples, dicts "
                f"of them), e.g. wrap the model and drop {name}"
            )
