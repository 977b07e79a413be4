"""Bad input gets a 4xx and the message the library raises, never a 5xx: wrong types,
huge sizes, names outside the registries, malformed specs and files, bodies past the
bound, unknown stores, paths and methods."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.web.conftest import LIMITS
from tests.web.test_api import tiny_onnx

SPEC_ALIASES = """
conv: &conv {type: conv, channels: 8, kernel: 3}
layers: [*conv, *conv]
"""

CASES: list[tuple[str, dict[str, Any], int, str, str]] = [
    # path, body, status, error type, a fragment of the message
    # JSON numbers: what is not an integer (or a list of 1 to 3) is refused by the schema
    ("/api/shape", {"size": True, "kernel": 3}, 422, "ValidationError", "size: expected an"),
    ("/api/shape", {"size": 2.5, "kernel": 3}, 422, "ValidationError", "got 2.5"),
    ("/api/shape", {"size": 8, "kernel": [3, False]}, 422, "ValidationError", "kernel: expected"),
    ("/api/shape", {"size": [8, 8, 8, 8], "kernel": 3}, 422, "ValidationError", "1 to 3 integers"),
    ("/api/shape", {"size": [], "kernel": 3}, 422, "ValidationError", "got []"),
    ("/api/shape", {"size": [[8]], "kernel": 3}, 422, "ValidationError", "size: expected"),
    ("/api/shape", {"size": 8, "kernel": {"k": 3}}, 422, "ValidationError", "kernel: expected"),
    (
        "/api/shape",
        {"size": 8, "kernel": 3, "padding": [[1, 2, 3]]},
        422,
        "ValidationError",
        "[lo, hi]",
    ),
    ("/api/shape", {"size": 8, "kernel": 3, "padding": [1.5]}, 422, "ValidationError", "padding"),
    (
        "/api/shape",
        {"size": "8" * 65, "kernel": 3},
        422,
        "ValidationError",
        "at most 64 characters",
    ),
    # ... and integers out of range get the CLI's message, as the same text would
    ("/api/shape", {"size": [224, -1], "kernel": 3}, 400, "SizeError", "must be >= 1, got -1"),
    ("/api/shape", {"size": 10**30, "kernel": 3}, 400, "SizeError", "2^20"),
    ("/api/shape", {"size": 8, "kernel": 0}, 400, "SizeError", "--kernel must be >= 1, got 0"),
    ("/api/shape", {"size": 8, "kernel": 3, "stride": -2}, 400, "SizeError", "got -2"),
    ("/api/shape", {"size": [8, 8], "kernel": [3, 3, 3]}, 400, "UsageError", "3 values"),
    ("/api/window", {"size": [8, 65], "kernel": 3}, 400, "SizeError", "64"),
    ("/api/shape", {"size": "5"}, 422, "ValidationError", "kernel: Field required"),
    ("/api/shape", {"size": "5", "kernel": "3", "bogus": 1}, 422, "ValidationError", "bogus"),
    ("/api/shape", {"size": "0", "kernel": "3"}, 400, "SizeError", "must be >= 1"),
    ("/api/shape", {"size": "abc", "kernel": "3"}, 400, "UsageError", "expected integers"),
    ("/api/shape", {"size": "99999999999999999999", "kernel": "3"}, 400, "SizeError", "2^20"),
    ("/api/shape", {"size": "100000", "kernel": "3"}, 400, "SizeError", "65,536"),
    (
        "/api/shape",
        {"size": "5", "kernel": "7"},
        400,
        "OutputSizeError",
        "floor((5 + 0 + 0 - 7)/1) + 1",
    ),
    (
        "/api/shape",
        {"size": "224", "kernel": "3", "stride": "2", "padding": "same"},
        400,
        "ConventionError",
        "PyTorch only supports 'same' for stride 1",
    ),
    (
        "/api/shape",
        {"size": "8", "kernel": "2", "padding": "2", "op": "avg_pool"},
        400,
        "InvalidWindowError",
        "at most half the kernel",
    ),
    ("/api/shape", {"size": "8", "kernel": "3", "op": "deconv"}, 422, "ValidationError", "op"),
    ("/api/shape", {"size": "8x8x8x8", "kernel": "3"}, 400, "SizeError", "1 to 3 axes"),
    ("/api/shape", {"size": "8x8", "kernel": "3x3x3"}, 400, "UsageError", "3 values"),
    ("/api/window", {"size": "65", "kernel": "3"}, 400, "SizeError", "64"),
    (
        "/api/window",
        {"size": "8", "kernel": "3", "stride": "900", "op": "conv_transpose"},
        400,
        "SizeError",
        "the picture draws at most",
    ),
    ("/api/solve", {"size": 0, "output": 1}, 422, "ValidationError", "size"),
    (
        "/api/solve",
        {"size": 224, "output": 112, "max_kernel": 1000},
        400,
        "SizeError",
        "max_kernel",
    ),
    ("/api/solve", {"size": "big", "output": 112}, 422, "ValidationError", "size"),
    ("/api/solve", {"size": True, "output": 112}, 422, "ValidationError", "size: expected an"),
    ("/api/solve", {"size": 224, "output": 112.5}, 422, "ValidationError", "got 112.5"),
    ("/api/solve", {"size": [224], "output": 112}, 422, "ValidationError", "got [224]"),
    ("/api/solve", {"size": "224", "output": "-112"}, 422, "ValidationError", "output"),
    ("/api/solve", {"size": "0", "output": "112"}, 422, "ValidationError", "greater than or"),
    ("/api/analyze", {"model": {}}, 422, "ValidationError", "exactly one"),
    (
        "/api/analyze",
        {"model": {"name": "resnet18", "spec": "x"}},
        422,
        "ValidationError",
        "exactly one",
    ),
    ("/api/analyze", {"model": {"name": "models.py:build"}}, 400, "ModelError", "registries only"),
    (
        "/api/analyze",
        {"model": {"name": "stridekit/examples/specs/resnet_stem.yaml"}},
        400,
        "ModelError",
        "registries only",
    ),
    ("/api/analyze", {"model": {"name": "stem.yaml"}}, 400, "ModelError", "registries only"),
    ("/api/analyze", {"model": {"name": "net.keras"}}, 400, "ModelError", "registries only"),
    ("/api/analyze", {"model": {"name": "net.tflite"}}, 400, "ModelError", "registries only"),
    ("/api/analyze", {"model": {"name": "net.h5"}}, 400, "ModelError", "registries only"),
    (
        "/api/analyze",
        {"model": {"name": "timm:hf-hub:org/model"}},
        400,
        "ModelError",
        "registries only",
    ),
    (
        "/api/analyze",
        {"model": {"name": "torchvision:resnet51"}},
        400,
        "ModelError",
        "did you mean resnet50",
    ),
    (
        "/api/analyze",
        {"model": {"name": "torchvision:resnet18"}, "input": "1x3x5000x5000"},
        400,
        "SizeError",
        "max-model-size",
    ),
    (
        "/api/analyze",
        {"model": {"name": "torchvision:resnet18"}, "input": "3x224"},
        400,
        "UsageError",
        "N x C x spatial",
    ),
    (
        "/api/analyze",
        {"model": {"name": "torchvision:resnet18"}, "depth": -1},
        422,
        "ValidationError",
        "depth",
    ),
    ("/api/analyze", {"model": {"spec": "layers: [unclosed"}}, 400, "SpecError", "not valid YAML"),
    ("/api/analyze", {"model": {"spec": SPEC_ALIASES}}, 400, "SpecError", "aliases"),
    ("/api/analyze", {"model": {"spec": "42"}}, 400, "SpecError", "a spec is a mapping"),
    (
        "/api/analyze",
        {"model": {"spec": "layers: [{type: bogus}]\ninput: [1, 3, 8, 8]"}},
        400,
        "ModelError",
        "bogus",
    ),
    (
        "/api/analyze",
        {"model": {"spec": "layers: []\n" + "#" * (LIMITS.max_spec_bytes + 1)}},
        400,
        "SizeError",
        "bytes, more than",
    ),
    (
        "/api/analyze",
        {"model": {"spec": "[" * 3000 + "]" * 3000}},
        400,
        "SpecError",
        "nested too deeply",
    ),
    ("/api/analyze", {"model": {"onnx": "0" * 64}}, 400, "ModelError", "upload the file"),
    ("/api/analyze", {"model": {"onnx": "../etc/passwd"}}, 422, "ValidationError", "onnx"),
    (
        "/api/doctor",
        {"model": {"name": "resnet18"}, "select": ["no-such-rule"]},
        400,
        "ChoiceError",
        "unknown rule",
    ),
    (
        "/api/doctor",
        {"model": {"name": "resnet18"}, "objects": "256:8"},
        400,
        "UsageError",
        "8:256",
    ),
    (
        "/api/doctor",
        {"model": {"name": "resnet18"}, "objects": "8:64"},
        400,
        "ModelError",
        "no spatial output",
    ),
    ("/api/plan", {"template": "plain8", "objects": "abc"}, 400, "UsageError", "--objects"),
    (
        "/api/plan",
        {"template": "plain8", "task": "classification", "objects": "8:64"},
        400,
        "UsageError",
        "use --task detection",
    ),
    (
        "/api/sizes",
        {"model": {"name": "resnet18"}, "range": "9:1"},
        400,
        "UsageError",
        "START <= STOP",
    ),
    (
        "/api/sizes",
        {"model": {"name": "resnet18"}, "range": "1:100000"},
        400,
        "SizeError",
        "spans more than",
    ),
    (
        "/api/plan",
        {"template": "../../etc/passwd", "task": "classification"},
        422,
        "ValidationError",
        "template",
    ),
    ("/api/plan", {"template": "plain999", "task": "classification"}, 400, "SizeError", "layers"),
    ("/api/plan", {"template": "plain8"}, 400, "UsageError", "give a task"),
    ("/api/plan", {"template": "plain8", "task": "poetry"}, 422, "ValidationError", "task"),
    (
        "/api/plan",
        {"template": "plain8", "task": "classification", "max_volume_drop": "x"},
        400,
        "UsageError",
        "max-volume-drop",
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "status", "kind", "fragment"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_bad_json_gets_a_4xx_with_the_message(
    client: httpx.Client, path: str, body: dict[str, Any], status: int, kind: str, fragment: str
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["type"] == kind, response.text
    assert fragment in response.json()["error"]


@pytest.mark.parametrize(
    ("content", "kind", "fragment"),
    [
        (b"not a model", "ModelError", "is not an ONNX model"),
        (b"", "ModelError", "is not an ONNX model"),
        (tiny_onnx(external=True), "ModelError", "external file"),
    ],
    ids=["junk", "empty", "external-data"],
)
def test_bad_uploads_are_refused(
    client: httpx.Client, content: bytes, kind: str, fragment: str
) -> None:
    response = client.post("/api/upload", files={"file": ("model.onnx", content)})
    assert response.status_code == 400, response.text
    assert response.json()["type"] == kind and fragment in response.json()["error"]


def test_an_upload_past_the_bound_is_refused_before_it_is_read(client: httpx.Client) -> None:
    big = b"\0" * (LIMITS.max_upload_bytes + 100_000)
    response = client.post("/api/upload", files={"file": ("big.onnx", big)})
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]


def test_a_streamed_body_past_the_bound_is_refused(client: httpx.Client) -> None:
    def chunks() -> Any:  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b" " * 8192

    response = client.post(
        "/api/shape", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "kind"),
    [
        ("GET", "/api/results", {"store": "../runs.db"}, 400, "StoreError"),
        ("GET", "/api/results", {"store": "other.db"}, 400, "StoreError"),
        ("GET", "/api/plots", {}, 422, "ValidationError"),
        ("GET", "/api/models", {"limit": "0"}, 422, "ValidationError"),
        ("GET", "/api/nothing", {}, 404, "HTTPError"),
        ("GET", "/api/shape", {}, 405, "HTTPError"),
        ("GET", "/static/../app.py", {}, 404, "HTTPError"),
    ],
    ids=str,
)
def test_bad_queries_and_paths(
    client: httpx.Client, method: str, path: str, params: dict[str, str], status: int, kind: str
) -> None:
    response = client.request(method, path, params=params)
    assert response.status_code == status, response.text
    assert response.json()["type"] == kind


def test_malformed_json_and_foreign_hosts(client: httpx.Client) -> None:
    response = client.post(
        "/api/shape", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["type"] == "ValidationError"
    # a page elsewhere that rebinds its DNS name to 127.0.0.1 cannot use the server
    assert client.get("/api/health", headers={"Host": "evil.example"}).status_code == 400


def test_the_server_is_healthy_after_a_burst_of_bad_requests(client: httpx.Client) -> None:
    for path, body, status, *_ in CASES[:15] * 4:
        assert client.post(path, json=body).status_code == status
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["alive"] == health["workers"]


@pytest.mark.parametrize("path", ["/api/shape", "/api/window", "/api/solve"])
def test_a_layer_body_must_be_json(client: httpx.Client, path: str) -> None:
    # a page elsewhere may POST text/plain without asking first: it is not JSON here
    body = b'{"size": 224, "kernel": 3, "output": 112}'
    response = client.post(path, content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 422, response.text
    assert "Content-Type: application/json" in response.json()["error"]
    response = client.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and "Invalid JSON" in response.json()["error"]
