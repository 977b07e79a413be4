"""The results store: one SQLite file, one row per trial, the only source of truth of a sweep.

A trial is one configuration and one seed; its ``key`` is the hash of both, and the key is
the table's primary key, so no trial can be stored twice. The driver of a sweep is the one
writer; every status change is its own transaction, committed before the next step::

    pending --start--> running --finish--> done
       ^                  +---fail----> failed --start (--retry-failed)--> running
       +-----release------+   (Ctrl-C: its run was cancelled)
                          +---(SIGKILL: stays running; the next run re-runs it)

A SIGKILL at any moment therefore loses at most the trials that were running: finished
rows are never written again (``finish`` only moves a ``running`` row), and resuming runs
the rows that are not ``done``. The file is in WAL mode with ``synchronous=FULL``: a
commit is on disk before the driver moves on, and readers (``stridekit results``, a
notebook) never block the writer.

Schema (``PRAGMA user_version`` = `SCHEMA_VERSION`), readable with ``sqlite3`` or pandas
(``pandas.read_sql("select * from trials", sqlite3.connect("runs.db"))``):

``trials``, one row per (configuration, seed):

=============  =====================================================================
column         meaning
=============  =====================================================================
key            sha256 of the canonical JSON of the configuration and the seed (text)
config_key     sha256 of the configuration alone: the rows of one config's seeds
config         the full trial configuration (JSON object)
factors        the varied factors and the values this trial takes (JSON object)
seed           the random seed (integer)
status         ``pending``, ``running``, ``done`` or ``failed``
position       order of the trial in its sweep (integer)
in_spec        1 when the last spec run on this store plans the trial, 0 if orphaned
attempts       how many times the trial was started
metrics        final metrics, e.g. ``{"accuracy": 0.98, "flops": 1.2e6}`` (JSON or NULL)
analysis       the model's analysis: FLOPs, params, output stride, RF, findings (JSON)
timings        seconds spent per phase (JSON)
environment    versions and device (JSON)
history        per-epoch metrics seen by successive halving (JSON list)
error          why the trial failed (text, NULL unless failed)
created_at     when the row was planned (ISO 8601, UTC)
started_at     when the last attempt started
finished_at    when the trial finished or failed
=============  =====================================================================

``specs``: every spec run on the store (``id``, ``name``, ``text``, ``hash``,
``applied_at``); ``meta``: ``schema_version``, ``created_at``, ``stridekit_version``.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "runs.db"
>>> store = Store.open(path)
>>> changes = store.plan([PlannedTrial("k1", "c1", {"lr": 0.1}, {"lr": 0.1}, seed=0)])
>>> changes.new
('k1',)
>>> store.start("k1")
>>> store.finish("k1", metrics={"accuracy": 0.5})
>>> [(r.key, str(r.status), r.metrics) for r in store.trials()]
[('k1', 'done', {'accuracy': 0.5})]
>>> store.close()
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from stridekit.errors import StoreError, StoreWriteError
from stridekit.experiments.store_faults import identity, refused_write, refused_write_message
from stridekit.version import __version__

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS specs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    text TEXT NOT NULL,
    hash TEXT NOT NULL,
    applied_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    key TEXT PRIMARY KEY,
    config_key TEXT NOT NULL,
    config TEXT NOT NULL,
    factors TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    position INTEGER NOT NULL,
    in_spec INTEGER NOT NULL DEFAULT 1,
    attempts INTEGER NOT NULL DEFAULT 0,
    metrics TEXT,
    analysis TEXT,
    timings TEXT,
    environment TEXT,
    history TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS trials_status ON trials (status);
CREATE INDEX IF NOT EXISTS trials_config ON trials (config_key);
"""


class Status(StrEnum):
    """Where a trial stands."""

    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


def canonical_json(value: Any) -> str:
    """The one JSON text of a value: sorted keys, no spaces (what keys are hashed from).

    >>> canonical_json({"b": [1, 2], "a": None})
    '{"a":null,"b":[1,2]}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of a configuration's canonical JSON: the ``config_key`` of its seeds' rows.

    >>> config_hash({"lr": 0.1}) == hashlib.sha256(b'{"lr":0.1}').hexdigest()
    True
    """
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


@dataclass(frozen=True)
class PlannedTrial:
    """A trial a search wants run: its key, its configuration's key, the configuration
    (JSON-able), the varied factors and their values, and the seed."""

    key: str
    config_key: str
    config: dict[str, Any]
    factors: dict[str, Any]
    seed: int


@dataclass(frozen=True)
class TrialRecord:
    """One row of the ``trials`` table, JSON columns decoded."""

    key: str
    config_key: str
    config: dict[str, Any]
    factors: dict[str, Any]
    seed: int
    status: Status
    position: int
    in_spec: bool
    attempts: int
    metrics: dict[str, Any] | None
    analysis: dict[str, Any] | None
    timings: dict[str, Any] | None
    environment: dict[str, Any] | None
    history: list[dict[str, Any]] | None
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["status"] = str(self.status)
        return data


@dataclass(frozen=True)
class PlanChanges:
    """What applying a spec changed: trials ``new`` to the store, trials already
    ``stored``, and stored trials the spec no longer plans (``orphaned``, kept)."""

    new: tuple[str, ...] = ()
    stored: tuple[str, ...] = ()
    orphaned: tuple[str, ...] = field(default=())


_JSON_COLUMNS = ("config", "factors", "metrics", "analysis", "timings", "environment", "history")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


class Store:
    """A sweep's SQLite store; `open` creates or checks the file, methods are transitions.

    Use it as a context manager, or call `close`. Only the driver of a sweep writes.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._lock: Any = None  # the writer's lock file, see `claim`
        self._identity = identity(path)  # which file it is: see `_check_in_place`

    # -- opening ---------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> Store:
        """Open the store at ``path``, creating it (and its schema) when ``create``.

        Raises `StoreError` when the file is missing (``create=False``), is not SQLite,
        or holds a schema this version of stridekit does not know.
        """
        path = Path(path)
        if not create and not path.is_file():
            raise StoreError(f"{path}: no such store; run `stridekit sweep SPEC --store {path}`")
        if path.is_dir():
            raise StoreError(f"{path} is a directory; give a file name such as runs.db")
        if create:  # `--store runs/x.db`: the folder is made as an output file's would be
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(f"{path}: cannot create its folder ({error.strerror})") from None
        try:
            # autocommit mode: every transition below opens and commits its own transaction
            connection = sqlite3.connect(path, isolation_level=None, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.OperationalError as error:
            if refused_write(error):
                raise StoreWriteError(refused_write_message(path, error)) from None
            raise StoreError(f"{path} is not a stridekit store ({error})") from None
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path} is not a stridekit store ({error})") from None
        store = cls(connection, path)
        if version == 0:
            tables = connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if tables.fetchall():
                connection.close()
                raise StoreError(f"{path} is an SQLite file but not a stridekit store")
            if not create:
                connection.close()
                raise StoreError(f"{path} is an empty file, not a stridekit store")
            store._create()
        elif version != SCHEMA_VERSION:
            connection.close()
            raise StoreError(
                f"{path} has store schema {version}; this stridekit reads {SCHEMA_VERSION}"
            )
        return store

    def _create(self) -> None:
        with self._transaction() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("created_at", _now()),
                    ("stridekit_version", __version__),
                ],
            )
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction; a write the disk refuses is a `StoreWriteError`, and SQLite has
        rolled it back (the store holds what the last committed transition left)."""
        self._check_in_place()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # already rolled back by SQLite
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            if refused_write(error):
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise StoreWriteError(refused_write_message(self.path, error)) from None
            raise

    def _check_in_place(self) -> None:
        """Refuse to write on when the store's file was deleted or replaced while it was
        open (SQLite would go on writing to a file no one can open again): a deleted store
        is put back from this connection, which still reads it; a replaced one is saved
        beside the newcomer as ``PATH.recovered``."""
        now = identity(self.path)
        if now == self._identity:
            return
        target = self.path if now is None else self.path.with_name(self.path.name + ".recovered")
        with contextlib.closing(sqlite3.connect(target)) as copy:
            self._db.backup(copy)
        self._identity = identity(self.path)
        if now is None:
            raise StoreError(
                f"the store {self.path} was deleted while the sweep ran; it is back, with "
                "every trial finished so far: run the same command again to resume"
            )
        raise StoreError(
            f"the store {self.path} was replaced by another file while the sweep ran; the "
            f"sweep's store, with every trial finished so far, is saved as {target}"
        )

    def claim(self) -> None:
        """Become the store's one writer, or fail at once if a running sweep already is.

        An exclusive ``flock`` on ``PATH.lock``, held until `close`: the kernel drops it
        when the process dies, so a SIGKILLed sweep never leaves the store locked.
        """
        import fcntl

        lock = open(self.path.with_name(self.path.name + ".lock"), "a+")  # noqa: SIM115
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise StoreError(
                f"another sweep is running on {self.path}; wait for it, or give --store"
            ) from None
        self._lock = lock

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transitions -----------------------------------------------------------------
    def record_spec(self, name: str, text: str) -> None:
        """Remember the text of a spec run on this store."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO specs (name, text, hash, applied_at) VALUES (?, ?, ?, ?)",
                (name, text, digest, _now()),
            )

    def plan(self, trials: Sequence[PlannedTrial], *, complete: bool = True) -> PlanChanges:
        """Add the trials not yet stored as ``pending``, in one transaction.

        With ``complete`` the trials are the whole plan of the spec: stored trials outside
        it are marked orphaned (``in_spec = 0``, kept, never run); without it (an adaptive
        search adding trials as it asks) nothing is marked.
        """
        now = _now()
        with self._transaction() as db:
            stored = {row[0] for row in db.execute("SELECT key FROM trials")}
            (position,) = db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM trials").fetchone()
            new: list[str] = []
            seen: set[str] = set()
            for trial in trials:
                if trial.key in seen:
                    continue
                seen.add(trial.key)
                if trial.key in stored:
                    db.execute("UPDATE trials SET in_spec = 1 WHERE key = ?", (trial.key,))
                    continue
                db.execute(
                    "INSERT INTO trials (key, config_key, config, factors, seed, status, "
                    "position, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                    (
                        trial.key,
                        trial.config_key,
                        json.dumps(trial.config, sort_keys=True),
                        json.dumps(trial.factors, sort_keys=True),
                        trial.seed,
                        position,
                        now,
                    ),
                )
                position += 1
                new.append(trial.key)
            orphaned: list[str] = []
            if complete:
                orphaned = sorted(stored - seen)
                db.executemany(
                    "UPDATE trials SET in_spec = 0 WHERE key = ?", [(k,) for k in orphaned]
                )
        return PlanChanges(tuple(new), tuple(k for k in seen if k in stored), tuple(orphaned))

    def start(self, key: str) -> None:
        """Move a trial that is not done to ``running`` (one more attempt)."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE trials SET status = 'running', started_at = ?, attempts = attempts + 1, "
                "error = NULL WHERE key = ? AND status != 'done'",
                (_now(), key),
            )
            if cursor.rowcount != 1:
                raise StoreError(f"trial {key[:12]} is done or not in {self.path}")

    def finish(
        self,
        key: str,
        *,
        metrics: dict[str, Any],
        analysis: dict[str, Any] | None = None,
        timings: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        history: list[dict[str, Any]] | None = None,
    ) -> None:
        """Store a running trial's results and mark it ``done``, atomically."""
        self._end(
            key,
            "done",
            timings,
            environment,
            history,
            metrics=_dumps(metrics),
            analysis=_dumps(analysis),
            error=None,
        )

    def fail(
        self,
        key: str,
        error: str,
        *,
        timings: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        history: list[dict[str, Any]] | None = None,
    ) -> None:
        """Mark a running trial ``failed`` with the reason, atomically."""
        self._end(key, "failed", timings, environment, history, error=error)

    def _end(
        self,
        key: str,
        status: str,
        timings: dict[str, Any] | None,
        environment: dict[str, Any] | None,
        history: list[dict[str, Any]] | None,
        **columns: str | None,
    ) -> None:
        """End a running trial in one transaction: its ``status``, what every end records
        (timings, environment, per-epoch history), its other ``columns`` and
        ``finished_at``; a trial that is not running is a `StoreError`. (Column names are
        this module's own words, never the caller's data: values go in as parameters.)"""
        columns |= {
            "status": status,
            "timings": _dumps(timings),
            "environment": _dumps(environment),
            "history": _dumps(history),
        }
        assignments = ", ".join(f"{name} = ?" for name in columns)
        with self._transaction() as db:
            cursor = db.execute(
                f"UPDATE trials SET {assignments}, finished_at = ? "
                "WHERE key = ? AND status = 'running'",
                (*columns.values(), _now(), key),
            )
            if cursor.rowcount != 1:
                raise StoreError(f"trial {key[:12]} is not running in {self.path}")

    def release(self, keys: Iterable[str]) -> int:
        """Put running trials back to ``pending`` (their runs were cancelled: Ctrl-C), in one
        transaction; rows no longer running are left alone. Returns how many moved.

        >>> import tempfile, pathlib
        >>> with Store.open(pathlib.Path(tempfile.mkdtemp()) / "s.db") as store:
        ...     _ = store.plan([PlannedTrial(k, "c", {}, {}, 0) for k in ("a", "b")])
        ...     store.start("a"); store.start("b"); store.finish("b", metrics={})
        ...     store.release(["a", "b"]), [str(r.status) for r in store.trials()]
        (1, ['pending', 'done'])
        """
        chosen = list(keys)
        if not chosen:
            return 0
        with self._transaction() as db:
            cursor = db.execute(
                f"UPDATE trials SET status = 'pending' WHERE status = 'running' "
                f"AND key IN ({','.join('?' * len(chosen))})",
                chosen,
            )
            return int(cursor.rowcount)

    # -- reading ---------------------------------------------------------------------
    def trials(
        self,
        statuses: Iterable[Status | str] | None = None,
        *,
        keys: Iterable[str] | None = None,
        include_orphaned: bool = True,
    ) -> list[TrialRecord]:
        """The stored trials in sweep order, optionally only some statuses or keys."""
        query = "SELECT * FROM trials"
        clauses: list[str] = []
        values: list[Any] = []
        if statuses is not None:
            wanted = [str(Status(s)) for s in statuses]
            clauses.append(f"status IN ({','.join('?' * len(wanted))})")
            values += wanted
        if keys is not None:
            chosen = list(keys)
            clauses.append(f"key IN ({','.join('?' * len(chosen))})")
            values += chosen
        if not include_orphaned:
            clauses.append("in_spec = 1")
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        cursor = self._db.execute(query + " ORDER BY position", values)
        names = [d[0] for d in cursor.description]
        return [_record(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]

    def counts(self) -> dict[str, int]:
        """How many trials have each status (every status listed, orphans included).

        >>> import tempfile, pathlib
        >>> with Store.open(pathlib.Path(tempfile.mkdtemp()) / "s.db") as store:
        ...     store.counts()
        {'pending': 0, 'running': 0, 'done': 0, 'failed': 0}
        """
        found = dict(self._db.execute("SELECT status, COUNT(*) FROM trials GROUP BY status"))
        return {str(s): int(found.get(str(s), 0)) for s in Status}

    def specs(self) -> list[dict[str, Any]]:
        """The specs run on this store, oldest first."""
        cursor = self._db.execute("SELECT id, name, text, hash, applied_at FROM specs ORDER BY id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _record(row: dict[str, Any]) -> TrialRecord:
    for name in _JSON_COLUMNS:
        if row[name] is not None:
            row[name] = json.loads(row[name])
    row["status"] = Status(row["status"])
    row["in_spec"] = bool(row["in_spec"])
    return TrialRecord(**row)
