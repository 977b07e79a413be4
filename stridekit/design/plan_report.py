"""A plan as a graph (for the doctor) and as a spec file (for the analysis)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stridekit.analysis import analyze_graph
from stridekit.design.plan import Layer, Plan
from stridekit.doctor import Finding, doctor
from stridekit.geometry import Window
from stridekit.graph import Graph, Node


def plan_graph(
    template: Sequence[Layer], plan: Plan, input_size: int, input_channels: int = 3
) -> Graph:
    """The plan as a chain of conv nodes ending in global pooling.

    >>> from stridekit.design.plan import Constraints, plan as make_plan
    >>> net = [Layer(3, 8), Layer(3, 8)]
    >>> g = plan_graph(net, make_plan(net, 32, Constraints(output_stride=2))[0], 32)
    >>> [n.output_shape for n in g.nodes]
    [(1, 3, 32, 32), (1, 8, 16, 16), (1, 8, 16, 16), (1, 8, 1, 1)]
    """
    graph = Graph(input_shape=(1, input_channels, input_size, input_size), name="plan")
    source, channels, size = "input", input_channels, input_size
    for i, (layer, window, step) in enumerate(
        zip(template, plan.windows(template), plan.steps, strict=True)
    ):
        if step.space_to_depth:  # space-to-depth is exactly an s×s window with stride s
            block = Window(step.stride, step.stride)
            blocked = size // step.stride
            unshuffled = (1, channels * step.stride**2, blocked, blocked)
            graph.add(
                Node(
                    f"space_to_depth{i}",
                    "pixel_unshuffle",
                    (source,),
                    ((1, channels, size, size),),
                    unshuffled,
                    axes=(block, block),
                )
            )
            source, channels, size = f"space_to_depth{i}", unshuffled[1], blocked
        name = f"conv{i}"
        shape = (1, layer.channels, step.output_size, step.output_size)
        graph.add(
            Node(
                name,
                "conv",
                (source,),
                ((1, channels, size, size),),
                shape,
                axes=(window, window),
                params=layer.kernel**2 * channels * layer.channels,  # no bias
                macs=step.macs,
                flops=2 * step.macs,
            )
        )
        source, channels, size = name, layer.channels, step.output_size
    graph.add(
        Node("pool", "global_pool", (source,), ((1, channels, size, size),), (1, channels, 1, 1))
    )
    return graph


def plan_findings(
    template: Sequence[Layer], plan: Plan, input_size: int, input_channels: int = 3
) -> list[Finding]:
    """The doctor's findings on the plan's network."""
    return list(
        doctor(analyze_graph(plan_graph(template, plan, input_size, input_channels))).findings
    )


def plan_spec(
    template: Sequence[Layer], plan: Plan, input_size: int, input_channels: int = 3
) -> dict[str, Any]:
    """The plan as a layer spec that `stridekit analyze` reads back."""
    layers: list[dict[str, Any]] = []
    for layer, step in zip(template, plan.steps, strict=True):
        if step.space_to_depth:
            layers.append({"type": "space_to_depth", "factor": step.stride})
        layers.append(
            {
                "type": "conv",
                "kernel": layer.kernel,
                "stride": 1 if step.space_to_depth else step.stride,
                "padding": step.padding,
                "dilation": step.dilation,
                "channels": layer.channels,
            }
        )
    layers.append({"type": "global_pool"})
    return {"name": "plan", "input": [1, input_channels, input_size, input_size], "layers": layers}
