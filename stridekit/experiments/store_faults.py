"""What the file system can do to a sweep's store, told apart from what SQLite itself
reports: a write refused (full, read-only, an I/O error) and a file deleted or replaced
under an open store (`stridekit.experiments.store.Store` acts on both)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path


def identity(path: Path) -> tuple[int, int] | None:
    """The file at ``path`` (device, inode), or None when there is none."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


# SQLite's primary result codes for a write that the file system refused
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN, _SQLITE_FULL = 8, 10, 14, 13


def refused_write(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (
        _SQLITE_READONLY,
        _SQLITE_IOERR,
        _SQLITE_CANTOPEN,
        _SQLITE_FULL,
    )


def refused_write_message(path: Path, error: sqlite3.OperationalError) -> str:
    """What to tell a user whose store could not be written: the store, the cause, the
    free space where it lies, and how to go on.

    >>> error = sqlite3.OperationalError("database or disk is full")
    >>> print(refused_write_message(Path("/no/such/runs.db"), error))  # doctest: +ELLIPSIS
    cannot write the store /no/such/runs.db: database or disk is full (... free there); ...
    """
    folder = path.resolve().parent
    while not folder.exists() and folder != folder.parent:  # a store whose folder went
        folder = folder.parent
    try:
        free = f"{shutil.disk_usage(folder).free / 2**20:.1f} MiB free there"
    except OSError:
        free = "free space unknown"
    return (
        f"cannot write the store {path}: {error} ({free}); the trials it finished are kept "
        "and those it was running run again: make room (or make it writable) and run the "
        "same command again to resume"
    )
