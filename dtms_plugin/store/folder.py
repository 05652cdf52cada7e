"""The directory store's hold on its folder: ``engine.lock`` (one engine per folder), and
the folder deleted or moved away while a process runs on it (docs/dtms.md §8).

Why: SQLite writes through the descriptors it opened, so a store whose folder is deleted
(``rm -r``) or moved away (renamed) under a running process takes every later write,
without an error, into a ``cache.db`` that no longer has that name: lost when the process
ends, or left where nobody looks. ``engine.lock`` went with it, so a second engine could
start on the folder meanwhile, and a restart adopted the open positions with everything
since the deletion gone (states, journals, the action history), and nothing was said.

Found: the store keeps the identity (device and inode) of the ``cache.db`` it opened, and
of the ``engine.lock`` it holds, and compares them with what is at their paths before each
write transaction, and once a quiet cycle of its engine (:meth:`FolderHold.in_place`): one
or two ``os.stat``, microseconds against a commit's hundreds. A file open in this process
keeps its inode, so no other file can show it: a match says the writes reach the file a
restart opens.

Taken back, by the store of the engine that owns the folder (it holds ``engine.lock``: a
host's local engine, ``dtms serve``): the folder made again (0700), ``engine.lock`` claimed
again, and the database it still has open copied there whole (SQLite's backup, from a
connection kept on it since it was opened: any thread may be the one that notices), so
nothing is lost, the action history included; one WARNING with the counts. Refused, as a
store outage (:mod:`.outage`: one ERROR, the engine keeps its writes, sends no action and
its cycle fails, each later write trying again), when another engine holds the
``engine.lock`` there now, when a store holding rows is there (someone else's: never
overwritten; an empty one is), or when the folder cannot be made or written. A store that
owns no engine (a host on the remote strategy: its outbox and state cache) makes nothing:
it opens the store found there again (its engine's, taken back) or says once that what it
writes is lost while there is none.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import diskcache

from hookspecs import locks
from hookspecs.events import FOR_TERMINAL

from .disk import JsonDisk
from .opening import StoreError, open_cache, prepare_directory
from .outage import WriteOutage

Identity = tuple[int, int]
_GONE = "its folder was deleted or moved away under this {}"


def identity(path: str) -> Identity | None:
    """The device and inode of the file at ``path``; None when there is none. A path that
    cannot be looked at (no permission) is taken as the file's own: no writes are lost
    through a folder nobody may list, and the write itself says what fails."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return _UNKNOWN
    return st.st_dev, st.st_ino


_UNKNOWN: Identity = (-1, -1)


class Place:
    """Where a store's files are and which files it has open: the identities it
    compares, and a connection kept on its ``cache.db`` to copy it from once its name is
    gone (read once when made, so SQLite holds its write-ahead log open too; the read
    ends there, so it never holds back a checkpoint)."""

    def __init__(self, directory: Path) -> None:
        self.db = str(directory / "cache.db")
        self.lock = str(directory / "engine.lock")
        self.guard = threading.Lock()  # one thread takes the folder back
        self.db_id: Identity | None = None
        self.lock_id: Identity | None = None  # while the store holds engine.lock
        self.keeper: sqlite3.Connection | None = None
        self.said_lost = False  # a store of no engine said its writes are lost
        self.keep()

    def keep(self) -> None:
        """Remember the ``cache.db`` at the path now, and keep a connection on it."""
        self.close()
        keeper = sqlite3.connect(self.db, isolation_level=None, check_same_thread=False)
        keeper.execute("SELECT count(*) FROM sqlite_master").fetchall()
        self.keeper, self.db_id = keeper, identity(self.db)

    def intact(self) -> bool:
        """Whether the files at the paths are still the ones this store has open."""
        if identity(self.db) not in (self.db_id, _UNKNOWN):
            return False
        return self.lock_id is None or identity(self.lock) in (self.lock_id, _UNKNOWN)

    def close(self) -> None:
        if self.keeper is not None:
            self.keeper.close()
            self.keeper = None


class FolderHold:
    """Part of :class:`~.core.Store`, which sets the attributes declared here."""

    directory: Path
    log: logging.Logger
    _cache: diskcache.Cache
    _disk: type[JsonDisk]
    _timeout: float
    _lock_wait: float | None  # a write's wait once open (opening.open_cache)
    _engine_lock: Path | None  # engine.lock, while this store holds it
    _place: Place | None  # None: a store never written (readonly.py)
    outage: WriteOutage

    def claim_engine(self) -> None:
        """Hold this directory for one engine process: a second engine on it (another
        ``dtms serve``, a host's local engine) would evaluate and act on every trade a
        second time, and overwrite the first one's outcomes. A StoreError naming the
        process that holds it. A lock (:mod:`hookspecs.locks`: POSIX's record lock,
        Windows' ``msvcrt.locking``): released when this process ends or closes the store,
        however it ends (no stale lock file after a crash). Another store of this process
        shares it (a restart within a process), and the lock goes with the last of them
        to close (:func:`hookspecs.locks.hold`)."""
        if self._engine_lock is not None:
            return  # held by this store already
        path = self.directory / "engine.lock"
        try:
            other = locks.hold(path, str(os.getpid()), mode=0o600, read=32)
        except OSError as exc:
            raise StoreError(f"store {self.directory}: cannot lock {path.name}: {exc}") from None
        if other is not None:
            raise StoreError(
                f"store {self.directory}: another DTMS engine (pid {other or 'another process'}) "
                "manages these trades; two engines on one store would act on every trade twice "
                "(stop it, give each its own state_dir, share a Redis store: docs/scaling.md, "
                "or, for a host beside a dtms serve, set the host's [plugin.dtms] strategy = "
                '"remote")'
            )
        self._engine_lock = path
        if self._place is not None:
            self._place.lock_id = identity(self._place.lock)

    def _let_go(self) -> None:
        """At close: the connection kept on ``cache.db``, and engine.lock."""
        if self._place is not None:
            self._place.close()
            self._place.lock_id = None
        if self._engine_lock is not None:
            locks.release(self._engine_lock)  # the last store of it in this process lets go
            self._engine_lock = None

    def in_place(self) -> None:
        """Check that this store's files are still in its folder (before each write, and
        once a quiet cycle of its engine), and take the folder back when they are not
        (the module says how). A :class:`StoreError` (``unavailable``) when it cannot."""
        place = self._place
        if place is None or place.intact():
            return
        with place.guard:
            if place.intact():
                return  # another thread took it back
            if self._engine_lock is None:
                self._follow(place)
                return
            try:
                self._take_back(place)
            except StoreError as exc:
                self.outage.refused(self.log, str(exc))
                raise StoreError(str(exc), unavailable=True) from None

    def _take_back(self, place: Place) -> None:
        """The engine's folder made again, with its lock and its database (a copy of the
        one still open); a StoreError saying why not."""
        where = f"store {self.directory}: {_GONE.format('engine')}"
        try:
            prepare_directory(self.directory, self.log)
        except StoreError as exc:
            raise StoreError(f"{where}, and it cannot be made again: {exc}") from None
        try:
            other = locks.renew(Path(place.lock), str(os.getpid()), mode=0o600, read=32)
        except OSError as exc:
            raise StoreError(f"{where}, and engine.lock cannot be made again: {exc}") from None
        if other is not None:
            raise StoreError(
                f"{where}, and another DTMS engine (pid {other or 'another process'}) holds "
                "the one there now: this engine keeps its writes in memory and sends no action "
                "(two engines would act on every trade twice; stop one of them)"
            )
        place.lock_id = identity(place.lock)
        db_now = identity(place.db)
        if db_now in (place.db_id, _UNKNOWN):  # only engine.lock went: claimed again
            self.log.warning(
                "store %s: engine.lock was deleted while this engine ran: claimed again",
                self.directory,
                extra={FOR_TERMINAL: True},
            )
            return
        if db_now is not None and _holds_rows(place.db):
            raise StoreError(
                f"{where}, and a store holding rows is there now (left as it is): this engine "
                "keeps its writes in memory and sends no action until it is moved away (this "
                "engine's store is then made there again) or this engine is stopped"
            )
        self._copy_into(place)
        try:
            records, states, history = (self._count(p) for p in ("trade:", "state:", "action:"))
        except sqlite3.Error:  # only what the line says is missing
            records = states = history = -1
        self.log.warning(
            "%s: made again there, with everything the store held copied from the database "
            "this engine still had open (trade records %d, states %d, action history entries "
            "%d), and engine.lock claimed again: nothing was lost",
            where,
            records,
            states,
            history,
            extra={FOR_TERMINAL: True},
        )

    def _copy_into(self, place: Place) -> None:
        """The database still open (:attr:`Place.keeper`) copied whole to the folder's
        ``cache.db``, through a file of its own renamed once complete, then opened."""
        assert place.keeper is not None
        copy = f"{place.db}.taken-back-{os.getpid()}"
        try:
            for stray in (copy, f"{place.db}-wal", f"{place.db}-shm"):  # not of this copy
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(stray)
            target = sqlite3.connect(copy)
            try:
                place.keeper.backup(target)
            finally:
                target.close()
            os.replace(copy, place.db)
        except (sqlite3.Error, OSError) as exc:
            with contextlib.suppress(OSError):
                os.unlink(copy)
            raise StoreError(
                f"store {self.directory}: {_GONE.format('engine')}, and it cannot be made again "
                f"there: {exc}"
            ) from None
        self._reopen(place)

    def _reopen(self, place: Place) -> None:
        """Open the ``cache.db`` at the path now, in place of the one whose name is gone."""
        cache, _ = open_cache(self.directory, self._disk, self._timeout, self.log, self._lock_wait)
        old, self._cache = self._cache, cache
        old.close()  # this thread's connection; the others' go with the old cache
        try:
            place.keep()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store in {self.directory}: {exc}") from None

    def _follow(self, place: Place) -> None:
        """A store of no engine: the store at the path again when there is one (the
        engine sharing the folder took it back), else said once that writes are lost."""
        if identity(place.db) is None:
            if not place.said_lost:
                place.said_lost = True
                self.log.error(
                    "store %s: %s: what it writes goes to a file no longer there, lost when "
                    "it ends (said once; its store is opened again once one is there)",
                    self.directory,
                    _GONE.format("process"),
                )
            return
        try:
            self._reopen(place)
        except StoreError as exc:
            if not place.said_lost:
                place.said_lost = True
                self.log.error(
                    "store %s: %s, and the one there now cannot be opened (said once): %s",
                    self.directory,
                    _GONE.format("process"),
                    exc,
                )
            return
        place.said_lost = False
        self.log.warning(
            "store %s: %s; the store there now is opened in its place (what this process "
            "wrote after its engine made it again, if any, is not in it)",
            self.directory,
            _GONE.format("process"),
            extra={FOR_TERMINAL: True},
        )

    if TYPE_CHECKING:

        def _count(self, prefix: str) -> int: ...  # rows.py


def _holds_rows(db: str) -> bool:
    """Whether the ``cache.db`` at ``db`` holds a row (a store's, or another program's
    database: either is not this engine's to replace); an empty file or an empty store
    (what a connection opening a missing database leaves) holds none."""
    try:
        if os.stat(db).st_size == 0:
            return False
        con = sqlite3.connect(f"file:{quote(db)}?mode=ro", uri=True, timeout=1.0)
    except (OSError, sqlite3.Error):
        return True
    try:
        tables = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return False
        if tables - {"Cache", "Settings"}:
            return True
        return con.execute("SELECT 1 FROM Cache LIMIT 1").fetchone() is not None
    except sqlite3.Error:
        return True
    finally:
        con.close()
