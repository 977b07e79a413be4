"""The Ray backend on a real local cluster (``ray start --head``, 2 CPUs, 127.0.0.1, one
per test session): a sweep through ``--address`` gives the local backend's metrics, data
comes from the object store, a killed worker's trial is retried (and a trial whose worker
always dies fails after the bound), Ctrl-C cancels the running trials and leaves them
pending. Flag checks and the driver's side of Ctrl-C need no cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from stridekit.cli import main
from stridekit.experiments.progress import SweepProgress
from stridekit.experiments.report import build_report
from stridekit.experiments.runner import (
    LocalRunner,
    TrialResult,
    TrialRetried,
    TrialStarted,
    TrialTask,
)
from stridekit.experiments.store import Status, Store
from stridekit.experiments.sweep import run_sweep
from tests.children import interruptible
from tests.experiments import ray_cluster
from tests.experiments.conftest import tiny_config
from tests.experiments.ray_fakes import SLEEP_S, FaultyTrial, accuracy_of, starts

ROOT = Path(__file__).resolve().parents[2]
TIMINGS = {"epoch_time_s"}  # metrics that measure the clock, not the model

TRAINED = """
name: tiny-ray
dataset: {name: synthetic-detail, options: {size: 16, n_train: 96, n_test: 32}}
model: {strides: [2, 2], width: 4}
training: {epochs: 1, batch_size: 32}
metrics: [accuracy]
vary: {op: [conv, max_pool]}
seeds: [0, 1]
"""

DETECTION = """
name: tiny-detection-ray
dataset: {name: synthetic-detection, options: {size: 32, n_train: 32, n_test: 8, max_size: 16}}
task: detection
model: {family: centernet, width: 4, depth: 1}
training: {epochs: 1, batch_size: 16}
metrics: [recall_4_8, recall_8_16, ap]
vary: {strides: [[2, 1], [2, 2, 2]]}
"""

FAKE = """
dataset: {{name: synthetic-detail, options: {{size: 16, n_train: 32, n_test: 8}}}}
model: {{strides: [2, 2], width: 4}}
training: {{epochs: 1}}
vary: {{op: [{ops}]}}
seeds: [{seeds}]
"""


def fake_spec(folder: Path, ops: list[str], seeds: list[int]) -> Path:
    path = folder / "fake.yaml"
    path.write_text(FAKE.format(ops=", ".join(ops), seeds=", ".join(map(str, seeds))))
    return path


def rows(store: Path) -> dict[str, dict[str, Any]]:
    with Store.open(store, create=False) as opened:
        return {r.key: r.to_dict() for r in opened.trials()}


def by_trial(store: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """The rows by (op, seed), checking that no trial is stored twice."""
    found = [(r["config"]["model"]["op"], r["seed"], r) for r in rows(store).values()]
    table = {(op, seed): row for op, seed, row in found}
    assert len(table) == len(found), "a trial is stored twice"
    return table


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- without a cluster --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--address", "auto"], "--address: options of the Ray backend; add --backend ray"),
        (["--max-concurrent", "2"], "--max-concurrent: options of the Ray backend"),
        (["--backend", "ray", "--workers", "2"], "with --backend ray give --max-concurrent"),
        (["--backend", "ray", "--cpus-per-trial", "0"], "--cpus-per-trial 0: give a positive"),
        (["--backend", "ray", "--gpus-per-trial", "-1"], "--gpus-per-trial -1: give 0 or more"),
        (["--backend", "ray", "--max-retries", "-1"], "--max-retries -1: give 0 or more"),
        (["--backend", "ray", "--device", "cuda"], "give --gpus-per-trial 1"),
        (["--backend", "dask"], "'dask' is not one of 'local', 'ray'"),
    ],
)
def test_bad_ray_options_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    """Checked before any connection: none of these reaches a cluster."""
    spec = fake_spec(tmp_path, ["conv"], [0])
    code, out, err = cli(["sweep", str(spec), *extra], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "fake.db").exists()  # nothing planned, nothing stored


def test_an_address_where_nothing_answers_fails_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Port 1 on the loopback: refused at once (Ray itself would retry for minutes)."""
    missing = ray_cluster.ray_available()
    if missing is not None:
        pytest.skip(missing)
    spec = fake_spec(tmp_path, ["conv"], [0])
    argv = ["sweep", str(spec), "--backend", "ray", "--address", "127.0.0.1:1"]
    code, out, err = cli(argv, capsys)
    assert (code, out) == (2, "")
    assert "--address 127.0.0.1:1: nothing answers there (Connection refused)" in err
    assert by_trial(tmp_path / "fake.db")["conv", 0]["status"] == "pending"  # never started


def test_a_retry_is_printed_above_the_bars() -> None:
    console = Console(record=True, width=100)
    with SweepProgress(1, {"k": "op=conv seed=0"}, console, enabled=False) as view:
        view.handle(TrialStarted("k"))
        view.handle(TrialRetried("k", 2, 3, "WorkerCrashedError: The worker died unexpectedly"))
    assert console.export_text().strip() == (
        "retrying op=conv seed=0 (attempt 2 of 3): WorkerCrashedError: The worker died unexpectedly"
    )


def interrupted(config: Any, seed: int, **options: Any) -> Any:
    """A trial of op max_pool is where the user presses Ctrl-C; the others finish."""
    if config.model.op == "max_pool":
        raise KeyboardInterrupt
    return quick(config, seed)


def quick(config: Any, seed: int, **options: Any) -> TrialResult:
    return TrialResult({"accuracy": accuracy_of(config.model.op, seed)}, {}, {}, {})


def test_ctrl_c_leaves_the_running_trial_pending(tmp_path: Path) -> None:
    """The driver's side of Ctrl-C, the same for every backend (here the local one)."""
    spec = fake_spec(tmp_path, ["conv", "max_pool", "avg_pool"], [0])
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, trial_function=interrupted, show_progress=False)
    table = by_trial(tmp_path / "fake.db")
    assert {key: (row["status"], row["attempts"]) for key, row in table.items()} == {
        ("conv", 0): ("done", 1),
        ("max_pool", 0): ("pending", 1),  # was running: cancelled, back to pending
        ("avg_pool", 0): ("pending", 0),  # never started
    }
    summary = run_sweep(spec, trial_function=quick, show_progress=False)
    assert (summary.ran, summary.counts["done"]) == (2, 3)


def test_locally_the_data_is_private_memory(tmp_path: Path) -> None:
    """The oracle of the object-store test can fail: outside Ray the images are not in a
    shared-memory mapping."""
    outcome = next(
        LocalRunner(FaultyTrial(str(tmp_path))).run(iter([TrialTask("k", tiny_config(), 0)]))
    )
    assert "plasma" not in outcome.result.environment["data"]


# -- on the cluster -----------------------------------------------------------------------
def test_a_sweep_through_address_gives_the_local_metrics(
    ray_address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same_metrics_on_ray(TRAINED, 4, ray_address, tmp_path, capsys)


def test_a_detection_sweep_on_ray_gives_the_local_metrics_and_report(
    ray_address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same_metrics_on_ray(DETECTION, 2, ray_address, tmp_path, capsys)
    report = build_report(tmp_path / "ray.db")
    assert "recall by object size" in [plot.title for plot in report.plots]


def same_metrics_on_ray(
    text: str, trials: int, address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sweep of ``text`` locally and through ``address``: the same model metrics."""
    spec = tmp_path / "tiny.yaml"
    spec.write_text(text)
    argv = ["sweep", str(spec), "--format", "json", "--no-progress"]
    code, out, err = cli([*argv, "--store", str(tmp_path / "local.db")], capsys)
    assert code == 0, err
    ray_argv = ["--backend", "ray", "--address", address, "--cpus-per-trial", "1"]
    code, out, err = cli([*argv, "--store", str(tmp_path / "ray.db"), *ray_argv], capsys)
    assert code == 0, err
    counts = {"pending": 0, "running": 0, "done": trials, "failed": 0}
    assert json.loads(out)["counts"] == counts
    local, remote = rows(tmp_path / "local.db"), rows(tmp_path / "ray.db")
    assert sorted(local) == sorted(remote) and len(remote) == trials

    def model_metrics(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row["metrics"].items() if k not in TIMINGS}

    for key, row in remote.items():
        assert model_metrics(row) == model_metrics(local[key]), row["factors"]
        assert row["environment"]["threads"] == local[key]["environment"]["threads"] == "1"
        assert (row["status"], row["attempts"]) == ("done", 1)


def kill_when_started(folder: Path, op: str, killed: list[int]) -> None:
    """Wait for the first start of trial (op, 0) and SIGKILL its worker process."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pids = starts(folder, op, 0)
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
            return
        time.sleep(0.05)


def test_a_killed_worker_is_retried_and_a_dying_one_fails_after_the_bound(
    ray_address: str, tmp_path: Path
) -> None:
    from stridekit.experiments.ray_runner import RayOptions

    spec = fake_spec(tmp_path, ["conv", "max_pool", "avg_pool"], [0])
    trial = FaultyTrial(str(tmp_path), {"max_pool": "killed_once", "avg_pool": "always_dies"})
    killed: list[int] = []
    killer = threading.Thread(target=kill_when_started, args=(tmp_path, "max_pool", killed))
    killer.start()
    try:
        summary = run_sweep(
            spec,
            backend="ray",
            ray=RayOptions(address=ray_address, max_retries=1),
            trial_function=trial,
            show_progress=False,
        )
    finally:
        killer.join()
    assert len(killed) == 1
    table = by_trial(tmp_path / "fake.db")  # each trial exactly once
    assert len(table) == 3 and summary.counts == {
        "pending": 0,
        "running": 0,
        "done": 2,
        "failed": 1,
    }
    retried, dying, quick = table["max_pool", 0], table["avg_pool", 0], table["conv", 0]
    assert (retried["status"], retried["attempts"]) == ("done", 2)
    assert retried["metrics"] == {"accuracy": accuracy_of("max_pool", 0)}
    assert int(retried["environment"]["pid"]) != killed[0]  # finished by another worker
    assert (dying["status"], dying["attempts"]) == ("failed", 2)  # 1 + max_retries
    assert dying["error"].startswith("its Ray worker died in all 2 tries: WorkerCrashedError")
    assert (quick["status"], quick["attempts"]) == ("done", 1)
    # the trials' own record of their starts agrees with the store's attempts
    for (op, seed), row in table.items():
        assert len(starts(tmp_path, op, seed)) == row["attempts"], op
    # the images came from the object store's shared memory, not a copy per trial
    for row in (retried, quick):
        assert "plasma" in row["environment"]["data"], row["environment"]


DRIVER = """
import sys
from stridekit.experiments.ray_runner import RayOptions
from stridekit.experiments.signals import Terminated
from stridekit.experiments.sweep import run_sweep
from tests.experiments.ray_fakes import FaultyTrial

spec, address, folder = sys.argv[1:]
trial = FaultyTrial(folder, {"conv": "sleeps", "max_pool": "sleeps"})
try:
    run_sweep(spec, backend="ray", ray=RayOptions(address=address), trial_function=trial,
              show_progress=False)
except Terminated:
    sys.exit(143)
except KeyboardInterrupt:
    sys.exit(130)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def driver(ray_address: str, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A sweep driver in its own process (the one a user presses Ctrl-C in)."""
    spec = fake_spec(tmp_path, ["conv", "max_pool"], [0, 1])
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(spec), ray_address, str(tmp_path)],
        env={**os.environ, **ray_cluster.LOOPBACK_ENVIRONMENT, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,  # Ctrl-C reaches it even when the suite ignores SIGINT
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.communicate()


@pytest.mark.parametrize(
    ("signal_number", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["int", "term"]
)
def test_ctrl_c_cancels_running_trials_and_leaves_them_pending(
    driver: subprocess.Popen[str], tmp_path: Path, signal_number: int, code: int
) -> None:
    """Ctrl-C (SIGINT) or a scheduler's SIGTERM to a driver on the Ray backend: the
    running trials are cancelled on the cluster, go back to pending, and the driver ends
    with the shell's code (130, 143) in bounded time; a resume runs each trial again."""

    def running() -> list[int]:
        return [
            pid for op in ("conv", "max_pool") for s in (0, 1) for pid in starts(tmp_path, op, s)
        ]

    assert wait_for(lambda: len(running()) == 2 or driver.poll() is not None, 120), "no start"
    workers = running()
    assert len(workers) == 2, driver.communicate()  # 2 CPUs: two trials at once
    start = time.monotonic()
    driver.send_signal(signal_number)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == code, err
    assert "Traceback" not in err, err
    assert time.monotonic() - start < SLEEP_S / 2  # not the trials' whole sleep
    assert "interrupted: 2 running trials cancelled and left pending" in err
    assert wait_for(lambda: not any(alive(pid) for pid in workers), 30), "a trial still runs"
    table = by_trial(tmp_path / "fake.db")
    assert sorted((row["status"], row["attempts"]) for row in table.values()) == [
        ("pending", 0),
        ("pending", 0),
        ("pending", 1),  # the two that ran: back to pending
        ("pending", 1),
    ]
    # the store resumes as a local one does: each trial once more (quickly now), in order
    (tmp_path / "fast").write_text("")
    trial = FaultyTrial(str(tmp_path), {"conv": "sleeps", "max_pool": "sleeps"})
    summary = run_sweep(tmp_path / "fake.yaml", trial_function=trial, show_progress=False)
    assert (summary.ran, summary.counts["done"]) == (4, 4)
    for (op, seed), row in by_trial(tmp_path / "fake.db").items():
        assert row["status"] == Status.done.value
        assert len(starts(tmp_path, op, seed)) == row["attempts"]
