"""``stridekit compare A B`` on the command line: golden outputs, exit 0 / 1 / 2."""

from __future__ import annotations

import json

import pytest

from stridekit.cli import main
from tests.conftest import Golden

NAIVE, REFERENCE = "tests/ports.py:Naive", "tests/ports.py:Reference"
FORMATS = {"table": "txt", "json": "json", "markdown": "md"}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden(fmt: str, golden: Golden, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["compare", NAIVE, REFERENCE, "--input", "1x3x64x64", "--format", fmt]
    code, out, err = run(argv, capsys)
    assert (code, err) == (1, "")
    golden.check(f"cli/compare_naive_port.{FORMATS[fmt]}", out)


def test_json_names_the_first_divergence_and_the_offset(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        ["compare", NAIVE, REFERENCE, "--input", "1x3x64x64", "--format", "json"], capsys
    )
    data = json.loads(out)
    assert code == 1 and data["agree"] is False
    assert data["first_divergence"]["cause"] == "padding"
    assert data["layers"][0]["a"]["padding"] == [[1, 1], [1, 1]]
    assert data["layers"][0]["b"]["padding"] == [[0, 1], [0, 1]]
    # conv1, the pool and conv2 each start one of their input pixels earlier: 1 + 2 + 4
    assert data["output"]["offset"] == [-7, -7]


def test_identical_models_agree(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["compare", NAIVE, NAIVE, "--input", "1x3x64x64"], capsys)
    assert (code, err) == (0, "") and "the models agree" in out


def test_a_tflite_file_against_itself_at_its_own_size(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tflite")
    path = "tests/data/tflite/mobile_block.tflite"
    code, out, _ = run(["compare", path, path, "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["input_shape"] == [1, 3, 16, 16]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["compare", "missing.onnx", NAIVE, "--input", "1x3x64x64"], "not found"),
        (
            ["compare", NAIVE, "tests/ports.py:one_channel", "--input", "1x3x64x64"],
            "B does not run",
        ),
        (
            ["compare", "tests/ports.py:one_channel", "tests/ports.py:mlp", "--input", "1x1x8x8"],
            "does not run",
        ),
        (["compare", NAIVE, "tests/ports.py:mlp", "--input", "1x3x8x8"], "no spatial layer"),
        (["compare", NAIVE, REFERENCE], "declares no input size"),
        (["compare", NAIVE, REFERENCE, "--input", "64x64"], "--input"),
    ],
    ids=["missing-file", "channels", "channels-mlp", "no-spatial-layer", "no-size", "bad-shape"],
)
def test_bad_input_is_one_line(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv, capsys)
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert words in err and "Traceback" not in err


def test_the_command_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["compare", "--help"], capsys)
    assert code == 0 and "Exit status: 0 the models agree, 1 they differ" in out
