"""Valid input sizes of a whole model: no tensor drops a real pixel, every merge fits.

Each tensor's size is a composition of window maps ``f(n) = floor((n + lo + hi − e)/s) + 1``
of the input size, and ``f(n + P) = f(n) + P/s`` whenever ``s`` divides ``P``. With ``P``
the product of all strides on the way, every tensor's size, every drop and every merge
check is periodic in ``n`` with period ``P``: the valid sizes are ``{n ≥ m : n mod P ∈ R}``,
found from one period of residues and the threshold ``m`` where every size is positive
(sizes are monotone in ``n``), never by walking the requested range.
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm

from stridekit.errors import StrideError
from stridekit.geometry import SizeSet, Window
from stridekit.geometry.solve import reduce_period
from stridekit.graph import GLOBAL_OPS, MERGE_OPS, Graph, Node, Resample


def _size(node: Node, axis: int, inputs: list[int]) -> int:
    """This node's size on ``axis`` given its inputs' sizes (raises StrideError if none)."""
    n = inputs[0]
    if not node.axes:
        return n
    rule = node.axes[axis]
    if isinstance(rule, Window):
        return rule.output_size(n)
    # a Resample: affine in n, fitted to the sizes the frontend saw
    assert isinstance(rule, Resample)
    traced_in, traced_out = node.input_shapes[0][2 + axis], node.output_shape[2 + axis]
    out = Fraction(n) / rule.scale + (traced_out - Fraction(traced_in) / rule.scale)
    size = int(out)  # floor for positive sizes
    if size < 1:
        raise StrideError(f"{node.name}: no output for input {n}")
    return size


def _period(graph: Graph) -> int:
    period = 1
    for node in graph.nodes:
        for rule in node.axes or ():
            if isinstance(rule, Window) and not rule.transposed:
                period *= rule.stride
            elif isinstance(rule, Resample):
                period = lcm(period, rule.scale.numerator)
    return period


def _valid(graph: Graph, axis: int, n: int) -> bool | None:
    """True/False for size ``n`` on ``axis``; None when some layer has no output at all."""
    sizes: dict[str, int] = {}
    readers = graph.consumers()
    for node in graph.nodes:
        if node.op == "input":
            sizes[node.name] = n
            continue
        if node.op in GLOBAL_OPS or len(node.output_shape) <= 2:
            continue
        inputs = [sizes[s] for s in node.inputs if s in sizes]
        if not inputs:
            continue
        if node.op in MERGE_OPS and len(set(inputs)) > 1:
            return False  # branches no longer have the same size: the model fails
        try:
            sizes[node.name] = _size(node, axis, inputs)
        except StrideError:
            return None
    for name, size in sizes.items():
        windows: list[Window] = []
        for reader in readers[name]:
            rule = reader.axes[axis] if reader.axes and len(reader.axes) > axis else None
            if not isinstance(rule, Window) or rule.transposed or reader.name not in sizes:
                windows = []
                break
            windows.append(rule)
        # the pixels a pad node added at the end are padding: leaving them unread is fine
        allowed = graph[name].added_padding(axis)[1]
        if windows and min(w.dropped_end(size) for w in windows) > allowed:
            return False
    return True


def model_valid_sizes(graph: Graph, axis: int = 0) -> SizeSet:
    """Input sizes on ``axis`` at which the model drops no real pixel at the end of any
    tensor and all merged branches keep equal sizes.

    >>> from stridekit.graph import Node
    >>> g = Graph(input_shape=(1, 3, 224, 224))
    >>> w = Window(3, 2)
    >>> _ = g.add(Node("c", "conv", ("input",), ((1, 3, 224, 224),), (1, 8, 111, 111), (w, w)))
    >>> _ = g.add(Node("d", "conv", ("c",), ((1, 8, 111, 111),), (1, 8, 55, 55), (w, w)))
    >>> model_valid_sizes(g).closed_form()
    '4k+3 (n >= 7)'
    """
    period = _period(graph)
    low, high = 1, 1
    while _valid(graph, axis, high) is None:  # sizes grow with n: find the threshold
        low, high = high, high * 2
        if high > 1 << 20:
            raise StrideError("no input size up to 2^20 gives every layer an output")
    while low < high:
        middle = (low + high) // 2
        if _valid(graph, axis, middle) is None:
            low = middle + 1
        else:
            high = middle
    minimum = high
    base = minimum + period  # one full period past the threshold
    residues = {
        (base + offset) % period for offset in range(period) if _valid(graph, axis, base + offset)
    }
    reduced_period, reduced = reduce_period(period, residues)
    return SizeSet(period=reduced_period, residues=reduced, minimum=minimum)
