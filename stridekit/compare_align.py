"""The spatial layers of an `Analysis` and the alignment of two models' layers.

`compare` (`stridekit.compare`) puts two models side by side layer by layer. Only the
layers that move pixels take part: the windowed ops (convolutions, pools, transposed
convolutions) and the resamples (interpolation, pixel (un)shuffle). Norms, activations
and merges are left out, so an extra batch norm or ReLU on one side changes nothing.

An explicit ``pad`` node before a forward window (Keras' ``ZeroPadding2D``, TFLite's
``PAD``, ``F.pad`` in a forward, `stridekit.nn.Conv2dSame`) is folded into that window's
padding per side: ``pad (0, 1)`` then a conv with padding 0 *is* a conv padded (0, 1),
and aligns with one.

The layers are aligned by a global sequence alignment (Needleman–Wunsch) on their op and
geometry: equal op and geometry (kernel, stride, dilation, ceil mode; a resample's kind
and factor) score 3, equal op with other geometry 1 (the pair is shown with what
differs), and a layer left without a partner 0.

>>> from stridekit.analysis import analyze
>>> from stridekit.geometry import Window
>>> from stridekit.graph import Graph, Node
>>> def net(*windows):
...     g, n = Graph(input_shape=(1, 1, 8, 8)), "input"
...     for i, w in enumerate(windows):
...         n = g.add(Node(f"c{i}", "conv", (n,), ((1, 1, 8, 8),), (1, 1, 8, 8), (w, w))).name
...     return analyze(g)
>>> a = spatial_layers(net(Window(3, 1, padding=(1, 1)), Window(1, 1)))
>>> b = spatial_layers(net(Window(1, 1)))
>>> [(x and x.name, y and y.name) for x, y in align(a, b)]
[('c0', None), ('c1', 'c0')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from stridekit.analysis import Analysis
from stridekit.geometry import Field, Resample, Window
from stridekit.graph import Graph, Node

WINDOW_OPS = frozenset({"conv", "conv_transpose", "max_pool", "avg_pool", "lp_pool"})
RESAMPLE_OPS = frozenset({"upsample", "pixel_shuffle", "pixel_unshuffle"})
EXACT, SAME_OP = 3, 1  # alignment scores; a gap scores 0

Padding = tuple[int, int]


def describe_axis(axis: Window | Resample) -> str:
    """One axis's geometry as the table shows it: ``k3 s2``, ``k3 s2 d2 ceil``, ``t k4 s2``,
    ``nearest x2``.

    >>> describe_axis(Window(3, 2, ceil_mode=True)), describe_axis(Resample.nearest(2))
    ('k3 s2 ceil', 'nearest x2')
    """
    if isinstance(axis, Resample):
        return axis.describe()
    text = f"{'t ' if axis.transposed else ''}k{axis.kernel} s{axis.stride}"
    if axis.dilation != 1:
        text += f" d{axis.dilation}"
    return text + (" ceil" if axis.ceil_mode else "")


@dataclass(frozen=True)
class SpatialLayer:
    """One layer that moves pixels, with its padding folded and its field.

    ``padding``: ``(lo, hi)`` per axis, the window's own plus the explicit pads folded
    into it (None on a resampled axis); ``outer_padding``: the part of it written by pad
    nodes of *other* modules (what re-padding the layer's own module cannot change);
    ``input_size``: the spatial sizes before the folded pads; ``rf_start``, ``rf``,
    ``centre``: the field of the sliding windows (`FieldResult.local`) in input pixels,
    None when it is global.
    """

    name: str
    node: str
    module: str
    op: str
    geometry: tuple[str, ...]
    windows: tuple[Window | None, ...]
    padding: tuple[Padding | None, ...]
    outer_padding: tuple[Padding, ...]
    folded: tuple[str, ...]  # the pad nodes folded in
    input_size: tuple[int, ...]
    output_size: tuple[int, ...]
    jump: tuple[Fraction, ...]
    rf_start: tuple[Fraction, ...] | None
    rf: tuple[Fraction, ...] | None
    centre: tuple[Fraction, ...] | None

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        """What alignment matches on: the op and its geometry."""
        return (self.op, self.geometry)

    def describe(self) -> str:
        """``conv k3 s2``."""
        texts = set(self.geometry)
        return f"{self.op} {self.geometry[0] if len(texts) == 1 else ', '.join(self.geometry)}"


def _fold_pads(graph: Graph, node: Node) -> tuple[list[Node], str]:
    """The pad nodes right before ``node`` (through pointwise ops), nearest last."""
    pads: list[Node] = []
    source = graph[node.inputs[0]] if node.inputs else None
    while source is not None and source.op in ("pad", "elementwise") and source.inputs:
        if source.op == "pad":
            pads.insert(0, source)
        source = graph[source.inputs[0]]
    return pads, source.name if source is not None else ""


def _layer(analysis: Analysis, node: Node, name: str) -> SpatialLayer:
    axes = node.axes or ()
    windows = tuple(a if isinstance(a, Window) else None for a in axes)
    forward = node.op in WINDOW_OPS and not any(w is not None and w.transposed for w in windows)
    pads = _fold_pads(analysis.graph, node)[0] if forward else []
    padding: list[Padding | None] = []
    outer: list[Padding] = []
    for axis, window in enumerate(windows):
        if window is None:
            padding.append(None)
            outer.append((0, 0))
            continue
        added = [p.added_padding(axis) for p in pads if p.axes and len(p.axes) == len(axes)]
        others = [
            p.added_padding(axis)
            for p in pads
            if p.module != node.module and p.axes and len(p.axes) == len(axes)
        ]
        padding.append(
            (window.pad_lo + sum(a[0] for a in added), window.pad_hi + sum(a[1] for a in added))
        )
        outer.append((sum(a[0] for a in others), sum(a[1] for a in others)))
    first = pads[0] if pads else node
    source = analysis.graph[first.inputs[0]] if first.inputs else first
    local: tuple[Field, ...] = analysis.field_result.local[node.name]
    is_global = any(f.is_global for f in local)
    return SpatialLayer(
        name=name,
        node=node.name,
        module=node.module,
        op=node.op,
        geometry=tuple(describe_axis(a) for a in axes),
        windows=windows,
        padding=tuple(padding),
        outer_padding=tuple(outer),
        folded=tuple(p.name for p in pads),
        input_size=tuple(source.spatial_shape),
        output_size=tuple(node.spatial_shape),
        jump=tuple(f.jump for f in local),
        rf_start=None if is_global else tuple(f.lo for f in local),
        rf=None if is_global else tuple(f.size for f in local),
        centre=None if is_global else tuple(f.centre for f in local),
    )


def spatial_layers(analysis: Analysis) -> list[SpatialLayer]:
    """The layers of ``analysis`` that move pixels, in order, named by their module when
    it holds one such layer (``conv1``, not ``conv1/conv``), else by their node."""
    nodes = [
        n
        for n in analysis.graph.nodes
        if n.axes and (n.op in WINDOW_OPS or n.op in RESAMPLE_OPS) and n.has_positions
    ]
    per_module: dict[str, int] = {}
    for node in nodes:
        per_module[node.module] = per_module.get(node.module, 0) + 1
    return [
        _layer(analysis, n, n.module if n.module and per_module[n.module] == 1 else n.name)
        for n in nodes
    ]


def _score(a: SpatialLayer, b: SpatialLayer) -> int | None:
    if a.key == b.key:
        return EXACT
    if a.op == b.op and len(a.geometry) == len(b.geometry):
        return SAME_OP
    return None


def align(
    a: Sequence[SpatialLayer], b: Sequence[SpatialLayer]
) -> list[tuple[SpatialLayer | None, SpatialLayer | None]]:
    """Pairs of layers in order; a layer without a partner is paired with None."""
    n, m = len(a), len(b)
    # best[i][j]: the best score aligning a[i:] with b[j:] (filled from the end, so the
    # walk from (0, 0) prefers a pair, then a gap in b, at equal scores)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            score = _score(a[i], b[j])
            pair = -1 if score is None else score + best[i + 1][j + 1]
            best[i][j] = max(pair, best[i + 1][j], best[i][j + 1])
    pairs: list[tuple[SpatialLayer | None, SpatialLayer | None]] = []
    i = j = 0
    while i < n and j < m:
        score = _score(a[i], b[j])
        if score is not None and best[i][j] == score + best[i + 1][j + 1]:
            pairs.append((a[i], b[j]))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            pairs.append((a[i], None))
            i += 1
        else:
            pairs.append((None, b[j]))
            j += 1
    pairs += [(x, None) for x in a[i:]] + [(None, y) for y in b[j:]]
    return pairs
