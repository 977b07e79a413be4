"""Faults under a sweep's store, injected for real: a full file system (a small tmpfs), a
read-only folder. Each ends in one line, and a resume once the cause is gone completes
with nothing lost."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from stridekit.cli import main
from stridekit.errors import StoreError, StoreWriteError
from stridekit.experiments.store import Status, Store
from stridekit.experiments.sweep import run_sweep
from tests.experiments import fakes

SPEC = """
dataset: {name: synthetic-detail, options: {size: 16}}
model: {strides: [2, 2], width: 8}
training: {epochs: 1}
seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
vary: {op: [conv, max_pool, avg_pool, blur_pool]}
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs (we are root here, as in CI), unmounted after the test: room for
    the store and its write-ahead log (up to 4 MiB before SQLite checkpoints it)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)])
    assert done.returncode == 0, "mounting a tmpfs needs root (make test runs as root)"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(folder: Path, leave: int) -> Path:
    """Fill ``folder``'s file system but for about ``leave`` bytes."""
    filler = folder / "filler"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    filler.write_bytes(b"\0" * max(0, free - leave))
    return filler


def states(store: Path) -> dict[str, int]:
    with Store.open(store, create=False) as opened:
        return opened.counts()


def test_a_full_disk_stops_the_sweep_in_one_line_and_a_resume_completes(
    small_disk: Path, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    store = small_disk / "runs.db"
    with Store.open(store):  # the schema fits; then the disk is all but full
        pass
    filler = fill(small_disk, leave=320 * 1024)
    with pytest.raises(StoreWriteError) as raised:
        run_sweep(spec, store_path=store, trial_function=fakes.scored, show_progress=False)
    message = str(raised.value)
    assert f"cannot write the store {store}: database or disk is full" in message
    assert "MiB free there" in message and "run the same command again" in message
    with sqlite3.connect(store) as db:  # SQLite kept its promise
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    before = states(store)
    assert before.get(Status.done.value, 0) > 0, before  # it stopped half-way
    filler.unlink()  # room again: the same command resumes
    summary = run_sweep(spec, store_path=store, trial_function=fakes.scored, show_progress=False)
    after = states(store)
    assert after[Status.done.value] == 64 and sum(after.values()) == 64
    assert summary.ran == 64 - before.get(Status.done.value, 0)


def test_the_cli_says_it_in_one_line_with_exit_2(
    small_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    fill(small_disk, leave=0)
    code = main(["sweep", str(spec), "--store", str(small_disk / "runs.db"), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stridekit: error: cannot write the store")


def test_a_store_on_a_read_only_file_system_is_one_line_and_kept(
    small_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC).replace("blur_pool", "spd"))
    store = small_disk / "runs.db"
    run_sweep(spec, store_path=store, trial_function=fakes.scored, show_progress=False)
    spec.write_text(textwrap.dedent(SPEC))  # one more configuration to run
    before = store.read_bytes()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    capsys.readouterr()
    code = main(["sweep", str(spec), "--store", str(store)])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"stridekit: error: cannot write the store {store}"
    )
    assert store.read_bytes() == before


def deleting(store: Path, after: int) -> object:
    """A stand-in trial that deletes the store (its -wal and -shm too, as `rm runs.db*`
    does) once ``after`` trials have run."""
    calls = [0]

    def trial(config: object, seed: int, **options: object) -> object:
        calls[0] += 1
        if calls[0] == after + 1:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{store}{suffix}").unlink(missing_ok=True)
        return fakes.scored(config, seed, **options)  # type: ignore[arg-type]

    return trial


def test_a_store_deleted_while_the_sweep_runs_is_put_back_and_resumes(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    store = tmp_path / "runs.db"
    with pytest.raises(StoreError, match="was deleted while the sweep ran; it is back"):
        run_sweep(spec, store_path=store, trial_function=deleting(store, 5), show_progress=False)  # type: ignore[arg-type]
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert states(store)[Status.done.value] == 5  # the five finished before it went
    summary = run_sweep(spec, store_path=store, trial_function=fakes.scored, show_progress=False)
    assert summary.ran == 64 - 5 and states(store)[Status.done.value] == 64


def test_a_store_replaced_while_the_sweep_runs_is_saved_beside_it(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    store = tmp_path / "runs.db"

    def replacing(config: object, seed: int, **options: object) -> object:
        if not (tmp_path / "replaced").exists():
            (tmp_path / "replaced").write_text("")
            store.unlink()
            store.write_bytes(b"someone else's file")
        return fakes.scored(config, seed, **options)  # type: ignore[arg-type]

    with pytest.raises(StoreError, match=r"replaced by another file .* saved as .*\.recovered"):
        run_sweep(spec, store_path=store, trial_function=replacing, show_progress=False)  # type: ignore[arg-type]
    assert store.read_bytes() == b"someone else's file"  # the user's file is left alone
    with Store.open(tmp_path / "runs.db.recovered", create=False) as recovered:
        assert recovered.counts()[Status.running.value] == 1  # the one it was running
