"""The IR every frontend produces: a DAG of `Node` records, topologically ordered.

A node says what one op did: its kind (`OP_KINDS`), which nodes it read, the shapes, and
how each spatial axis of its output maps back to its input: a `Window` (conv, pooling,
transposed conv) or a `Resample` (interpolation, pixel shuffle, padding, strided slicing).
Tensors are ``(N, C, *spatial)``; a node with no spatial axes left (after flatten, a
linear layer) has ``output_shape`` of length 2 or less.

>>> from stridekit.geometry import Resample, Window
>>> g = Graph(input_shape=(1, 3, 32, 32))
>>> _ = g.add(Node("conv1", "conv", ("input",), ((1, 3, 32, 32),), (1, 8, 16, 16),
...            axes=(Window(3, 2, padding=(1, 1)),) * 2))
>>> [node.name for node in g.nodes]
['input', 'conv1']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stridekit.errors import ModelError
from stridekit.geometry import Resample, Window
from stridekit.lowering.views import chain_slices, phase_windows

OP_KINDS: tuple[str, ...] = (
    "input",
    "conv",
    "conv_transpose",
    "max_pool",
    "avg_pool",
    "lp_pool",
    "upsample",
    "pixel_shuffle",
    "pixel_unshuffle",
    "unfold",
    "fold",
    "pad",
    "slice",
    "elementwise",
    "add",
    "mul",
    "concat",
    "global_pool",
    "flatten",
    "linear",
    "attention",
    "window_attention",
    "other",
)

# ops whose inputs are merged position by position (fields: union + alignment check)
MERGE_OPS = frozenset({"add", "mul", "concat"})
# ops after which every output position depends on every input position
GLOBAL_OPS = frozenset({"global_pool", "flatten", "linear", "attention"})


AxisMap = Window | Resample


@dataclass(frozen=True)
class GraphOutput:
    """One tensor the model returns: its name (a dict key, a list index, ``a.0.b`` when
    nested), the node that wrote it, and its shape (a node with several outputs, a
    split, records only the first's)."""

    name: str
    node: str
    shape: tuple[int, ...]


@dataclass
class Node:
    """One op of the model."""

    name: str
    op: str
    inputs: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]
    axes: tuple[AxisMap, ...] | None = None  # one per spatial axis of the output
    params: int = 0
    flops: int = 0
    macs: int = 0
    activation_bytes: int = 0
    module: str = ""  # module path, e.g. layer1.0.conv1
    target: str = ""  # the framework op, e.g. aten.convolution.default or Conv
    attributes: dict[str, object] = field(default_factory=dict)
    # from the layout (channels-last, tokens): the size of each spatial axis of the model
    # in the output, and whether the output still holds them; None: read the shape as
    # (N, C, *spatial)
    sizes: tuple[int, ...] | None = None
    positional: bool | None = None

    def __post_init__(self) -> None:
        if self.op not in OP_KINDS:
            raise ModelError(f"node {self.name!r}: unknown op kind {self.op!r}")

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """The size of each spatial axis of the model in this output.

        >>> nhwc = Node("t", "elementwise", ("input",), ((1, 8, 7, 5),), (1, 7, 5, 8), sizes=(7, 5))
        >>> nhwc.spatial_shape
        (7, 5)
        """
        return self.sizes if self.sizes is not None else tuple(self.output_shape[2:])

    @property
    def has_positions(self) -> bool:
        """True when the output still holds the spatial axes (a map of pixels, tokens)."""
        if self.positional is not None:
            return self.positional
        return len(self.output_shape) > 2

    def added_padding(self, axis: int) -> tuple[int, int]:
        """Pixels a ``pad`` node adds before and after its input on ``axis``; else (0, 0).

        >>> pad = Node("pad", "pad", ("input",), ((1, 1, 8),), (1, 1, 11),
        ...            axes=(Resample.shift(-1),))
        >>> pad.added_padding(0)
        (1, 2)
        """
        if self.op != "pad" or not self.axes or not self.input_shapes:
            return (0, 0)
        rule = self.axes[axis]
        if not isinstance(rule, Resample) or rule.scale != 1 or rule.start.denominator != 1:
            return (0, 0)
        lo = int(-rule.start)
        if rule.sizing is not None and rule.sizing.fixed is None:  # n + lo + hi
            hi = rule.sizing.offset - lo
        else:
            hi = self.output_shape[2 + axis] - self.input_shapes[0][2 + axis] - lo
        return (max(lo, 0), max(hi, 0))

    @property
    def windows(self) -> tuple[Window, ...] | None:
        """The per-axis Windows, when every axis is a Window."""
        if self.axes and all(isinstance(a, Window) for a in self.axes):
            return tuple(a for a in self.axes if isinstance(a, Window))
        return None


@dataclass
class Graph:
    """A DAG of nodes in topological order; the first node is the input."""

    input_shape: tuple[int, ...]
    nodes: list[Node] = field(default_factory=list)
    name: str = "model"
    # what the model returns, in order; empty: the last node is the one output
    outputs: list[GraphOutput] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.nodes:
            shape = tuple(self.input_shape)
            self.nodes.append(Node("input", "input", (), (), shape))
        self._index = {node.name: node for node in self.nodes}

    def add(self, node: Node) -> Node:
        """Append a node whose inputs are already in the graph (keeps topological order).

        An add or mul of tensors that all come position by position from one tensor (SiLU
        written as ``x * sigmoid(x)``) merges nothing: it is recorded as elementwise, so
        every frontend counts it alike. So is a concat of the strided-slice phases of one
        tensor that read each of its pixels once: space-to-depth of that tensor
        (`stridekit.lowering.views.phase_windows`), not a merge of shifted grids.
        """
        if node.name in self._index:
            raise ModelError(f"duplicate node name {node.name!r}")
        for source in node.inputs:
            if source not in self._index:
                raise ModelError(f"node {node.name!r} reads {source!r}, which is not in the graph")
        arithmetic = node.op in ("add", "mul")
        if arithmetic and len({self.position_source(n) for n in node.inputs}) == 1:
            node.op = "elementwise"
        if node.op == "concat":
            self._read_phases_as_space_to_depth(node)
        self.nodes.append(node)
        self._index[node.name] = node
        return node

    def _read_phases_as_space_to_depth(self, node: Node) -> None:
        sources, phases = set(), []
        for name in node.inputs:
            found = self._sliced_from(name)
            if found is None:
                return
            sources.add(found[0])
            phases.append(found[1])
        windows = phase_windows(phases)
        if windows is None or len(sources) != 1:
            return
        (source,) = sources
        node.op, node.axes = "pixel_unshuffle", windows
        node.inputs, node.input_shapes = (source,), (self._index[source].output_shape,)
        node.attributes["phases"] = len(phases)

    def _sliced_from(self, name: str) -> tuple[str, tuple[Resample, ...]] | None:
        """The tensor ``name`` was cut from by strided slices, and the slicing per axis."""
        chains: list[list[Resample]] = []
        node = self._index[name]
        while node.op == "slice" and len(node.inputs) == 1 and node.axes:
            chains.insert(0, [a for a in node.axes if isinstance(a, Resample)])
            if len(chains[0]) != len(node.axes):
                return None
            node = self._index[node.inputs[0]]
        if not chains or len({len(c) for c in chains}) != 1:
            return None
        maps = [chain_slices([c[axis] for c in chains]) for axis in range(len(chains[0]))]
        if any(m is None for m in maps):
            return None
        return node.name, tuple(m for m in maps if m is not None)

    def position_source(self, name: str) -> str:
        """The tensor ``name`` comes from position by position: back through elementwise
        ops of one input (activations, norms, scalings).

        >>> g = Graph(input_shape=(1, 3, 8, 8))
        >>> _ = g.add(Node("act", "elementwise", ("input",), ((1, 3, 8, 8),), (1, 3, 8, 8)))
        >>> _ = g.add(Node("silu", "mul", ("input", "act"), ((1, 3, 8, 8),) * 2, (1, 3, 8, 8)))
        >>> g.position_source("act"), g["silu"].op
        ('input', 'elementwise')
        """
        node = self._index[name]
        while node.op == "elementwise" and len(node.inputs) == 1 and node.axes is None:
            node = self._index[node.inputs[0]]
        return node.name

    def pixel_readers(self) -> dict[str, list[Node]]:
        """For each tensor that is the position source of others (`position_source`:
        activations, norms, channel views of it), the ops that read its pixels: the readers
        of every tensor of that family that are not themselves position-wise members of it.

        A pre-activation branch (DPN's BN → ReLU → 1x1 stride-2 projection) reads its own
        copy of the block input; the main path reads the others, so no pixel is lost there.

        >>> g = Graph(input_shape=(1, 3, 8, 8))
        >>> _ = g.add(Node("act", "elementwise", ("input",), ((1, 3, 8, 8),), (1, 3, 8, 8)))
        >>> _ = g.add(Node("skip", "conv", ("act",), ((1, 3, 8, 8),), (1, 3, 4, 4),
        ...                axes=(Window(1, 2),) * 2))
        >>> _ = g.add(Node("main", "conv", ("input",), ((1, 3, 8, 8),), (1, 3, 4, 4),
        ...                axes=(Window(3, 2, padding=(1, 1)),) * 2))
        >>> sorted(n.name for n in g.pixel_readers()["input"])
        ['main', 'skip']
        """
        consumers = self.consumers()
        family = {node.name: self.position_source(node.name) for node in self.nodes}
        readers: dict[str, list[Node]] = {}
        for node in self.nodes:
            source = family[node.name]
            found = readers.setdefault(source, [])
            for reader in consumers[node.name]:
                if family[reader.name] != source and all(r is not reader for r in found):
                    found.append(reader)
        return readers

    def get(self, name: str) -> Node | None:
        """The node called ``name``, or None."""
        return self._index.get(name)

    def __getitem__(self, name: str) -> Node:
        return self._index[name]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def consumers(self) -> dict[str, list[Node]]:
        """For each node name, the nodes that read its output."""
        readers: dict[str, list[Node]] = {node.name: [] for node in self.nodes}
        for node in self.nodes:
            for source in node.inputs:
                readers[source].append(node)
        return readers

    def ancestors(self, name: str) -> set[str]:
        """The names of ``name`` and of every node it depends on.

        >>> g = Graph(input_shape=(1, 3, 8, 8))
        >>> sorted(g.ancestors("input"))
        ['input']
        """
        seen, stack = {name}, [name]
        while stack:
            for source in self[stack.pop()].inputs:
                if source not in seen:
                    seen.add(source)
                    stack.append(source)
        return seen

    @property
    def output(self) -> Node:
        return self.nodes[-1]

    def returned(self) -> list[GraphOutput]:
        """What the model returns: `outputs`, or the last node when none were recorded.

        >>> g = Graph(input_shape=(1, 3, 8, 8))
        >>> g.returned()
        [GraphOutput(name='output', node='input', shape=(1, 3, 8, 8))]
        """
        if self.outputs:
            return list(self.outputs)
        last = self.output
        return [GraphOutput("output", last.name, last.output_shape)]
