"""A real Ray cluster for the tests: ``ray start --head --block`` on 127.0.0.1, 2 CPUs.

One cluster serves a whole test session, even under pytest-xdist: the first worker
process that asks starts it and writes its address beside the session's temporary
folders, the others join, and the last one to leave stops it (a count under an flock).

Ray normally replaces 127.0.0.1 by the machine's network address, so that other nodes
can reach it; ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` is Ray's switch for a cluster of
one machine, which keeps every address (the head's, the raylet's, the driver's) on the
loopback interface. The driver (the test process) needs it too, before ``import ray``.
``RAY_AUTH_MODE=disabled``: recent Rays turn token authentication on by themselves as
soon as a token file exists in ``~/.ray`` (any local ``ray.init()`` writes one), and a
cluster only this machine's loopback can reach needs none.

The cluster is stopped by the process that started it: SIGTERM to ``ray start --block``
(which drains and stops the processes it started), then SIGKILL to whatever of its
session is still alive. Nothing else on the machine is touched (no ``ray stop``, which
would stop every Ray cluster of the user).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"
LOOPBACK_ENVIRONMENT = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}
CPUS = 2
START_TIMEOUT_S = 90.0


def ray_available() -> str | None:
    """None when Ray can be imported here, else why not (the reason a skip prints)."""
    try:
        import ray  # noqa: F401
    except ImportError as error:
        return f"Ray is not installed ({error}); `pip install 'stridekit[ray]'` runs these tests"
    return None


def keep_on_loopback() -> None:
    """Make this process's Ray (the driver) use 127.0.0.1, even if Ray is imported already."""
    os.environ.update(LOOPBACK_ENVIRONMENT)
    if "ray" in sys.modules:  # the constant is read when ray is imported
        import ray._private.ray_constants as constants

        constants.ENABLE_RAY_CLUSTER = False


def _python_path() -> str:
    """This checkout first: the workers import stridekit and the tests' trial functions."""
    root = str(Path(__file__).resolve().parents[2])
    return os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Cluster:
    """A running head node: its address and the ``ray start --block`` process."""

    address: str
    pid: int
    temp_dir: str


def start(cpus: int = CPUS) -> Cluster:
    """Start a head node with ``cpus`` CPUs, no GPUs, a small object store; wait for it."""
    temp_dir = tempfile.mkdtemp(prefix="skray-", dir="/tmp")  # short: Ray's socket paths
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "ray.scripts.scripts",
        "start",
        "--head",
        "--block",
        f"--node-ip-address={LOOPBACK}",
        f"--port={port}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--num-cpus={cpus}",
        "--num-gpus=0",
        "--object-store-memory=100000000",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
    ]
    log = Path(temp_dir) / "ray-start.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **LOOPBACK_ENVIRONMENT, "PYTHONPATH": _python_path()},
            start_new_session=True,  # its own session: every Ray process it starts is in it
        )
    cluster = Cluster(f"{LOOPBACK}:{port}", process.pid, temp_dir)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if "Ray runtime started" in log.read_text(errors="replace"):
            return cluster
        if process.poll() is not None:
            break
        time.sleep(0.2)
    text = log.read_text(errors="replace")
    stop(cluster)
    raise RuntimeError(f"`ray start --head` did not start:\n{text[-3000:]}")


def _session_members(session: int) -> list[int]:
    """The live processes (zombies left out) whose session id is ``session``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # /proc/PID/stat: "pid (name) state ppid pgrp session ...", name may hold spaces
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == session:
            members.append(int(entry.name))
    return members


def stop(cluster: Cluster, timeout: float = 40.0) -> None:
    """SIGTERM to the head's ``ray start``, then SIGKILL to its session's leftovers."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(cluster.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _session_members(cluster.pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(cluster.pid, os.WNOHANG)  # reap it when this process started it
        time.sleep(0.2)
    for pid in _session_members(cluster.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(cluster.pid, 0)
    shutil.rmtree(cluster.temp_dir, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def shared_cluster(folder: Path) -> Iterator[Cluster]:
    """The session's cluster, shared by every process that uses ``folder``."""
    state, lock = folder / "ray-cluster.json", folder / "ray-cluster.lock"
    with _locked(lock):
        if state.exists():
            data = json.loads(state.read_text())
            cluster, users = Cluster(**data["cluster"]), data["users"]
        else:
            cluster, users = start(), 0
        state.write_text(json.dumps({"cluster": cluster.__dict__, "users": users + 1}))
    try:
        yield cluster
    finally:
        with _locked(lock):
            data = json.loads(state.read_text())
            if data["users"] > 1:
                state.write_text(json.dumps({**data, "users": data["users"] - 1}))
            else:
                state.unlink()
                stop(cluster)
