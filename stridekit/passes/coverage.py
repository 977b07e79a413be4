"""The coverage pass: how often each input pixel is read on the way to a layer's outputs.

For one window, `Window.coverage` counts the outputs that read each input pixel. Through
a network the count is taken along every path: pixel ``x`` scores one for each (output
position of the layer, path of reads from it down to ``x``). That is the gradient of
the sum of the layer's outputs with respect to the input in a network whose every op
weighs each pixel it reads by one (convolutions and pooling of ones, resizes that read
each pixel of their interval once), so it shows what a stride does to a network's
view of its input: zeros where pixels are dropped, stripes where strides leave gaps, a
checkerboard where windows overlap unevenly.

Each op's reads on one axis are a matrix ``A`` (output index × input index, entries
counting taps); the pass walks the graph backwards from the layer, applying ``Aᵀ`` axis
by axis and summing at merges. Branches through a global op (a squeeze-and-excitation
gate, attention) read every pixel alike and say nothing about stride: they are left out
and named in `Coverage.skipped`.

>>> from stridekit.geometry import Window
>>> from stridekit.graph import Graph, Node
>>> g = Graph(input_shape=(1, 1, 7))
>>> _ = g.add(Node("a", "conv", ("input",), ((1, 1, 7),), (1, 1, 3), axes=(Window(3, 2),)))
>>> _ = g.add(Node("b", "conv", ("a",), ((1, 1, 3),), (1, 1, 2), axes=(Window(2, 1),)))
>>> path_coverage(g, "b").values.tolist()     # a's coverage [1, 1, 2, 1, 2, 1, 1] x [1, 2, 1]
[1.0, 1.0, 3.0, 2.0, 3.0, 1.0, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil, floor

import numpy as np

from stridekit.errors import UnsupportedError
from stridekit.geometry import Window
from stridekit.graph import GLOBAL_OPS, MERGE_OPS, AxisMap, Graph, Node


@dataclass(frozen=True)
class Coverage:
    """Read counts of every input pixel (``values``, one axis per spatial axis) on the way
    to every output of node ``target``; ``skipped``: global branches left out."""

    target: str
    values: np.ndarray
    skipped: tuple[str, ...]


def read_matrix(axis: AxisMap, n_in: int, n_out: int) -> np.ndarray:
    """``A[i, x]``: how many times output ``i`` reads input pixel ``x`` on one axis.

    >>> read_matrix(Window(3, 2, padding=(1, 1)), 4, 2).tolist()
    [[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0]]
    >>> read_matrix(Window(2, 2, transposed=True), 2, 4).tolist()   # each output: one input
    [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]
    >>> from stridekit.geometry import Resample
    >>> read_matrix(Resample.nearest(2), 2, 4).tolist()
    [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]
    """
    matrix = np.zeros((n_out, n_in))
    outputs = np.arange(n_out)
    if isinstance(axis, Window):
        s, d, lo = axis.stride, axis.dilation, axis.pad_lo
        for t in range(axis.kernel):
            if axis.transposed:  # output i = j·s − lo + t·d  ⇔  j = (i + lo − t·d)/s
                numerator = outputs + lo - t * d
                inputs = numerator // s
                keep = (numerator % s == 0) & (inputs >= 0) & (inputs < n_in)
            else:
                inputs = outputs * s - lo + t * d
                keep = (inputs >= 0) & (inputs < n_in)
            np.add.at(matrix, (outputs[keep], inputs[keep]), 1)
        return matrix
    for i in range(n_out):  # a resample reads its interval [i·scale + start, i·scale + stop]
        first = max(0, ceil(i * axis.scale + axis.start))
        last = min(n_in - 1, floor(i * axis.scale + axis.stop))
        matrix[i, first : last + 1] = 1
    return matrix


def _spatial(graph: Graph, node: Node) -> tuple[int, ...]:
    if node.op == "input":
        return tuple(graph.input_shape[2:])
    return node.spatial_shape


def _back(graph: Graph, node: Node, counts: np.ndarray) -> np.ndarray:
    """The counts at ``node``'s output carried back to its first input's pixels."""
    source = graph[node.inputs[0]]
    shape_in = _spatial(graph, source)
    if node.axes is None:
        if shape_in != counts.shape:
            raise UnsupportedError(
                f"coverage: node {node.name!r} ({node.op}) changes the spatial shape "
                f"{shape_in} -> {counts.shape} without a window or resample rule"
            )
        return counts
    if len(node.axes) != counts.ndim:
        raise UnsupportedError(
            f"coverage: node {node.name!r} maps {len(node.axes)} axes, its output has {counts.ndim}"
        )
    for axis, rule in enumerate(node.axes):
        matrix = read_matrix(rule, shape_in[axis], counts.shape[axis])
        counts = np.moveaxis(np.tensordot(matrix.T, counts, axes=(1, axis)), 0, axis)
    return counts


def path_coverage(graph: Graph, target: str) -> Coverage:
    """Read counts of the input pixels along every path to the outputs of ``target``."""
    node = graph[target]
    if not node.has_positions or len(node.spatial_shape) != len(graph.input_shape) - 2:
        raise UnsupportedError(
            f"coverage: {target!r} ({node.op}, output {node.output_shape}) holds no map of "
            "positions; choose a layer before the head"
        )
    pending: dict[str, np.ndarray] = {target: np.ones(node.spatial_shape)}
    skipped: list[str] = []
    order = {n.name: k for k, n in enumerate(graph.nodes)}
    total = np.zeros(tuple(graph.input_shape[2:]))
    while pending:
        name = max(pending, key=order.__getitem__)  # every consumer is done before it
        counts = pending.pop(name)
        current = graph[name]
        if current.op == "input":
            total += counts
            continue
        if current.op in GLOBAL_OPS or current.op == "other" or not current.has_positions:
            skipped.append(name)
            continue
        sources = current.inputs if current.op in MERGE_OPS else current.inputs[:1]
        for source in sources:
            if current.op in MERGE_OPS:
                carried = counts if _spatial(graph, graph[source]) == counts.shape else None
                if carried is None:  # a broadcast gate (1x1) merged onto the map
                    skipped.append(source)
                    continue
            else:
                carried = _back(graph, current, counts)
            pending[source] = pending.get(source, 0) + carried
    if not total.any() and skipped:
        raise UnsupportedError(
            f"coverage: every path from {target!r} to the input passes a global op "
            f"({', '.join(sorted(set(skipped)))}); choose an earlier layer"
        )
    return Coverage(target, total, tuple(sorted(set(skipped))))
