"""Malformed .tflite files: random bytes, truncations, flipped bytes, wrong identifiers,
huge claimed lengths. Each is one `ModelError` (the CLI: one line, exit 2), never another
exception, a crash or a hang; a file that still parses gives a graph."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stridekit.analysis import analyze_graph
from stridekit.errors import ModelError
from stridekit.frontends.tflite import load_tflite
from tests.cli.test_cli import run
from tests.frontends.tflite_cases import CASES

VALID = CASES["mobile_block"].build()
WARM = analyze_graph(load_tflite(VALID))  # imports (torch, for the costs) before any timing
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read(data: bytes) -> None:
    """Load and analyse: a clean graph or a `ModelError`, within a second."""
    start = time.monotonic()
    try:
        analyze_graph(load_tflite(data))
    except ModelError as error:
        assert "\n" not in str(error)
    assert time.monotonic() - start < 1.0


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    read(data)


@FUZZ
@given(st.binary(min_size=4, max_size=512))
def test_random_bytes_with_the_identifier(tail: bytes) -> None:
    read(tail[:4] + b"TFL3" + tail[4:])


@pytest.mark.parametrize("end", range(0, len(VALID), 97))
def test_truncated(end: int) -> None:
    with pytest.raises(ModelError):
        load_tflite(VALID[:end])


@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8)
)
def test_flipped_bytes(flips: list[tuple[int, int]]) -> None:
    data = bytearray(VALID)
    for position, value in flips:
        data[position] = value
    read(bytes(data))


@FUZZ
@given(st.integers(0, len(VALID) // 4 - 1), st.sampled_from([0x7FFFFFFF, 0xFFFFFFFF, 0x10000]))
def test_huge_offsets_and_lengths(word: int, value: int) -> None:
    """Every aligned 32-bit word is an offset, a length or a number: make it huge."""
    data = bytearray(VALID)
    struct.pack_into("<I", data, 4 * word, value)
    read(bytes(data))


def test_wrong_identifier() -> None:
    with pytest.raises(ModelError, match="no 'TFL3' file identifier"):
        load_tflite(VALID[:4] + b"ONNX" + VALID[8:])


@pytest.mark.parametrize(
    "content", [b"", b"\x00" * 64, VALID[: len(VALID) // 2], b"\xff" * 4 + b"TFL3" + b"\xff" * 64]
)
def test_cli_says_one_line_and_exits_2(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(content)
    code, out, err = run(["analyze", str(path)], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("stridekit: error: ")
    assert "TFLite" in err
