"""Readable, unique node names from module paths, call indices and op names.

- a leaf module's only op takes the module path: ``layer1.0.conv1``;
- other ops are ``path/op``: ``layer1.0/add``, or just ``op`` at the top level;
- a module's second call is ``path:1`` (``layer1.0.relu:1``), a repeated op ``path/op:1``.

>>> assign_names([("conv1", 0, True, "conv"), ("relu", 0, True, "relu"),
...               ("relu", 1, True, "relu"), ("layer1.0", 0, False, "add"),
...               ("layer1.0", 0, False, "add"), ("", 0, False, "flatten")])
['conv1', 'relu', 'relu:1', 'layer1.0/add', 'layer1.0/add:1', 'flatten']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from stridekit.graph import OP_KINDS

# kinds that name an op better than its aten name does
_NAMED_BY_KIND = frozenset(OP_KINDS) - {"input", "elementwise", "other"}
_DROP = ("native_", "_legit_no_training", "_legit_functional", "_legit", "_with_indices")


def short_name(kind: str, target: str) -> str:
    """``conv`` for a convolution; the aten name, tidied, for other ops.

    >>> short_name("elementwise", "aten._native_batch_norm_legit_no_training.default")
    'batch_norm'
    >>> short_name("max_pool", "aten.max_pool2d_with_indices.default")
    'max_pool'
    """
    if kind in _NAMED_BY_KIND:
        return kind
    parts = target.split(".")
    name = parts[1] if len(parts) > 1 else parts[0]
    for fragment in _DROP:
        name = name.replace(fragment, "")
    return name.strip("_") or kind


def assign_names(ops: Sequence[tuple[str, int, bool, str]]) -> list[str]:
    """One unique name per ``(module path, call index, is leaf, short op name)``."""
    per_call = Counter((path, call) for path, call, _, _ in ops)
    seen: Counter[str] = Counter()
    taken = {"input"}
    names = []
    for path, call, leaf, short in ops:
        label = f"{path}:{call}" if call and path else path
        if leaf and label and per_call[(path, call)] == 1:
            base = label
        else:
            base = f"{label}/{short}" if label else short
        name = base if not seen[base] else f"{base}:{seen[base]}"
        seen[base] += 1
        while name in taken:
            name = f"{base}:{seen[base]}"
            seen[base] += 1
        taken.add(name)
        names.append(name)
    return names
