"""Argument checks shared by the layers: each raises a `StrideError` that says what to do."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from stridekit.errors import InvalidWindowError, OutputSizeError, UnsupportedError

PAD_MODES: tuple[str, ...] = ("reflect", "replicate", "zeros", "circular")


def check_int(layer: str, name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum``, else an `InvalidWindowError` naming the layer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidWindowError(f"{layer}: {name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_tuple(
    layer: str, name: str, value: int | Sequence[int], dims: int, minimum: int = 1
) -> tuple[int, ...]:
    """An int or a sequence of ``dims`` ints, each ``>= minimum``, as a tuple."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (check_int(layer, name, value, minimum),) * dims
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != dims:
        raise InvalidWindowError(
            f"{layer}: {name} must be an integer or {dims} integers, got {value!r}"
        )
    return tuple(check_int(layer, name, v, minimum) for v in value)


def check_pad_mode(layer: str, pad_mode: object) -> str:
    if pad_mode not in PAD_MODES:
        raise InvalidWindowError(
            f"{layer}: unknown pad_mode {pad_mode!r}; choose one of {', '.join(PAD_MODES)}"
        )
    return str(pad_mode)


def torch_pad_mode(pad_mode: str) -> str:
    """The name `torch.nn.functional.pad` uses for ``pad_mode``."""
    return "constant" if pad_mode == "zeros" else pad_mode


def spatial_sizes(layer: str, x: torch.Tensor, dims: int) -> tuple[int, ...]:
    """The last ``dims`` sizes of ``x``, after checking it has a batch and channel axis."""
    if x.dim() != dims + 2:
        raise OutputSizeError(
            f"{layer}: expected a {dims + 2}-d input (batch, channels, {dims} spatial), "
            f"got shape {tuple(x.shape)}"
        )
    sizes = tuple(x.shape[2:])
    for size in sizes:
        if isinstance(size, torch.SymInt):
            raise UnsupportedError(
                f"{layer}: the padding depends on the spatial size, which is symbolic here "
                "(torch.export with a dynamic spatial dim); export with static spatial "
                "sizes, or build the layer with input_size=... for static padding"
            )
    return tuple(int(size) for size in sizes)
