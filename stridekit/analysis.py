"""`analyze(model, input_size)` → `Analysis`: per-layer stride, receptive field and cost.

An `Analysis` is data that renders itself: printing it shows a rich table (rows folded to
a module depth with `Analysis.view`), and `to_dict()`, `to_json()`, `to_markdown()`,
`rows()` and `_repr_html_()` give the other forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from stridekit.errors import ChoiceError, MergeSizeError, ModelError, UsageError
from stridekit.geometry.limits import check_shape
from stridekit.graph import Graph
from stridekit.layer_record import LayerRecord, jsonable, layer_record
from stridekit.output_record import OutputRecord, output_record
from stridekit.passes import FieldResult, head_node, propagate_fields
from stridekit.passes.outputs import output_geometry
from stridekit.render import Result, axes_text, human, table

__all__ = ["Analysis", "AnalysisView", "LayerRecord", "analyze", "analyze_graph", "jsonable"]

OP_FILTERS = ("main", "all")
HIDDEN_BY_DEFAULT = frozenset({"elementwise"})  # pointwise ops, shown with ops="all"
COLUMNS = ("name", "op", "output", "window", "jump", "rf", "params", "MACs")
OUTPUT_COLUMNS = ("output", "shape", "stride", "rf", "node")


@dataclass(frozen=True)
class DisplayRow:
    """One row of the table: a record, or a module's records folded into one."""

    name: str
    op: str
    shape: str
    window: str
    jump: str
    rf: str
    params: int
    macs: int

    def cells(self) -> list[str]:
        return [
            self.name,
            self.op,
            self.shape,
            self.window,
            self.jump,
            self.rf,
            f"{self.params:,}",
            human(self.macs),
        ]


def _display_row(name: str, op: str, records: Sequence[LayerRecord]) -> DisplayRow:
    last = records[-1]
    return DisplayRow(
        name=name,
        op=op,
        shape="x".join(str(s) for s in last.output_shape),
        window=last.describe_window() if len(records) == 1 else "-",
        jump=axes_text(last.jump) if last.jump else "-",
        rf=("global" if last.rf is None else axes_text(last.rf)) if last.jump else "-",
        params=sum(r.params for r in records),
        macs=sum(r.macs for r in records),
    )


def display_rows(
    layers: Sequence[LayerRecord], depth: int | None = None, ops: str = "main"
) -> list[DisplayRow]:
    """The rows to show: modules deeper than ``depth`` folded into one row (costs summed,
    the shape and field of their last op); pointwise ops hidden unless ``ops="all"``."""
    groups: list[tuple[str, list[LayerRecord]]] = []
    for record in layers:
        parts = record.module.split(".") if record.module else []
        if depth and len(parts) > depth:
            key = ".".join(parts[:depth])
            if groups and groups[-1][0] == key:
                groups[-1][1].append(record)
            else:
                groups.append((key, [record]))
            continue
        groups.append(("", [record]))
    rows = []
    for key, records in groups:
        if key and len(records) > 1:
            rows.append(_display_row(key, "module", records))
        elif ops == "all" or records[0].op not in HIDDEN_BY_DEFAULT:
            rows.append(_display_row(records[0].name, records[0].op, records))
    return rows


@dataclass
class Analysis(Result):
    """The analysis of one model at one input size.

    >>> from stridekit.geometry import Window
    >>> from stridekit.graph import Node
    >>> g = Graph(input_shape=(1, 3, 224, 224))
    >>> stem, pool = Window(7, 2, padding=(3, 3)), Window(3, 2, padding=(1, 1))
    >>> _ = g.add(Node("stem", "conv", ("input",), ((1, 3, 224, 224),), (1, 8, 112, 112),
    ...                axes=(stem, stem), params=8 * 3 * 49))
    >>> _ = g.add(Node("pool", "max_pool", ("stem",), ((1, 8, 112, 112),), (1, 8, 56, 56),
    ...                axes=(pool, pool)))
    >>> _ = g.add(Node("head", "global_pool", ("pool",), ((1, 8, 56, 56),), (1, 8, 1, 1)))
    >>> a = analyze(g)
    >>> a.output_stride, a.receptive_field, a.total_params   # RF 7 + (3 − 1)·2 = 11
    ((Fraction(4, 1), Fraction(4, 1)), (Fraction(11, 1), Fraction(11, 1)), 1176)
    """

    graph: Graph
    field_result: FieldResult
    layers: list[LayerRecord] = field(default_factory=list)
    model: str = "model"
    declared_params: int | None = None  # the module's own parameter count, when known

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.graph.input_shape

    @cached_property
    def head(self) -> LayerRecord:
        """The record of the tensor that enters the head (see DESIGN.md); found once."""
        name = head_node(self.graph).name
        return next(r for r in self.layers if r.name == name)

    @cached_property
    def outputs(self) -> list[OutputRecord]:
        """Every tensor the model returns, in order, with its stride, field and pyramid
        levels (`stridekit.output_record`)."""
        return [output_record(g) for g in output_geometry(self.graph, self.field_result)]

    def spatial_outputs(self) -> list[OutputRecord]:
        """The outputs that hold positions or pyramid levels; a `ModelError` when none
        does (a classifier: nothing to say per position)."""
        found = [o for o in self.outputs if o.stride is not None or o.levels]
        if not found:
            shapes = ", ".join(f"{o.name} {'x'.join(map(str, o.shape))}" for o in self.outputs)
            raise ModelError(
                f"{self.model} has no spatial output ({shapes}): no map or pyramid level "
                "to judge; give a detector or segmenter, or the backbone's feature maps"
            )
        return found

    @property
    def output_stride(self) -> tuple[Fraction, ...]:
        return self.head.jump

    @property
    def receptive_field(self) -> tuple[Fraction, ...] | None:
        """Receptive field size per axis of the head's input; None when it is global."""
        return self.head.rf

    @property
    def local_receptive_field(self) -> tuple[Fraction, ...]:
        """The field the sliding windows alone give, ignoring global gates and attention."""
        return self.head.local_rf

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.layers)

    @property
    def unused_params(self) -> int:
        """Parameters the model declares but the traced forward never used (e.g. an
        auxiliary head that only runs in training); 0 when unknown."""
        if self.declared_params is None:
            return 0
        return self.declared_params - self.total_params

    @property
    def total_flops(self) -> int:
        return sum(r.flops for r in self.layers)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.layers)

    @property
    def unhandled(self) -> list[str]:
        """Framework ops stridekit had no rule for (treated as global)."""
        return sorted(
            {n.target or n.name for n in self.graph.nodes if n.attributes.get("unhandled")}
        )

    def totals(self) -> dict[str, Any]:
        return {
            "params": self.total_params,
            "flops": self.total_flops,
            "macs": self.total_macs,
            "output_stride": self.output_stride,
            "receptive_field": self.receptive_field,
            "local_receptive_field": self.local_receptive_field,
            "head": self.head.name,
            "unused_params": self.unused_params,
        }

    def rows(self) -> list[dict[str, Any]]:
        """The layers as plain dicts (JSON-ready)."""
        return [r.to_dict() for r in self.layers]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input_shape": list(self.input_shape),
            "layers": self.rows(),
            "outputs": [o.to_dict() for o in self.outputs],
            "totals": jsonable(self.totals()),
            "unhandled_ops": self.unhandled,
        }

    def view(self, depth: int | None = None, ops: str = "main") -> AnalysisView:
        """The analysis shown with rows folded to ``depth`` (module levels) and pointwise
        ops hidden (``ops="main"``) or shown (``"all"``)."""
        return AnalysisView(self, depth, ops)

    def to_markdown(self, depth: int | None = None, ops: str = "main") -> str:
        return self.view(depth, ops).to_markdown()

    def __rich__(self) -> RenderableType:
        return self.view().__rich__()


@dataclass(frozen=True)
class AnalysisView(Result):
    """An `Analysis` as a table folded to a module ``depth``, showing ``ops`` (``"main"``
    hides pointwise ops, ``"all"`` shows them); its data is the whole analysis."""

    analysis: Analysis
    depth: int | None = None
    ops: str = "main"

    def __post_init__(self) -> None:
        if self.ops not in OP_FILTERS:
            raise ChoiceError(
                f"unknown ops filter {self.ops!r}; choose one of {', '.join(OP_FILTERS)}"
            )
        if self.depth is not None and self.depth < 0:
            raise UsageError(f"depth must be >= 0, got {self.depth}")

    def rows(self) -> list[DisplayRow]:
        return display_rows(self.analysis.layers, self.depth, self.ops)

    def to_dict(self) -> dict[str, Any]:
        return self.analysis.to_dict()

    def totals_lines(self) -> list[str]:
        a = self.analysis
        rf, local = a.receptive_field, a.local_receptive_field
        rf_text = "global" if rf is None else axes_text(rf)
        if rf is None and local:
            rf_text += f" (sliding windows alone: {axes_text(local)})"
        lines = [
            f"params {a.total_params:,}   MACs {human(a.total_macs)}   "
            f"FLOPs {human(a.total_flops)}",
            f"output stride {axes_text(a.output_stride)}   receptive field {rf_text}   "
            f"(at {a.head.name})",
        ]
        if a.unused_params:
            lines.append(
                f"{a.unused_params:,} declared parameters are never used by the traced "
                "forward (eval mode: e.g. auxiliary heads)"
            )
        if a.unhandled:
            lines.append(f"ops without a rule (treated as global): {', '.join(a.unhandled)}")
        return lines

    def outputs_section(self) -> list[RenderableType]:
        """The outputs table, when a single output's totals do not say it all: several
        outputs, pyramid levels, or a resize of the input inside the model."""
        outputs = self.analysis.outputs
        resize = next((o.resize for o in outputs if o.resize is not None), None)
        if len(outputs) < 2 and not any(o.levels for o in outputs) and resize is None:
            return []
        rows = [cells for output in outputs for cells in output.cells()]
        section: list[RenderableType] = [
            table("outputs", OUTPUT_COLUMNS, rows, right=("stride", "rf"))
        ]
        if resize is not None:
            sizes = "x".join(map(str, resize.sizes_in)), "x".join(map(str, resize.sizes_out))
            section.append(
                Text(
                    f"the model resizes its input {sizes[0]} → {sizes[1]} at {resize.node}: "
                    f"one pixel there is {axes_text(resize.scale)} input pixels, so strides in "
                    "input pixels are fractional; (… resized) gives them in resized pixels"
                )
            )
        return section

    def __rich__(self) -> RenderableType:
        shape = "x".join(str(s) for s in self.analysis.input_shape)
        rows = table(
            f"{self.analysis.model} at {shape}",
            COLUMNS,
            (row.cells() for row in self.rows()),
            right=("params", "MACs"),
        )
        return Group(rows, *self.outputs_section(), Text("\n".join(self.totals_lines())))


def analyze_graph(graph: Graph, model: str | None = None) -> Analysis:
    """Run the passes over a graph any frontend produced."""
    check_shape(graph.input_shape, f"{model or graph.name}: input shape")
    result = propagate_fields(graph)
    layers = [
        layer_record(node, result.fields[node.name], result.local[node.name])
        for node in graph.nodes
    ]
    return Analysis(graph=graph, field_result=result, layers=layers, model=model or graph.name)


def analyze(
    model: Any,
    input_size: tuple[int, ...] | None = None,
    *,
    device: str = "meta",
    config: dict[str, Any] | None = None,
) -> Analysis:
    """Analyse a PyTorch module, a model reference (``"torchvision:resnet50"``, an
    ``.onnx``, ``.keras``/``.h5`` or spec file), or a `Graph`.

    Without ``input_size`` a reference is analysed at the size its source declares (a
    spec's or an ONNX file's input, torchvision's or timm's preset); a torch module
    declares none, so it needs one, e.g. ``(1, 3, 224, 224)``. A graph has its own.
    ``config``: settings of an ``hf:ClassName`` model's config.

    >>> from stridekit.geometry import Window
    >>> from stridekit.graph import Node
    >>> g = Graph(input_shape=(1, 1, 32, 32))
    >>> w = Window(3, 2)
    >>> _ = g.add(Node("conv", "conv", ("input",), ((1, 1, 32, 32),), (1, 4, 15, 15), (w, w)))
    >>> analyze(g).layers[-1].rf
    (Fraction(3, 1), Fraction(3, 1))
    """
    if isinstance(model, Graph):
        return analyze_graph(model)
    if input_size is not None:
        input_size = check_shape(tuple(input_size), "input_size")
    if isinstance(model, str):
        from stridekit.frontends.resolve import resolve

        resolved = resolve(model, input_size, device=device, config=config)
        if resolved.module is not None:
            shape = input_size or resolved.input_shape
            if shape is None:
                raise ModelError(
                    f"{model} declares no input size: give one, e.g. (1, 3, 224, 224) "
                    "(on the command line: --input 1x3x224x224)"
                )
            analysis = _analyze_module(resolved.module, shape, device, model)
        else:
            analysis = analyze_graph(resolved.to_graph(input_size))
        analysis.model = model
        return analysis
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        raise ModelError("analysing a module needs torch installed") from None
    if not isinstance(model, torch.nn.Module):
        raise ModelError(
            f"cannot analyse a {type(model).__name__}: give a torch.nn.Module, a model "
            "reference such as 'torchvision:resnet50', an .onnx or .keras file or a spec file"
        )
    if input_size is None:
        raise ModelError(
            f"a torch module ({type(model).__name__}) declares no input size: give one, "
            "e.g. analyze(model, (1, 3, 224, 224))"
        )
    return _analyze_module(model, tuple(input_size), device, type(model).__name__)


def _analyze_module(module: Any, shape: tuple[int, ...], device: str, label: str) -> Analysis:
    """Trace and analyse a torch module. When the forward fails in a merge of branches of
    unequal sizes, the `MergeSizeError` is answered from a nearby size that runs
    (`stridekit.size_failure`): the merge, the valid sizes, the nearest ones."""
    from stridekit.frontends.torch import trace_torch
    from stridekit.size_failure import explain_size_failure

    def run(size: tuple[int, ...]) -> Analysis:
        analysis = analyze_graph(trace_torch(module, size, device=device), label)
        analysis.declared_params = sum(p.numel() for p in module.parameters())
        return analysis

    try:
        return run(shape)
    except MergeSizeError as error:
        raise explain_size_failure(error, label, run) from None
