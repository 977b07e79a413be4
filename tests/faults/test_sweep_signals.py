"""SIGINT and SIGTERM to a sweep's driver, local and with worker processes: the running
trials stop at once (their processes too), go back to pending, the sweep says so in one
line and ends with the shell's code; a resume runs each trial once more."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from stridekit.experiments.store import Status, Store
from stridekit.experiments.sweep import run_sweep
from tests.children import alive, interruptible
from tests.experiments.ray_fakes import SLEEP_S, FaultyTrial, starts

ROOT = Path(__file__).resolve().parents[2]
DRIVER = """
import sys
from stridekit.experiments.signals import Terminated
from stridekit.experiments.sweep import run_sweep
from tests.experiments.ray_fakes import FaultyTrial

spec, folder, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
trial = FaultyTrial(folder, {"conv": "sleeps", "max_pool": "sleeps"})
try:
    run_sweep(spec, workers=workers, trial_function=trial, show_progress=False)
except Terminated:
    sys.exit(143)
except KeyboardInterrupt:
    sys.exit(130)
"""
SPEC = """
dataset: {name: synthetic-detail, options: {size: 16, n_train: 16, n_test: 8}}
model: {strides: [2, 2], width: 4}
training: {epochs: 1}
vary: {op: [conv, max_pool]}
"""
CODE = {signal.SIGINT: 130, signal.SIGTERM: 143}


def running(folder: Path) -> list[int]:
    return [pid for op in ("conv", "max_pool") for pid in starts(folder, op, 0)]


# two of the four in make test (each starts a driver that imports torch), all in make soak
CASES = [
    pytest.param(signal.SIGTERM, 2, id="term-processes"),
    pytest.param(signal.SIGINT, 1, id="int-in-process"),
    pytest.param(signal.SIGINT, 2, id="int-processes", marks=pytest.mark.soak),
    pytest.param(signal.SIGTERM, 1, id="term-in-process", marks=pytest.mark.soak),
]


@pytest.mark.parametrize(("signal_number", "workers"), CASES)
def test_a_signal_stops_the_sweep_at_once_and_leaves_its_trials_pending(
    tmp_path: Path, signal_number: int, workers: int
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(spec), str(tmp_path), str(workers)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    try:
        deadline = time.monotonic() + 120
        while len(running(tmp_path)) < workers and driver.poll() is None:
            assert time.monotonic() < deadline, "no trial started"
            time.sleep(0.05)
        trials = running(tmp_path)
        start = time.monotonic()
        driver.send_signal(signal_number)
        _, err = driver.communicate(timeout=SLEEP_S / 2)  # not the trials' whole sleep
        seconds = time.monotonic() - start
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
    assert driver.returncode == CODE[signal_number], err
    assert "Traceback" not in err, err
    assert f"interrupted: {workers} running trials cancelled and left pending" in err
    assert seconds < 20
    assert not [pid for pid in trials if pid != driver.pid and alive(pid)]
    with Store.open(tmp_path / "spec.db", create=False) as store:
        states = sorted((r.status.value, r.attempts) for r in store.trials())
    assert states == sorted([("pending", 1)] * workers + [("pending", 0)] * (2 - workers))
    (tmp_path / "fast").write_text("")  # the resume: each trial once more, quickly
    trial = FaultyTrial(str(tmp_path), {"conv": "sleeps", "max_pool": "sleeps"})
    summary = run_sweep(spec, trial_function=trial, show_progress=False)
    assert summary.counts[Status.done.value] == 2
