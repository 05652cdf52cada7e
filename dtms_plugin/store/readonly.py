"""A directory store opened for reading only, for ``dtms export`` (docs/dtms.md §8).

Why not :class:`~.core.Store`: opening it is a writer's business. It creates the folder and
tightens it to 0700, rewrites the ``Settings`` table, lets diskcache create its tables in
any SQLite file it is pointed at, and moves a file SQLite calls corrupt aside to start an
empty store: right for the engine that owns the store, wrong for a tool that only reads
one, perhaps beside a running ``dtms serve`` whose store must not move under it.

Here the database is opened through SQLite's ``mode=ro`` URI, so SQLite itself refuses any
write, and diskcache never runs: none of its settings rows is read or applied (so a planted
``sqlite_*`` or ``disk_*`` row has nothing to act on), no table is created, no folder is
created, moved or chmodded. What SQLite does for any reader of a WAL database stays: it
may create the empty ``cache.db-wal``/``cache.db-shm`` companions a writer uses as well.
Rows are decoded by the store's own :class:`~.disk.JsonDisk` and read by the store's own
methods (:class:`ReadOnlyStore` is a :class:`~.core.Store` whose cache is
:class:`_ReadOnlyCache`), so the export reads exactly what the engine would.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .core import Store
from .disk import JsonDisk
from .opening import StoreError

#: the columns of diskcache's Cache table the store's reads use
_COLUMNS = frozenset({"key", "raw", "expire_time", "mode", "filename", "value"})
_GET = (
    "SELECT mode, filename, value FROM Cache WHERE key = ? AND raw = 1"
    " AND (expire_time IS NULL OR expire_time > ?)"
)


class _ReadOnlyCache:
    """The part of ``diskcache.Cache`` the store's reads use, on a read-only connection."""

    def __init__(self, con: sqlite3.Connection, directory: Path) -> None:
        self._con = con
        self.disk = JsonDisk(str(directory))

    def _sql(self, query: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self._con.execute(query, params)

    def get(self, key: str) -> Any:
        row = self._con.execute(_GET, (key, time.time())).fetchone()
        return None if row is None else self.disk.fetch(row[0], row[1], row[2], False)

    @contextmanager
    def transact(self) -> Iterator[None]:
        yield  # a write inside fails on SQLite's read-only connection (a StoreError)

    def delete(self, key: str) -> None:
        raise sqlite3.OperationalError("the store is open for reading only")

    def close(self) -> None:
        self._con.close()


class ReadOnlyStore(Store):
    """:class:`~.core.Store`'s reads on a directory store that is never written."""

    _relists = False  # a listing rebuilt from the records is not written back

    def __init__(self, directory: str | Path, *, log: logging.Logger | None = None) -> None:
        self.directory = Path(directory).expanduser()
        self.log = log or logging.getLogger("dtms_plugin.store")
        self._max_actions = 10_000
        self._cache = _ReadOnlyCache(_connect(self.directory), self.directory)
        self.kept_aside = None
        self.opened_as = "existing"
        self._batch_thread = None
        self._engine_lock = None
        self._place = None  # never written: its folder is not watched (folder.py)
        self.damaged = {}  # unreadable rows, as the store keeps them (rows.py)
        self._rows = []

    def claim_engine(self) -> None:
        raise StoreError(f"store {self.directory}: open for reading only")


def _connect(directory: Path) -> sqlite3.Connection:
    """A read-only connection to ``directory``'s cache.db, checked to be a DTMS store;
    one StoreError line naming the folder otherwise (nothing is moved or created)."""
    db = directory / "cache.db"
    if not db.is_file():
        raise StoreError(f"no DTMS store in {directory} (no cache.db)")
    uri = f"file:{quote(str(db.resolve()))}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True, timeout=5.0, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the store in {directory}: {exc}") from None
    try:
        columns = {row[1] for row in con.execute("PRAGMA table_info(Cache)")}
    except sqlite3.Error as exc:
        con.close()
        raise StoreError(f"cannot read the store in {directory}: {exc}") from None
    if _COLUMNS - columns:
        con.close()
        raise StoreError(f"{db} is an SQLite database but not a DTMS store (no Cache table)")
    return con
