"""The ONNX frontend's bookkeeping: op kinds, costs, what is and is not a node, errors."""

from __future__ import annotations

from math import prod
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from stridekit.errors import ModelError
from stridekit.frontends.onnx import load_onnx
from stridekit.passes import propagate_fields
from tests.frontends.oracles import ints, model_of, ones


def node(op: str, inputs: list[str], output: str, **attributes: object) -> onnx.NodeProto:
    return helper.make_node(op, inputs, [output], **attributes)


# name → (nodes, input shape, initializers, kind of the last node)
KINDS = {
    "flatten_1x1_mixes_nothing": ([node("Flatten", ["x"], "y")], (1, 8, 1, 1), [], "elementwise"),
    "flatten_7x7": ([node("Flatten", ["x"], "y")], (1, 8, 7, 7), [], "flatten"),
    # ViT's tokens keep their positions, as in the torch frontend (one layout model)
    "tokens": ([node("Reshape", ["x", "s"], "y")], (1, 8, 4, 4), [ints("s", [1, 8, 16])],
               "elementwise"),
    "channels_first_flatten": ([node("Reshape", ["x", "s"], "y")], (1, 8, 4, 4),
                               [ints("s", [1, 128])], "flatten"),
    "channel_shuffle": ([node("Reshape", ["x", "s"], "y")], (1, 8, 4, 4),
                        [ints("s", [1, 2, 4, 4, 4])], "elementwise"),
    "mean_over_space": ([node("ReduceMean", ["x", "a"], "y")], (1, 8, 4, 4), [ints("a", [2, 3])],
                        "global_pool"),
    "mean_over_channels": ([node("ReduceMean", ["x", "a"], "y")], (1, 8, 4, 4), [ints("a", [1])],
                           "elementwise"),
    "global_average_pool": ([node("GlobalAveragePool", ["x"], "y")], (1, 8, 4, 4), [],
                            "global_pool"),
    "concat_channels": ([node("Relu", ["x"], "r"), node("Concat", ["x", "r"], "y", axis=1)],
                        (1, 8, 4, 4), [], "concat"),
    "concat_space": ([node("Relu", ["x"], "r"), node("Concat", ["x", "r"], "y", axis=2)],
                     (1, 8, 4, 4), [], "other"),
    "softmax_channels": ([node("Softmax", ["x"], "y", axis=1)], (1, 8, 4, 4), [], "elementwise"),
    # every position weighs every other: attention, as in the torch frontend
    "softmax_width": ([node("Softmax", ["x"], "y")], (1, 8, 4, 4), [], "attention"),
    "linear_over_width": ([node("MatMul", ["x", "w"], "y")], (1, 8, 4, 4), [ones("w", [4, 3])],
                          "linear"),
    "linear_over_channels": ([node("Transpose", ["x"], "t", perm=[0, 2, 3, 1]),
                              node("MatMul", ["t", "w"], "y")], (1, 8, 4, 4),
                             [ones("w", [8, 3])], "conv"),
    "residual_add": ([node("MaxPool", ["x"], "r", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                      node("Add", ["x", "r"], "y")], (1, 8, 4, 4), [], "add"),
    # x + relu(x) merges nothing: both come position by position from x
    "add_of_one_source": ([node("Relu", ["x"], "r"), node("Add", ["x", "r"], "y")], (1, 8, 4, 4),
                          [], "elementwise"),
    "scale_by_constant": ([node("Mul", ["x", "c"], "y")], (1, 8, 4, 4), [ones("c", [1])],
                          "elementwise"),
    "gate": ([node("GlobalAveragePool", ["x"], "g"), node("Sigmoid", ["g"], "s"),
              node("Mul", ["x", "s"], "y")], (1, 8, 4, 4), [], "mul"),
    "reversed_slice": ([node("Slice", ["x", "a", "b", "c", "d"], "y")], (1, 8, 4, 4),
                       [ints("a", [-1]), ints("b", [-100]), ints("c", [3]), ints("d", [-1])],
                       "other"),
    "no_rule": ([node("CumSum", ["x", "c"], "y")], (1, 8, 4, 4),
                [helper.make_tensor("c", TensorProto.INT64, [], [2])], "other"),
}  # fmt: skip


@pytest.mark.parametrize("name", KINDS)
def test_op_kinds(name: str) -> None:
    nodes, shape, initializers, kind = KINDS[name]
    graph = load_onnx(model_of(nodes, shape, initializers))
    assert graph.output.op == kind


@pytest.mark.parametrize(("name", "is_global"), [("gate", True), ("no_rule", True),
                                                  ("linear_over_channels", False)])  # fmt: skip
def test_what_mixes_positions_makes_the_field_global(name: str, is_global: bool) -> None:
    nodes, shape, initializers, _ = KINDS[name]
    graph = load_onnx(model_of(nodes, shape, initializers))
    fields = propagate_fields(graph).fields[graph.output.name]
    assert all(f.is_global == is_global for f in fields)


# name → (nodes, input shape, initializers, params, MACs), the arithmetic beside
COSTS = {
    # groups 2: W (8, 4/2, 3, 3) + bias 8 = 144 + 8; MACs 8·2·9 per output × 8·8 outputs
    "conv_groups": ([node("Conv", ["x", "w", "b"], "y", group=2, pads=[1, 1, 1, 1])],
                    (1, 4, 8, 8), [ones("w", [8, 2, 3, 3]), ones("b", [8])], 152, 144 * 64),
    # transposed: W (Cin 4, Cout 3, 2, 2), counted over the 5·5 INPUT positions
    "conv_transpose": ([node("ConvTranspose", ["x", "w"], "y", strides=[2, 2])], (1, 4, 5, 5),
                       [ones("w", [4, 3, 2, 2])], 48, 4 * 3 * 4 * 25),
    # Gemm (2, 16) · (16, 4) + bias 4: MACs 2·4·16
    "gemm": ([node("Flatten", ["x"], "f"), node("Gemm", ["f", "w", "b"], "y")], (2, 16, 1, 1),
             [ones("w", [16, 4]), ones("b", [4])], 68, 128),
    # MatMul (1, 3, 5, 16) · (16, 4): MACs 3·5·4·16
    "matmul": ([node("MatMul", ["x", "w"], "y")], (1, 3, 5, 16), [ones("w", [16, 4])], 64, 960),
    # the same weight read twice counts once (ties), the biases are two tensors
    "shared_weight": ([node("Conv", ["x", "w", "b1"], "a", pads=[1, 1, 1, 1]),
                       node("Conv", ["a", "w", "b2"], "y", pads=[1, 1, 1, 1])], (1, 4, 6, 6),
                      [ones("w", [4, 4, 3, 3]), ones("b1", [4]), ones("b2", [4])], 144 + 8,
                      2 * 144 * 36),
    # a class token reaches Concat through Expand: its 8 stored values count
    "class_token": ([node("Expand", ["token", "s"], "t"), node("Concat", ["t", "x"], "y", axis=1)],
                    (1, 4, 8), [ones("token", [1, 1, 8]), ints("s", [1, 1, 8])], 8, 0),
    # a relative-position bias: the stored table (4), not the gathered tensor (2·3)
    "bias_table": ([node("Gather", ["table", "i"], "b"), node("Add", ["x", "b"], "y")],
                   (1, 1, 2, 3), [ones("table", [4]),
                                  helper.make_tensor("i", TensorProto.INT64, [2, 3], [0] * 6)],
                   4, 0),
    # GroupNorm exported as InstanceNormalization with the exporter's literal unit scale
    "literal_scale": ([node("Constant", [], "one", value=ones("v", [2])),
                       node("Constant", [], "zero", value=ones("w", [2])),
                       node("InstanceNormalization", ["x", "one", "zero"], "y")],
                      (1, 2, 4, 4), [], 0, 0),
    # BatchNorm: scale and shift are parameters, the running statistics are not
    "batch_norm": ([node("BatchNormalization", ["x", "s", "b", "m", "v"], "y")], (1, 4, 6, 6),
                   [ones(n, [4]) for n in "sbmv"], 8, 0),
}  # fmt: skip


@pytest.mark.parametrize("name", COSTS)
def test_costs(name: str) -> None:
    nodes, shape, initializers, params, macs = COSTS[name]
    graph = load_onnx(model_of(nodes, shape, initializers))
    assert sum(n.params for n in graph.nodes) == params
    assert sum(n.macs for n in graph.nodes) == macs
    assert all(n.flops == 2 * n.macs for n in graph.nodes)
    assert graph.output.activation_bytes == prod(graph.output.output_shape) * 4


def test_constants_and_shape_arithmetic_are_not_nodes() -> None:
    # y = reshape(x + c, concat(shape(x)[0:2], [-1])): only Add and Reshape read pixels
    nodes = [
        node("Constant", [], "c", value=helper.make_tensor("v", TensorProto.FLOAT, [1], [2.0])),
        node("Add", ["x", "c"], "a"),
        node("Shape", ["a"], "s", end=2),
        node("Concat", ["s", "minus_one"], "target", axis=0),
        node("Reshape", ["a", "target"], "y"),
    ]
    graph = load_onnx(model_of(nodes, (1, 8, 4, 4), [ints("minus_one", [-1])]))
    assert [(n.target, n.op) for n in graph.nodes[1:]] == [
        ("Add", "elementwise"),
        ("Reshape", "elementwise"),  # (1, 8, 16): tokens that keep their positions
    ]
    assert graph.output.output_shape == (1, 8, 16)


def test_input_shape_replaces_the_declared_one() -> None:
    model = model_of([node("MaxPool", ["x"], "y", kernel_shape=[2, 2], strides=[2, 2])],
                     (1, 3, 32, 32))  # fmt: skip
    assert load_onnx(model).output.output_shape == (1, 3, 16, 16)
    assert load_onnx(model, (2, 3, 64, 48)).output.output_shape == (2, 3, 32, 24)
    assert load_onnx(model_of(model.graph.node, ["N", 3, 32, 32])).input_shape == (1, 3, 32, 32)


def test_custom_op_with_declared_shape_is_other() -> None:
    custom = helper.make_node("Warp", ["x"], ["y"], domain="example.ops")
    model = model_of([custom], (1, 3, 8, 8))
    model.opset_import.append(helper.make_opsetid("example.ops", 1))
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                                                 [1, 3, 8, 8]))  # fmt: skip
    graph = load_onnx(model)
    assert (graph.output.op, graph.output.target) == ("other", "example.ops.Warp")


def test_module_paths_come_from_pytorch_scope_names(tmp_path: Path) -> None:
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="/layer1/layer1.0/conv1/Conv")
    graph = load_onnx(model_of([conv], (1, 1, 8, 8), [ones("w", [1, 1, 3, 3])]))
    assert graph.output.module == "layer1.0.conv1"


def broken_file(tmp_path: Path) -> Path:
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x00not a protobuf\xff" * 8)
    return path


def two_inputs(tmp_path: Path) -> onnx.ModelProto:
    add = node("Add", ["x", "z"], "y")
    x, z = (helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, 8, 8]) for n in "xz")
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    return helper.make_model(helper.make_graph([add], "g", [x, z], [y]))


def relu(shape: list[object]) -> onnx.ModelProto:
    return model_of([node("Relu", ["x"], "y")], shape)


@pytest.mark.parametrize(
    ("make", "input_shape", "message"),
    [
        (lambda tmp: relu([1, 3, "H", "W"]), None, "symbolic dims (1, 3, 'H', 'W'); pass"),
        (lambda tmp: relu([1, 3, 8, 8]), (1, 3, 8), "rank 4, input_shape (1, 3, 8) has rank 3"),
        (lambda tmp: relu([1, 3, 8, 8]), (1, 1, 8, 8), "takes 3 channels, input_shape (1, 1, 8"),
        (lambda tmp: tmp / "missing.onnx", None, "not found"),
        (broken_file, None, "is not a readable ONNX model"),
        (two_inputs, None, "one image input; this ONNX model has 'x', 'z'"),
        (lambda tmp: model_of([helper.make_node("Warp", ["x"], ["y"], domain="example.ops")],
                              (1, 3, 8, 8)), None, "could not find the shape of 'y'"),
        (lambda tmp: model_of([node("MaxPool", ["x"], "y", kernel_shape=[9, 9])], (1, 3, 8, 8)),
         None, "MaxPool node #0: input 8 with kernel 9, dilation 1, padding (0, 0) gives output"),
        (lambda tmp: model_of([node("Conv", ["x", "w"], "y")], (1, 3, 8, 8),
                              [ones("w", [4, 5, 3, 3])]),
         None, "input has 3 channels, the weight (4, 5, 3, 3) expects 5 × 1 group(s) = 5"),
        (lambda tmp: model_of([node("Reshape", ["x", "s"], "y")], (1, 3, 8, 8),
                              [ints("s", [5, -1])]),
         None, "shape inference failed for input shape (1, 3, 8, 8)"),
    ],
)  # fmt: skip
def test_errors_say_what_to_do(
    make: object, input_shape: tuple[int, ...] | None, message: str, tmp_path: Path
) -> None:
    source = make(tmp_path)  # type: ignore[operator]
    if isinstance(source, onnx.ModelProto) and source.graph.node[0].domain:
        source.opset_import.append(helper.make_opsetid("example.ops", 1))
    with pytest.raises(ModelError) as error:
        load_onnx(source, input_shape)
    assert message in str(error.value)
