"""Reading an ONNX model for the frontend: the input, its shape, shape inference.

`prepare` loads the model (weights stay on disk: their shapes are in the protobuf),
checks that it has one input and fixes that input's shape. `infer` runs ONNX shape
inference on a copy without the weights' values (milliseconds instead of a second for a
ResNet-50) and, where inference cannot follow the shape arithmetic of an export (PyTorch
writes ``F.pad``'s pads as Shape → ConstantOfShape → Concat → Reshape → Slice → ...),
evaluates that arithmetic with onnx's reference evaluator and tries again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from math import prod
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from stridekit.errors import ModelError

Shape = tuple[int, ...]

# ops whose output does not depend on the values of their input, only on its shape
METADATA_OPS = frozenset({"Shape", "Size", "RandomNormalLike", "RandomUniformLike"})
VIEW_OPS = frozenset(  # ops through which a stored parameter reaches its consumer
    {"Expand", "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Flatten", "Cast"}
    | {"DequantizeLinear", "Gather", "Slice"}
)
FLOAT_TYPES = frozenset(
    {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16}
    | {onnx.TensorProto.DOUBLE}
)


@dataclass
class Prepared:
    """A loaded model, its one input, the shape to analyse, and a copy for inference."""

    model: onnx.ModelProto  # as loaded, never modified
    name: str
    input_name: str
    shape: Shape
    working: onnx.ModelProto  # no weight values, input shape set; inference may patch it
    folded: dict[str, np.ndarray] = field(default_factory=dict)  # shape arithmetic, evaluated


def prepare(
    path_or_model: str | os.PathLike[str] | onnx.ModelProto, input_shape: Shape | None = None
) -> Prepared:
    """Load a model and fix its input shape (``input_shape``, or the declared static one).

    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])
    >>> relu = helper.make_node("Relu", ["x"], ["y"])
    >>> model = helper.make_model(helper.make_graph([relu], "g", [x], [x]))
    >>> prepare(model).shape, prepare(model, (2, 3, 64, 48)).shape
    ((1, 3, 32, 32), (2, 3, 64, 48))
    """
    if isinstance(path_or_model, onnx.ModelProto):
        model, name = path_or_model, path_or_model.graph.name or "model"
    else:
        path = Path(path_or_model)
        if not path.is_file():
            raise ModelError(f"ONNX file {str(path)!r} not found")
        try:
            model = onnx.load(path, load_external_data=False)
        except Exception as error:  # protobuf's DecodeError and friends
            raise ModelError(f"{str(path)!r} is not a readable ONNX model: {error}") from None
        name = path.stem
    initializers = {tensor.name for tensor in model.graph.initializer}
    inputs = [info for info in model.graph.input if info.name not in initializers]
    if len(inputs) != 1:
        names = ", ".join(repr(info.name) for info in inputs) or "none"
        raise ModelError(
            f"stridekit analyses models with one image input; this ONNX model has {names}; "
            "export a wrapper that takes a single (N, C, *spatial) tensor"
        )
    info = inputs[0]
    shape = _input_shape(info, input_shape)
    working = _weightless_copy(model)
    tensor_type = next(i for i in working.graph.input if i.name == info.name).type.tensor_type
    declared = _declared(info)
    tensor_type.ClearField("shape")
    for value in shape:
        tensor_type.shape.dim.add().dim_value = value
    if list(shape) != declared:  # shapes recorded for another input size would contradict
        del working.graph.value_info[:]
        for output in working.graph.output:
            output.type.tensor_type.ClearField("shape")
    return Prepared(model, name, info.name, shape, working)


def _declared(info: onnx.ValueInfoProto) -> list[int | None]:
    dims = info.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]


def _input_shape(info: onnx.ValueInfoProto, requested: Shape | None) -> Shape:
    declared = _declared(info)
    if requested is not None:
        shape = tuple(int(v) for v in requested)
        if any(v < 1 for v in shape) or len(shape) < 2:
            raise ModelError(f"input_shape must be (N, C, *spatial) of positive ints, got {shape}")
        if declared and len(declared) != len(shape):
            raise ModelError(
                f"input {info.name!r} has rank {len(declared)}, input_shape {shape} has rank "
                f"{len(shape)}"
            )
        if len(declared) > 1 and declared[1] is not None and declared[1] != shape[1]:
            raise ModelError(
                f"input {info.name!r} takes {declared[1]} channels, input_shape {shape} has "
                f"{shape[1]}"
            )
        return shape
    if not declared:
        raise ModelError(f"input {info.name!r} has no declared shape; pass input_shape")
    if declared[0] is None:
        declared[0] = 1  # a symbolic batch alone: analyse one sample
    if None in declared:
        dims = info.type.tensor_type.shape.dim
        shown = tuple(d.dim_param or "?" if v is None else v for d, v in zip(dims, declared))  # noqa: B905
        raise ModelError(
            f"input {info.name!r} has symbolic dims {shown}; pass input_shape, e.g. "
            f"(1, {declared[1] or 3}, 224, 224)"
        )
    return tuple(v for v in declared if v is not None)


def _weightless_copy(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with large float initializers turned into typed inputs (no values)."""
    graph = onnx.GraphProto(name=model.graph.name)
    graph.node.extend(model.graph.node)
    graph.input.extend(model.graph.input)
    graph.output.extend(model.graph.output)
    graph.value_info.extend(model.graph.value_info)
    graph.sparse_initializer.extend(model.graph.sparse_initializer)
    declared = {info.name for info in model.graph.input}
    for tensor in model.graph.initializer:
        if tensor.data_type not in FLOAT_TYPES or prod(tensor.dims) <= 64:
            graph.initializer.append(tensor)  # shapes, scales, pads: inference reads them
        elif tensor.name not in declared:
            graph.input.append(
                helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims))
            )
    return helper.make_model(
        graph,
        opset_imports=model.opset_import,
        ir_version=model.ir_version,
        functions=model.functions,
    )


def shape_of(value_type: onnx.TypeProto) -> Shape | None:
    """A static tensor shape, or None when unknown or symbolic.

    >>> from onnx import TensorProto, helper
    >>> shape_of(helper.make_tensor_type_proto(TensorProto.FLOAT, [1, 3, 8, 8]))
    (1, 3, 8, 8)
    """
    if not value_type.tensor_type.HasField("shape"):
        return None
    dims = value_type.tensor_type.shape.dim
    if not all(d.HasField("dim_value") for d in dims):
        return None
    return tuple(int(d.dim_value) for d in dims)


def infer(prepared: Prepared) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """Shape-infer the working copy, folding the shape arithmetic into constants.

    Returns the inferred model and the values of the folded tensors (the rules read
    them: a Pad's pads, a Slice's starts), also kept in ``prepared.folded``.

    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    >>> model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])],
    ...     "g", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]))
    >>> inferred, folded = infer(prepare(model))
    >>> shape_of(inferred.graph.output[0].type), folded
    ((1, 3, 8, 8), {})
    """
    folded = prepared.folded
    for _ in range(256):  # each round follows the arithmetic one Pad or Reshape further
        try:
            inferred = onnx.shape_inference.infer_shapes(
                prepared.working, strict_mode=True, data_prop=True
            )
        except Exception as error:  # InferenceError, or a checker error on a malformed model
            text = str(error).strip()
            first = text.splitlines()[0] if text else type(error).__name__
            raise ModelError(
                f"ONNX shape inference failed for input shape {prepared.shape}: {first}; "
                "check that the input shape fits the model"
            ) from None
        found = _fold(prepared.working, inferred, prepared.input_name)
        if not found:
            break
        folded.update(found)
    return inferred, folded


def _fold(
    working: onnx.ModelProto, inferred: onnx.ModelProto, input_name: str
) -> dict[str, np.ndarray]:
    """Evaluate the computed constants that other ops read (shapes, pads, sizes).

    Constant tensors are computed from small initializers and ``Constant`` nodes, and
    from ``Shape`` of tensors whose shape is known; the ops that read them take
    activations or weights (whose values the inference copy does not hold).
    """
    graph = inferred.graph
    shapes = {i.name: shape_of(i.type) for i in [*graph.input, *graph.value_info, *graph.output]}
    static = {tensor.name for tensor in working.graph.initializer}
    active, nodes = {input_name}, []
    read: set[str] = set()  # constants read by ops that cannot be folded
    producers: dict[str, onnx.NodeProto] = {}
    for node in working.graph.node:
        inputs = [t for t in node.input if t]
        if node.op_type in ("Shape", "Size") and inputs[0] in active:
            shape = shapes.get(inputs[0])
            if shape is None:
                continue
            start, end = _attribute(node, "start", 0), _attribute(node, "end", len(shape))
            value = np.asarray(shape[start:end] if node.op_type == "Shape" else prod(shape))
            tensor = numpy_helper.from_array(value.astype(np.int64))
            node = helper.make_node("Constant", [], [node.output[0]], value=tensor)
        elif not all(t in static for t in inputs):
            read.update(inputs)
            if any(t in active for t in inputs):
                active.update(t for t in node.output if t)
            continue
        nodes.append(node)
        static.update(t for t in node.output if t)
        producers.update({t: node for t in node.output if t})
    folding = {id(producers[t]): producers[t] for t in producers if t in read}
    wanted = [t for node in folding.values() for t in node.output if t]
    if not wanted:
        return {}
    try:
        from onnx.reference import ReferenceEvaluator

        program = helper.make_model(
            helper.make_graph(
                nodes,
                "fold",
                [],
                [helper.make_empty_tensor_value_info(t) for t in wanted],
                list(working.graph.initializer),
            ),
            opset_imports=working.opset_import,
            ir_version=working.ir_version,
        )
        values = dict(zip(wanted, ReferenceEvaluator(program).run(None, {}), strict=True))
    except Exception:  # an op the reference evaluator lacks: leave the shapes unknown
        return {}
    kept = [n for n in working.graph.node if not set(n.output) & set(wanted)]
    del working.graph.node[:]
    working.graph.node.extend(kept)
    for name in wanted:
        working.graph.initializer.append(numpy_helper.from_array(np.asarray(values[name]), name))
    return values


def _attribute(node: onnx.NodeProto, name: str, default: int) -> int:
    for attribute in node.attribute:
        if attribute.name == name:
            return int(attribute.i)
    return default


class Tensors:
    """Shapes, element types and constant values of the tensors of a model.

    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    >>> model = helper.make_model(helper.make_graph([], "g", [x], [x]))
    >>> Tensors(model, model, {}).shape("x"), Tensors(model, model, {}).itemsize("x")
    ((1, 3, 8, 8), 4)
    """

    def __init__(
        self, model: onnx.ModelProto, inferred: onnx.ModelProto, folded: dict[str, np.ndarray]
    ) -> None:
        graph = inferred.graph
        self.shapes: dict[str, Shape | None] = {}
        self.types: dict[str, int] = {}
        for info in [*graph.input, *graph.value_info, *graph.output]:
            self.shapes[info.name] = shape_of(info.type)
            self.types[info.name] = info.type.tensor_type.elem_type
        self.initializers = {tensor.name: tensor for tensor in model.graph.initializer}
        for tensor in model.graph.initializer:
            self.shapes[tensor.name] = tuple(int(d) for d in tensor.dims)
            self.types[tensor.name] = tensor.data_type
        self.folded = folded
        for name, value in folded.items():
            self.shapes.setdefault(name, tuple(value.shape))
        self.constants = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
        self.aliases = {
            n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "Identity"
        }
        self.views = {  # constant reshapes: a parameter seen through another shape
            n.output[0]: n.input[0] for n in model.graph.node if n.op_type in VIEW_OPS and n.input
        }

    def shape(self, name: str) -> Shape | None:
        return self.shapes.get(name)

    def parameter(self, name: str) -> tuple[str, Shape | None, str]:
        """The tensor behind a constant input, its shape, and where it comes from.

        The walk goes back through reshapes and selections (a Gather from a bias table)
        to a ``stored`` tensor: an initializer, or an Identity copy of one (exporters
        share one initializer among equal tensors, e.g. the ones and zeros of fresh
        norms). Otherwise the tensor is a ``literal`` (a Constant node: the exporter's
        own numbers, such as GroupNorm's unit scale) or ``computed`` (masks, grids, a
        standardized weight).
        """
        while name in self.views and name not in self.aliases:
            name = self.views[name]
        source = name
        while source in self.aliases:
            source = self.aliases[source]
        origin = "stored" if source in self.initializers else "computed"
        if source in self.constants:
            origin = "literal"
        return name, self.shapes.get(name), origin

    def itemsize(self, name: str) -> int:
        try:
            return int(np.dtype(helper.tensor_dtype_to_np_dtype(self.types[name])).itemsize)
        except (KeyError, TypeError, ValueError):
            return 0

    def value(self, name: str) -> np.ndarray | None:
        """The value of a constant tensor (through Identity copies), or None."""
        while name in self.aliases:
            name = self.aliases[name]
        if name in self.folded:
            return self.folded[name]
        try:
            if name in self.initializers:
                return numpy_helper.to_array(self.initializers[name])
            if name in self.constants:
                value = helper.get_attribute_value(self.constants[name].attribute[0])
                if isinstance(value, onnx.TensorProto):
                    return numpy_helper.to_array(value)
                return np.asarray(value)
        except Exception:  # external data not loaded, sparse or string constants
            return None
        return None
