"""``stridekit sweep | results | report`` with real (tiny) training: end to end checked for
content, a SIGKILL in the middle of a trial then resume, and one-line errors (exit 2)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stridekit.cli import main
from tests.experiments.test_report import Cells

SPEC = """
name: tiny
dataset: {name: synthetic-detail, options: {size: 16, n_train: 384, n_test: 64}}
model: {strides: [2, 2], width: 4}
training: {epochs: 2, batch_size: 64}
metrics: [accuracy]
vary: {op: [conv, max_pool]}
seeds: [0, 1]
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stored(path: Path) -> dict[str, tuple[str, str | None, int]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT key, status, metrics, attempts FROM trials").fetchall()
    return {key: (status, metrics, attempts) for key, status, metrics, attempts in rows}


def test_sigkill_mid_trial_then_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec, store = tmp_path / "tiny.yaml", tmp_path / "runs.db"
    spec.write_text(SPEC)
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-m", "stridekit", "sweep", str(spec), "--store", str(store)],
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    killed: dict[str, tuple[str, str | None, int]] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if store.exists():
            try:
                rows = stored(store)
            except sqlite3.OperationalError:  # the schema is being created
                rows = {}
            statuses = [status for status, _, _ in rows.values()]
            if statuses.count("done") >= 1 and statuses.count("running") == 1:
                child.send_signal(signal.SIGKILL)
                child.wait()
                killed = stored(store)
                break
        time.sleep(0.02)
    assert killed, (
        f"the sweep was not caught mid-trial: {child.stderr.read() if child.stderr else ''}"
    )
    done_before = {k: v for k, v in killed.items() if v[0] == "done"}
    running = [k for k, v in killed.items() if v[0] == "running"]

    code, out, _ = run(["sweep", str(spec), "--store", str(store), "--format", "json"], capsys)
    summary = json.loads(out)
    after = stored(store)
    assert code == 0 and summary["counts"]["done"] == 4 == len(after)
    assert summary["ran"] == 4 - len(done_before)  # the killed trial again, and the rest
    for key, (status, metrics, attempts) in done_before.items():
        assert after[key] == (status, metrics, attempts)  # untouched: identical metrics
    assert after[running[0]][2] == 2  # started twice: killed once, finished once


def test_end_to_end_and_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec, store = tmp_path / "tiny.yaml", tmp_path / "tiny.db"
    spec.write_text(SPEC.replace("epochs: 2", "epochs: 1"))
    code, out, _ = run(["sweep", str(spec), "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["store"] == str(store)  # default store: beside
    rows = stored(store)
    assert [status for status, _, _ in rows.values()] == ["done"] * 4

    code, out, _ = run(["results", str(store), "--format", "json"], capsys)
    trials = {t["key"]: t for t in json.loads(out)["trials"]}
    assert {k: json.dumps(t["metrics"], sort_keys=True) for k, t in trials.items()} == {
        k: metrics for k, (_, metrics, _) in rows.items()
    }
    code, out, _ = run(["results", str(store), "--format", "csv"], capsys)
    assert code == 0 and len(out.splitlines()) == 5
    code, out, _ = run(["results", str(store), "--format", "markdown"], capsys)
    assert code == 0 and out.startswith("### configurations")
    code, out, _ = run(["results", str(store)], capsys)
    assert code == 0 and "4 trials: 4 done" in out

    page = tmp_path / "report.html"
    code, out, _ = run(["report", str(store), "-o", str(page), "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["output"] == str(page)
    cells = Cells()
    cells.feed(page.read_text())
    shown = {
        str(row["id"]): [
            c["data-value"] for c in row["cells"] if c.get("data-metric") == "accuracy"
        ]
        for row in cells.tables["trials"]
    }
    assert shown == {k: [repr(json.loads(m)["accuracy"])] for k, (_, m, _) in rows.items()}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["results", "{tmp}/missing.db"], "no such store"),
        (["report", "{tmp}/missing.db"], "no such store"),
        (["sweep", "{tmp}/missing.yaml"], "not found"),
        (["sweep", "{tmp}/bad.yaml"], "line 4: model.op: unknown downsampling op 'maxpool'"),
        (["sweep", "{tmp}/bad.yaml", "--workers", "0"], "--workers"),
        (["results", "{tmp}/bad.yaml"], "not a stridekit store"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    (tmp_path / "bad.yaml").write_text(
        "dataset: synthetic-detail\nmodel: {strides: [2]}\nvary:\n  op: [conv, maxpool]\n"
    )
    code, out, err = run([a.format(tmp=tmp_path) for a in argv], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and message in err, err
