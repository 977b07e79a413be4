"""The receptive-field pass: a `Field` per spatial axis for every node of a graph.

Rules, per node kind (see DESIGN.md, "The algebra"):

- ``input``: the identity field on every axis;
- a node with ``axes``: each axis composes through its `Window` or `Resample`;
- ``add``/``mul``/``concat``: branches merge (union), centres that differ are recorded as
  misalignment; branches with different jumps cannot be aligned and are recorded too
  (the doctor judges them: a gate resized back to the other branch's size, or sizes
  that match by accident). Only branches that hold positions have a grid to align: a
  class token (or tokens whose layout lost their positions) joins without a verdict;
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
    # node → the branches (input names) whose jumps differ, in the order merged
    mismatched: dict[str, tuple[str, ...]] = field(default_factory=dict)


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


def _mismatched(per_axis: list[Field], resized: list[bool], size: int) -> Field:
    """One field for branches whose jumps differ, on the grid of the branches that were
    not resized to follow another tensor's size (the map a gate multiplies), else the
    largest jump. A branch with another jump drifts from that grid along the map: the
    bounds widen, symmetrically about the grid's centre, to hold every position's
    reads (the offset is linear in the position, so its ends decide), so the merge
    does not move the centre that later merges are aligned on."""
    grid = [f for f, r in zip(per_axis, resized, strict=True) if not r]
    if not grid or len({f.jump for f in grid}) > 1:
        top = max(f.jump for f in per_axis)
        grid = [f for f in per_axis if f.jump == top]
    jump = grid[0].jump
    centre = (min(f.lo for f in grid) + max(f.hi for f in grid)) / 2
    reach = max(
        max(centre - (f.lo + m * (f.jump - jump)), f.hi + m * (f.jump - jump) - centre)
        for f in per_axis
        for m in (0, max(size - 1, 0))
    )
    return Field(jump, centre - reach, centre + reach, any(f.is_global for f in per_axis))


def _merge(
    branches: list[Fields],
    names: list[str],
    resized: list[bool],
    node: Node,
    result: FieldResult | None,
) -> Fields:
    merged = []
    offsets = []
    sizes = node.spatial_shape
    for axis in range(len(branches[0])):
        per_axis = [b[axis] for b in branches]
        try:
            merge = merge_fields(per_axis)
        except FieldError as error:
            # a global branch (attention whose query was pooled: GC ViT) reads everywhere:
            # its jump names no grid to align with, so the local branches' jump decides
            local = {f.jump for f in per_axis if not f.is_global}
            if len(local) == 1:
                lo, hi = min(f.lo for f in per_axis), max(f.hi for f in per_axis)
                merged.append(Field(local.pop(), lo, hi, any(f.is_global for f in per_axis)))
                offsets.append(Fraction(0))
                continue
            if result is not None:
                result.unmergeable[node.name] = str(error)
                result.mismatched[node.name] = tuple(names)
            size = sizes[axis] if axis < len(sizes) else 1
            merged.append(_mismatched(per_axis, resized, size))
            offsets.append(Fraction(0))
            continue
        merged.append(merge.field)
        offsets.append(merge.misalignment)
    if result is not None and any(offsets):
        result.misalignment[node.name] = tuple(offsets)
    return tuple(merged)


def resized_to_follow(graph: Graph, name: str) -> bool:
    """Whether tensor ``name`` is, up to position-wise ops, a resample to another
    tensor's size (``F.interpolate(gate, size=x.shape[-2:])``).

    >>> from dataclasses import replace
    >>> from stridekit.geometry import Sizing
    >>> g = Graph(input_shape=(1, 3, 7, 7))
    >>> up = replace(Resample.nearest(Fraction(7, 3)), sizing=Sizing(follows="input"))
    >>> _ = g.add(Node("up", "upsample", ("input",), ((1, 3, 3, 3),), (1, 3, 7, 7), (up, up)))
    >>> _ = g.add(Node("gate", "elementwise", ("up",), ((1, 3, 7, 7),), (1, 3, 7, 7)))
    >>> resized_to_follow(g, "gate"), resized_to_follow(g, "input")
    (True, False)
    """
    node = graph[name]
    while node.axes is None and len(node.inputs) == 1 and node.op not in MERGE_OPS:
        node = graph[node.inputs[0]]
    return node.axes is not None and any(
        isinstance(a, Resample) and a.sizing is not None and a.sizing.follows is not None
        for a in node.axes
    )


def _union(branches: list[Fields]) -> Fields:
    """Branches without a common grid (none holds positions): the widest bounds, no
    verdict on alignment."""
    return tuple(
        Field(
            max(f.jump for f in per_axis),
            min(f.lo for f in per_axis),
            max(f.hi for f in per_axis),
            any(f.is_global for f in per_axis),
        )
        for per_axis in zip(*branches, strict=True)
    )


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
        fields = [_per_block(b[axis], own.jump) for b in read]
        jumps = {f.jump for f in fields}
        lo, hi = min(f.lo for f in fields), max(f.hi for f in fields)
        glob = any(f.is_global for f in fields) or len(jumps) > 1
        merged.append(Field(own.jump if len(jumps) > 1 else fields[0].jump, lo, hi, glob))
    return tuple(merged)


def _per_block(read: Field, jump: Fraction) -> Field:
    """The field of a window read once per block of queries (HaloNet's and BAT's keys,
    unfolded every ``B`` query positions: a grid ``B`` times coarser than the queries'),
    on the queries' grid: query ``r`` of a block reads the block's window ``r`` positions
    before its own, so the interval that holds every query's reads starts ``B − 1``
    positions lower. A read on the queries' own grid, or one that is no whole number of
    their positions, is left as it is.

    >>> _per_block(Field(Fraction(256), Fraction(-99), Fraction(323)), Fraction(32))
    Field(jump=Fraction(32, 1), lo=Fraction(-323, 1), hi=Fraction(323, 1), is_global=False)
    """
    if read.jump == jump or read.jump % jump:
        return read
    return Field(jump, read.lo - (read.jump - jump), read.hi, read.is_global)


def _node_fields(
    node: Node,
    inputs: list[tuple[Node, Fields]],
    result: FieldResult | None,
    local: bool,
    resized: frozenset[str] = frozenset(),
) -> Fields:
    if not inputs:
        return ()
    first = inputs[0][1]
    if node.op in ("attention", "window_attention"):
        if local:  # the local field is the sliding windows' alone: attention is ignored
            return tuple(f.globalized() for f in first)
        return _attention(node, [b for _, b in inputs])
    if node.op in GLOBAL_OPS or node.op == "other":
        return tuple(f.globalized() for f in first)
    if node.op in MERGE_OPS and len(inputs) > 1:
        alike = [(source, b) for source, b in inputs if len(b) == len(first)]
        placed = [(source, b) for source, b in alike if source.has_positions]
        if local:
            kept = [(s, b) for s, b in placed if not any(f.is_global for f in b)]
            placed = kept or placed
        if len(placed) < 2:  # at most one grid: nothing to align
            fields = _union([b for _, b in placed] or [b for _, b in alike])
            joined_global = [any(f.is_global for f in b) for _, b in alike]
            if local or not any(joined_global):
                return fields
            return tuple(f.globalized() for f in fields)
        names = [s.name for s, _ in placed]
        flags = [n in resized for n in names]
        return _merge([b for _, b in placed], names, flags, node, result)
    if node.axes is not None:
        return _through(first, node)
    return first


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
        sources = [graph[n] for n in node.inputs if result.fields.get(n)]
        resized = frozenset(
            s.name for s in sources if node.op in MERGE_OPS and resized_to_follow(graph, s.name)
        )
        result.fields[node.name] = _node_fields(
            node, [(s, result.fields[s.name]) for s in sources], result, False, resized
        )
        result.local[node.name] = _node_fields(
            node, [(s, result.local[s.name]) for s in sources], None, True, resized
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
