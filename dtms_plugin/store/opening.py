"""Opening the store's directory: private to this user, with our own settings, never with
what the directory's Settings table says, and moved aside when SQLite says it is corrupt.

Why the settings are pinned: diskcache keeps its settings in a ``Settings`` table of the
same database and applies every row it finds there, on open and on every new connection
(each thread gets one): ``sqlite_*`` rows become ``PRAGMA`` statements (``query_only``
would make every write fail), ``disk_*`` rows become attributes of the ``Disk``, and the
eviction settings decide what gets deleted. A row planted there must not change what the
store does, so :class:`PinnedCache` passes every setting explicitly, applies only the
values of :data:`PINNED` whatever a row says, ignores names it does not know, and the
table is rewritten on open (docs/dtms.md §8).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import diskcache
from diskcache.core import DEFAULT_SETTINGS, ENOVAL, METADATA

from hookspecs.events import FOR_TERMINAL

from .disk import JsonDisk


class StoreError(RuntimeError):
    """The store cannot be opened, or a write to it failed (disk full, locked past the
    timeout, bad value). One line naming the store directory.

    After a failed write the previous value of the key is untouched: a failed write never
    loses a record.

    ``unavailable``: the store refused the write as a whole, and would refuse any other
    now (locked by another writer past the timeout, a Redis out of reach), not this
    write alone: a writer keeps what it meant to write and tries again later
    (dtms_plugin/local_writes.py), rather than write it piece by piece.
    """

    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable


#: every setting the store runs with; rows of the Settings table never override these
PINNED: dict[str, Any] = {
    **DEFAULT_SETTINGS,
    "statistics": 0,
    "tag_index": 0,
    "eviction_policy": "none",  # never cull: these are records, not a cache of copies
    "cull_limit": 0,
}
_KNOWN = frozenset(PINNED) | frozenset(METADATA)


class PinnedCache(diskcache.Cache):
    """A ``diskcache.Cache`` whose settings are :data:`PINNED`, whatever the table holds."""

    def reset(self, key: str, value: Any = ENOVAL, update: bool = True) -> Any:
        if key in METADATA:  # counters diskcache keeps for itself: no behaviour
            return super().reset(key, value, update)
        if key not in PINNED:
            return None  # a name we never wrote: never applied
        return super().reset(key, PINNED[key], update)


#: The names the store writes in its folder (``cache.db`` and SQLite's ``-wal``/``-shm``)
STORE_FILES = ("cache.db", "engine.lock")


def prepare_directory(directory: Path, log: logging.Logger) -> None:
    """Create the directory private to this user (0700): it holds trading state. Not on
    Windows, whose folders have no such modes (every one reads as 0777, and ``chmod``
    only sets the read-only flag): there a user's folder is private by its ACL. A folder
    that holds files of others, or is sticky (``state_dir = "/tmp"``, a shared folder),
    keeps its mode, said at WARNING: tightening it locked everyone else out of their own
    files."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = stat.S_IMODE(directory.stat().st_mode)
        if mode & 0o077 and sys.platform != "win32":
            others = sorted(
                p.name for p in directory.iterdir() if not p.name.startswith(STORE_FILES)
            )
            if others or mode & stat.S_ISVTX:  # a sticky folder is shared, as /tmp is
                held = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
                log.warning(
                    "store directory %s has mode %o and is shared (%s): left as it is, "
                    "readable by others; give the store a folder of its own",
                    directory, mode, f"holds {held}" if others else "sticky, as /tmp",
                )  # fmt: skip
                return
            log.warning("store directory %s had mode %o; tightening to 0700", directory, mode)
            directory.chmod(0o700)
    except OSError as exc:
        file = next((p for p in (directory, *directory.parents) if p.is_file()), None)
        if file is not None:  # not "[Errno 17] File exists": a file is in the way
            where = "is a file" if file == directory else f"is under a file ({file})"
            raise StoreError(
                f"cannot open store in {directory}: it {where}, not a folder"
            ) from None
        raise StoreError(f"cannot open store in {directory}: {exc}") from None


def open_cache(
    directory: Path,
    disk: type[JsonDisk],
    timeout: float,
    log: logging.Logger,
    lock_wait: float | None = None,
) -> tuple[diskcache.Cache, Path | None]:
    """The checked cache on ``directory``, and where a corrupted one was kept aside (with
    a timestamp in its name) before an empty one replaced it, else None. Anything else
    that stops it opening is one :class:`StoreError` naming the directory.

    Opening waits ``timeout`` for another writer's lock (a writer busy for a moment at
    start-up is no reason not to start); the writes after, ``lock_wait`` when given: a
    process whose event loop a longer wait would hold past its hooks' deadlines, on a
    folder another process writes too (:class:`dtms_plugin.remote.RemoteStrategy`,
    docs/dtms.md §9)."""
    prepare_directory(directory, log)
    try:
        return _open_checked(directory, disk, timeout, log, lock_wait), None
    except sqlite3.OperationalError as exc:
        # Locked, I/O error, disk full: not corruption. Do not touch the files.
        raise StoreError(f"cannot open store in {directory}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        aside = _move_aside(directory)
        log.warning(
            "store in %s is corrupted (%s); moved it aside to %s and started empty",
            directory,
            exc,
            aside,
            extra={FOR_TERMINAL: True},  # its records and history are now only there
        )
        prepare_directory(directory, log)
        try:
            return _open_checked(directory, disk, timeout, log, lock_wait), aside
        except (sqlite3.Error, OSError, ValueError, TypeError, KeyError) as again:
            raise StoreError(f"cannot open store in {directory}: {again}") from None
    except diskcache.Timeout:
        raise StoreError(
            f"cannot open store in {directory}: locked by another writer past the timeout"
        ) from None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        # diskcache failing on a table it did not expect (a planted schema or value)
        raise StoreError(f"cannot open store in {directory}: {type(exc).__name__}: {exc}") from None


def _open_checked(
    directory: Path,
    disk: type[JsonDisk],
    timeout: float,
    log: logging.Logger,
    lock_wait: float | None,
) -> diskcache.Cache:
    cache = PinnedCache(str(directory), timeout=timeout, disk=disk, **PINNED)
    try:
        result = cache._sql("PRAGMA quick_check").fetchone()
        if not result or result[0] != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {result[0] if result else 'no answer'}")
        _rewrite_settings(cache, directory, log)
        if lock_wait is not None:
            cache._timeout = lock_wait  # diskcache's, for the connections of other threads
            cache._con.execute(f"PRAGMA busy_timeout = {round(lock_wait * 1000)}")
    except BaseException:
        cache.close()
        raise
    return cache


def _rewrite_settings(cache: diskcache.Cache, directory: Path, log: logging.Logger) -> None:
    """Leave only our own settings in the table, so no other reader of the directory
    (an older version, a tool) applies a planted one either."""
    sql = cache._sql
    rows = sql("SELECT key, value FROM Settings").fetchall()
    unknown = [k for k, _ in rows if not (isinstance(k, str) and k in _KNOWN)]
    changed = [k for k, v in rows if isinstance(k, str) and k in PINNED and v != PINNED[k]]
    if unknown or changed:  # the write lock only when there is something to undo
        with cache.transact():
            for key in unknown:
                sql("DELETE FROM Settings WHERE key = ?", (key,))
            for key in changed:
                sql("UPDATE Settings SET value = ? WHERE key = ?", (PINNED[key], key))
        log.warning(
            "store %s: settings rows it did not write were ignored and reset: %s",
            directory,
            ", ".join(sorted(repr(k) for k in unknown + changed)),
        )


def _move_aside(directory: Path) -> Path:
    """Move a corrupted store aside, whole, under a name with the time and this pid. A
    StoreError naming both when it cannot be moved (on Windows, while another process
    has one of its files open: a ``dtms export``, another engine): nothing is lost, and
    nothing starts empty over it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    aside = directory.with_name(f"{directory.name}.corrupt-{stamp}-{os.getpid()}")
    try:
        directory.rename(aside)
    except FileNotFoundError:
        pass  # another process moved it aside first; both rebuild
    except OSError as exc:
        raise StoreError(
            f"store in {directory} is corrupted and cannot be moved aside to {aside.name} "
            f"({exc.strerror or exc}): stop what else has its files open, or move it "
            "yourself, then start again"
        ) from None
    return aside
