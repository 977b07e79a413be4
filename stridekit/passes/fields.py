"""The receptive-field pass: a `Field` per spatial axis for every node of a graph.

Rules, per node kind (see DESIGN.md, "The algebra"):

- ``input``: the identity field on every axis;
- a node with ``axes``: each axis composes through its `Window` or `Resample`;
- ``add``/``mul``/``concat``: branches merge (union), centres that differ are recorded as
  misalignment; branches with different jumps cannot be aligned and are recorded too;
- global ops (global pooling, flatten, linear, attention) and ``other`` (an op stridekit
  has no rule for, which may mix positions): the field becomes global; attention keeps
  the jump of the operand whose positions its output holds (``position_input``: the
  query, sampled more sparsely than its keys in LeViT's subsampling attention);
- ``window_attention`` (attention inside windows of a partition): the operand whose
  positions the output holds is read position by position, the others through the
  node's window maps, and the fields merge (a single input goes through the maps);
- anything else (activations, norms, channel ops): the field passes through.

Two fields are computed: the *dependency* field (a pixel is in it iff some path carries
it to the output position) and the *local* field, where merges ignore branches that are
already global (a squeeze-and-excitation gate, an attention branch: attention inside
windows counts as global there too), i.e. the field the sliding windows alone give.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from stridekit.errors import FieldError
from stridekit.geometry import Field, Window, merge_fields
from stridekit.graph import GLOBAL_OPS, MERGE_OPS, Graph, Node, Resample

Fields = tuple[Field, ...]


@dataclass
class FieldResult:
    """Per-node fields (dependency and local) and merge diagnostics."""

    fields: dict[str, Fields] = field(default_factory=dict)
    local: dict[str, Fields] = field(default_factory=dict)
    misalignment: dict[str, tuple[Fraction, ...]] = field(default_factory=dict)
    unmergeable: dict[str, str] = field(default_factory=dict)  # node → why jumps differ


def _through(fields: Fields, node: Node) -> Fields:
    assert node.axes is not None
    if len(node.axes) != len(fields):
        return tuple(f.globalized() for f in fields)
    composed = []
    for f, axis in zip(fields, node.axes, strict=True):
        if isinstance(axis, Window):
            composed.append(f.through(axis))
        elif isinstance(axis, Resample):
            composed.append(f.map(axis.scale, axis.start, axis.stop))
    return tuple(composed)


def _merge(branches: list[Fields], node: Node, result: FieldResult | None) -> Fields:
    merged = []
    offsets = []
    for axis in range(len(branches[0])):
        per_axis = [b[axis] for b in branches]
        try:
            merge = merge_fields(per_axis)
        except FieldError as error:
            # a global branch (attention whose query was pooled: GC ViT) reads everywhere:
            # its jump names no grid to align with, so the local branches' jump decides
            local = {f.jump for f in per_axis if not f.is_global}
            if result is not None and len(local) != 1:
                result.unmergeable[node.name] = str(error)
            jump = local.pop() if len(local) == 1 else max(f.jump for f in per_axis)
            lo, hi = min(f.lo for f in per_axis), max(f.hi for f in per_axis)
            merged.append(Field(jump, lo, hi, any(f.is_global for f in per_axis)))
            offsets.append(Fraction(0))
            continue
        merged.append(merge.field)
        offsets.append(merge.misalignment)
    if result is not None and any(offsets):
        result.misalignment[node.name] = tuple(offsets)
    return tuple(merged)


def _attention(node: Node, inputs: list[Fields]) -> Fields:
    """The fields of an attention node (global) or a window attention (through its maps)."""
    rows = min(int(node.attributes.get("position_input", 0)), len(inputs) - 1)  # type: ignore[call-overload]
    if node.op == "attention" or node.axes is None:
        return tuple(f.globalized() for f in inputs[rows])
    kept = "position_input" in node.attributes and len(inputs) > 1
    mixed = [b for i, b in enumerate(inputs) if i != rows or not kept]
    read = [_through(b, node) for b in mixed if len(b) == len(inputs[rows])]
    if kept:
        read.append(inputs[rows])
    merged = []
    for axis, own in enumerate(inputs[rows]):
        fields = [b[axis] for b in read]
        jumps = {f.jump for f in fields}
        lo, hi = min(f.lo for f in fields), max(f.hi for f in fields)
        glob = any(f.is_global for f in fields) or len(jumps) > 1
        merged.append(Field(own.jump if len(jumps) > 1 else fields[0].jump, lo, hi, glob))
    return tuple(merged)


def _node_fields(
    node: Node, inputs: list[Fields], result: FieldResult | None, local: bool
) -> Fields:
    if not inputs:
        return ()
    if node.op in ("attention", "window_attention"):
        if local:  # the local field is the sliding windows' alone: attention is ignored
            return tuple(f.globalized() for f in inputs[0])
        return _attention(node, inputs)
    if node.op in GLOBAL_OPS or node.op == "other":
        return tuple(f.globalized() for f in inputs[0])
    if node.op in MERGE_OPS and len(inputs) > 1:
        branches = [b for b in inputs if len(b) == len(inputs[0])]
        if local:
            kept = [b for b in branches if not any(f.is_global for f in b)]
            branches = kept or branches
        return _merge(branches, node, result)
    if node.axes is not None:
        return _through(inputs[0], node)
    return inputs[0]


def propagate_fields(graph: Graph) -> FieldResult:
    """Fields of every node, in one topological sweep.

    >>> from stridekit.graph import Graph, Node
    >>> g = Graph(input_shape=(1, 3, 32, 32))
    >>> _ = g.add(Node("c", "conv", ("input",), ((1, 3, 32, 32),), (1, 8, 16, 16),
    ...                axes=(Window(3, 2, padding=(1, 1)),) * 2))
    >>> propagate_fields(g).fields["c"][0].size
    Fraction(3, 1)
    """
    result = FieldResult()
    spatial = len(graph.input_shape) - 2
    for node in graph.nodes:
        if node.op == "input":
            result.fields[node.name] = result.local[node.name] = (Field(),) * max(spatial, 0)
            continue
        sources = [n for n in node.inputs if result.fields.get(n)]
        result.fields[node.name] = _node_fields(
            node, [result.fields[n] for n in sources], result, local=False
        )
        result.local[node.name] = _node_fields(
            node, [result.local[n] for n in sources], None, local=True
        )
    return result


def head_node(graph: Graph) -> Node:
    """The node whose output enters the head.

    That is the input of the last global op (global pooling, flatten, a linear layer or
    attention over positions) whose input still held the spatial axes, or the graph's
    output if there is none (DESIGN.md: for DeepLab the image pooling of ASPP, so the
    backbone's output stride and field are reported; for ViT, whose tokens lose their
    positions when the class token joins them, the output: a global field).

    >>> from stridekit.graph import Graph, Node
    >>> g = Graph(input_shape=(1, 3, 8, 8))
    >>> _ = g.add(Node("pool", "global_pool", ("input",), ((1, 3, 8, 8),), (1, 3, 1, 1)))
    >>> head_node(g).name
    'input'
    """
    for node in reversed(graph.nodes):
        if node.op in GLOBAL_OPS and node.inputs:
            source = graph[node.inputs[0]]
            if source.has_positions:
                return source
    return graph.output
