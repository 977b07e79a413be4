"""Keras files as stridekit reads them: ``.keras`` and ``.h5``, Keras 2 configs, shared
layers and several outputs, ``Lambda`` layers (listed, never run), input sizes, model
references, and the command line."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import stridekit
from stridekit.cli import main
from stridekit.errors import ModelError
from stridekit.frontends.keras import load_keras
from stridekit.frontends.resolve import resolve
from tests.frontends.keras_support import import_keras, save

keras = import_keras()
layers = keras.layers

pytestmark = pytest.mark.xdist_group("keras")


def _net() -> Any:
    x = keras.Input((32, 32, 3))
    y = layers.Conv2D(8, 3, strides=2, padding="same", name="stem")(x)
    y = layers.MaxPooling2D(2, name="pool")(y)
    return keras.Model(x, layers.GlobalAveragePooling2D(name="gap")(y))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_both_formats_and_the_analysis(suffix: str, tmp_path: Path) -> None:
    path = save(_net(), tmp_path / f"net{suffix}")
    analysis = stridekit.analyze(str(path))
    assert analysis.graph.input_shape == (1, 3, 32, 32)
    assert [r.output_shape for r in analysis.layers] == [
        (1, 3, 32, 32),
        (1, 16, 16, 8),
        (1, 8, 8, 8),
        (1, 8),
    ]
    assert analysis.output_stride == (4, 4)
    # 3 × 3 stride 2, pad (0, 1) at 32, then 2 × 2 stride 2: 3 + (2 − 1)·2 = 5
    assert analysis.receptive_field == (5, 5)
    assert resolve(str(path)).source == "keras"
    # another input size: the windows follow it (SAME at 33: padding (1, 1), 17 outputs)
    other = stridekit.analyze(str(path), (1, 3, 33, 33))
    assert other.layers[1].output_shape == (1, 17, 17, 8)
    assert other.layers[1].padding == ((1, 1), (1, 1))


def test_shared_layers_and_several_outputs(tmp_path: Path) -> None:
    """One conv called on two tensors is two nodes (Keras's node index 1 is ``conv_1``)."""
    x = keras.Input((16, 16, 3))
    conv = layers.Conv2D(4, 3, strides=2, padding="same", name="conv")
    small = layers.AveragePooling2D(2, name="half")(x)
    model = keras.Model(x, [conv(x), conv(small)])
    graph = load_keras(save(model, tmp_path / "shared.keras"))
    assert [(o.node, o.shape) for o in graph.outputs] == [
        ("conv", (1, *model.outputs[0].shape[1:])),
        ("conv_1", (1, *model.outputs[1].shape[1:])),
    ]
    assert graph["conv_1"].inputs == ("half",)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_nested_model_called_twice_with_two_outputs(suffix: str, tmp_path: Path) -> None:
    """A model used as a layer twice is inlined twice (``pair/…``, ``pair_1/…``); its
    second output is its second tensor (Keras's tensor index 1)."""
    inner_in = keras.Input((None, None, 2))
    wide = layers.Conv2D(2, 3, padding="same", name="wide")(inner_in)
    down = layers.Conv2D(2, 3, strides=2, padding="same", name="down")(inner_in)
    pair = keras.Model(inner_in, [wide, down], name="pair")
    x = keras.Input((12, 12, 2))
    _, first = pair(x)
    _, second = pair(first)
    model = keras.Model(x, second)
    graph = load_keras(save(model, tmp_path / f"twice{suffix}"))
    assert graph.output.name == "pair_1/down"
    assert graph["pair_1/down"].inputs == ("pair/down",)
    assert graph.output.output_shape == (1, *model.output.shape[1:]) == (1, 3, 3, 2)


def test_a_lambda_is_listed_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    where = str(marker)  # saved with the Lambda's code: running it writes this file
    x = keras.Input((8, 8, 2))
    y = layers.Conv2D(2, 3, padding="same", name="conv")(x)
    y = layers.Lambda(lambda t: (open(where, "w").close(), t * 2)[1], name="double")(y)
    model = keras.Model(x, layers.Conv2D(2, 3, strides=2, name="after")(y))
    path = save(model, tmp_path / "lambda.keras")
    marker.unlink()  # building the model ran it; stridekit must not
    assert where.encode() in zipfile.ZipFile(path).read("config.json")
    analysis = stridekit.analyze(str(path))
    assert not marker.exists()
    assert analysis.unhandled == ["Lambda"]
    assert analysis.layers[-1].output_shape == (1, 3, 3, 2)  # the file's record of the Lambda
    assert analysis.receptive_field is None  # what the Lambda does is unknown: global
    # the Lambda keeps its shape, so another size is still known
    assert stridekit.analyze(str(path), (1, 2, 10, 10)).layers[-1].output_shape == (1, 4, 4, 2)


def test_a_lambda_that_reshapes_is_known_at_the_saved_size_only(tmp_path: Path) -> None:
    x = keras.Input((8, 8, 2))
    y = layers.Lambda(lambda t: t[:, ::2], name="rows")(x)
    path = save(keras.Model(x, layers.Conv2D(2, 3)(y)), tmp_path / "rows.keras")
    assert load_keras(path).output.output_shape == (1, 2, 6, 2)
    with pytest.raises(ModelError, match=r"'rows' \(Lambda\) has no rule .* saved input size"):
        load_keras(path, (1, 2, 12, 12))


def _keras2_config() -> dict[str, Any]:
    """A Functional model as Keras 2 (tf.keras) writes it in .h5 files: inbound nodes as
    ``[[layer, node, tensor, kwargs]]``, ``batch_input_shape``, no modules, no shapes."""

    def layer(cls: str, name: str, config: dict[str, Any], *reads: str) -> dict[str, Any]:
        inbound = [[[r, 0, 0, {}] for r in reads]] if reads else []
        return {
            "class_name": cls,
            "name": name,
            "config": {"name": name, **config},
            "inbound_nodes": inbound,
        }

    conv = {"kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "filters": 4}
    return {
        "class_name": "Model",
        "config": {
            "name": "tf_keras",
            "layers": [
                layer("InputLayer", "in", {"batch_input_shape": [None, 20, 20, 3]}),
                layer("Conv2D", "a", conv, "in"),
                layer("Conv2D", "b", {**conv, "strides": [1, 1]}, "a"),
                layer("Add", "sum", {}, "a", "b"),
                layer("MyCustomLayer", "custom", {}, "sum"),
                {
                    **layer("TFOpLambda", "mul", {"function": "math.multiply"}),
                    "inbound_nodes": [[["custom", 0, 0, {"y": ["a", 0, 0], "name": None}]]],
                },
                layer("TFOpLambda", "roll", {"function": "roll"}, "mul"),
            ],
            "input_layers": [["in", 0, 0]],
            "output_layers": [["roll", 0, 0]],
        },
    }


def test_keras2_configs(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "tf_keras.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps(_keras2_config())
    graph = load_keras(path)
    assert [(n.name, n.output_shape) for n in graph.nodes] == [
        ("input", (1, 3, 20, 20)),
        ("a", (1, 10, 10, 4)),
        ("b", (1, 10, 10, 4)),
        ("sum", (1, 10, 10, 4)),
        ("custom", (1, 10, 10, 4)),
        ("mul", (1, 10, 10, 4)),
        ("roll", (1, 10, 10, 4)),
    ]
    assert graph["sum"].op == "add" and graph["custom"].attributes["unhandled"]
    assert graph["mul"].op == "mul" and graph["mul"].inputs == ("custom", "a")
    assert graph["roll"].target == "TFOpLambda" and graph["roll"].attributes["unhandled"]


def test_keras2_nested_models_count_their_built_in_node() -> None:
    """tf.keras numbers a nested model's calls from 1 (its node 0 is built in, not saved),
    in call arguments and outputs alike."""
    conv = {"name": "c", "filters": 2, "kernel_size": [3, 3], "strides": [2, 2]}
    inner = {
        "class_name": "Sequential",
        "config": {"name": "inner", "layers": [{"class_name": "Conv2D", "config": conv}]},
        "name": "inner",
    }
    outer_layers = [
        {
            "class_name": "InputLayer",
            "name": "x",
            "inbound_nodes": [],
            "config": {"name": "x", "batch_input_shape": [None, 15, 15, 2]},
        },
        {**inner, "inbound_nodes": [[["x", 0, 0, {}]], [["inner", 1, 0, {}]]]},
    ]
    model = {
        "class_name": "Functional",
        "config": {
            "name": "outer",
            "layers": outer_layers,
            "input_layers": [["x", 0, 0]],
            "output_layers": [["inner", 2, 0]],
        },
    }
    graph = load_keras(model)
    assert graph.output.name == "inner_1/c" and graph.output.output_shape == (1, 3, 3, 2)
    assert graph["inner_1/c"].inputs == ("inner/c",)


def test_keras2_sequential_with_the_shape_on_its_first_layer() -> None:
    conv = {
        "name": "c",
        "filters": 2,
        "kernel_size": [3, 3],
        "strides": [2, 2],
        "padding": "same",
        "batch_input_shape": [None, 10, 10, 1],
    }
    pool = {"name": "p", "padding": "same"}
    model = {
        "class_name": "Sequential",
        "config": {
            "name": "s",
            "layers": [
                {"class_name": "Conv2D", "config": conv},
                {"class_name": "MaxPooling2D", "config": pool},
            ],
        },
    }
    graph = load_keras(model)
    assert [(n.name, n.output_shape) for n in graph.nodes] == [
        ("input", (1, 1, 10, 10)),
        ("c", (1, 5, 5, 2)),
        ("p", (1, 3, 3, 2)),
    ]


@pytest.mark.parametrize(
    ("shape", "fragment"),
    [
        ((1, 32, 32, 3), r"does not fit the model's input \(None, 32, 32, 3\).* C = 3"),
        ((1, 3, 32), "does not fit"),
    ],
)
def test_input_shapes_are_n_c_spatial(
    shape: tuple[int, ...], fragment: str, tmp_path: Path
) -> None:
    path = save(_net(), tmp_path / "net.keras")
    with pytest.raises(ModelError, match=fragment):
        load_keras(path, shape)


def test_free_input_sizes_need_an_input_shape(tmp_path: Path) -> None:
    x = keras.Input((None, None, 3))
    path = save(keras.Model(x, layers.Conv2D(2, 3, strides=2)(x)), tmp_path / "free.keras")
    with pytest.raises(ModelError, match=r"free sizes; give an input shape"):
        load_keras(path)
    assert load_keras(path, (1, 3, 9, 9)).output.output_shape == (1, 4, 4, 2)


def test_without_h5py_the_error_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save(_net(), tmp_path / "net.h5")
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py raises ImportError
    with pytest.raises(ModelError, match=r"needs h5py: pip install 'stridekit\[keras\]'"):
        load_keras(path)


def test_the_command_line_reads_keras_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = save(_net(), tmp_path / "net.keras")
    assert main(["analyze", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["input_shape"] == [1, 3, 32, 32] and data["layers"][1]["padding"] == [[0, 1]] * 2
