"""The sweep stores the experiments tab may open: the ``*.db`` files directly inside one
folder (``stridekit serve --stores DIR``). A request names a store by its file name, which
must be one the listing holds, so no request reaches any other path.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "runs.db").write_bytes(b"")
>>> stores = Stores(folder)
>>> stores.names(), stores.path("runs.db").name
(['runs.db'], 'runs.db')
>>> stores.path("../etc/passwd")
Traceback (most recent call last):
...
stridekit.errors.StoreError: no store named '../etc/passwd' in the stores folder; stores: runs.db
"""

from __future__ import annotations

from pathlib import Path

from stridekit.errors import StoreError

SUFFIXES = (".db", ".sqlite", ".sqlite3")
MAX_LISTED = 500


class Stores:
    """The stores in ``folder`` (None: the tab has none to show)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder.resolve() if folder is not None else None

    def names(self) -> list[str]:
        if self.folder is None or not self.folder.is_dir():
            return []
        found = sorted(
            p.name for p in self.folder.iterdir() if p.suffix in SUFFIXES and p.is_file()
        )
        return found[:MAX_LISTED]

    def path(self, name: str) -> Path:
        """The path of the store called ``name``; a `StoreError` unless it is listed."""
        names = self.names()
        if name not in names:
            if self.folder is None:
                raise StoreError(
                    "this server has no stores folder; start it with stridekit serve --stores DIR"
                )
            listed = ", ".join(names) or "none"
            raise StoreError(f"no store named {name!r} in the stores folder; stores: {listed}")
        assert self.folder is not None
        return self.folder / name
