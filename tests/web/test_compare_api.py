"""``POST /api/compare``: two models (registry names, specs, uploaded ONNX files) side by
side; the answer is the CLI's ``stridekit compare --format json``, bad input a 4xx."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from onnx import TensorProto, helper

from stridekit.cli import main

pytest.importorskip("fastapi", reason="the web extra is not installed")

PORT = {
    "name": "port",
    "input": [1, 3, 32, 32],
    "layers": [
        {"name": "conv1", "type": "conv", "channels": 4, "kernel": 3, "stride": 2, "padding": 1},
        {"name": "conv2", "type": "conv", "channels": 4, "kernel": 3, "stride": 2, "padding": 1},
    ],
}


def same_upper_onnx(channels: int = 3) -> bytes:
    """Two k3 s2 convolutions with ``auto_pad="SAME_UPPER"`` at 1x3x32x32 (TF SAME)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, 32, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    weights = [
        helper.make_tensor("w1", TensorProto.FLOAT, [4, channels, 3, 3], [0.0] * 36 * channels),
        helper.make_tensor("w2", TensorProto.FLOAT, [4, 4, 3, 3], [0.0] * 144),
    ]
    same = {"auto_pad": "SAME_UPPER", "strides": [2, 2], "kernel_shape": [3, 3]}
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], **same),
        helper.make_node("Conv", ["c1", "w2"], ["y"], **same),
    ]
    return helper.make_model(
        helper.make_graph(nodes, "same", [x], [y], weights)
    ).SerializeToString()


def cli_compare(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    capsys.readouterr()
    code = main(["compare", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def upload(client: httpx.Client, name: str, data: bytes) -> str:
    stored = client.post("/api/upload", files={"file": (name, data)})
    assert stored.status_code == 200, stored.text
    return str(stored.json()["id"])


def test_a_spec_against_an_uploaded_onnx_is_the_cli_json(
    client: httpx.Client, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = same_upper_onnx()
    body = {"a": {"spec": json.dumps(PORT)}, "b": {"onnx": upload(client, "same.onnx", data)}}
    response = client.post("/api/compare", json=body)
    assert response.status_code == 200, response.text
    (tmp_path / "port.json").write_text(json.dumps(PORT))
    (tmp_path / "same.onnx").write_bytes(data)
    code, expected = cli_compare(capsys, str(tmp_path / "port.json"), str(tmp_path / "same.onnx"))
    got = response.json()
    for key in ("a", "b"):  # the models' names: paths on the command line
        got.pop(key), expected.pop(key)
    assert got["summary"].pop(0) == "A: port   B: same.onnx"  # the names again
    expected["summary"].pop(0)
    assert code == 1 and got == expected
    # SAME_UPPER at 32 and 16, k3 s2: (0, 1) both times; the port's (1, 1) starts each
    # window one of its input pixels earlier: 1 + 2
    assert got["first_divergence"]["cause"] == "padding"
    assert got["output"]["offset"] == [-3, -3]


def test_two_uploads_are_kept_apart(client: httpx.Client) -> None:
    same = upload(client, "same.onnx", same_upper_onnx())
    grey = upload(client, "grey.onnx", same_upper_onnx(channels=1))
    response = client.post("/api/compare", json={"a": {"onnx": same}, "b": {"onnx": same}})
    assert response.status_code == 200 and response.json()["agree"] is True
    response = client.post("/api/compare", json={"a": {"onnx": same}, "b": {"onnx": grey}})
    assert response.status_code == 400, response.text
    assert "B does not run at A's input" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"a": {"spec": json.dumps(PORT)}}, 422, "b"),
        (
            {
                "a": {"spec": json.dumps(PORT)},
                "b": {
                    "spec": json.dumps({"input": [1, 3, 32, 32], "layers": [{"type": "flatten"}]})
                },
            },
            400,
            "no spatial layer",
        ),
        (
            {"a": {"spec": json.dumps(PORT)}, "b": {"spec": json.dumps(PORT)}, "input": "32"},
            400,
            "--input",
        ),
    ],
    ids=["missing-b", "no-spatial-layer", "bad-input"],
)
def test_bad_requests_are_4xx(
    client: httpx.Client, body: dict[str, Any], status: int, words: str
) -> None:
    response = client.post("/api/compare", json=body)
    assert response.status_code == status, response.text
    assert words in response.text
