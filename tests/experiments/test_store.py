"""The store: transitions, resume bookkeeping, the documented schema, and crash safety."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from stridekit.errors import StoreError
from stridekit.experiments import store as store_module
from stridekit.experiments.store import PlannedTrial, Status, Store, canonical_json, config_hash


def planned(n: int, seeds: tuple[int, ...] = (0,)) -> list[PlannedTrial]:
    return [
        PlannedTrial(f"k{i}-{s}", f"c{i}", {"x": i}, {"x": i}, s) for i in range(n) for s in seeds
    ]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "runs.db")


def test_life_of_a_trial(store: Store) -> None:
    store.plan(planned(2))
    store.start("k0-0")
    store.finish("k0-0", metrics={"accuracy": 0.9}, analysis={"flops": 10}, history=[])
    store.start("k1-0")
    store.fail("k1-0", "loss is nan")
    rows = {r.key: r for r in store.trials()}
    assert (rows["k0-0"].status, rows["k0-0"].metrics, rows["k0-0"].analysis) == (
        Status.done,
        {"accuracy": 0.9},
        {"flops": 10},
    )
    assert (rows["k1-0"].status, rows["k1-0"].error, rows["k1-0"].attempts) == (
        Status.failed,
        "loss is nan",
        1,
    )
    store.start("k1-0")  # --retry-failed
    assert store.trials(keys=["k1-0"])[0].attempts == 2
    assert store.counts() == {"pending": 0, "running": 1, "done": 1, "failed": 0}


@pytest.mark.parametrize(
    ("action", "status"),
    [("finish", "pending"), ("fail", "pending"), ("start", "done"), ("finish", "done")],
)
def test_transitions_only_from_their_states(store: Store, action: str, status: str) -> None:
    store.plan(planned(1))
    if status == "done":
        store.start("k0-0")
        store.finish("k0-0", metrics={"accuracy": 0.5})
    with pytest.raises(StoreError):
        if action == "finish":
            store.finish("k0-0", metrics={"accuracy": 0.1})
        elif action == "fail":
            store.fail("k0-0", "no")
        else:
            store.start("k0-0")
    if status == "done":  # a finished trial is never written again
        assert store.trials()[0].metrics == {"accuracy": 0.5}


def test_plan_is_idempotent_and_reports_changes(store: Store) -> None:
    first = store.plan(planned(3))
    again = store.plan(planned(3))
    assert (len(first.new), len(again.new), len(again.stored)) == (3, 0, 3)
    changed = store.plan(planned(4)[1:])  # drop config 0, add config 3
    assert (changed.new, changed.orphaned) == (("k3-0",), ("k0-0",))
    assert [r.key for r in store.trials(include_orphaned=False)] == ["k1-0", "k2-0", "k3-0"]
    assert len(store.trials()) == 4  # orphans are kept
    store.plan(planned(4))  # back in the spec
    assert len(store.trials(include_orphaned=False)) == 4
    assert [r.position for r in store.trials()] == [0, 1, 2, 3]


def test_one_writer_at_a_time(store: Store) -> None:
    store.claim()
    with Store.open(store.path) as other, pytest.raises(StoreError, match="another sweep"):
        other.claim()
    store.close()  # the lock goes with the writer
    with Store.open(store.path) as other:
        other.claim()


def test_wal_mode_and_readable_by_sqlite3(store: Store) -> None:
    store.plan(planned(1))
    with sqlite3.connect(store.path) as reader:
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert reader.execute("SELECT key, status FROM trials").fetchall() == [("k0-0", "pending")]


def test_documented_schema_is_the_schema(store: Store) -> None:
    """The column table in the module docstring lists exactly the trials table's columns."""
    doc = store_module.__doc__ or ""
    table = doc.split("``trials``", 1)[1].split("``specs``", 1)[0]
    documented = re.findall(r"^([a-z_]+)\s{2,}\S", table, flags=re.MULTILINE)
    with sqlite3.connect(store.path) as reader:
        columns = [row[1] for row in reader.execute("PRAGMA table_info(trials)")]
    assert documented[0] == "column"  # the header row
    assert documented[1:] == columns


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"hello, not a database" * 100, "not a stridekit store"), (None, "no such store")],
)
def test_not_a_store(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "x.db"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(StoreError, match=message):
        Store.open(path, create=False)


def test_foreign_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a stridekit store"):
        Store.open(path)


def test_hashes_are_canonical() -> None:
    assert canonical_json({"b": 1, "a": [1.5, None]}) == '{"a":[1.5,null],"b":1}'
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})


WRITER = textwrap.dedent(
    """
    import sys
    from stridekit.experiments.store import PlannedTrial, Store
    store = Store.open(sys.argv[1])
    trials = [PlannedTrial(f"k{i}", f"c{i}", {"x": i}, {"x": i}, 0) for i in range(100000)]
    store.plan(trials[:2000])
    print("planned", flush=True)
    for trial in trials[:2000]:
        store.start(trial.key)
        store.finish(trial.key, metrics={"accuracy": trial.config["x"] / 2000})
    """
)


def test_sigkill_mid_write_leaves_a_consistent_store(tmp_path: Path) -> None:
    """Kill a writer at an arbitrary moment: every row is whole, done rows keep metrics."""
    path = tmp_path / "runs.db"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "planned"
    with sqlite3.connect(path) as reader:  # WAL: a reader never blocks the writer
        while reader.execute("SELECT COUNT(*) FROM trials WHERE status='done'").fetchone()[0] < 20:
            time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    with sqlite3.connect(path) as reader:
        assert reader.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Store.open(path) as store:
        rows = store.trials()
        counts = store.counts()
    assert len(rows) == 2000 and counts["running"] <= 1
    assert 0 < counts["done"] < 2000, counts  # killed mid-way, not before or after
    for row in rows:
        if row.status is Status.done:
            assert row.metrics == {"accuracy": row.config["x"] / 2000}
        else:
            assert row.metrics is None


def test_a_new_store_gets_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "2024" / "x.db"
    with Store.open(path) as store:
        store.claim()
    assert path.is_file()
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="cannot create its folder"):
        Store.open(tmp_path / "file" / "x.db")
