"""The TFLite frontend against the LiteRT interpreter: every operator's output shape is
the interpreter's (after running it on random inputs, at the converted size and at other
sizes), and the fields are what an impulse reaches through the interpreter."""

from __future__ import annotations

import numpy as np
import pytest

from stridekit.frontends.tflite import load_tflite
from tests.frontends.tflite_cases import CASES

litert = pytest.importorskip("ai_edge_litert.interpreter")


def interpreter(data: bytes, size: int | None = None) -> object:
    """LiteRT's reference kernels (no delegate: XNNPACK would hide the inner tensors)."""
    runner = litert.Interpreter(
        model_content=data,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        experimental_preserve_all_tensors=True,
    )
    detail = runner.get_input_details()[0]
    if size is not None:
        shape = list(detail["shape"])
        runner.resize_tensor_input(detail["index"], [shape[0], size, size, shape[3]])
    runner.allocate_tensors()
    return runner


def run(runner: object, values: np.ndarray | None = None) -> dict[str, tuple[int, ...]]:
    """Invoke on random (or given) values; the shape of every named tensor."""
    detail = runner.get_input_details()[0]  # type: ignore[attr-defined]
    if values is None:
        values = np.random.default_rng(0).uniform(-1, 1, detail["shape"]).astype(np.float32)
    runner.set_tensor(detail["index"], values)  # type: ignore[attr-defined]
    runner.invoke()  # type: ignore[attr-defined]
    return {
        d["name"]: tuple(int(v) for v in runner.get_tensor(d["index"]).shape)  # type: ignore[attr-defined]
        for d in runner.get_tensor_details()  # type: ignore[attr-defined]
        if d["name"]
    }


def nhwc(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[0], *shape[2:], shape[1]) if len(shape) == 4 else shape


SIZES = [(name, None) for name in CASES] + [
    (name, size) for name, case in CASES.items() for size in case.other_sizes
]


@pytest.mark.parametrize(("name", "size"), SIZES)
def test_every_output_shape_is_the_interpreters(name: str, size: int | None) -> None:
    data = CASES[name].build()
    measured = run(interpreter(data, size))
    x = measured["t0"]
    graph = load_tflite(data, None if size is None else (1, x[3], size, size))
    nodes = [node for node in graph.nodes if node.name != "input"]
    for node in nodes:
        assert nhwc(node.output_shape) == measured[node.name], node.name
    assert len(nodes) == count_operators(data)


def count_operators(data: bytes) -> int:
    """Operators that read an activation: those computed from constants alone (a
    weight's DEQUANTIZE) or from a shape are no nodes."""
    from stridekit.frontends.tflite_model import read_model

    model = read_model(data)
    constant = {t.index for t in model.tensors if t.constant}
    count = 0
    for op in model.operators:
        if op.code == "SHAPE" or all(t in constant for t in op.inputs if t >= 0):
            constant.update(op.outputs)
        else:
            count += 1
    return count
