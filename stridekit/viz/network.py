"""A network's spatial story in one figure: feature-map size, cumulative stride and
receptive field layer by layer, stages shaded, merges marked.

The layers drawn are those that move pixels (windows, resamples) or merge branches, from
the input to the tensor entering the head (`Analysis.head`; the output for a dense
model), or on to the last of a model's outputs when it returns several maps or pyramid
levels (YOLO's three levels, FCN's output and aux), each marked with its stride and
grid. A *stage* is a run of layers with the same cumulative stride. A merge is green
when its branches' field centres agree and red, with the offset in input pixels, when
they do not (the TF-SAME trap); a field that a global branch reaches is drawn with the
sliding windows' own (local) field and marked.

>>> from stridekit.geometry import Window
>>> from stridekit.graph import Graph, Node
>>> from stridekit.analysis import analyze
>>> g = Graph(input_shape=(1, 3, 32, 32))
>>> a, b = Window(3, 2, padding=(1, 1)), Window(3, 2, padding=(0, 1))
>>> _ = g.add(Node("left", "conv", ("input",), ((1, 3, 32, 32),), (1, 8, 16, 16), (a, a)))
>>> _ = g.add(Node("right", "conv", ("input",), ((1, 3, 32, 32),), (1, 8, 16, 16), (b, b)))
>>> _ = g.add(Node("sum", "add", ("left", "right"), ((1, 8, 16, 16),) * 2, (1, 8, 16, 16)))
>>> story = draw_network(analyze(g))
>>> [(s.first, s.last, s.jump) for s in story.stages]
[(0, 0, (Fraction(1, 1), Fraction(1, 1))), (1, 3, (Fraction(2, 1), Fraction(2, 1)))]
>>> [(m.name, m.misalignment) for m in story.merges]
[('sum', (Fraction(1, 1), Fraction(1, 1)))]
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from stridekit.graph import MERGE_OPS
from stridekit.layer_record import jsonable, record_dict
from stridekit.render import Result, axes_text
from stridekit.viz.canvas import figure_bytes, new_figure, style
from stridekit.viz.figure import Picture
from stridekit.viz.palette import PALETTE
from stridekit.viz.path_keyword import saved_if_asked
from stridekit.viz.plots import COLORS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from stridekit.analysis import Analysis
    from stridekit.output_record import LevelRecord, OutputRecord


@dataclass(frozen=True)
class StoryLayer:
    """One layer drawn: its feature-map size, jump and field (``rf`` None: global)."""

    index: int
    name: str
    op: str
    size: tuple[int, ...]
    jump: tuple[Fraction, ...]
    rf: tuple[Fraction, ...] | None
    local_rf: tuple[Fraction, ...]

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


@dataclass(frozen=True)
class Stage:
    """Layers ``first..last`` (indices into the layers drawn) share cumulative stride ``jump``."""

    first: int
    last: int
    jump: tuple[Fraction, ...]

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


@dataclass(frozen=True)
class MergeMark:
    """A merge drawn at ``index``; ``misalignment`` per axis in input pixels (None: its
    branches' strides differ, ``unmergeable`` says how)."""

    index: int
    name: str
    op: str
    misalignment: tuple[Fraction, ...] | None
    unmergeable: str | None = None

    @property
    def aligned(self) -> bool:
        return self.misalignment is not None and not any(self.misalignment)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "index": self.index,
                "name": self.name,
                "op": self.op,
                "aligned": self.aligned,
                "misalignment": self.misalignment,
                "unmergeable": self.unmergeable,
            }
        )


@dataclass(frozen=True)
class OutputMark:
    """An output (or one pyramid level of it) drawn at ``index``, the last layer drawn
    on its way: its stride and grid (``output`` names the returned tensor, ``level`` its
    level, None for a plain map)."""

    index: int
    output: str
    level: int | None
    stride: tuple[Fraction, ...]
    grid: tuple[int, ...]

    @property
    def label(self) -> str:
        name = self.output if self.level is None else f"L{self.level}"
        return f"{name} /{axes_text(self.stride)} {'x'.join(map(str, self.grid))}"

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


@dataclass(frozen=True)
class NetworkStory(Picture, Result):
    """The layers drawn, their stages and merges, for one analysed model."""

    model: str
    input_shape: tuple[int, ...]
    layers: tuple[StoryLayer, ...]
    stages: tuple[Stage, ...]
    merges: tuple[MergeMark, ...]
    head: str
    outputs: tuple[OutputMark, ...] = ()

    formats: ClassVar[tuple[str, ...]] = ("svg", "png")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input_shape": list(self.input_shape),
            "head": self.head,
            "layers": [layer.to_dict() for layer in self.layers],
            "stages": [stage.to_dict() for stage in self.stages],
            "merges": [merge.to_dict() for merge in self.merges],
            "outputs": [mark.to_dict() for mark in self.outputs],
        }

    def summary(self) -> str:
        strides = ", ".join(axes_text(s.jump) for s in self.stages)
        misaligned = sum(not m.aligned for m in self.merges)
        last = self.layers[-1]
        field = "global" if last.rf is None else axes_text(last.rf)
        return (
            f"{self.model} at {'x'.join(map(str, self.input_shape[2:]))}: {len(self.layers)} "
            f"layers in {len(self.stages)} stages (stride {strides}), {len(self.merges)} merges "
            f"({misaligned} misaligned); receptive field {field} at {self.head}"
        )

    def to_matplotlib(self) -> Figure:
        with style():
            figure = new_figure((10, 6.2))
            top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(1, 1.25))
            xs = [layer.index for layer in self.layers]
            square = all(len(set(layer.size)) == 1 for layer in self.layers)
            names = ("rows", "columns")[: 1 if square else len(self.layers[0].size)]
            edges = [x - 0.5 for x in [*xs, len(xs)]]  # layer k owns [k − 0.5, k + 0.5]
            for axis, name in enumerate(names):
                top.stairs(
                    [layer.size[axis] for layer in self.layers],
                    edges,
                    baseline=None,
                    linestyle="-" if axis == 0 else "--",
                    color=COLORS[0],
                    label=f"feature map {name}",
                    gid=f"size-{name}",
                )
            top.set_yscale("log", base=2)
            top.set_ylabel("feature-map size")
            if self.outputs:
                top.plot(
                    [m.index for m in self.outputs],
                    [m.grid[0] for m in self.outputs],
                    linestyle="",
                    marker="v",
                    markersize=7,
                    color=COLORS[2],
                    gid="outputs",
                    label="output / pyramid level",
                )
                for output in self.outputs:
                    top.annotate(
                        output.label,
                        (output.index, output.grid[0]),
                        xytext=(-4, -11),
                        textcoords="offset points",
                        ha="right",
                        fontsize=7,
                        color=COLORS[2],
                    )
            for number, stage in enumerate(self.stages):
                for axes in (top, bottom):
                    band = axes.axvspan(
                        stage.first - 0.5,
                        stage.last + 0.5,
                        linewidth=0,
                        alpha=0.08 if number % 2 else 0.0,
                        color=COLORS[0],
                    )
                    band.set_gid(f"stage-{number}")
                size = "x".join(str(n) for n in self.layers[stage.first].size)
                top.annotate(
                    f"/{axes_text(stage.jump)}: {size}",
                    (stage.first - 0.5, self.layers[stage.first].size[0]),
                    xytext=(0, 3),
                    textcoords="offset points",
                    fontsize=7,
                )
            rf = [float((layer.rf or layer.local_rf)[0]) for layer in self.layers]
            jumps = [float(layer.jump[0]) for layer in self.layers]
            which = "" if square else " (rows)"
            bottom.plot(xs, rf, color=COLORS[1], label=f"receptive field{which}", gid="rf")
            bottom.stairs(
                jumps,
                edges,
                baseline=None,
                color=COLORS[0],
                gid="jump",
                label=f"cumulative stride{which}",
            )
            global_at = [layer.index for layer in self.layers if layer.rf is None]
            if global_at:
                bottom.plot(
                    global_at,
                    [rf[i] for i in global_at],
                    linestyle="",
                    marker="s",
                    markersize=4,
                    color=PALETTE["text"],
                    gid="global",
                    label="global branch reaches it (local field drawn)",
                )
            for aligned, colour, marker, label in (
                (True, PALETTE["merge"], "o", "merge"),
                (False, PALETTE["misaligned"], "X", "misaligned merge"),
            ):
                marks = [m for m in self.merges if m.aligned == aligned]
                if marks:
                    bottom.plot(
                        [m.index for m in marks],
                        [rf[m.index] for m in marks],
                        linestyle="",
                        marker=marker,
                        color=colour,
                        markersize=6 if aligned else 9,
                        label=label,
                        gid="merges" if aligned else "merges-misaligned",
                    )
                if not aligned:
                    for mark in marks:
                        offset = (
                            "strides differ"
                            if mark.misalignment is None
                            else (f"off by {axes_text(mark.misalignment)} px")
                        )
                        bottom.annotate(
                            offset,
                            (mark.index, rf[mark.index]),
                            fontsize=7,
                            xytext=(4, 6),
                            textcoords="offset points",
                            color=colour,
                        )
            bottom.set_yscale("log", base=2)
            bottom.set_ylabel("input pixels")
            bottom.set_xlabel("layer (windows, resamples and merges, in order)")
            ticks: list[int] = []
            for stage in self.stages:  # a name every 4% of the width at most
                if not ticks or stage.first - ticks[-1] >= 0.04 * len(self.layers):
                    ticks.append(stage.first)
            bottom.set_xticks(
                ticks, [self.layers[i].name for i in ticks], rotation=30, ha="right", fontsize=7
            )
            top.legend(fontsize=7, loc="upper right")
            bottom.legend(fontsize=7, loc="upper left")
            for axes in (top, bottom):
                axes.grid(True, alpha=0.3)
                axes.set_xlim(-0.5, len(self.layers) - 0.5)
            shape = "x".join(str(n) for n in self.input_shape[2:])
            figure.suptitle(f"{self.model} at {shape}: size, stride and receptive field per layer")
        return figure

    def render(self, fmt: str) -> bytes:
        return figure_bytes(self.to_matplotlib(), self.check_format(fmt))


def network_story(analysis: Analysis) -> NetworkStory:
    """The layers, stages and merges of ``analysis`` (see the module docstring)."""
    graph = analysis.graph
    head = analysis.head.name
    records = {record.name: record for record in analysis.layers}
    order = {node.name: i for i, node in enumerate(graph.nodes)}
    # the levels of the first output that has them (YOLO's boxes and scores share them),
    # else every map the model returns (FCN's output and aux, a backbone's features)
    pyramid = next((o for o in analysis.outputs if o.levels), None)
    wanted: list[tuple[OutputRecord, LevelRecord | None]] = (
        [(pyramid, level) for level in pyramid.levels]
        if pyramid
        else [(o, None) for o in analysis.outputs if o.stride is not None]
    )
    sources = [level.source if level else output.node for output, level in wanted]
    # the story runs to the head, and on to the last of several outputs or levels
    ends = sources if pyramid or len(sources) > 1 else []
    last = max([head, *ends], key=order.__getitem__)
    layers: list[StoryLayer] = []
    merges: list[MergeMark] = []
    for node in graph.nodes:
        drawn = node.op == "input" or node.axes or node.op in MERGE_OPS
        if drawn and node.has_positions and node.spatial_shape:
            record = records[node.name]
            index = len(layers)
            layers.append(
                StoryLayer(
                    index,
                    node.name,
                    node.op,
                    tuple(node.spatial_shape),
                    record.jump,
                    record.rf,
                    record.local_rf,
                )
            )
            if node.op in MERGE_OPS:
                unmergeable = analysis.field_result.unmergeable.get(node.name)
                offsets = analysis.field_result.misalignment.get(
                    node.name, tuple(Fraction(0) for _ in node.spatial_shape)
                )
                merges.append(
                    MergeMark(
                        index, node.name, node.op, None if unmergeable else offsets, unmergeable
                    )
                )
        if node.name == last:
            break
    stages: list[Stage] = []
    for layer in layers:
        if stages and stages[-1].jump == layer.jump:
            stages[-1] = Stage(stages[-1].first, layer.index, layer.jump)
        else:
            stages.append(Stage(layer.index, layer.index, layer.jump))
    at = {layer.name: layer.index for layer in layers}
    marks: dict[tuple[int, tuple[Fraction, ...]], OutputMark] = {}
    for (output, level), source in zip(wanted, sources, strict=True):
        where = _drawn_before(graph, source, at)
        stride = level.stride if level else output.stride
        if where is None or stride is None:
            continue
        grid = level.grid if level else tuple(output.shape[2:])
        number = None if level is None else output.levels.index(level)
        marks.setdefault((where, stride), OutputMark(where, output.name, number, stride, grid))
    return NetworkStory(
        analysis.model,
        analysis.input_shape,
        tuple(layers),
        tuple(stages),
        tuple(merges),
        head,
        tuple(sorted(marks.values(), key=lambda m: m.index)),
    )


def _drawn_before(graph: Any, name: str, drawn: dict[str, int]) -> int | None:
    """The index of ``name``'s layer if it is drawn, else of the nearest drawn layer up
    its first inputs (a level's flattened view: the conv that made the map)."""
    while name not in drawn:
        inputs = graph[name].inputs
        if not inputs:
            return None
        name = inputs[0]
    return drawn[name]


def draw_network(
    model: Any, input_size: tuple[int, ...] | None = None, *, path: str | Path | None = None
) -> NetworkStory:
    """The spatial story of ``model`` (anything `stridekit.analyze` takes, or an
    `Analysis`); it saves itself, ``.save("net.svg")`` (``.svg``, ``.png``). (``path=`` is
    deprecated: ``.save(path)``.)"""
    from stridekit.analysis import Analysis, analyze

    analysis = model if isinstance(model, Analysis) else analyze(model, input_size)
    return saved_if_asked(network_story(analysis), path, "draw_network")
