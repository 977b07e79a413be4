"""The effective receptive field (Luo et al. 2016): where one output position's value
actually comes from.

It is the gradient of one position of a layer's output (summed over its channels) with
respect to the input, in magnitude and summed over the input's channels. The theoretical
field bounds it: a pixel outside has no path to the position, so its gradient is exactly
zero. Inside, the weights decide, and the mass gathers near the centre.

The model runs on its own device with its own weights (a zoo model is built with real,
randomly initialised ones), in eval mode; a forward hook reads the layer's output. The
user's model is left exactly as it was (`stridekit.frontends.torch_state.preserved`:
hooks, mode, parameters, caches), and no parameter gets a ``.grad``: the gradient is
asked for the input alone.

A layer is probed at a module's output: a node named after a module (``layer1.0.conv1``,
its second call ``layer1.0.relu:1``) or a module's path (``layer3``: its last call).

>>> import torch
>>> from torch import nn
>>> from stridekit.analysis import analyze
>>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3, stride=2))
>>> analysis = analyze(net, (1, 1, 12, 12))
>>> gradient = effective_field(net, analysis, "1", torch.ones(1, 12, 12).numpy(), (2, 2))
>>> [int(i) for i in gradient.nonzero()[0][[0, -1]]]    # rows 2·2 .. 2·2 + 4
[4, 8]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from stridekit.analysis import Analysis
from stridekit.errors import ModelError, UsageError
from stridekit.graph import Node
from stridekit.viz.layers import find_layer


@dataclass(frozen=True)
class Probe:
    """Where to read a layer's output: a module's path and which call (None: the last)."""

    node: Node
    module: str
    call: int | None


def probe(analysis: Analysis, name: str) -> Probe:
    """The module output that stands for layer ``name`` (see the module docstring)."""
    graph = analysis.graph
    if name in {n.name for n in graph.nodes}:
        node = graph[name]
        match = re.fullmatch(rf"{re.escape(node.module)}(?::(\d+))?", node.name)
        if node.module and match:
            return Probe(node, node.module, int(match.group(1) or 0))
        if node.op == "input":
            raise UsageError("the input has no receptive field; choose a layer")
        inside = node.module or "the model"
        raise UsageError(
            f"{name} is an op inside {inside}, not a module's output; the effective field "
            f"is read at a module's output: choose {node.module or 'a module'} or a layer "
            "named after a module"
        )
    return Probe(find_layer(analysis, name), name, None)


def effective_field(
    model: Any, analysis: Analysis, layer: str, image: np.ndarray, at: tuple[int, int]
) -> np.ndarray:
    """``|∂ Σ_c y[c, i, j] / ∂ x|`` summed over the input's channels: an ``H × W`` array.

    ``image`` is the model's input without the batch axis (``C × H × W``); ``at`` is the
    position ``(i, j)`` of the layer's output.
    """
    import torch

    from stridekit.frontends.torch_state import preserved

    where = probe(analysis, layer)
    try:
        target = model.get_submodule(where.module)
    except AttributeError:
        raise ModelError(f"{analysis.model} has no module {where.module!r}") from None
    outputs: list[Any] = []

    def keep(module: Any, inputs: Any, output: Any) -> None:
        outputs.append(output)

    if any(t.is_meta for t in [*model.parameters(), *model.buffers()]):
        raise ModelError(
            f"{analysis.model} has no weights (its tensors are on the meta device); the "
            "effective field runs the model: build it with weights, or draw the theoretical "
            "field alone (effective=False, on the command line --no-effective)"
        )
    parameter = next(iter(model.parameters()), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else None
    with preserved(model):
        model.eval()
        handle = target.register_forward_hook(keep)
        try:
            x = torch.tensor(image[None], dtype=dtype or torch.float32, device=device)
            x.requires_grad_(True)
            try:
                with torch.enable_grad():
                    model(x)
            except Exception as error:
                raise ModelError(
                    f"{analysis.model}: the forward pass on {device} failed "
                    f"({type(error).__name__}: {error}); the effective field needs a model "
                    "with real weights (or draw the theoretical field alone)"
                ) from None
            output = _chosen(outputs, where, analysis)
            value = output[0, :, at[0], at[1]].sum()
            (gradient,) = torch.autograd.grad(value, x)
        finally:
            handle.remove()
    return gradient[0].abs().sum(0).detach().cpu().double().numpy()


def _chosen(outputs: list[Any], where: Probe, analysis: Analysis) -> Any:
    import torch

    call = len(outputs) - 1 if where.call is None else where.call
    if not 0 <= call < len(outputs):
        raise ModelError(
            f"module {where.module!r} ran {len(outputs)} times; call {call} was asked for"
        )
    output = outputs[call]
    expected = where.node.spatial_shape
    if not isinstance(output, torch.Tensor) or tuple(output.shape[2:]) != tuple(expected):
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise ModelError(
            f"module {where.module!r} returned {shape}, not the map {expected} of "
            f"{where.node.name} that {analysis.model}'s analysis found; choose another layer"
        )
    if not output.requires_grad:
        raise ModelError(f"module {where.module!r}'s output does not depend on the input")
    return output
