"""The outputs pass: every tensor a model returns, with its stride, field and levels.

A detection head flattens the positions of each pyramid level into rows and
concatenates the levels along them (YOLO's Detect: 80·80 + 40·40 + 20·20 = 8400 rows at
640; RetinaNet, SSD and the RPN of Faster R-CNN with several anchors per position).
The lowering makes such a concatenation ``other`` (positions of different grids mixed
in one dim) and records the dim it joins along (``attributes["along"]``); here each of
its inputs that holds a whole map, every position flattened into its rows, is a
*level*: its stride, grid, rows per position and field are those of that input.

An output reads the levels of the row concatenations it descends from. When one of its
dims has as many rows as they hold, its rows are theirs in order (the ops in between
work per row: box decoding, a sigmoid, a concatenation of box and class channels) and
each level gets its row range; several concatenations with the same levels (boxes and
classes computed apart) merge their fields level by level. When no dim matches (boxes
chosen by a top-k and non-maximum suppression), the levels are listed without rows.

A resize applied to the input image inside the model (torchvision's detection
transform: 512 → 800) makes every stride fractional in input pixels; `input_resize`
finds it, so strides can also be given relative to the resized image.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import prod

from stridekit.errors import FieldError
from stridekit.geometry import Field, merge_fields
from stridekit.graph import Graph, GraphOutput, Node
from stridekit.passes.fields import FieldResult

Fields = tuple[Field, ...]

__all__ = ["InputResize", "Level", "OutputGeometry", "input_resize", "output_geometry"]


@dataclass(frozen=True)
class Level:
    """One pyramid level of an output: the map (node) whose positions became rows."""

    source: str
    grid: tuple[int, ...]  # the map's spatial size
    per_position: int  # rows per grid position (anchors)
    rows: tuple[int, int] | None  # [start, stop) along the output's row dim; None: chosen
    field: Fields
    local: Fields


@dataclass(frozen=True)
class InputResize:
    """A resize of the input image inside the model: ``node`` takes ``sizes_in`` to
    ``sizes_out``; one pixel of its output is ``scale`` input pixels per axis."""

    node: str
    sizes_in: tuple[int, ...]
    sizes_out: tuple[int, ...]
    scale: tuple[Fraction, ...]


@dataclass(frozen=True)
class OutputGeometry:
    """One returned tensor: the node that wrote it, whether it still holds positions,
    its fields, its levels (``row_dim`` the dim they fill, when known) and the input
    resize it descends from."""

    output: GraphOutput
    positional: bool
    field: Fields
    local: Fields
    levels: tuple[Level, ...]
    row_dim: int | None
    resize: InputResize | None


@dataclass(frozen=True)
class _RowConcat:
    node: Node
    index: int  # position in the graph
    pieces: tuple[tuple[str, int, tuple[int, ...]], ...]  # (source, rows, grid)

    @property
    def key(self) -> tuple[tuple[int, tuple[int, ...]], ...]:
        return tuple((rows, grid) for _, rows, grid in self.pieces)

    @property
    def total(self) -> int:
        return sum(rows for _, rows, _ in self.pieces)


def _concat_dim(node: Node) -> int | None:
    """The dim a concatenation joins along: recorded by the lowering, else the one dim
    where the inputs' sizes add up to the output's and the other dims agree."""
    along = node.attributes.get("along")
    if isinstance(along, int):
        return along % len(node.output_shape)
    shapes = node.input_shapes
    if len({len(s) for s in shapes}) != 1 or len(shapes[0]) != len(node.output_shape):
        return None
    differing = [d for d in range(len(node.output_shape)) if len({s[d] for s in shapes}) > 1]
    if len(differing) != 1:
        return None
    (dim,) = differing
    return dim if sum(s[dim] for s in shapes) == node.output_shape[dim] else None


def _flattened_map(graph: Graph, name: str) -> Node | None:
    """The map whose positions were flattened into ``name``'s rows, back through
    reshapes that merged them with anchors (``flatten``) and position-wise ops."""
    node = graph[name]
    while not node.has_positions and len(node.inputs) == 1:
        if node.op not in ("flatten", "elementwise"):
            return None
        node = graph[node.inputs[0]]
    return node if node.has_positions and node.op != "input" else None


def _row_concats(graph: Graph) -> list[_RowConcat]:
    """Concatenations along a dim that holds positions, whose every input is a whole
    map flattened into rows (its rows a multiple of its positions): along a dim the
    lowering kept the positions of (``other``, YOLO's views), or of reshapes that merged
    positions and anchors into rows (a ``concat`` of ``flatten``s: RetinaNet, SSD, RPN)."""
    found = []
    for index, node in enumerate(graph.nodes):
        if node.op not in ("other", "concat") or len(node.inputs) < 2:
            continue
        if node.op == "other" and "along" not in node.attributes:
            continue
        dim = _concat_dim(node)
        if dim is None or len(node.input_shapes) != len(node.inputs):
            continue
        pieces = []
        for name, shape in zip(node.inputs, node.input_shapes, strict=True):
            source = graph[name] if node.op == "other" else _flattened_map(graph, name)
            if source is None or graph[name].has_positions != (node.op == "other"):
                break
            grid = tuple(source.spatial_shape)
            rows = shape[dim]
            if not source.has_positions or not grid or rows % prod(grid):
                break
            pieces.append((source.name, rows, grid))
        else:
            found.append(_RowConcat(node, index, tuple(pieces)))
    return found


def _merged(fields: list[Fields]) -> Fields | None:
    try:
        return tuple(merge_fields(axis).field for axis in zip(*fields, strict=True))
    except (FieldError, ValueError):
        return None


def _levels(
    concats: list[_RowConcat], shape: tuple[int, ...], result: FieldResult
) -> tuple[tuple[Level, ...], int | None]:
    if not concats:
        return (), None
    by_key: dict[tuple, list[_RowConcat]] = {}
    for concat in concats:
        by_key.setdefault(concat.key, []).append(concat)

    def row_dim(group: list[_RowConcat]) -> int | None:
        total = group[0].total
        return next((d for d in range(1, len(shape)) if shape[d] == total), None)

    matching = [g for g in by_key.values() if row_dim(g) is not None]
    groups = matching or list(by_key.values())
    group = max(groups, key=lambda g: max(c.index for c in g))
    dim = row_dim(group)
    levels, start = [], 0
    for i, (source, rows, grid) in enumerate(group[0].pieces):
        sources = [c.pieces[i][0] for c in group]
        field = _merged([result.fields[s] for s in sources]) or result.fields[source]
        local = _merged([result.local[s] for s in sources]) or result.local[source]
        span = (start, start + rows) if dim is not None else None
        levels.append(Level(source, grid, rows // prod(grid), span, field, local))
        start += rows
    return tuple(levels), dim


def input_resize(graph: Graph, result: FieldResult) -> InputResize | None:
    """The first resize of the input image itself (its input's field is the identity
    grid, its output's is not), or None.

    >>> from stridekit.graph import Node
    >>> from stridekit.passes import propagate_fields
    >>> from stridekit.geometry import Resample
    >>> g = Graph(input_shape=(1, 3, 512, 512))
    >>> up = Resample.linear(Fraction(25, 16))
    >>> _ = g.add(Node("resize", "upsample", ("input",), ((1, 3, 512, 512),),
    ...                (1, 3, 800, 800), (up, up)))
    >>> input_resize(g, propagate_fields(g)).scale
    (Fraction(16, 25), Fraction(16, 25))
    """
    for node in graph.nodes:
        if node.op != "upsample" or not node.inputs or not node.axes:
            continue
        before = result.fields.get(node.inputs[0], ())
        after = result.fields.get(node.name, ())
        if not before or any(f.jump != 1 or f.is_global for f in before):
            continue
        if after and any(f.jump != 1 for f in after):
            sizes_in = graph[node.inputs[0]].spatial_shape
            return InputResize(
                node.name, tuple(sizes_in), tuple(node.spatial_shape), tuple(f.jump for f in after)
            )
    return None


def output_geometry(graph: Graph, result: FieldResult) -> list[OutputGeometry]:
    """One `OutputGeometry` per returned tensor, in the order the model returns them.

    >>> from stridekit.geometry import Window
    >>> from stridekit.graph import Node
    >>> from stridekit.passes import propagate_fields
    >>> g = Graph(input_shape=(1, 3, 32, 32))
    >>> w = Window(2, 2)
    >>> _ = g.add(Node("p8", "conv", ("input",), ((1, 3, 32, 32),), (1, 4, 16, 16), (w, w)))
    >>> _ = g.add(Node("p16", "conv", ("p8",), ((1, 4, 16, 16),), (1, 4, 8, 8), (w, w)))
    >>> _ = g.add(Node("rows8", "elementwise", ("p8",), ((1, 4, 16, 16),), (1, 4, 256),
    ...                sizes=(16, 16), positional=True))
    >>> _ = g.add(Node("rows16", "elementwise", ("p16",), ((1, 4, 8, 8),), (1, 4, 64),
    ...                sizes=(8, 8), positional=True))
    >>> _ = g.add(Node("cat", "other", ("rows8", "rows16"), ((1, 4, 256), (1, 4, 64)),
    ...                (1, 4, 320), attributes={"along": 2}, positional=False))
    >>> [(lv.grid, lv.rows, lv.field[0].jump) for lv in output_geometry(
    ...     g, propagate_fields(g))[0].levels]
    [((16, 16), (0, 256), Fraction(2, 1)), ((8, 8), (256, 320), Fraction(4, 1))]
    """
    concats = _row_concats(graph)
    resize = input_resize(graph, result)
    found = []
    for output in graph.returned():
        node = graph[output.node]
        ancestors = graph.ancestors(node.name)
        mine = [c for c in concats if c.node.name in ancestors]
        levels, dim = _levels(mine, output.shape, result)
        if node.has_positions and dim is None:
            levels = ()  # a map whose rows are not the levels' (a concatenation upstream)
        found.append(
            OutputGeometry(
                output=output,
                positional=node.has_positions,
                field=result.fields[node.name],
                local=result.local[node.name],
                levels=levels,
                row_dim=dim,
                resize=resize if resize is not None and resize.node in ancestors else None,
            )
        )
    return found
