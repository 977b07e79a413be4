"""One Keras layer call as a translation sees it, and the readers of its config.

Configs come from a file: every value is checked (type and range, `MAX_SIZE` at most)
before it reaches the geometry, and a value that is wrong is a `ModelError` naming it.

>>> ints([3, 3], 2, "kernel_size"), ints(2, 3, "strides")
((3, 3), (2, 2, 2))
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from stridekit.errors import ModelError
from stridekit.geometry import layout as lay
from stridekit.geometry.limits import MAX_SIZE
from stridekit.lowering import Lowered, Meta

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LayerCall:
    """One call of a layer: its class, its module (``keras.layers``, ``keras.src.ops.numpy``
    for a functional op such as ``x + y``), its config and its input tensors."""

    class_name: str
    module: str
    config: dict[str, Any]
    inputs: list[Meta]

    @property
    def x(self) -> Meta:
        return self.inputs[0]

    def get(self, key: str, default: Any = None) -> Any:
        value = self.config.get(key, default)
        return default if value is None else value


@dataclass(frozen=True)
class Translated:
    lowered: Lowered  # with its output shape (the Keras shape)
    params: int = 0


def ints(value: Any, count: int, what: str) -> tuple[int, ...]:
    """An int or a list of ``count`` ints (or one) from a config → ``count`` ints.

    >>> ints([3, 3], 2, "kernel_size"), ints(2, 3, "strides")
    ((3, 3), (2, 2, 2))
    >>> ints("3", 2, "kernel_size")
    Traceback (most recent call last):
    ...
    stridekit.errors.ModelError: kernel_size '3' is not an int or a list of 2 ints in 0..1,048,576
    """
    items = value if isinstance(value, list | tuple) else [value]
    if len(items) == 1:
        items = list(items) * count
    if len(items) != count or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_SIZE for v in items
    ):
        raise ModelError(
            f"{what} {repr(value)[:40]} is not an int or a list of {count} ints in 0..{MAX_SIZE:,}"
        )
    return tuple(int(v) for v in items)


def choice(call: LayerCall, key: str, choices: Sequence[str], default: str) -> str:
    value = call.get(key, default)
    if not isinstance(value, str) or value.lower() not in choices:
        raise ModelError(f"{key} {value!r}: expected one of {', '.join(choices)}")
    return value.lower()


def channels_last(call: LayerCall) -> bool:
    return choice(call, "data_format", ("channels_last", "channels_first"), "channels_last") == (
        "channels_last"
    )


def spatial_input(call: LayerCall, count: int) -> Meta:
    """The input seen channels first: ``(N, C, *spatial)``."""
    x = call.x
    if x.rank != count + 2:
        raise ModelError(f"{call.class_name} needs a rank-{count + 2} input, got {x.shape}")
    if not channels_last(call):
        return x
    order = [0, x.rank - 1, *range(1, x.rank - 1)]
    return Meta(tuple(x.shape[d] for d in order), lay.permute(x.layout, order), x.spatial)


def restore(call: LayerCall, lowered: Lowered, shape: Shape) -> Lowered:
    """A channels-first result back in the layer's data format."""
    if not channels_last(call):
        return replace(lowered, shape=shape)
    order = [0, *range(2, len(shape)), 1]
    return replace(
        lowered, shape=tuple(shape[d] for d in order), layout=lay.permute(lowered.layout, order)
    )


def axes_of(class_name: str) -> int:
    """The spatial axes a layer's class names (``Conv1D`` → 1; ``Resizing`` → 2)."""
    found = re.search(r"([123])D", class_name)
    return int(found.group(1)) if found else 2


def positive(call: LayerCall, key: str, default: int | None) -> int:
    value = call.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_SIZE:
        raise ModelError(f"{key} {repr(value)[:40]} must be an integer in 1..{MAX_SIZE:,}")
    return value


def extents(kernel: Sequence[int], dilation: Sequence[int]) -> None:
    """A window wider than any input stridekit takes is a damaged file, not a model."""
    for k, d in zip(kernel, dilation, strict=True):
        if k < 1 or d < 1 or d * (k - 1) + 1 > MAX_SIZE:
            raise ModelError(f"kernel {k} with dilation {d}: expected sizes in 1..{MAX_SIZE:,}")
