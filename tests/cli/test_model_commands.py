"""analyze, doctor, sizes MODEL and adapt on the command line (golden files, exit codes)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from PIL import Image

from stridekit.analysis import LayerRecord
from stridekit.cli import main
from stridekit.geometry import Window, valid_input_sizes
from tests.conftest import Golden

GOLDEN_COMMANDS = {
    "analyze_resnet_stem": "analyze stridekit/examples/specs/resnet_stem.yaml",
    "analyze_resnet18_depth1": "analyze torchvision:resnet18 --input 1x3x64x64 --depth 1",
    "doctor_deeplab_encoder": "doctor stridekit/examples/specs/deeplab_encoder.yaml",
    "sizes_vgg11": "sizes torchvision:vgg11 --range 200:300",
}
FORMATS = {"table": "txt", "json": "json", "markdown": "md"}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("name", sorted(GOLDEN_COMMANDS))
def test_golden(name: str, fmt: str, golden: Golden, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([*GOLDEN_COMMANDS[name].split(), "--format", fmt], capsys)
    assert err == ""
    assert code == (1 if name.startswith("doctor") else 0)  # the encoder has rf-holes
    golden.check(f"cli/{name}.{FORMATS[fmt]}", out)


def test_analyze_json_schema_and_invariants(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["analyze", "torchvision:resnet18", "--input", "1x3x64x64", "--format", "json"], capsys
    )
    data = json.loads(out)
    assert code == 0 and data["input_shape"] == [1, 3, 64, 64]
    keys = {f.name for f in dataclasses.fields(LayerRecord)}  # every field of a record
    assert all(set(layer) == keys for layer in data["layers"])
    totals = data["totals"]
    # invariants: per-layer sums equal the totals; resnet18 has 11,689,512 parameters
    assert totals["params"] == sum(layer["params"] for layer in data["layers"]) == 11_689_512
    assert totals["macs"] == sum(layer["macs"] for layer in data["layers"])
    assert totals["output_stride"] == [32, 32]
    fc = next(layer for layer in data["layers"] if layer["name"] == "fc")
    assert fc["rf"] is None  # a global field is null


def test_analyze_file_factory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "net.py"
    source.write_text(
        "import torch\n"
        "def build():\n"
        "    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, stride=2), torch.nn.ReLU())\n"
    )
    code, out, _ = run(
        ["analyze", f"{source}:build", "--input", "1x1x32x32", "--format", "json"], capsys
    )
    layers = json.loads(out)["layers"]
    assert code == 0 and layers[-1]["output_shape"] == [1, 4, 15, 15]  # floor((32 − 3)/2) + 1


def test_doctor_select_ignore_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "stridekit/examples/specs/deeplab_encoder.yaml"
    code, out, _ = run(["doctor", spec, "--select", "rf-holes", "--format", "json"], capsys)
    assert code == 1 and {f["code"] for f in json.loads(out)["findings"]} == {"rf-holes"}
    code, out, _ = run(["doctor", spec, "--ignore", "rf-holes", "--format", "json"], capsys)
    assert code == 0 and "rf-holes" not in {f["code"] for f in json.loads(out)["findings"]}
    code, _, err = run(["doctor", spec, "--select", "nonsense"], capsys)
    assert code == 2 and "unknown rule" in err


def test_adapt_images_and_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["adapt", "torchvision:vgg11", "--images", "224x224,230x250", "--format", "json"], capsys
    )
    data = json.loads(out)
    assert code == 0 and data["valid_sizes"] == ["32k", "32k"]
    assert [i["action"] for i in data["images"]] == ["none", "crop"]  # 230x250 → 224x224
    assert data["images"][1]["target"] == [224, 224]
    for width, height in ((250, 230), (224, 224)):
        Image.new("RGB", (width, height)).save(tmp_path / f"{width}x{height}.png")
    code, out, _ = run(
        ["adapt", "torchvision:vgg11", "--folder", str(tmp_path), "--format", "json"], capsys
    )
    assert sorted(i["action"] for i in json.loads(out)["images"]) == ["crop", "none"]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ("analyze torchvision:resnet51", "did you mean"),
        ("analyze model.pt", "never unpickles"),
        ("analyze torchvision:resnet18 --input 3x224", "N x C x spatial"),
        ("analyze torchvision:resnet18 --ops some", "unknown ops filter"),
        ("adapt torchvision:resnet18", "--images"),
        ("sizes torchvision:resnet18 --layer k=3", "not both"),
    ],
)
def test_model_command_errors(argv: str, fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv.split(), capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and fragment in err


def test_sizes_of_a_model_without_input_uses_its_declared_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "gray.yaml"  # one channel, not 224: a default input would not fit
    spec.write_text(
        "input: [1, 1, 40, 48]\nlayers:\n  - {type: conv, channels: 4, kernel: 3, stride: 2}\n"
    )
    code, out, err = run(["sizes", str(spec), "--format", "json"], capsys)
    assert (code, err) == (0, "")
    chain = valid_input_sizes([Window(3, 2)], rule="no-drop")  # the algebra of the one conv
    assert [axis["closed_form"] for axis in json.loads(out)["axes"]] == [chain.closed_form()] * 2
