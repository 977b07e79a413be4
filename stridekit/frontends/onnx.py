"""The ONNX frontend: an ONNX model → stridekit's `Graph`.

Shapes come from ONNX shape inference with data propagation (so sizes computed from
``Shape`` ops are known). The model input takes ``input_shape`` when given; otherwise its
declared shape must be static (a symbolic batch dimension alone becomes 1).

Every ONNX node that reads an activation becomes one `Node` (`stridekit.frontends.onnx_ops`
translates it into a canonical op of `stridekit.lowering`); initializers,
``Constant`` nodes and shape arithmetic (``Shape`` and what is computed from it) are not
nodes. Costs:

- ``params``: the elements of the constant tensors a node consumes as weights (conv and
  linear weights and biases, norm scales and shifts but not running statistics, PRelu
  slopes, non-scalar float constants of Add/Sub/Mul/Div/Concat/Where such as a class
  token), each tensor counted once, traced back through reshapes and gathers to its
  initializer (copies made by Identity count as their own tensors). An eval-mode
  export folds BatchNorm into the convs, so it has fewer parameters than the module;
- ``flops`` for Conv, ConvTranspose, Gemm and MatMul with the formulas of
  ``torch.utils.flop_counter``; ``macs = flops / 2``;
- ``activation_bytes``: the elements of the node's first output × its element size.

``ceil_mode``: the ONNX specification (like PyTorch) ignores a last window that would
start in the right padding, but onnx's shape inference keeps it; the frontend re-runs
the inference with the equivalent explicit padding for each pooling node where they differ.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from math import prod

import onnx
from onnx import helper

from stridekit.errors import ModelError, StrideError
from stridekit.frontends.onnx_constants import ConstantCosts
from stridekit.frontends.onnx_model import (
    FLOAT_TYPES,
    METADATA_OPS,
    Prepared,
    Tensors,
    infer,
    prepare,
)
from stridekit.frontends.onnx_ops import OpContext, translate
from stridekit.geometry import Window
from stridekit.geometry.layout import Layout, axis_sizes, standard
from stridekit.graph import Graph, GraphOutput, Node
from stridekit.lowering import Lowered

Shape = tuple[int, ...]

# ops with windows whose output size stridekit recomputes and checks against inference
WINDOW_OPS = frozenset(
    {"Conv", "ConvInteger", "QLinearConv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool"}
)
# input positions that hold weights
PARAM_INPUTS: dict[str, tuple[int, ...]] = {
    "Conv": (1, 2),
    "ConvInteger": (1,),
    "QLinearConv": (3, 8),
    "ConvTranspose": (1, 2),
    "Gemm": (0, 1, 2),
    "MatMul": (0, 1),
    "MatMulInteger": (0, 1),
    "BatchNormalization": (1, 2),
    "InstanceNormalization": (1, 2),
    "LayerNormalization": (1, 2),
    "GroupNormalization": (1, 2),
    "RMSNormalization": (1,),
    "PRelu": (1,),
}
# ops whose non-scalar float constants are parameters (biases, layer scales, embeddings)
GENERIC_PARAMS = frozenset({"Add", "Sub", "Mul", "Div", "Concat", "Where"})


def load_onnx(
    path_or_model: str | os.PathLike[str] | onnx.ModelProto,
    input_shape: tuple[int, ...] | None = None,
) -> Graph:
    """Read an ONNX model (a path or a ``ModelProto``, never modified) into a `Graph`.

    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 32, 32])
    >>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    >>> w = helper.make_tensor("w", TensorProto.FLOAT, [8, 3, 3, 3], [0.0] * 216)
    >>> conv = helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER")
    >>> graph = load_onnx(helper.make_model(helper.make_graph([conv], "g", [x], [y], [w])))
    >>> node = graph.output   # SAME_UPPER, 32 → 16: total padding 15·2 + 3 − 32 = 1, at the end
    >>> node.op, node.output_shape, node.windows[0].padding, node.params, node.macs
    ('conv', (1, 8, 16, 16), (0, 1), 216, 55296)
    """
    try:
        prepared = prepare(path_or_model, input_shape)
        attempts = 1 + sum(node.op_type in WINDOW_OPS for node in prepared.model.graph.node)
        for _ in range(attempts):
            inferred, folded = infer(prepared)
            try:
                return _build(prepared, Tensors(prepared.model, inferred, folded))
            except _CeilModeRepair as repair:
                repair.apply(prepared.working)
    except UnicodeDecodeError as error:  # protobuf decodes a string field when it is read
        label = "the model" if isinstance(path_or_model, onnx.ModelProto) else str(path_or_model)
        raise ModelError(
            f"{label}: a name in it is not UTF-8 text ({error.reason}); is the file damaged?"
        ) from None
    raise ModelError(f"{prepared.name}: shape inference disagrees with the pooling windows")


# --- building the graph -----------------------------------------------------------------


@dataclass
class _CeilModeRepair(Exception):
    """Shape inference kept a ceil_mode window that the ONNX spec and PyTorch drop."""

    output: str  # the pooling node's output (nodes may have been folded away: no index)
    windows: tuple[Window, ...]
    spatial: Shape

    def apply(self, model: onnx.ModelProto) -> None:
        """Give the node floor-mode padding that yields the spec's output size."""
        node = next(n for n in model.graph.node if n.output and n.output[0] == self.output)
        ends = []
        for window, n in zip(self.windows, self.spatial, strict=True):
            wanted = window.output_size(n)
            s, e, lo = window.stride, window.extent, window.pad_lo
            # floor((n + lo + h − e)/s) + 1 grows by at most 1 per unit of h: some h fits
            hi = next(
                h for h in range(window.pad_hi + s + 1) if (n + lo + h - e) // s + 1 == wanted
            )
            ends.append(hi)
        kept = [a for a in node.attribute if a.name not in ("ceil_mode", "pads", "auto_pad")]
        del node.attribute[:]
        node.attribute.extend(kept)
        node.attribute.append(
            helper.make_attribute("pads", [w.pad_lo for w in self.windows] + ends)
        )


def _module_path(node_name: str) -> str:
    """The module path in a PyTorch export's node name (``/layer1/layer1.0/conv1/Conv``).

    >>> _module_path("/backbone/layer1/layer1.0/conv1/Conv")
    'backbone.layer1.0.conv1'
    """
    if not node_name.startswith("/"):
        return ""
    path: list[str] = []
    for scope in node_name.strip("/").split("/")[:-1]:
        if path and scope.startswith(path[-1] + "."):
            path[-1] = scope  # the exporter repeats the parent's name: layer1, layer1.0
        else:
            path.append(scope)
    return ".".join(path)


def _params(
    node: onnx.NodeProto, active: tuple[bool, ...], tensors: Tensors, seen: set[str]
) -> int:
    generic = node.op_type in GENERIC_PARAMS
    positions = range(len(node.input)) if generic else PARAM_INPUTS.get(node.op_type, ())
    total = 0
    for position in positions:
        if position >= len(node.input) or active[position] or not node.input[position]:
            continue
        key, shape, origin = tensors.parameter(node.input[position])
        if key in seen or shape is None or origin == "literal":
            continue
        float_type = tensors.types.get(key) in FLOAT_TYPES
        if generic and (prod(shape) <= 1 or not float_type or origin != "stored"):
            continue  # a number such as x / 6, a computed mask: not a learned tensor
        seen.add(key)
        total += prod(shape)
    return total


def _check_windows(node: onnx.NodeProto, x: Shape, out: Shape, lowered: Lowered) -> None:
    """The windows' output sizes must be shape inference's (or a ceil_mode repair)."""
    if lowered.shape is None or lowered.axes is None or tuple(lowered.shape[2:]) == out[2:]:
        return
    windows = tuple(a for a in lowered.axes if isinstance(a, Window))
    for axis, window in enumerate(windows):
        n = x[2 + axis]
        if window.output_size(n) == out[2 + axis]:
            continue
        if window.ceil_mode:
            raise _CeilModeRepair(node.output[0], windows, x[2:])
        raise ModelError(
            f"shape inference gives {out[2 + axis]} along spatial axis {axis}, but "
            f"{window.describe()} gives {window.formula(n)}"
        )


def _build(prepared: Prepared, tensors: Tensors) -> Graph:
    model, input_name, shape = prepared.model, prepared.input_name, prepared.shape
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    graph = Graph(input_shape=shape, name=prepared.name)
    producer = {input_name: "input"}
    spatial = len(shape) - 2
    layouts: dict[str, Layout | None] = {input_name: standard(shape, spatial)}
    seen: set[str] = set()
    constants = ConstantCosts(tensors, seen)
    for index, node in enumerate(model.graph.node):
        active = tuple(bool(t) and t in producer for t in node.input)
        if node.op_type in METADATA_OPS:
            continue  # shape arithmetic
        if not any(active):
            constants.constant(node, index)  # not a node; its cost goes to the first reader
            continue
        label = f"{node.op_type} node {node.name or f'#{index}'}"
        if not node.output:
            raise ModelError(f"{label} has no output; is the file damaged?")
        shapes = tuple(tensors.shape(t) if t else None for t in node.input)
        outputs = tuple(tensors.shape(t) if t else None for t in node.output)
        missing = [t for t, s, a in zip(node.input, shapes, active, strict=True) if a and s is None]
        if missing or outputs[0] is None:
            tensor = (missing or [node.output[0]])[0]
            raise ModelError(
                f"{label}: ONNX shape inference could not find the shape of {tensor!r}; pass "
                "a static input_shape, or simplify the model (onnxsim) first"
            )
        context = OpContext(
            node,
            opset,
            shapes,
            outputs,
            active,
            tuple(layouts.get(t) if a else None for t, a in zip(node.input, active, strict=True)),
            spatial,
            tensors.value,
        )
        try:
            lowered = translate(context)
            if node.op_type in WINDOW_OPS:
                _check_windows(node, context.x.shape, outputs[0], lowered)
        except StrideError as error:
            raise ModelError(f"{label}: {error}") from None
        except (TypeError, KeyError, IndexError, AttributeError) as error:  # a damaged file
            raise ModelError(
                f"{label}: attributes of the wrong type ({type(error).__name__}: {error})"
            ) from None
        carried_params, carried_flops = constants.charge(node, active)
        inputs = [t for t, a in zip(node.input, active, strict=True) if a]
        node_name = node.name or f"{node.op_type}_{index}"
        while node_name in graph:
            node_name = f"{node_name}_{index}"
        target = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        attributes = {k: v for k, v in lowered.notes.items() if k != "op"}
        if lowered.unhandled:
            attributes["unhandled"] = True
        sizes = axis_sizes(lowered.layout, spatial)
        graph.add(
            Node(
                node_name,
                lowered.kind,
                tuple(producer[t] for t in inputs),
                tuple(s for s, a in zip(shapes, active, strict=True) if a and s is not None),
                outputs[0],
                lowered.axes,
                params=_params(node, active, tensors, seen) + carried_params,
                flops=lowered.flops + carried_flops,
                macs=(lowered.flops + carried_flops) // 2,
                activation_bytes=prod(outputs[0]) * tensors.itemsize(node.output[0]),
                module=_module_path(node.name),
                target=target,
                attributes=attributes,
                sizes=sizes,
                positional=sizes is not None,
            )
        )
        for output in node.output:
            if output:
                producer[output] = node_name
                layouts[output] = lowered.layout
    graph.outputs = [
        GraphOutput(
            o.name, producer[o.name], tensors.shape(o.name) or graph[producer[o.name]].output_shape
        )
        for o in model.graph.output
        if o.name in producer  # an output computed from the weights alone reads no pixel
    ]
    return graph
