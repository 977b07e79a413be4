"""The TFLite frontend's structure: shipped samples, dynamic inputs and shape arithmetic,
operators without a rule, weights behind DEQUANTIZE, errors that say what to do."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import stridekit
from stridekit.errors import ModelError
from stridekit.frontends.tflite import load_tflite
from tests.frontends.test_tflite_frontend import interpreter, nhwc, run
from tests.frontends.tflite_builder import Net
from tests.frontends.tflite_cases import CASES, dynamic, fp16_weights
from tools.make_tflite_samples import SAMPLES

DATA = Path(__file__).resolve().parent.parent / "data" / "tflite"


@pytest.mark.parametrize("file_name", sorted(SAMPLES))
def test_shipped_samples_are_what_the_tool_writes(file_name: str) -> None:
    assert (DATA / file_name).read_bytes() == CASES[SAMPLES[file_name]].build()


def test_a_model_reference_and_the_analysis() -> None:
    analysis = stridekit.analyze(str(DATA / "mobile_int8.tflite"))
    assert analysis.input_shape == (1, 3, 12, 12)
    assert analysis.unhandled == []
    # two SAME 3×3 convs (stride 2, then 1), a 1×1, a 2×2 pool: jumps 2, 2, 2, 4 and
    # fields 3, 3 + 2·2 = 7, 7, 7 + 1·2 = 9
    convs = [r for r in analysis.layers if r.op in ("conv", "avg_pool")]
    assert [(int(r.jump[0]), int(r.rf[0])) for r in convs] == [(2, 3), (2, 7), (2, 7), (4, 9)]
    assert sum(r.params for r in analysis.layers) == (8 * 27 + 8) + (8 * 9 + 8) + (16 * 8 + 16)


@pytest.mark.parametrize("size", [10, 13])
def test_dynamic_input_needs_a_size_and_folds_the_shape_arithmetic(size: int) -> None:
    data = dynamic()
    with pytest.raises(
        ModelError, match=r"dynamic dims \(1, 4, -1, -1\) \(channels-first\); pass input_shape"
    ):
        load_tflite(data)
    graph = load_tflite(data, (1, 4, size, size))
    measured = run(interpreter(data, size))
    nodes = [n for n in graph.nodes if n.name != "input"]
    assert [n.target for n in nodes] == ["CONV_2D", "RESIZE_NEAREST_NEIGHBOR"]
    for node in nodes:
        assert nhwc(node.output_shape) == measured[node.name]


def test_weights_behind_dequantize_are_counted_once() -> None:
    graph = load_tflite(fp16_weights())
    (conv,) = [n for n in graph.nodes if n.op == "conv"]
    assert conv.params == 4 * 3 * 3 * 3 + 4
    assert [n.name for n in graph.nodes] == ["input", conv.name]  # DEQUANTIZE is no node


def custom_model() -> bytes:
    net = Net((1, 8, 8, 3))
    y = net.op("CUSTOM", [net.x], (1, 8, 8, 3), custom="MyWarp")
    z = net.op(
        "AVERAGE_POOL_2D",
        [y],
        (1, 4, 4, 3),
        "Pool2DOptions",
        padding=1,
        strideW=2,
        strideH=2,
        filterWidth=2,
        filterHeight=2,
    )
    return net.build([z])


def test_an_operator_without_a_rule_is_listed_not_run(tmp_path: Path) -> None:
    path = tmp_path / "custom.tflite"
    path.write_bytes(custom_model())
    analysis = stridekit.analyze(str(path))
    assert analysis.unhandled == ["CUSTOM:MyWarp"]
    assert analysis.layers[-1].rf is None  # it may mix positions: the field is global
    with pytest.raises(ModelError, match=r"CUSTOM:MyWarp.*converted for"):
        load_tflite(path, (1, 3, 16, 16))


def two_inputs() -> bytes:
    net = Net((1, 8, 8, 3))
    net.inputs.append(net.tensor((1, 8, 8, 3)))
    return net.build([net.op("ADD", net.inputs, (1, 8, 8, 3), "AddOptions")])


def vector_input() -> bytes:
    net = Net((1, 16))
    return net.build([net.op("RELU", [net.x], (1, 16))])


@pytest.mark.parametrize(
    ("make", "input_shape", "message"),
    [
        (lambda: CASES["valid_stack"].build(), (1, 3, 15, 15), "takes 2 channels, input_shape"),
        (lambda: CASES["valid_stack"].build(), (1, 15, 15, 2), "takes 2 channels"),
        (lambda: CASES["valid_stack"].build(), (1, 2, 15), "give input_shape as 4 positive"),
        (lambda: CASES["valid_stack"].build(), (1, 2, 2, 2), "input 2 with kernel 3"),
        (lambda: CASES["mobile_block"].build(), (1, 3, 0, 8), "give input_shape as 4 positive"),
        (two_inputs, None, "one image input; this TFLite model has 't0', 't1'"),
        (vector_input, None, "analyses image-like models"),
    ],
)
def test_errors_say_what_to_do(make: object, input_shape: object, message: str) -> None:
    with pytest.raises(ModelError, match=message.replace("(", r"\(")):
        load_tflite(make(), input_shape)  # type: ignore[operator,arg-type]


def test_without_the_tflite_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tflite", None)  # import tflite raises ImportError
    with pytest.raises(ModelError, match=r"pip install 'stridekit\[tflite\]'"):
        load_tflite(CASES["valid_stack"].build())


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        stridekit.analyze(str(tmp_path / "nothing.tflite"))


def test_values_are_never_needed_for_weights() -> None:
    """A large weight's bytes are not read into arrays (its shape is enough)."""
    from stridekit.frontends.tflite_model import read_model

    model = read_model(CASES["mobile_block"].build())
    assert all(np.asarray(v).size <= 4096 for v in model.values.values())
