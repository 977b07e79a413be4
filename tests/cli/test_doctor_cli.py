"""``stridekit doctor --all`` and a model that cannot run at the size asked, on the command
line: ``doctor`` answers with a size-mismatch error finding (exit 1), ``analyze`` with one
line (exit 2); both name the merge, its sizes, the valid sizes and the nearest ones."""

from __future__ import annotations

import json

import pytest

from stridekit.cli import main

UNET = "stridekit/examples/unet.py:unet"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_doctor_answers_a_size_mismatch_with_an_error_finding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["doctor", UNET, "--input", "1x3x250x250", "--format", "json"], capsys)
    assert (code, err) == (1, "")
    (finding,) = json.loads(out)["findings"]
    assert (finding["code"], finding["severity"]) == ("size-mismatch", "error")
    # pooled 250 → 125 → 62 → 31; back up 31 → 62 meets 62, then 62 → 124 meets 125
    assert finding["data"]["sizes"] == [[124, 124], [125, 125]]
    assert finding["data"]["valid_sizes"] == ["8k", "8k"]  # three 2x2 poolings
    assert finding["data"]["nearest"] == [[248, 256], [248, 256]]
    # 250² − 248² = 996 pixels cropped beats 256² − 250² = 3,036 padded
    assert finding["fix"].startswith("crop to 248x248 or pad to 256x256; the cheapest: crop")
    assert "(996 pixels)" in finding["fix"]


def test_analyze_answers_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["analyze", UNET, "--input", "1x3x250x250"], capsys)
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert "124x124 and 125x125" in err and "8k: 248 (crop 2) or 256 (pad 6)" in err


def test_doctor_all_lists_each_finding_and_the_table_groups_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = "stridekit/examples/specs/deeplab_encoder.yaml"
    _, grouped, _ = run(["doctor", spec, "--format", "markdown"], capsys)
    _, each, _ = run(["doctor", spec, "--all", "--format", "markdown"], capsys)
    _, data, _ = run(["doctor", spec, "--format", "json"], capsys)
    findings = json.loads(data)["findings"]
    codes = {(f["code"], f["severity"]) for f in findings}
    assert grouped.count("\n| ") - 1 == len(codes) < len(findings) == each.count("\n| ") - 1


FPN = "stridekit/examples/specs/fpn_small.yaml"  # one map at stride 4, field 51 (256 px)


def test_doctor_objects_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["doctor", FPN, "--objects", "4:16", "--objects", "64", "--format", "json"], capsys
    )
    assert (code, err) == (1, "")  # a warning: 64 px is wider than the field
    report = json.loads(out)
    rows = report["objects"]["rows"]
    # 4/4 = 1 cell (under 2), 8/4 = 2, 16/4 = 4, 64/4 = 16 cells but a 51-px field
    assert [(r["size"], r["cells"], r["verdict"]) for r in rows] == [
        (4, 1, "undersampled"),
        (8, 2, "served"),
        (16, 4, "served"),
        (64, 16, "beyond field"),
    ]
    codes = {f["code"]: f for f in report["findings"]}
    assert codes["objects-beyond-field"]["data"] == {"sizes": [64], "level": "P2", "field": "51"}
    assert (
        "widen the last stage's field by 13 px" in codes["objects-beyond-field"]["fix"]
    )  # 64 − 51


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_doctor_objects_table(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    rules = "objects-lost,objects-undersampled,objects-beyond-field,level-unused"
    argv = ["doctor", FPN, "--objects", "8,16", "--select", rules, "--format", fmt]
    code, out, _ = run(argv, capsys)
    assert code == 0  # 8/4 = 2 and 16/4 = 4 cells, within the 51-px field: served
    assert "objects by level" in out and "served" in out


@pytest.mark.parametrize("bad", ["8:", "abc", "0:10", "256:8", "-4", "", "8,,16"])
def test_doctor_bad_objects_are_one_line(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["doctor", FPN, f"--objects={bad}"], capsys)
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert err.startswith("stridekit: error: --objects")


def test_doctor_objects_on_a_classifier_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    stem = "stridekit/examples/specs/resnet_stem.yaml"  # ends in global pooling and a linear
    code, out, err = run(["doctor", stem, "--objects", "8:64"], capsys)
    assert (code, out, err.count("\n")) == (2, "", 1) and "no spatial output" in err
