"""A dead Ray head still named by Ray's pointer (``ray_current_cluster``, left behind by a
head that died without ``ray stop``): a sweep without ``--address`` runs on a Ray it
starts, and ``--address auto`` says in one line that the head is gone. Each run gets a
Ray folder of its own (``RAY_TMPDIR``), so the machine's own Ray is never touched."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stridekit.experiments.ray_address import ray_pointer, resolve_address
from stridekit.experiments.ray_runner import RayOptions
from stridekit.experiments.store import Store
from stridekit.experiments.sweep import run_sweep
from tests.experiments import ray_cluster
from tests.experiments.ray_fakes import FaultyTrial, starts

pytestmark = pytest.mark.xdist_group("ray-faults")
ROOT = Path(__file__).resolve().parents[2]
SWEEP = """
import sys, time
import ray  # imports first: on a loaded machine they take longer than the bound itself
from stridekit.experiments.ray_runner import RayOptions
from stridekit.experiments.sweep import run_sweep
from tests.experiments import fakes

address = sys.argv[2] if len(sys.argv) > 2 else None
print(f"sweep starts at {time.monotonic()}", file=sys.stderr, flush=True)
summary = run_sweep(sys.argv[1], backend="ray", ray=RayOptions(address=address),
                    trial_function=fakes.scored, show_progress=False)
print(summary.counts["done"])
"""
SPEC = """
dataset: {name: synthetic-detail, options: {size: 16}}
model: {strides: [2, 2], width: 8}
training: {epochs: 1}
vary: {op: [conv, max_pool]}
"""


def dead_port() -> int:
    """A loopback port where nothing listens (bound once, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ray_folder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A Ray folder of this test's (short: Ray's socket paths are bounded), whose pointer
    names a head that is gone."""
    pytest.importorskip("ray", reason="the ray extra is not installed")
    base = Path(tempfile.mkdtemp(prefix="skf-", dir="/tmp"))
    monkeypatch.setenv("RAY_TMPDIR", str(base))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    (base / "ray").mkdir()
    ray_pointer().write_text(f"127.0.0.1:{dead_port()}")
    yield base
    shutil.rmtree(base, ignore_errors=True)


def sweep(folder: Path, *address: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """The sweep's process, and the seconds from its call of ``run_sweep`` to its end (the
    system's monotonic clock is one for every process)."""
    spec = folder / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    environment = {**os.environ, **ray_cluster.LOOPBACK_ENVIRONMENT, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SWEEP, str(spec), *address],
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    end = time.monotonic()
    starts = [line for line in done.stderr.splitlines() if line.startswith("sweep starts at ")]
    assert starts, done.stderr
    return done, end - float(starts[0].rsplit(" ", 1)[1])


def test_no_address_and_a_dead_pointer_runs_on_a_ray_the_sweep_starts(ray_folder: Path) -> None:
    done, _ = sweep(ray_folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "2"
    notice = [line for line in done.stderr.splitlines() if "Ray's pointer" in line]
    assert len(notice) == 1 and "nothing answers" in notice[0]
    assert "running on a Ray started for this sweep" in notice[0]


def test_address_auto_and_a_dead_pointer_is_one_line_in_seconds(ray_folder: Path) -> None:
    done, seconds = sweep(ray_folder, "auto")
    assert done.returncode != 0 and seconds < 30  # the bound on reaching a cluster
    assert "--address auto: the last cluster started here" in done.stderr
    assert "does not answer (Connection refused)" in done.stderr


def test_a_live_pointer_is_used(ray_folder: Path, ray_address: str) -> None:
    ray_pointer().write_text(ray_address)
    assert resolve_address(None) == (ray_address, None)
    assert resolve_address("auto") == (ray_address, None)


def test_ray_address_in_the_environment_is_checked_like_a_given_one(
    ray_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{dead_port()}")
    with pytest.raises(Exception, match="nothing answers there"):
        resolve_address(None, timeout=2)


HEAD_KILLED_DRIVER = """
import sys
from stridekit.errors import StrideError
from stridekit.experiments.ray_runner import RayOptions
from stridekit.experiments.sweep import run_sweep
from tests.experiments.ray_fakes import FaultyTrial

spec, address, folder = sys.argv[1:]
trial = FaultyTrial(folder, {"max_pool": "sleeps", "avg_pool": "sleeps"})
try:
    run_sweep(spec, backend="ray", ray=RayOptions(address=address), trial_function=trial,
              show_progress=False)
except StrideError as error:
    print(f"stridekit: error: {error}", file=sys.stderr)
    sys.exit(2)
"""


@pytest.mark.soak  # two Ray heads of its own: about a minute
def test_a_head_killed_during_the_sweep_stops_it_and_a_new_head_resumes(
    tmp_path: Path, ray_address: str
) -> None:
    spec = tmp_path / "fake.yaml"
    spec.write_text(textwrap.dedent(SPEC).replace("[conv, max_pool]", "[conv, max_pool, avg_pool]"))
    environment = {**os.environ, **ray_cluster.LOOPBACK_ENVIRONMENT, "PYTHONPATH": str(ROOT)}
    cluster = ray_cluster.start()
    try:
        driver = subprocess.Popen(
            [sys.executable, "-c", HEAD_KILLED_DRIVER, str(spec), cluster.address, str(tmp_path)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while sum(len(starts(tmp_path, op, 0)) for op in ("max_pool", "avg_pool")) < 2:
            assert time.monotonic() < deadline and driver.poll() is None, "no trial started"
            time.sleep(0.1)
        for pid in ray_cluster._session_members(cluster.pid):  # the head, killed outright
            os.kill(pid, signal.SIGKILL)
        start = time.monotonic()
        _, err = driver.communicate(timeout=90)
        seconds = time.monotonic() - start
    finally:
        ray_cluster.stop(cluster)
    assert driver.returncode == 2, err
    assert f"the Ray head at {cluster.address} stopped answering" in err
    assert seconds < 45  # Ray alone would end the process after a minute, in silence
    with Store.open(tmp_path / "fake.db", create=False) as store:
        states = sorted((r.status.value, r.config["model"]["op"]) for r in store.trials())
    assert states == [("done", "conv"), ("pending", "avg_pool"), ("pending", "max_pool")]
    (tmp_path / "fast").write_text("")
    trial = FaultyTrial(str(tmp_path), {"max_pool": "sleeps", "avg_pool": "sleeps"})
    summary = run_sweep(  # on another head: the session's cluster
        spec,
        backend="ray",
        ray=RayOptions(address=ray_address),
        trial_function=trial,
        show_progress=False,
    )
    assert summary.ran == 2 and summary.counts["done"] == 3
