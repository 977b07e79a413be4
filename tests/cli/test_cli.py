"""The command line: golden tables and JSON, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stridekit.cli import main
from tests.conftest import Golden

COMMANDS = {
    "shape_conv7": "shape --size 224 --kernel 7 --stride 2 --padding 3",
    "shape_drop_2d": "shape --size 224x225 --kernel 3 --stride 2",
    "shape_tf_same": "shape --size 224 --kernel 7 --stride 2 --padding same --convention tf",
    "shape_onnx_lower": "shape --size 6 --kernel 3 --stride 2 --padding same "
    "--convention onnx-lower",
    "shape_maxpool_ceil": "shape --size 112 --kernel 3 --stride 2 --op max_pool --ceil-mode",
    "shape_transposed": "shape --size 56 --kernel 3 --stride 2 --padding 1 "
    "--op conv_transpose --output-padding 1",
    "solve_224_112": "solve --size 224 --output 112 --limit 8",
    "solve_upsample": "solve --size 28 --output 56 --max-kernel 4 --limit 5",
    "sizes_deeplab": "sizes --range 1:600 " + "--layer k=3,s=2,p=1 " * 5,
    "sizes_resnet_stem": "sizes --input 224 --range 200:300 --rule no-drop "
    "--layer k=7,s=2,p=3 --layer k=3,s=2 --layer k=1,s=2",
}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_golden_output(
    name: str, fmt: str, golden: Golden, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([*COMMANDS[name].split(), "--format", fmt], capsys)
    assert (code, err) == (0, "")
    golden.check(f"cli/{name}.{'json' if fmt == 'json' else 'txt'}", out)


def test_shape_json_fields(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(
        ["shape", "--size", "224", "--kernel", "3", "--stride", "2", "--format", "json"], capsys
    )
    axis = json.loads(out)["axes"][0]
    # floor((224 − 3)/2) + 1 = 111 windows, the last reads 220..222: pixel 223 is dropped
    assert axis["output_size"] == 111
    assert axis["padding"] == [0, 0]
    assert axis["unread_real"] == [223]
    assert axis["unread_padding"] == []
    assert axis["coverage"] == {"min": 0, "max": 2}
    assert axis["formula"] == "floor((224 + 0 + 0 - 3)/2) + 1 = 111"


def test_pool_stride_defaults_to_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(
        ["shape", "--size", "8", "--kernel", "2", "--op", "max_pool", "--format", "json"], capsys
    )
    assert json.loads(out)["output_size"] == [4]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ("shape --size 5 --kernel 7", "larger than the padded input"),
        ("shape --size 5x --kernel 3", "expected integers"),
        ("shape --size 224 --kernel 3 --stride 2 --padding same", "convention='tf'"),
        ("shape --size 224x224 --kernel 3x3x3", "3 values but the input has 2 axes"),
        ("shape --size 10 --kernel 3 --op max_pool --padding 2", "at most half the kernel"),
        (
            "shape --size 10 --kernel 3 --op conv_transpose --stride 2 --output-padding 2",
            "max(stride",
        ),
        ("shape --size 10 --kernel 3 --op blur", "unknown op"),
        ("shape --size 10 --kernel 3 --bogus", "No such option"),
        ("shape --size 10", "Missing option"),
        ("shape --size 10 --kernel 3 --format xml", "Invalid value"),
        ("sizes --layer s=2", "kernel k= is required"),
        ("sizes --layer k=3 --rule loose", "choose one of"),
        ("sizes --layer k=3 --range 9:1", "START:STOP"),
        ("solve --size 0 --output 3", "must be >= 1"),
        ("solve --size 224 --output 112 --limit -1", "must be >= 0"),
        ("solve --size 1048576 --output 2", "--max-stride"),
        ("shape --size 1048576 --kernel 600000", "beyond 2^24"),
        ("sizes --layer k=3,s=1024 --layer k=3,s=1024 --layer k=3,s=2", "periods up to 2^20"),
        ("sizes --layer k=3,p=1:2:3", "lo:hi"),
    ],
)
def test_user_errors_are_one_line_exit_2(
    argv: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv.split(), capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("stridekit: error: ")
    assert fragment in err


def test_console_script_exit_status_and_no_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stridekit", "shape", "--size", "5", "--kernel", "7"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stridekit", "--debug", "shape", "--size", "5", "--kernel", "7"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "OutputSizeError" in result.stderr


HUGE = "99999999999999999999"  # 10^20: far past 2^20 and past a 64-bit integer


@pytest.mark.parametrize(
    "argv",
    [
        f"shape --size {HUGE} --kernel 3",
        f"shape --size 224 --kernel {HUGE}",
        f"shape --size 224 --kernel 3 --stride {HUGE}",
        f"shape --size 224 --kernel 3 --padding {HUGE}",
        f"shape --size 224 --kernel 3 --dilation {HUGE}",
        f"sizes --layer k=3,s=2 --input {HUGE}",
        f"sizes --layer k={HUGE}",
        f"sizes --layer k=3,p=0:{HUGE}",
        f"sizes --layer k=3 --range 1:{HUGE}",
        f"solve --size {HUGE} --output 3",
        f"solve --size 224 --output {HUGE}",
        f"solve --size 224 --output 112 --max-kernel {HUGE}",
        f"solve --size 224 --output 112 --max-stride {HUGE}",
        f"adapt stridekit/examples/specs/resnet_stem.yaml --images {HUGE}x224",
        f"adapt stridekit/examples/specs/resnet_stem.yaml --input 1x3x{HUGE}x224 --images 224x224",
        f"analyze stridekit/examples/specs/resnet_stem.yaml --input 1x3x{HUGE}x224",
        f"doctor stridekit/examples/specs/resnet_stem.yaml --input 1x3x224x{HUGE}",
        f"sizes stridekit/examples/specs/resnet_stem.yaml --input 1x3x{HUGE}x224",
        f"plan --template plain4 --task classification --input {HUGE}",
    ],
)
def test_sizes_beyond_the_bound_are_one_line_errors(
    argv: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv.split(), capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "beyond 2^20 = 1,048,576" in err


@pytest.mark.parametrize(
    "argv",
    [
        "adapt stridekit/examples/specs/resnet_stem.yaml --images 0x0",
        "adapt stridekit/examples/specs/resnet_stem.yaml --images 224x0",
        "shape --size 0 --kernel 1",
        "analyze stridekit/examples/specs/resnet_stem.yaml --input 1x3x0x224",
    ],
)
def test_empty_sizes_are_one_line_errors(argv: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv.split(), capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "must be >= 1, got 0" in err


@pytest.mark.parametrize("budget", ["--max-macs inf", "--max-flops nan", "--max-macs -5"])
def test_a_budget_must_be_finite(budget: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        ["plan", "--template", "plain4", "--task", "classification", *budget.split()], capsys
    )
    assert code == 2 and "finite budget" in err
