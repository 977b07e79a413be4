"""The TFLite frontend: a ``.tflite`` model → stridekit's `Graph`, read as data.

`stridekit.frontends.tflite_model` reads and checks the flatbuffer (the ``tflite``
package's generated readers, behind the ``stridekit[tflite]`` extra; neither TensorFlow
nor LiteRT is imported, and nothing in the file runs). Each operator that reads an
activation becomes one `Node` (`stridekit.frontends.tflite_ops` translates it into a
canonical op); constants, the operators that compute only from them (a weight's
``DEQUANTIZE``) and shape arithmetic (``SHAPE`` and what is computed from it) are not
nodes.

Shapes: TFLite keeps activations ``(N, H, W, C)``; the graph shows every tensor of the
input's rank channels-first, ``(N, C, H, W)``, as every frontend does, and the model's
input shape is given that way too (``input_shape=(1, 3, 224, 224)`` for a ``1×224×224×3``
input). Output shapes are computed by the rules, not read, so a model can be analysed at
another input size; at the input size the file was converted for they must equal the
shapes it records (a check of both). A model whose input has dynamic dimensions
(``shape_signature`` −1) needs ``input_shape``.

Quantized models (int8, uint8, int16 tensors) are read alike: shapes and strides do not
depend on the scales. Costs: ``params`` counts the elements of the constant tensors a
node consumes as weights (convolution and fully-connected filters and biases, PReLU
slopes, non-scalar constants of elementwise ops), each tensor once, traced back through
their ``DEQUANTIZE``; ``flops`` are ``torch.utils.flop_counter``'s formulas;
``activation_bytes`` use the output tensor's element type (1 byte for int8).
"""

from __future__ import annotations

import os
from math import prod

import numpy as np

from stridekit.errors import ModelError, StrideError
from stridekit.frontends.tflite_constants import fold
from stridekit.frontends.tflite_context import (
    OpContext,
    channels_first,
    channels_last,
    permuted,
)
from stridekit.frontends.tflite_model import (
    QUANTIZED_TYPES,
    OperatorInfo,
    TensorInfo,
    TFLiteModel,
    read_model,
)
from stridekit.frontends.tflite_ops import translate
from stridekit.geometry.layout import Layout, axis_sizes, standard
from stridekit.graph import Graph, GraphOutput, Node

Shape = tuple[int, ...]

# input positions that hold weights
PARAM_INPUTS: dict[str, tuple[int, ...]] = {
    "CONV_2D": (1, 2),
    "CONV_3D": (1, 2),
    "DEPTHWISE_CONV_2D": (1, 2),
    "TRANSPOSE_CONV": (1, 3),
    "FULLY_CONNECTED": (1, 2),
    "PRELU": (1,),
    "BATCH_MATMUL": (0, 1),
}
GENERIC_PARAMS = frozenset({"ADD", "SUB", "MUL", "DIV", "CONCATENATION", "MAXIMUM", "MINIMUM"})
WEIGHT_VIEWS = frozenset({"DEQUANTIZE", "CAST", "RESHAPE", "DENSIFY", "TRANSPOSE"})


def load_tflite(
    source: str | os.PathLike[str] | bytes, input_shape: tuple[int, ...] | None = None
) -> Graph:
    """Read a ``.tflite`` model (a path or its bytes) into a `Graph`.

    ``input_shape`` is ``(N, C, *spatial)``, channels-first like every stridekit shape;
    default: the shape the file records.

    >>> graph = load_tflite("tests/data/tflite/mobile_int8.tflite")  # int8, 1×12×12×3
    >>> graph.input_shape
    (1, 3, 12, 12)
    >>> conv = graph["t4"]    # SAME, 12 → 6: total padding 5·2 + 3 − 12 = 1, at the end
    >>> conv.target, conv.output_shape, conv.windows[0].padding, conv.params
    ('CONV_2D', (1, 8, 6, 6), (0, 1), 224)
    >>> load_tflite("tests/data/tflite/mobile_int8.tflite", (1, 3, 15, 15)).output.output_shape
    (1, 16, 4, 4)
    """
    model = read_model(source)
    if len(model.inputs) != 1:
        names = ", ".join(repr(model.tensors[t].name) for t in model.inputs) or "none"
        raise ModelError(
            f"stridekit analyses models with one image input; this TFLite model has {names}"
        )
    x = model.tensors[model.inputs[0]]
    shape = _input_shape(x, input_shape)
    return _Builder(model, x, shape).build()


def _input_shape(x: TensorInfo, requested: Shape | None) -> Shape:
    """The input's shape channels-first: ``requested`` (checked), or the recorded one."""
    rank = len(x.shape)
    if rank < 3:
        raise ModelError(
            f"input {x.name!r} has shape {x.shape}; stridekit analyses image-like models whose "
            "input is (N, *spatial, C)"
        )
    declared = x.signature if x.signature and len(x.signature) == rank else x.shape
    channels = declared[-1]
    if requested is not None:
        shape = tuple(int(v) for v in requested)
        if len(shape) != rank or min(shape) < 1:
            raise ModelError(
                f"input {x.name!r} is {'x'.join(map(str, x.shape))} (N, *spatial, C); give "
                f"input_shape as {rank} positive ints channels-first, e.g. "
                f"{permuted(x.shape, channels_first(rank))}"
            )
        if channels > 0 and shape[1] != channels:
            raise ModelError(
                f"input {x.name!r} takes {channels} channels, input_shape {shape} has "
                f"{shape[1]} (stridekit shapes are channels-first: (N, C, H, W))"
            )
        return shape
    if any(d < 0 for d in declared[1:]):
        shown = permuted(declared, channels_first(rank))
        example = tuple(v if v > 0 else 224 for v in shown[1:])
        raise ModelError(
            f"input {x.name!r} has dynamic dims {shown} (channels-first); pass input_shape, "
            f"e.g. (1, {', '.join(map(str, example))})"
        )
    return permuted(x.shape, channels_first(rank))


class _Builder:
    def __init__(self, model: TFLiteModel, x: TensorInfo, shape: Shape) -> None:
        self.model, self.x, self.rank = model, x, len(shape)
        self.spatial = self.rank - 2
        nhwc = permuted(shape, channels_last(self.rank))
        signature = x.signature or x.shape
        # the recorded shapes hold when the file was converted for this very input
        self.recorded = nhwc == x.shape and all(d >= 0 for d in signature[1:])
        self.graph = Graph(input_shape=shape, name=model.name)
        self.shapes: dict[int, Shape] = {x.index: nhwc}
        order = channels_last(self.rank)
        layout = standard(shape, self.spatial)
        self.layouts: dict[int, Layout | None] = {
            x.index: None if layout is None else permuted(layout, order)
        }
        self.producer = {x.index: "input"}
        self.values: dict[int, np.ndarray] = dict(model.values)
        self.aliases: dict[int, int] = {}  # a weight's DEQUANTIZE output → the stored tensor
        self.seen: set[int] = set()

    def present(self, shape: Shape) -> Shape:
        """TFLite's shape as the graph shows it: channels-first at the input's rank."""
        return permuted(shape, channels_first(self.rank)) if len(shape) == self.rank else shape

    def build(self) -> Graph:
        for op in self.model.operators:
            active = tuple(t >= 0 and t in self.producer for t in op.inputs)
            if not any(active) or op.code == "SHAPE":
                self.constant(op)
                continue
            self.add(op, active)
        self.graph.outputs = [
            GraphOutput(self.model.tensors[t].name, self.producer[t], self.present(self.shapes[t]))
            for t in self.model.outputs
            if t in self.producer and self.producer[t] != "input"
        ]
        return self.graph

    def constant(self, op: OperatorInfo) -> None:
        """An operator on constants (or on a shape): folded when stridekit can, else its
        outputs are constants of unknown value; weights seen through it stay weights."""
        shapes = {t: s for t, s in self.shapes.items()}
        value = fold(op, self.values, shapes)
        for position, t in enumerate(op.outputs):
            if value is not None and position == 0:
                self.values[t] = value
        if op.code in WEIGHT_VIEWS and op.inputs and op.outputs and op.inputs[0] >= 0:
            self.aliases[op.outputs[0]] = self.aliases.get(op.inputs[0], op.inputs[0])

    def add(self, op: OperatorInfo, active: tuple[bool, ...]) -> None:
        tensors = self.model.tensors
        shapes = tuple(
            None if t < 0 else self.shapes[t] if a else tensors[t].shape
            for t, a in zip(op.inputs, active, strict=True)
        )
        recorded = tuple(tensors[t].shape for t in op.outputs) if self.recorded else None
        context = OpContext(
            op,
            shapes,
            active,
            tuple(
                self.layouts.get(t) if a else None for t, a in zip(op.inputs, active, strict=True)
            ),
            self.spatial,
            tuple(
                None if a or t < 0 else self.values.get(t)
                for t, a in zip(op.inputs, active, strict=True)
            ),
            recorded,
        )
        label = (
            f"{op.code} operator #{op.index} ({tensors[op.outputs[0]].name if op.outputs else ''})"
        )
        try:
            done = translate(context)
            if recorded is not None and done.outputs != recorded[: len(done.outputs)]:
                raise ModelError(
                    f"the file records output {recorded[0]}, the rule gives {done.outputs[0]}"
                )
        except StrideError as error:
            raise ModelError(f"{label}: {error}") from None
        lowered = done.lowered
        first = op.outputs[0] if op.outputs else -1
        name = _node_name(tensors[first].name if first >= 0 else "", op)
        while name in self.graph:
            name = f"{name}_{op.index}"
        inputs = [t for t, a in zip(op.inputs, active, strict=True) if a]
        attributes = {k: v for k, v in lowered.notes.items() if k != "op"}
        fused = op.option("FusedActivationFunction", 0)
        if fused:
            attributes["fused_activation"] = _ACTIVATIONS.get(fused, fused)
        if any(tensors[t].type in QUANTIZED_TYPES for t in (*inputs, *op.outputs) if t >= 0):
            attributes["quantized"] = True
        if lowered.unhandled:
            attributes["unhandled"] = True
        sizes = axis_sizes(lowered.layout, self.spatial)
        out_shape = done.outputs[0]
        self.graph.add(
            Node(
                name,
                lowered.kind,
                tuple(self.producer[t] for t in inputs),
                tuple(self.present(self.shapes[t]) for t in inputs),
                self.present(out_shape),
                lowered.axes,
                params=self.params(op, active),
                flops=lowered.flops,
                macs=lowered.flops // 2,
                activation_bytes=prod(out_shape) * (tensors[first].itemsize if first >= 0 else 0),
                module=".".join(name.split("/")[:-1]),
                target=op.code,
                attributes=attributes,
                sizes=sizes,
                positional=sizes is not None,
            )
        )
        for t, shape in zip(op.outputs, done.outputs, strict=False):
            if t >= 0:
                self.producer[t] = name
                self.shapes[t] = shape
                self.layouts[t] = _resized(lowered.layout, shape)

    def params(self, op: OperatorInfo, active: tuple[bool, ...]) -> int:
        generic = op.code in GENERIC_PARAMS
        positions = range(len(op.inputs)) if generic else PARAM_INPUTS.get(op.code, ())
        total = 0
        for position in positions:
            if position >= len(op.inputs) or active[position] or op.inputs[position] < 0:
                continue
            source = self.aliases.get(op.inputs[position], op.inputs[position])
            tensor = self.model.tensors[source]
            if source in self.seen or (generic and prod(tensor.shape) <= 1) or not tensor.constant:
                continue
            self.seen.add(source)
            total += prod(self.model.tensors[op.inputs[position]].shape)
        return total


_ACTIVATIONS = {1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT", 6: "SIGMOID"}


def _resized(layout: Layout | None, shape: Shape) -> Layout | None:
    from stridekit.geometry.layout import resize

    return resize(layout, shape)


def _node_name(tensor_name: str, op: OperatorInfo) -> str:
    """A converter names an output ``model/conv2d/Relu;model/conv2d/BiasAdd;...``: the
    first name; an unnamed one gets the operator's code and index.

    >>> _node_name("model/conv2d/Relu;model/conv2d/BiasAdd", OperatorInfo(0, "CONV_2D", (), ()))
    'model/conv2d/Relu'
    """
    first = tensor_name.split(";")[0].strip()
    return first or f"{op.code.lower()}_{op.index}"
