"""`analyze(model, input_size)` → `Analysis`: per-layer stride, receptive field and cost.

The analysis is data; rendering lives in `stridekit.render`. Printing an `Analysis` shows
a rich table; `to_json()`, `to_markdown()` and `rows()` give the other forms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any

from stridekit.errors import ModelError
from stridekit.geometry import Field, Window
from stridekit.graph import Graph, Node, Resample
from stridekit.passes import FieldResult, head_node, propagate_fields

Value = int | Fraction | None


def jsonable(value: Any) -> Any:
    """Fractions as ``"1/2"`` strings (integers stay integers), tuples as lists.

    >>> jsonable([Fraction(1, 2), Fraction(4), (1, 2)])
    ['1/2', 4, [1, 2]]
    """
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class LayerRecord:
    """One row of the analysis: a node of the graph with its geometry, field and cost."""

    name: str
    op: str
    module: str
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]
    kernel: tuple[Value, ...] | None
    stride: tuple[Value, ...] | None
    padding: tuple[tuple[Value, Value], ...] | None
    dilation: tuple[Value, ...] | None
    jump: tuple[Fraction, ...]
    rf: tuple[Fraction, ...] | None  # None: global (every input pixel reaches it)
    rf_start: tuple[Fraction, ...]
    local_rf: tuple[Fraction, ...]
    params: int
    flops: int
    macs: int
    activation_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "name": self.name,
                "op": self.op,
                "input_shapes": self.input_shapes,
                "output_shape": self.output_shape,
                "kernel": self.kernel,
                "stride": self.stride,
                "padding": self.padding,
                "dilation": self.dilation,
                "jump": self.jump,
                "rf": self.rf,
                "rf_start": self.rf_start,
                "params": self.params,
                "flops": self.flops,
                "macs": self.macs,
                "activation_bytes": self.activation_bytes,
            }
        )


def _geometry(node: Node) -> dict[str, tuple[Any, ...] | None]:
    if not node.axes:
        return {"kernel": None, "stride": None, "padding": None, "dilation": None}
    kernel: list[Value] = []
    stride: list[Value] = []
    padding: list[tuple[Value, Value]] = []
    dilation: list[Value] = []
    for axis in node.axes:
        if isinstance(axis, Window):
            kernel.append(axis.kernel)
            stride.append(Fraction(1, axis.stride) if axis.transposed else axis.stride)
            padding.append((axis.pad_lo, axis.pad_hi))
            dilation.append(axis.dilation)
        elif isinstance(axis, Resample):
            kernel.append(axis.stop - axis.start + 1)
            stride.append(axis.scale)
            padding.append((-axis.start, axis.start))
            dilation.append(1)
    return {
        "kernel": tuple(kernel),
        "stride": tuple(stride),
        "padding": tuple(padding),
        "dilation": tuple(dilation),
    }


def _record(node: Node, fields: tuple[Field, ...], local: tuple[Field, ...]) -> LayerRecord:
    is_global = any(f.is_global for f in fields)
    geometry = _geometry(node)
    return LayerRecord(
        name=node.name,
        op=node.op,
        module=node.module,
        input_shapes=node.input_shapes,
        output_shape=node.output_shape,
        kernel=geometry["kernel"],
        stride=geometry["stride"],
        padding=geometry["padding"],
        dilation=geometry["dilation"],
        jump=tuple(f.jump for f in fields),
        rf=None if is_global else tuple(f.size for f in fields),
        rf_start=tuple(f.lo for f in fields),
        local_rf=tuple(f.size for f in local),
        params=node.params,
        flops=node.flops,
        macs=node.macs,
        activation_bytes=node.activation_bytes,
    )


@dataclass
class Analysis:
    """The analysis of one model at one input size.

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
            "totals": jsonable(self.totals()),
            "unhandled_ops": self.unhandled,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_markdown(self, depth: int | None = None, ops: str = "main") -> str:
        from stridekit.render import analysis_markdown

        return analysis_markdown(self, depth=depth, ops=ops)

    def __rich__(self) -> Any:
        from stridekit.render import analysis_table

        return analysis_table(self)

    def __str__(self) -> str:
        from stridekit.render import render_text

        return render_text(self)


def analyze_graph(graph: Graph, model: str | None = None) -> Analysis:
    """Run the passes over a graph any frontend produced."""
    result = propagate_fields(graph)
    layers = [
        _record(node, result.fields[node.name], result.local[node.name]) for node in graph.nodes
    ]
    return Analysis(graph=graph, field_result=result, layers=layers, model=model or graph.name)


def analyze(
    model: Any,
    input_size: tuple[int, ...] | None = (1, 3, 224, 224),
    *,
    device: str = "meta",
) -> Analysis:
    """Analyse a PyTorch module, a model reference (``"torchvision:resnet50"``, a
    ``.onnx`` or spec file), or a `Graph`.

    For a reference, ``input_size=None`` takes the size the source suggests (a spec's or
    an ONNX file's input, torchvision's or timm's crop size).

    >>> from stridekit.graph import Node
    >>> g = Graph(input_shape=(1, 1, 32, 32))
    >>> w = Window(3, 2)
    >>> _ = g.add(Node("conv", "conv", ("input",), ((1, 1, 32, 32),), (1, 4, 15, 15), (w, w)))
    >>> analyze(g).layers[-1].rf
    (Fraction(3, 1), Fraction(3, 1))
    """
    if isinstance(model, Graph):
        return analyze_graph(model)
    if isinstance(model, str):
        from stridekit.frontends.resolve import resolve

        resolved = resolve(model, input_size, device=device)
        if resolved.module is not None:
            shape = input_size or resolved.input_shape
            analysis = analyze(resolved.module, shape, device=device)
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
            "reference such as 'torchvision:resnet50', an .onnx file or a spec file"
        )
    if input_size is None:
        raise ModelError("a torch module needs an input size, e.g. (1, 3, 224, 224)")
    from stridekit.frontends.torch import trace_torch

    graph = trace_torch(model, tuple(input_size), device=device)
    analysis = analyze_graph(graph, type(model).__name__)
    analysis.declared_params = sum(p.numel() for p in model.parameters())
    return analysis
