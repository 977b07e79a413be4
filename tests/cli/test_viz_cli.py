"""``stridekit viz``: golden summaries and JSON (what was drawn), the file written is the
library's picture, and bad input gets one line, exit status 2 and no file at all."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from stridekit.analysis import analyze
from stridekit.cli import main
from stridekit.viz import animate_conv, draw_coverage
from stridekit.viz.files import write_atomic
from tests.conftest import Golden

ROOT = Path(__file__).parent.parent.parent
SPEC = ROOT / "stridekit" / "examples" / "specs" / "resnet_stem.yaml"

COMMANDS = {
    "viz_conv_1d": "viz conv --size 7 --kernel 3 --stride 2 --padding 1 -o conv.svg",
    "viz_conv_transposed": "viz conv --size 3 --kernel 3 --stride 2 --op conv_transpose "
    "-o conv.html",
    "viz_coverage_gaps": "viz coverage --size 6x5 --kernel 1 --stride 2 -o coverage.svg",
    "viz_network_spec": "viz network resnet_stem.yaml -o network.svg",
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(SPEC, tmp_path / SPEC.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(command: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(command.split())
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_golden_output(
    name: str, fmt: str, golden: Golden, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(f"{COMMANDS[name]} --format {fmt}", capsys)
    assert (code, err) == (0, "")
    golden.check(f"cli/{name}.{'json' if fmt == 'json' else 'txt'}", out)


def test_the_file_is_the_librarys_picture(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run("viz conv --size 5x5 --kernel 3 --stride 2 --padding 1 -o a.gif", capsys)
    assert (workdir / "a.gif").read_bytes() == animate_conv((5, 5), 3, 2, 1).render("gif")
    run("viz coverage --size 9 --kernel 3 --stride 2", capsys)  # default name
    assert (workdir / "coverage.png").read_bytes() == draw_coverage(9, 3, 2).render("png")


def test_json_of_a_field_is_the_box_of_the_analysis(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        "viz field resnet_stem.yaml --layer layer2.0.conv1 --at 3,5 --no-effective "
        "--format json -o field.svg",
        capsys,
    )
    assert (code, err) == (0, "")
    data = json.loads(out)
    record = next(r for r in analyze(str(SPEC)).layers if r.name == "layer2.0.conv1")
    # position (3, 5): rows 3·8 + lo .. 3·8 + lo + rf − 1 with the analysis' jump 8, rf 35
    lo, rf, jump = record.rf_start[0], record.rf[0], record.jump[0]
    assert data["box"] == {
        "rows": [int(3 * jump + lo), int(3 * jump + lo + rf - 1)],
        "columns": [int(5 * jump + lo), int(5 * jump + lo + rf - 1)],
    }
    assert data["path"] == "field.svg" and (workdir / "field.svg").exists()


def test_field_of_a_factory_measures_the_effective_field(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "net.py").write_text(
        "from torch import nn\n"
        "def build():\n"
        "    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.Conv2d(4, 4, 3))\n"
    )
    code, out, err = run("viz field net.py:build --input 1x3x32x32 --layer 2 --format json", capsys)
    assert (code, err) == (0, "")
    effective = json.loads(out)["effective"]
    assert effective["inside_box"] == 1.0 and (workdir / "field.png").exists()


BAD = {
    "no_output": "viz conv --size 2 --kernel 3 -o out.gif",
    "three_axes": "viz conv --size 4x4x4 --kernel 3 -o out.gif",
    "huge_animation": "viz conv --size 500 --kernel 3 -o out.gif",
    "beyond_any_size": "viz conv --size 99999999 --kernel 3 -o out.gif",
    "unknown_suffix": "viz conv --size 5 --kernel 3 -o out.mp4",
    "coverage_three_axes": "viz coverage --size 4x4x4 --kernel 3 -o out.png",
    "coverage_huge": "viz coverage --size 9000 --kernel 3 -o out.png",
    "coverage_op_and_model": "viz coverage --size 9 --kernel 3 --model resnet_stem.yaml -o out.png",
    "coverage_nothing": "viz coverage -o out.png",
    "coverage_kernel_alone": "viz coverage --kernel 3 -o out.png",
    "field_global_layer": "viz field resnet_stem.yaml --layer fc --no-effective -o out.png",
    "field_unknown_layer": "viz field resnet_stem.yaml --layer layer9 --no-effective -o out.png",
    "field_outside": "viz field resnet_stem.yaml --layer conv1 --at 200,0 --no-effective "
    "-o out.png",
    "field_bad_at": "viz field resnet_stem.yaml --layer conv1 --at middle --no-effective "
    "-o out.png",
    "field_spec_effective": "viz field resnet_stem.yaml --layer conv1 -o out.png",
    "field_missing_image": "viz field resnet_stem.yaml --layer conv1 --image none.jpg "
    "--no-effective -o out.png",
    "network_missing_folder": "viz network resnet_stem.yaml -o nowhere/out.svg",
}


@pytest.mark.parametrize("name", sorted(BAD))
@pytest.mark.parametrize("existing", [False, True])
def test_bad_input_one_line_and_no_file(
    name: str, existing: bool, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = workdir / BAD[name].split("-o ")[1]
    if existing and target.parent.exists():
        target.write_bytes(b"the previous picture")
    before = sorted(p.name for p in workdir.iterdir())
    code, out, err = run(BAD[name], capsys)
    assert code == 2 and out == ""
    assert err.startswith("stridekit: error: ") and err.count("\n") == 1, err
    assert sorted(p.name for p in workdir.iterdir()) == before  # nothing new, no temporaries
    if existing and target.parent.exists():
        assert target.read_bytes() == b"the previous picture"


def test_a_failed_write_leaves_neither_file_nor_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "picture.svg"
    target.write_bytes(b"old")

    def fail(source: str, destination: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["picture.svg"]
