"""Uploaded Keras and TFLite files: checked on arrival by their frontend's reader, analysed
exactly as ``stridekit analyze FILE --format json`` analyses the same file, and refused
with a one-line 400 when they are damaged or of a format the explorer does not read."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.frontends.test_malformed_files import keras_config, keras_file
from tests.web.test_api import cli_json, tiny_onnx

TFLITE = Path(__file__).parents[1] / "data" / "tflite"

FILES: dict[str, Callable[[], bytes]] = {
    "tiny.onnx": tiny_onnx,
    "sample.keras": lambda: keras_file(keras_config()),
    "mobile_int8.tflite": (TFLITE / "mobile_int8.tflite").read_bytes,
    "mobile_block.tflite": (TFLITE / "mobile_block.tflite").read_bytes,
}
AT: list[tuple[str, str | None]] = [  # each file at its recorded size, some at another
    *((name, None) for name in FILES),
    ("tiny.onnx", "1x3x40x40"),
    ("sample.keras", "1x3x20x20"),
    ("mobile_int8.tflite", "1x3x15x15"),
]


def upload(client: httpx.Client, name: str, data: bytes) -> str:
    stored = client.post("/api/upload", files={"file": (name, data)})
    assert stored.status_code == 200, stored.text
    assert stored.json()["bytes"] == len(data)
    assert stored.json()["format"] == name.rpartition(".")[2]
    return str(stored.json()["id"])


@pytest.mark.parametrize(("name", "shape"), AT)
def test_an_uploaded_file_is_the_cli_json(
    client: httpx.Client,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
    shape: str | None,
) -> None:
    data = FILES[name]()
    upload_id = upload(client, name, data)
    body = {"model": {"file": upload_id}} | ({"input": shape} if shape else {})
    response = client.post("/api/analyze", json=body)
    assert response.status_code == 200, response.text
    path = tmp_path / name
    path.write_bytes(data)
    expected = cli_json(capsys, "analyze", str(path), *(["--input", shape] if shape else []))
    assert expected.pop("model") == str(path)
    got = response.json()
    assert got.pop("model") == name
    assert got == expected
    if shape:
        assert got["input_shape"] == [int(n) for n in shape.split("x")]


@pytest.mark.parametrize("name", ["sample.keras", "mobile_int8.tflite"])
def test_the_onnx_field_still_names_any_upload(
    client: httpx.Client, capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    data = FILES[name]()
    upload_id = upload(client, name, data)
    old = client.post("/api/doctor", json={"model": {"onnx": upload_id}})
    new = client.post("/api/doctor", json={"model": {"file": upload_id}})
    assert old.status_code == 200, old.text
    assert old.json() == new.json()
    path = tmp_path / name
    path.write_bytes(data)
    expected = cli_json(capsys, "doctor", str(path))
    assert {k: v for k, v in new.json().items() if k != "model"} == {
        k: v for k, v in expected.items() if k != "model"
    }


def _random(size: int) -> bytes:
    return random.Random(size).randbytes(size)


BAD: list[tuple[str, bytes, str]] = [
    # file name, content, a fragment of the one-line message
    ("junk.keras", _random(512), "not a Keras 3 .keras file"),
    ("empty.keras", b"", "not a Keras 3 .keras file"),
    ("truncated.keras", keras_file(keras_config())[:300], "not a Keras 3 .keras file"),
    ("no-config.keras", b"PK\x05\x06" + b"\0" * 18, "it has no config.json"),  # an empty zip
    ("junk.tflite", _random(512), "is not a TFLite model"),
    ("empty.tflite", b"", "is not a TFLite model"),
    ("truncated.tflite", (TFLITE / "mobile_int8.tflite").read_bytes()[:200], "TFLite model"),
    ("model.pt", b"\x80\x02}q\x00.", "reads .onnx, .keras, .tflite model files"),
    ("model", b"anything", "reads .onnx, .keras, .tflite model files"),
    ("model.h5", b"\x89HDF\r\n\x1a\n", "save it with model.save('model.keras')"),
]


@pytest.mark.parametrize(("name", "content", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_bad_uploads_are_one_line_400s(
    client: httpx.Client, name: str, content: bytes, fragment: str
) -> None:
    response = client.post("/api/upload", files={"file": (name, content)})
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["type"] == "ModelError", error
    assert fragment in error["error"] and "\n" not in error["error"], error
    assert error["error"].startswith(name), error


def test_a_keras_config_of_the_wrong_shape_is_a_400_when_analysed(client: httpx.Client) -> None:
    config = keras_config()
    config["config"]["layers"][2]["config"]["strides"] = "two"  # the conv's
    upload_id = upload(client, "wrong.keras", keras_file(config))  # a zip with JSON: kept
    response = client.post("/api/analyze", json={"model": {"file": upload_id}})
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["type"] == "ModelError" and error["error"].startswith("wrong.keras: "), error
    assert "\n" not in error["error"]


def test_a_file_and_an_onnx_id_together_are_refused(client: httpx.Client) -> None:
    upload_id = upload(client, "tiny.onnx", tiny_onnx())
    body = {"model": {"file": upload_id, "onnx": upload_id}}
    response = client.post("/api/analyze", json=body)
    assert response.status_code == 422, response.text
    assert "exactly one of name, spec or file" in response.text
