"""Malformed model files, fuzzed: every damaged file is read as data and ends in a graph
or a `StrideError` (on the command line: one line, exit status 2, no traceback), never
another exception, and nothing in it runs.

Per format, a valid sample file is damaged the same ways (empty, random bytes, truncated,
bytes flipped at seeded places); the Keras config is also damaged in structure (seeded
values replaced with junk of every JSON type) and attacked (a zip bomb, JSON nested
beyond the recursion limit, cycles, missing layers, models nested without end). A new
format adds its sample to `FORMATS` and is fuzzed alike.

Everything is seeded: the same files every run (a failure names its case).
"""

from __future__ import annotations

import copy
import io
import json
import random
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stridekit.cli import main
from stridekit.errors import StrideError
from stridekit.frontends.keras import load_keras
from stridekit.frontends.keras_archive import MAX_CONFIG_BYTES


def _tensor(layer: str, shape: list[int | None]) -> dict[str, Any]:
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": shape, "dtype": "float32", "keras_history": [layer, 0, 0]},
    }


def _layer(cls: str, name: str, config: dict[str, Any], *reads: Any) -> dict[str, Any]:
    args: list[Any] = [list(reads)] if len(reads) > 1 else list(reads)
    return {
        "module": "keras.layers",
        "class_name": cls,
        "name": name,
        "config": {"name": name, **config},
        "inbound_nodes": [{"args": args, "kwargs": {}}] if reads else [],
    }


def keras_config() -> dict[str, Any]:
    """A Keras 3 Functional config as ``model.save`` writes it (shapes recorded): a padded
    stride-2 conv, a nested Sequential, a residual add, a concat, a Lambda, a head."""
    conv = {"filters": 4, "kernel_size": [3, 3], "strides": [2, 2], "padding": "valid"}
    inner = {
        "name": "block",
        "layers": [
            {
                "module": "keras.layers",
                "class_name": "Conv2D",
                "config": {"name": "c", "filters": 4, "kernel_size": [3, 3], "padding": "same"},
            },
            {"module": "keras.layers", "class_name": "ReLU", "config": {"name": "r"}},
        ],
    }
    code = {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None}}
    layers = [
        _layer("InputLayer", "in", {"batch_shape": [None, 16, 16, 3]}),
        _layer(
            "ZeroPadding2D", "pad", {"padding": [[0, 1], [0, 1]]}, _tensor("in", [None, 16, 16, 3])
        ),
        _layer("Conv2D", "conv", conv, _tensor("pad", [None, 17, 17, 3])),
        {**_layer("Sequential", "block", {}, _tensor("conv", [None, 8, 8, 4])), "config": inner},
        _layer(
            "Add", "add", {}, _tensor("conv", [None, 8, 8, 4]), _tensor("block", [None, 8, 8, 4])
        ),
        _layer("Lambda", "lam", {"function": code}, _tensor("add", [None, 8, 8, 4])),
        _layer(
            "Concatenate",
            "cat",
            {"axis": -1},
            _tensor("add", [None, 8, 8, 4]),
            _tensor("lam", [None, 8, 8, 4]),
        ),
        _layer("GlobalAveragePooling2D", "gap", {}, _tensor("cat", [None, 8, 8, 8])),
        _layer("Dense", "fc", {"units": 10}, _tensor("gap", [None, 8])),
    ]
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": "sample",
            "layers": layers,
            "input_layers": ["in", 0, 0],
            "output_layers": [["fc", 0, 0]],
        },
    }


def keras_file(config: Any, *, raw: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", '{"keras_version": "3.0.0"}')
        archive.writestr("config.json", raw if raw is not None else json.dumps(config))
        archive.writestr("model.weights.h5", b"\0" * 64)
    return buffer.getvalue()


def onnx_file() -> bytes:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], [0.5] * 108)
    conv = helper.make_node("Conv", ["x", "w"], ["c"], strides=[2, 2], auto_pad="SAME_UPPER")
    pool = helper.make_node("MaxPool", ["c"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
    graph = helper.make_graph([conv, pool], "g", [x], [y], [w])
    return helper.make_model(graph).SerializeToString()


# suffix → a valid sample file
FORMATS: dict[str, Callable[[], bytes]] = {
    ".keras": lambda: keras_file(keras_config()),
    ".onnx": onnx_file,
}


def _damaged(data: bytes, how: str, seed: int) -> bytes:
    rng = random.Random(seed)
    if how == "empty":
        return b""
    if how == "random":
        return rng.randbytes(rng.randint(1, 4096))
    if how == "truncated":
        return data[: rng.randint(0, len(data) - 1)]
    flipped = bytearray(data)  # "flipped"
    for _ in range(rng.randint(1, 16)):
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
    return bytes(flipped)


def _load(path: Path) -> None:
    from stridekit.frontends.resolve import resolve

    resolve(str(path)).to_graph()


DAMAGE = [("empty", 0)] + [
    (how, seed) for how in ("random", "truncated", "flipped") for seed in range(12)
]


@pytest.mark.parametrize(("how", "seed"), DAMAGE, ids=[f"{h}-{s}" for h, s in DAMAGE])
@pytest.mark.parametrize("suffix", list(FORMATS))
def test_damaged_files_are_a_stride_error(suffix: str, how: str, seed: int, tmp_path: Path) -> None:
    sample = FORMATS[suffix]()
    _load(_write(tmp_path / f"sample{suffix}", sample))  # the sample itself is fine
    path = _write(tmp_path / f"damaged{suffix}", _damaged(sample, how, seed))
    try:
        _load(path)
    except StrideError as error:  # the CLI prints it on one line (a damaged name may not be)
        assert str(error)


JUNK: list[Any] = [None, -1, 0, 2**70, 1e308, True, "x", "same", [], [[]], {}, {"a": 1}]


def _mutated(config: Any, seed: int) -> Any:
    """The config with a few seeded values (at any depth) replaced by junk."""
    rng = random.Random(seed)
    result = copy.deepcopy(config)
    places: list[tuple[Any, Any]] = []
    stack = [result]
    while stack:
        value = stack.pop()
        keys = list(value) if isinstance(value, dict) else range(len(value))
        for key in keys:
            places.append((value, key))
            if isinstance(value[key], dict | list):
                stack.append(value[key])
    for container, key in rng.sample(places, rng.randint(1, 4)):
        container[key] = copy.deepcopy(rng.choice(JUNK))
    return result


@pytest.mark.parametrize("seed", range(80))
def test_keras_configs_with_wrong_types_are_a_stride_error(seed: int) -> None:
    try:
        load_keras(_mutated(keras_config(), seed))
    except StrideError as error:
        assert "\n" not in str(error)


def _deep_models(depth: int) -> dict[str, Any]:
    model: dict[str, Any] = {
        "class_name": "Sequential",
        "config": {"name": "m0", "layers": [{"class_name": "ReLU", "config": {"name": "r"}}]},
    }
    for level in range(1, depth):
        model = {"class_name": "Sequential", "config": {"name": f"m{level}", "layers": [model]}}
    model["config"]["layers"].insert(
        0, {"class_name": "InputLayer", "config": {"batch_shape": [None, 8, 8, 3]}}
    )
    return model


def _cyclic() -> dict[str, Any]:
    config = keras_config()
    config["config"]["layers"][2]["inbound_nodes"][0]["args"][0] = _tensor("add", [None, 8, 8, 4])
    return config


def _missing() -> dict[str, Any]:
    config = keras_config()
    config["config"]["layers"][2]["inbound_nodes"][0]["args"][0] = _tensor("ghost", [None, 8])
    return config


def _lying_shape(readers: tuple[int, ...]) -> dict[str, Any]:
    """The conv's output recorded as 9 × 9 (it is 8 × 8) by the layers ``readers``."""
    config = keras_config()
    for index in readers:
        config["config"]["layers"][index]["inbound_nodes"][0]["args"][0] = _tensor(
            "conv", [None, 9, 9, 4]
        )
    return config


ATTACKS: dict[str, tuple[Callable[[], bytes], str]] = {
    "zip-bomb": (lambda: keras_file(None, raw=b" " * (MAX_CONFIG_BYTES + 1)), "more than"),
    "deep-json": (lambda: keras_file(None, raw=b"[" * 200_000 + b"]" * 200_000), "not valid JSON"),
    "not-utf8": (lambda: keras_file(None, raw=b"\xff\xfe{}"), "not valid JSON"),
    "no-config": (lambda: _zip({"model.weights.h5": b"\0"}), "has no config.json"),
    "not-a-model": (lambda: keras_file({"class_name": "Dense", "config": {}}), "not a Keras model"),
    "models-nested-forever": (lambda: keras_file(_deep_models(40)), "nested more than 32"),
    "cycle": (lambda: keras_file(_cyclic()), "never computed"),
    "missing-layer": (lambda: keras_file(_missing()), "never computed"),
    "lying-shape": (lambda: keras_file(_lying_shape((3, 4))), "computes (1, 8, 8, 4), the file"),
    "two-shapes": (lambda: keras_file(_lying_shape((3,))), "records two shapes"),
    "huge-input": (
        lambda: keras_file(_with_input([None, 2**40, 8, 3])),
        "beyond 2^20",
    ),
}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _with_input(shape: list[int | None]) -> dict[str, Any]:
    config = keras_config()
    config["config"]["layers"][0]["config"]["batch_shape"] = shape
    return config


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attacks_are_one_line_errors_on_the_command_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build, fragment = ATTACKS[name]
    data = build()
    assert len(data) < 1_000_000  # a bomb is small on disk
    path = _write(tmp_path / "model.keras", data)
    code = main(["analyze", str(path)])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err.count("\n") == 1 and captured.err.startswith("stridekit: error: ")
    assert fragment in captured.err


def test_h5_files_without_a_model_are_one_line_errors(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    weights = tmp_path / "weights.h5"
    with h5py.File(weights, "w") as handle:
        handle["w"] = [1.0, 2.0]
    junk = tmp_path / "junk.h5"
    with h5py.File(junk, "w") as handle:
        handle.attrs["model_config"] = "{not json"
    cases = {weights: "no model_config", junk: "not valid JSON"}
    cases[_write(tmp_path / "random.h5", random.Random(0).randbytes(2048))] = "not an HDF5 file"
    cases[_write(tmp_path / "cut.h5", weights.read_bytes()[:600])] = "not an HDF5 file"
    for path, fragment in cases.items():
        with pytest.raises(StrideError, match=fragment):
            load_keras(path)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
