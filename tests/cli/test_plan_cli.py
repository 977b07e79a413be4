"""``stridekit plan`` on the command line: golden output, spec files, infeasible plans."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from stridekit.cli import main
from stridekit.design.presets import VGG16
from tests.conftest import Golden


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_plan_golden(fmt: str, golden: Golden, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "--template", "plain8", "--input", "128", "--task", "detection", "--top", "3"]
    assert main([*argv, "--format", fmt]) == 0
    golden.check(
        f"cli/plan_plain8_detection.{'json' if fmt == 'json' else 'txt'}", capsys.readouterr().out
    )


def test_plan_vgg16_classification_golden(
    golden: Golden, capsys: pytest.CaptureFixture[str]
) -> None:
    # the example: four strides where VGG16 widens, the fifth as late as the field
    # allows, marked and explained
    assert main(["plan", "--template", "vgg16", "--task", "classification"]) == 0
    golden.check("cli/plan_vgg16_classification.txt", capsys.readouterr().out)


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
        (
            "plan --template vgg16 --task classification --max-volume-drop 2",
            "volume drop C·H·W within 2: the plan that meets the other constraints with the "
            "fewest layers over it (2 1 2 1 2 1 1 2 1 1 1 1 2) shrinks it 4x at layer 12;",
        ),
        ("plan --template vgg16 --task classification --max-volume-drop 3", "within 3:"),
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


def best_plan(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main([*argv, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    return {**report["plans"][0], "note": report["bottleneck_note"]}


def test_the_presets_prefer_the_volume_drop_and_off_gives_the_flop_optimal_plan(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["plan", "--template", "vgg16", "--task", "classification"]
    preferred = best_plan(argv, capsys)
    strides = [s["stride"] for s in preferred["layers"]]
    assert strides == [2, 1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 2]  # where the channels grow
    assert preferred["preferred_volume_drop"] == 2
    assert preferred["over_preferred_volume_drop"] == [12]
    assert [s["over_preferred_volume_drop"] for s in preferred["layers"]] == [False] * 12 + [True]
    # each layer's drop from the plan's own sizes: C_in·n_in² / (C_out·n_out²)
    channels, sizes = [3, *VGG16], [224] + [s["output_size"] for s in preferred["layers"]]
    assert [Fraction(s["volume_drop"]) for s in preferred["layers"]] == [
        Fraction(channels[i] * sizes[i] ** 2, channels[i + 1] * sizes[i + 1] ** 2)
        for i in range(13)
    ]
    assert "layer 12 shrinks C·H·W 4x" in preferred["note"]
    cheapest = best_plan([*argv, "--max-volume-drop", "off"], capsys)
    assert [s["stride"] for s in cheapest["layers"]][:5] == [2, 2, 2, 2, 2]  # all early
    assert cheapest["macs"] < preferred["macs"]
    assert cheapest["preferred_volume_drop"] is None and cheapest["note"] is None
    # a hard limit of 4 keeps the preference: a constant-width halving is a 4x drop
    assert best_plan([*argv, "--max-volume-drop", "4"], capsys)["layers"] == preferred["layers"]


def test_plan_detection_for_object_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "--task", "detection", "--objects", "8:256", "--input", "640", "--top", "1"]
    best = best_plan(argv, capsys)
    # one level per octave: 8/2 = 4 up to 256/2 = 128, the coarsest the output stride
    levels = best["objects"]["levels"]
    assert [lv["stride"] for lv in levels] == [4, 8, 16, 32, 64, 128]
    assert [lv["name"] for lv in levels] == ["P2", "P3", "P4", "P5", "P6", "P7"]
    assert best["output_stride"] == 128 and best["receptive_field"] >= 256
    jumps = [layer["jump"] for layer in best["layers"]]
    for level in levels:  # the level is the last layer at its stride, with its field
        index = int(level["source"].removeprefix("conv"))
        assert jumps[index] == level["stride"] and jumps[index + 1 :].count(level["stride"]) == 0
        assert level["receptive_field"] == best["layers"][index]["rf"]
        assert level["grid"] == [640 // level["stride"]] * 2
    rows = best["objects"]["rows"]
    assert [(r["size"], r["level"], r["cells"]) for r in rows] == [
        (size, f"P{k}", 2) for k, size in zip(range(2, 8), (8, 16, 32, 64, 128, 256), strict=True)
    ]
    assert main([*argv[:-2], "--format", "markdown"]) == 0
    assert "### objects by level" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ("plan --task classification --objects 8:64", "use --task detection"),
        ("plan --task detection --objects 8:", "a range needs both ends"),
        ("plan --task detection --objects 8:1024 --input 640", "do not fit in a 640-px input"),
    ],
)
def test_plan_bad_objects_are_one_line(
    argv: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv.split()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err
