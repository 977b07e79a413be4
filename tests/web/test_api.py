"""Every endpoint against an oracle: the CLI's ``--format json`` for the results it
prints, torch's gradients for the window picture, and a 4xx with the library's message
for every kind of bad input (never a 5xx)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper

from stridekit.analysis import analyze
from stridekit.cli import main
from stridekit.geometry import make_window

ROOT = Path(__file__).parents[2]
SPEC = ROOT / "stridekit" / "examples" / "specs" / "resnet_stem.yaml"


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    """What ``stridekit ARGS --format json`` prints."""
    capsys.readouterr()
    code = main([*args, "--format", "json"])
    out = capsys.readouterr().out
    assert code in (0, 1), out
    return json.loads(out)


def shape_args(body: dict[str, Any]) -> list[str]:
    args = []
    for key, value in body.items():
        if key == "ceil_mode":
            args += ["--ceil-mode"] if value else []
        else:
            args += [f"--{key.replace('_', '-')}", str(value)]
    return args


SHAPES = [
    {"size": "224", "kernel": "7", "stride": "2", "padding": "3"},
    {"size": "224x320", "kernel": "3x5", "stride": "2", "padding": "1x2:3"},
    {"size": "513", "kernel": "3", "stride": "16", "padding": "same", "convention": "tf"},
    {"size": "6", "kernel": "3", "stride": "2", "padding": "same", "convention": "onnx-lower"},
    {"size": "112", "kernel": "3", "stride": "2", "padding": "1", "op": "max_pool"},
    {"size": "6", "kernel": "3", "op": "avg_pool", "ceil_mode": True},
    {"size": "56", "kernel": "4", "stride": "2", "padding": "1", "op": "conv_transpose"},
    {"size": "7", "kernel": "3", "stride": "2", "op": "conv_transpose", "output_padding": "1"},
    {"size": "32", "kernel": "3", "dilation": "4", "padding": "causal"},
]


@pytest.mark.parametrize("body", SHAPES, ids=lambda b: " ".join(shape_args(b)))
def test_shape_is_the_cli_json(
    client: httpx.Client, capsys: pytest.CaptureFixture[str], body: dict[str, Any]
) -> None:
    response = client.post("/api/shape", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == cli_json(capsys, "shape", *shape_args(body))


# the same requests as a programmer writes them: JSON numbers, one per axis in a list,
# [lo, hi] for an axis's padding; each is checked against the CLI's text form above
NUMBERS = [
    ({"size": 224, "kernel": 7, "stride": 2, "padding": 3}, SHAPES[0]),
    ({"size": [224, 320], "kernel": [3, 5], "stride": 2, "padding": [1, [2, 3]]}, SHAPES[1]),
    ({"size": [513], "kernel": 3, "stride": [16], "padding": "same", "convention": "tf"},
     SHAPES[2]),
    ({"size": 112, "kernel": 3, "stride": 2, "padding": 1, "op": "max_pool"}, SHAPES[4]),
    ({"size": 56, "kernel": 4, "stride": 2, "padding": [1], "op": "conv_transpose"}, SHAPES[6]),
    ({"size": 7, "kernel": 3, "stride": 2, "op": "conv_transpose", "output_padding": 1}, SHAPES[7]),
    ({"size": 32, "kernel": 3, "dilation": [4], "padding": "causal"}, SHAPES[8]),
    ({"size": [20, 21], "kernel": 3, "stride": [2, 3], "padding": [[0, 1], 2]},
     {"size": "20x21", "kernel": "3", "stride": "2x3", "padding": "0:1x2"}),
]  # fmt: skip


@pytest.mark.parametrize(("body", "text"), NUMBERS, ids=lambda b: json.dumps(b, separators=",:"))
def test_shape_takes_numbers_and_lists(
    client: httpx.Client,
    capsys: pytest.CaptureFixture[str],
    body: dict[str, Any],
    text: dict[str, Any],
) -> None:
    response = client.post("/api/shape", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == cli_json(capsys, "shape", *shape_args(text))


def test_shape_answers_again_the_same_and_each_request_its_own(client: httpx.Client) -> None:
    # answers are kept (stridekit.web.answers): a kept one must be the answer to its own
    # request, never to another that shares fields or to another route's
    first = client.post("/api/shape", json={"size": 224, "kernel": 3, "stride": 2}).json()
    other = client.post("/api/shape", json={"size": 224, "kernel": 3, "stride": 3}).json()
    again = client.post("/api/shape", json={"size": "224", "kernel": "3", "stride": "2"}).json()
    window = client.post("/api/window", json={"size": 24, "kernel": 3, "stride": 2}).json()
    assert first["output_size"] == again["output_size"] == [111]  # floor((224 - 3)/2) + 1
    assert other["output_size"] == [74]  # floor((224 - 3)/3) + 1
    assert first == again
    assert window["axes"][0]["output_size"] == 11  # floor((24 - 3)/2) + 1
    assert "taps" not in first["axes"][0] and "taps" in window["axes"][0]


@pytest.mark.parametrize(
    "body",
    [
        {"size": 224, "output": 112},
        {"size": "224", "output": "112"},
        {"size": "56", "output": 112, "max_kernel": "4"},
        {"size": 224, "output": 112, "max_kernel": 5, "max_dilation": 2, "limit": 0},
        {"size": 56, "output": 112, "max_kernel": 4},
        {"size": 7, "output": 100, "max_stride": 2},
    ],
    ids=str,
)
def test_solve_is_the_cli_json(
    client: httpx.Client, capsys: pytest.CaptureFixture[str], body: dict[str, Any]
) -> None:
    response = client.post("/api/solve", json=body)
    assert response.status_code == 200, response.text
    args = [
        arg for key, value in body.items() for arg in (f"--{key.replace('_', '-')}", str(value))
    ]
    assert response.json() == cli_json(capsys, "solve", *args)


MODEL = {"model": {"name": "torchvision:resnet18"}, "input": "1x3x64x64"}
MODEL_ARGS = ["torchvision:resnet18", "--input", "1x3x64x64"]


@pytest.mark.parametrize(
    ("path", "extra", "command"),
    [
        ("/api/analyze", {}, ["analyze"]),
        ("/api/analyze", {"depth": 1, "ops": "all"}, ["analyze", "--depth", "1", "--ops", "all"]),
        ("/api/doctor", {}, ["doctor"]),
        ("/api/doctor", {"select": ["gaps"]}, ["doctor", "--select", "gaps"]),
        ("/api/sizes", {"range": "1:300"}, ["sizes", "--range", "1:300"]),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_registry_model_is_the_cli_json(
    client: httpx.Client,
    capsys: pytest.CaptureFixture[str],
    path: str,
    extra: dict[str, Any],
    command: list[str],
) -> None:
    response = client.post(path, json=MODEL | extra)
    assert response.status_code == 200, response.text
    assert response.json() == cli_json(capsys, command[0], *MODEL_ARGS, *command[1:])


def test_network_is_the_library_diagram(client: httpx.Client) -> None:
    from stridekit.viz import network_story

    response = client.post("/api/network", json=MODEL)
    assert response.status_code == 200, response.text
    body = response.json()
    story = network_story(analyze("torchvision:resnet18", (1, 3, 64, 64)))
    assert body.pop("summary") == story.summary()
    assert body.pop("svg") == story.inline_svg()  # the pictures are deterministic
    assert body == json.loads(json.dumps(story.to_dict()))


@pytest.mark.parametrize("command", ["analyze", "doctor", "sizes"])
def test_pasted_spec_is_the_cli_json_of_the_file(
    client: httpx.Client, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    response = client.post(f"/api/{command}", json={"model": {"spec": SPEC.read_text()}})
    assert response.status_code == 200, response.text
    expected = cli_json(capsys, command, str(SPEC))
    # the CLI names a spec by the reference it was given (the path), the page by its name
    assert expected.pop("model") == str(SPEC)
    assert response.json().pop("model") == "resnet_stem"
    assert {k: v for k, v in response.json().items() if k != "model"} == expected


def test_doctor_for_objects_is_the_cli_json(
    client: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    fpn = SPEC.parent / "fpn_small.yaml"  # one map at stride 4
    body = {"model": {"spec": fpn.read_text()}, "objects": "4:16"}
    response = client.post("/api/doctor", json=body)
    assert response.status_code == 200, response.text
    expected = cli_json(capsys, "doctor", str(fpn), "--objects", "4:16")
    assert {k: v for k, v in response.json().items() if k != "model"} == {
        k: v for k, v in expected.items() if k != "model"
    }
    # 4/4 = 1 cell, 8/4 = 2, 16/4 = 4
    assert [row["cells"] for row in expected["objects"]["rows"]] == [1, 2, 4]


def test_plan_is_the_cli_json(client: httpx.Client, capsys: pytest.CaptureFixture[str]) -> None:
    body = {"template": "plain8", "input": 64, "task": "classification", "top": 3}
    response = client.post("/api/plan", json=body)
    assert response.status_code == 200, response.text
    args = ["--template", "plain8", "--input", "64", "--task", "classification", "--top", "3"]
    assert response.json() == cli_json(capsys, "plan", *args)


def test_plan_options_reach_the_planner(
    client: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {
        "template": "plain6",
        "input": 96,
        "output_stride": 8,
        "paddings": ["same", "valid"],
        "dilations": "1x2",
        "max_volume_drop": "4",
        "max_macs": 10**9,
    }
    response = client.post("/api/plan", json=body)
    assert response.status_code == 200, response.text
    args = ["--template", "plain6", "--input", "96", "--output-stride", "8"]
    args += ["--paddings", "same,valid", "--dilations", "1x2", "--max-volume-drop", "4"]
    args += ["--max-macs", "1e9"]
    assert response.json() == cli_json(capsys, "plan", *args)


# --- the window picture against torch's gradients ---------------------------------------


def torch_taps_and_coverage(
    op: str, n: int, kernel: int, stride: int, padding: int, dilation: int, output_padding: int
) -> tuple[list[list[int]], list[int]]:
    """Which inputs each output depends on (rows of the Jacobian of a ones-kernel conv;
    padding coordinates counted from the padded start, shifted back) and how many outputs
    each real input reaches (the gradient of the output's sum)."""
    weight = torch.ones(1, 1, kernel, dtype=torch.float64)
    if op == "conv":
        padded = torch.ones(1, 1, n + 2 * padding, dtype=torch.float64, requires_grad=True)
        out = F.conv1d(padded, weight, stride=stride, dilation=dilation)
        real = slice(padding, padding + n)
    else:
        padded = torch.ones(1, 1, n, dtype=torch.float64, requires_grad=True)
        out = F.conv_transpose1d(
            padded,
            weight,
            stride=stride,
            padding=padding,
            dilation=dilation,
            output_padding=output_padding,
        )
        real = slice(0, n)
    taps = []
    for i in range(out.shape[-1]):
        (grad,) = torch.autograd.grad(out[0, 0, i], padded, retain_graph=True)
        shift = padding if op == "conv" else 0
        taps.append([int(j) - shift for j in torch.nonzero(grad[0, 0]).flatten()])
    (grad,) = torch.autograd.grad(out.sum(), padded)
    return taps, [int(v) for v in grad[0, 0, real]]


PICTURES = [
    ("conv", 7, 3, 2, 1, 1, 0),
    ("conv", 9, 3, 3, 0, 2, 0),
    ("conv", 8, 1, 2, 1, 1, 0),
    ("conv_transpose", 5, 3, 2, 0, 1, 0),
    ("conv_transpose", 6, 4, 2, 1, 1, 1),
    ("conv_transpose", 4, 3, 3, 1, 2, 2),
]


@pytest.mark.parametrize("form", [str, int, lambda value: [value]], ids=["text", "int", "list"])
@pytest.mark.parametrize("case", PICTURES, ids=str)
def test_window_picture_matches_torch(
    client: httpx.Client, case: tuple[Any, ...], form: Callable[[int], Any]
) -> None:
    op, n, kernel, stride, padding, dilation, output_padding = case
    body = {
        "op": op,
        "size": form(n),
        "kernel": form(kernel),
        "stride": form(stride),
        "padding": form(padding),
        "dilation": form(dilation),
    }
    if op == "conv_transpose":
        body["output_padding"] = form(output_padding)
    response = client.post("/api/window", json=body)
    assert response.status_code == 200, response.text
    axis = response.json()["axes"][0]
    taps, coverage = torch_taps_and_coverage(*case)
    assert axis["output_size"] == len(taps)
    assert axis["taps"] == taps
    assert axis["coverage"] == coverage
    assert axis["unread_real"] == [j for j, c in enumerate(coverage) if c == 0]


def test_layer_findings_are_the_doctor_on_a_one_layer_spec(
    client: httpx.Client, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    body = {"size": "224", "kernel": "3", "stride": "2"}
    response = client.post("/api/shape/doctor", json=body)
    assert response.status_code == 200, response.text
    window = make_window("conv", 224, 3, 2)
    spec = tmp_path / "layer.json"
    layer = {
        "type": "conv",
        "name": "layer",
        "channels": 1,
        "kernel": [3],
        "stride": [2],
        "padding": [[window.pad_lo, window.pad_hi]],
        "dilation": [1],
    }
    spec.write_text(json.dumps({"name": "layer", "input": [1, 1, 224], "layers": [layer]}))
    expected = cli_json(capsys, "doctor", str(spec))
    expected["model"] = "layer"
    assert response.json() == expected
    codes = [f["code"] for f in response.json()["findings"]]
    assert "dropped-pixels" in codes  # floor((224 - 3)/2) + 1 = 111 windows: pixel 223 unread


# --- uploads ----------------------------------------------------------------------------


def tiny_onnx(external: bool = False) -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = helper.make_tensor("w", TensorProto.FLOAT, [8, 3, 3, 3], [0.0] * 216)
    if external:
        w.ClearField("float_data")
        w.data_location = TensorProto.EXTERNAL
        entry = w.external_data.add()
        entry.key, entry.value = "location", "../../../etc/passwd"
    conv = helper.make_node(
        "Conv", ["x", "w"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1], kernel_shape=[3, 3]
    )
    graph = helper.make_graph([conv], "tiny", [x], [y], [w])
    return helper.make_model(graph).SerializeToString()


def test_uploaded_onnx_is_the_cli_json(
    client: httpx.Client, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tiny_onnx()
    stored = client.post("/api/upload", files={"file": ("tiny.onnx", data)})
    assert stored.status_code == 200, stored.text
    assert stored.json()["bytes"] == len(data)
    response = client.post("/api/analyze", json={"model": {"onnx": stored.json()["id"]}})
    assert response.status_code == 200, response.text
    path = tmp_path / "tiny.onnx"
    path.write_bytes(data)
    expected = cli_json(capsys, "analyze", str(path))
    assert expected.pop("model") == str(path)
    got = response.json()
    assert got.pop("model") == "tiny.onnx"
    assert got == expected
    assert got["layers"][-1]["output_shape"] == [1, 8, 16, 16]  # floor((32 + 2 - 3)/2) + 1


# --- the experiments tab ----------------------------------------------------------------


def test_stores_results_and_plots(
    client: httpx.Client, capsys: pytest.CaptureFixture[str], stores_folder: Path
) -> None:
    assert client.get("/api/stores").json()["stores"] == ["runs.db"]
    response = client.get("/api/results", params={"store": "runs.db"})
    assert response.status_code == 200, response.text
    assert response.json() == cli_json(capsys, "results", str(stores_folder / "runs.db"))
    plots = client.get("/api/plots", params={"store": "runs.db"}).json()["plots"]
    assert "accuracy vs FLOPs" in [p["title"] for p in plots]
    assert all(p["svg"].lstrip().startswith("<svg") for p in plots)


# --- the server: cache, health, models --------------------------------------------------


def test_a_repeated_analysis_comes_from_the_cache(client: httpx.Client) -> None:
    body = {
        "model": {"spec": "layers: [{type: conv, channels: 4, kernel: 3, stride: 2}]"},
        "input": "1x3x17x17",
    }
    first = client.post("/api/analyze", json=body)
    hits = client.get("/api/health").json()["cache_hits"]
    second = client.post("/api/analyze", json=body)
    assert second.content == first.content
    assert client.get("/api/health").json()["cache_hits"] == hits + 1


def test_models_lists_the_registries(client: httpx.Client) -> None:
    data = client.get("/api/models", params={"match": "resnet5", "limit": 5000}).json()
    assert "torchvision:resnet50" in data["models"]
    assert all("resnet5" in name.lower() for name in data["models"])


def test_page_and_static_files_are_served_with_a_strict_policy(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "stridekit explorer" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "layer.js", "model.js", "experiments.js", "api.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200, name
    assert "http" not in " ".join(
        line for line in page.text.splitlines() if "src=" in line or "href=" in line
    )
    assert client.get("/openapi.json").json()["info"]["title"] == "stridekit explorer"


def test_plan_for_objects_is_the_cli_json(
    client: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"template": "plain8", "input": 128, "objects": "8:32", "top": 2}
    response = client.post("/api/plan", json=body)
    assert response.status_code == 200, response.text
    args = ["--template", "plain8", "--input", "128", "--objects", "8:32", "--top", "2"]
    assert response.json() == cli_json(capsys, "plan", *args)
    levels = response.json()["plans"][0]["objects"]["levels"]
    assert [lv["stride"] for lv in levels] == [4, 8, 16]  # 8/2, 16/2, 32/2
