"""A dead Ray head still named by Ray's pointer (``ray_current_cluster``, left behind by a
head that died without ``ray stop``): a sweep without ``--address`` runs on a Ray it
starts, and ``--address auto`` says in one line that the head is gone. Each run gets a
Ray folder of its own (``RAY_TMPDIR``), so the machine's own Ray is never touched."""

from __future__ import annotations

import os
import shutil
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
from tests.experiments import ray_cluster

pytestmark = pytest.mark.xdist_group("ray-faults")
ROOT = Path(__file__).resolve().parents[2]
SWEEP = """
import sys
from stridekit.experiments.ray_runner import RayOptions
from stridekit.experiments.sweep import run_sweep
from tests.experiments import fakes

address = sys.argv[2] if len(sys.argv) > 2 else None
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
    spec = folder / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    environment = {**os.environ, **ray_cluster.LOOPBACK_ENVIRONMENT, "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", SWEEP, str(spec), *address],
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    return done, time.monotonic() - start


def test_no_address_and_a_dead_pointer_runs_on_a_ray_the_sweep_starts(ray_folder: Path) -> None:
    done, _ = sweep(ray_folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "2"
    notice = [line for line in done.stderr.splitlines() if "Ray's pointer" in line]
    assert len(notice) == 1 and "nothing answers" in notice[0]
    assert "running on a Ray started for this sweep" in notice[0]


def test_address_auto_and_a_dead_pointer_is_one_line_in_seconds(ray_folder: Path) -> None:
    done, seconds = sweep(ray_folder, "auto")
    assert done.returncode != 0 and seconds < 60
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
