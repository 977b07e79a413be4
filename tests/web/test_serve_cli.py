"""``stridekit serve``: its options and their bounds (starting it is what the session's
server fixture and the benchmark do)."""

from __future__ import annotations

import pytest

from stridekit.cli import main


def test_serve_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--stores", "--workers", "--time-limit", "--max-upload-mb"):
        assert option in out
    assert "127.0.0.1" in out


@pytest.mark.parametrize(
    "args", [["--workers", "0"], ["--port", "70000"], ["--queue", "0"], ["--max-spec-kb", "0"]]
)
def test_serve_refuses_bad_options(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", *args]) == 2
    assert "stridekit: error:" in capsys.readouterr().err


def test_limits_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--time-limit", "0"]) == 2
    assert "time-limit-s must be positive" in capsys.readouterr().err
