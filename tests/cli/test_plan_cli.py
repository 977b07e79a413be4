"""``stridekit plan`` on the command line: golden output, spec files, infeasible plans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from stridekit.cli import main
from tests.conftest import Golden


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_plan_golden(fmt: str, golden: Golden, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "--template", "plain8", "--input", "128", "--task", "detection", "--top", "3"]
    assert main([*argv, "--format", fmt]) == 0
    golden.check(
        f"cli/plan_plain8_detection.{'json' if fmt == 'json' else 'txt'}", capsys.readouterr().out
    )


def test_plan_writes_a_spec_of_the_best_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "plan.yaml"
    argv = ["plan", "--template", "resnet18", "--task", "classification", "--format", "json"]
    assert main([*argv, "--write-spec", str(spec)]) == 0
    best = json.loads(capsys.readouterr().out)["plans"][0]
    layers = [
        layer for layer in yaml.safe_load(spec.read_text())["layers"] if layer["type"] == "conv"
    ]
    assert [layer["stride"] for layer in layers] == [step["stride"] for step in best["layers"]]
    assert best["output_stride"] == 32 and best["receptive_field"] >= 224


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ("plan --template plain4 --output-stride 64 --input 32", "no plan meets"),
        ("plan --template plain8 --output-stride 8 --max-macs 10", "over)"),
        ("plan --template nosuch --task classification", "unknown template family"),
        ("plan --template plain8 --task painting", "unknown task"),
        ("plan --template plain8", "give a --task"),
        ("plan --template vgg16 --task classification", "volume drop C·H·W within 2"),
        ("plan --template plain8 --task classification --max-volume-drop 0.5", "number >= 1"),
        ("plan --template plain8 --task classification --max-volume-drop big", "number >= 1"),
        ("plan --template missing.yaml --task classification", "does not exist"),
    ],
)
def test_plan_errors_are_one_line(
    argv: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv.split()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err


def test_plan_budget_in_flops_is_twice_the_macs(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "plan",
        "--template",
        "plain4",
        "--input",
        "32",
        "--output-stride",
        "4",
        "--format",
        "json",
    ]
    assert main(argv) == 0
    macs = json.loads(capsys.readouterr().out)["plans"][0]["macs"]
    assert main([*argv, "--max-flops", str(2 * macs)]) == 0  # exactly at the budget: fits
    assert main([*argv, "--max-flops", str(2 * macs - 2)]) == 2
    assert "over)" in capsys.readouterr().err


def test_max_volume_drop_off_gives_the_flop_optimal_plan(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["plan", "--template", "vgg16", "--task", "classification", "--format", "json"]
    assert main([*argv, "--max-volume-drop", "off"]) == 0
    strides = [s["stride"] for s in json.loads(capsys.readouterr().out)["plans"][0]["layers"]]
    assert strides[:5] == [2, 2, 2, 2, 2]  # everything early: the cheapest
    assert main([*argv, "--max-volume-drop", "4"]) == 0
    relaxed = [s["stride"] for s in json.loads(capsys.readouterr().out)["plans"][0]["layers"]]
    assert relaxed == strides  # a stride of 2 at constant channels shrinks C·H·W 4x: allowed
