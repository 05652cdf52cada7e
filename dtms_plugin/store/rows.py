"""The rows under :class:`~.core.Store`: JSON text values in diskcache's own SQLite table,
read, written, listed and deleted with a few statements of our own, and one transaction for
a batch of writes.

Split from :mod:`.core` so that file says what the rows mean (records, states, the journal,
the outbox) and this one how they are kept. Only JSON text is ever written or trusted: a
row that is anything else (a planted file name, a pickle) is refused when read and never
acted on (see disk.py).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import diskcache
import orjson
from diskcache.core import MODE_RAW

from .disk import UnsafeRowError
from .listing import listing_text
from .opening import StoreError
from .outage import DISK_FULL, DiskFullError, WriteOutage

UNREADABLE = object()  # a row that exists but cannot be trusted
RECORDS = "trade:"  # the key prefix of trade records: ``trade:<ticket>``

# One row in, whether new or not, keeping its rowid (so its place in an enumeration) when
# it exists; a row of the same key with another shape is replaced by JSON text. The file
# such a row may name is left alone: the store removes no file (see disk.py). A row that
# already holds exactly this JSON text and tag is not rewritten: nothing unchanged is
# written. The tag of a trade record's row is its listing (listing.py), of any other NULL.
_UPSERT = (
    "INSERT INTO Cache (key, raw, store_time, expire_time, access_time, access_count, tag,"
    " size, mode, filename, value) VALUES (?, 1, ?, NULL, ?, 0, ?, 0, 1, NULL, ?)"
    " ON CONFLICT (key, raw) DO UPDATE SET store_time = excluded.store_time,"
    " expire_time = NULL, access_time = excluded.access_time, access_count = 0,"
    " tag = excluded.tag, size = 0, mode = 1, filename = NULL, value = excluded.value"
    " WHERE NOT (Cache.value IS excluded.value AND Cache.mode = 1"
    " AND Cache.filename IS NULL AND Cache.expire_time IS NULL AND Cache.tag IS excluded.tag)"
)
SCAN_ROWS = (
    "SELECT key, mode, filename, value FROM Cache WHERE key >= ? AND key < ? AND raw = 1"
    " AND (expire_time IS NULL OR expire_time > ?) ORDER BY rowid"
)
_COUNT = "SELECT key FROM Cache WHERE key >= ? AND key < ? AND raw = 1"
_DELETE_TEXT = (
    "DELETE FROM Cache WHERE key = ? AND raw = 1 AND mode = 1 AND filename IS NULL"
    " AND typeof(value) = 'text'"
)


class DiskcacheRows:
    """Row-level reads and writes of one diskcache, for :class:`~.core.Store`, which sets
    the attributes declared here."""

    directory: Path
    log: logging.Logger
    _cache: diskcache.Cache
    _batch_thread: int | None  # the thread inside batch(), if any
    _rows: list[tuple[str, float, float, str | None, str]]  # the batch's writes not yet sent
    #: when (Unix time) and why the store itself last failed to write (a full disk, a
    #: read-only file, a lock held past the timeout; a value that is not JSON is no store
    #: problem): ``dtms serve``'s ``/health`` lists it for a while (store_health.py)
    last_write_failure: tuple[float, str] | None
    damaged: dict[str, str]  # unreadable rows by key, and why (core.py sets it)
    outage: WriteOutage  # writes refused for a lock or a full disk, said once per episode

    if TYPE_CHECKING:

        def in_place(self) -> None: ...  # folder.py

    def _get(self, key: str) -> Any:
        """The decoded value, None when absent, ``UNREADABLE`` for a bad row (logged)."""
        self._drain()
        try:
            value = self._cache.get(key)
        except (UnsafeRowError, json.JSONDecodeError) as exc:
            self._bad_row(key, exc)
        except (sqlite3.Error, diskcache.Timeout) as exc:
            self.log.error("store %s: cannot read %r: %s", self.directory, key, exc)
        else:
            if self.damaged:
                self.damaged.pop(key, None)  # it reads well again (or is gone)
            return value
        return UNREADABLE

    def _bad_row(self, key: str, exc: Exception) -> None:
        """A row that is not JSON text: treated as absent, kept in :attr:`damaged` (what
        ``/health`` lists, as the Redis store's unreadable keys: it said "healthy" with
        such rows hiding trades), logged once until it reads well: it was said on every
        read, every cycle."""
        if key not in self.damaged:
            self.log.error(
                "store %s: unreadable row %r treated as absent (said once until it reads "
                "well): %s", self.directory, key, exc,
            )  # fmt: skip
        self.damaged[key] = str(exc)

    def _read(self, key: str) -> Any:
        """The decoded value of ``key``, or None when absent or unreadable (logged)."""
        value = self._get(key)
        return None if value is UNREADABLE else value

    def _put(self, rows: Iterable[tuple[str, Any]]) -> None:
        """Write rows (inside a ``_writing`` block), each value encoded once by the
        ``Disk``. Inside a batch they are held and sent in one statement when the batch
        reads, deletes or ends, which is what makes a batch of a thousand records cheap.
        Only JSON text rows are ever written (a ``Disk`` answering otherwise is refused)."""
        now = time.time()
        store = self._cache.disk.store
        params = []
        for key, value in rows:
            _, mode, filename, text = store(value, False, key)
            if mode != MODE_RAW or filename is not None or type(text) is not str:
                raise UnsafeRowError(f"refusing to write {key!r} other than as JSON text")
            params.append((key, now, now, record_listing(key, text), text))
        if self._batch_thread == threading.get_ident():
            self._rows.extend(params)
        else:
            self._cache._con.executemany(_UPSERT, params)

    def _drain(self) -> None:
        """Send the rows a batch holds (in order: a key written twice ends as the last)."""
        if self._rows and self._batch_thread == threading.get_ident():
            rows, self._rows = self._rows, []
            self._cache._con.executemany(_UPSERT, rows)

    def _delete(self, key: str) -> None:
        self._drain()
        self._cache.delete(key)

    def _delete_many(self, keys: list[str]) -> None:
        """:meth:`_delete` of each key (inside a ``_writing`` block): the JSON text rows
        in one statement (diskcache's triggers keep its count and size), then any other
        row left (planted) through diskcache, whose ``Disk`` logs it and leaves the file
        it names alone."""
        self._drain()
        con = self._cache._con
        con.executemany(_DELETE_TEXT, [(key,) for key in keys])
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            left = con.execute(f"SELECT key FROM Cache WHERE raw = 1 AND key IN ({marks})", chunk)
            for (key,) in left.fetchall():
                self._cache.delete(key)

    def _scan(self, prefix: str) -> Iterator[tuple[int, Any]]:
        """``(number, value)`` of every readable row keyed ``prefix<int>``, oldest first.
        Other keys under the prefix (an old index row) are skipped without decoding."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        try:
            self._drain()
            rows = self._cache._sql(SCAN_ROWS, (prefix, end, time.time())).fetchall()
        except sqlite3.Error as exc:
            self.log.error("store %s: cannot list %r rows: %s", self.directory, prefix, exc)
            return
        fetch = self._cache.disk.fetch
        for key, mode, filename, value in rows:
            number = key_number(key[len(prefix) :])
            if number is None:
                continue
            try:
                yield number, fetch(mode, filename, value, False)
            except (UnsafeRowError, json.JSONDecodeError) as exc:
                self._bad_row(key, exc)

    def _count(self, prefix: str) -> int:
        return len(self._numbers(prefix))

    def _numbers(self, prefix: str) -> list[int]:
        """The numbers of the rows keyed ``prefix<int>``: keys only, no value decoded."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        self._drain()
        rows = self._cache._sql(_COUNT, (prefix, end)).fetchall()
        numbers = (key_number(key[len(prefix) :]) for (key,) in rows)
        return [n for n in numbers if n is not None]

    @contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """One atomic write transaction; any failure is logged and raised as StoreError.
        Inside a batch (on its thread) it is part of the batch's transaction."""
        try:
            if self._batch_thread == threading.get_ident():
                yield
                return
            self.in_place()  # its folder deleted or moved away: taken back (folder.py)
            with self._cache.transact():
                yield
        except (sqlite3.Error, OSError, diskcache.Timeout, TypeError, ValueError) as exc:
            root = _root_cause(exc)
            if isinstance(root, StoreError):  # a write inside a batch, logged already
                raise root from None
            reason = (
                "database locked by another writer past the timeout"
                if isinstance(root, diskcache.Timeout)
                else str(root) or type(root).__name__
            )
            locked = _locked(root)
            if locked:  # who else writes there, when the folder says it
                reason += engine_named(self.directory)
            full = disk_full(root)
            if full:
                reason = f"the disk is full ({reason})"
            message = f"store {self.directory}: writing {what} failed: {reason}"
            if locked:  # every write waits on the same lock: one episode (outage.py)
                self.outage.refused(self.log, message)
            elif full:  # every write needing room fails alike: one episode (outage.py)
                self.outage.refused(self.log, message, DISK_FULL)
            else:
                self.log.error(message)
            if _cannot_keep_writes(root):
                self.last_write_failure = (time.time(), message)
            if full:
                raise DiskFullError(message) from root
            raise StoreError(message, unavailable=locked) from root
        self.outage.went_through(self.log, str(self.directory), self._has_room)

    def _has_room(self) -> bool:
        """Whether the database can grow by a page again (after a full disk): below its
        page cap (``PRAGMA max_page_count``), and a page's room free on its disk. A row
        rewritten in place goes through on a full disk; it does not end the episode."""
        try:
            con = self._cache._con
            pages = con.execute("PRAGMA page_count").fetchone()[0]
            cap = con.execute("PRAGMA max_page_count").fetchone()[0]
            size = con.execute("PRAGMA page_size").fetchone()[0]
            free = shutil.disk_usage(self.directory).free
        except (sqlite3.Error, OSError):
            return False
        return bool(pages < cap and free >= size)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Every write inside goes in one SQLite transaction (diskcache's ``transact``):
        all of them are committed together at the end, or none when one fails (its
        :class:`StoreError` leaves the block). Reads inside see the writes before it."""
        if self._batch_thread == threading.get_ident():
            yield  # a batch inside a batch is part of it
            return
        with self._writing("a batch"):
            self._batch_thread = threading.get_ident()
            try:
                yield
                self._drain()
            finally:
                self._batch_thread = None
                self._rows = []


def record_listing(key: str, text: str) -> str | None:
    """The tag of the row ``key`` written as ``text``: a trade record's listing entry
    (listing.py), from the text decoded as the store's ``Disk`` reads it back, so the
    entry is what a read of the record would find; None for any other row."""
    if not key.startswith(RECORDS) or key_number(key[len(RECORDS) :]) is None:
        return None
    return listing_text(text, orjson.loads)


def key_number(text: object) -> int | None:
    """The int a key suffix spells canonically ("7", "-3"), else None ("index", "07")."""
    if not isinstance(text, str):
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if str(value) == text else None


def engine_named(directory: Path) -> str:
    """What the end of a "locked" message adds when the folder's ``engine.lock`` names
    another process: the DTMS engine on the folder (a ``dtms serve`` beside a remote
    host, a host's local engine), the writer most likely to hold its database; a lock
    file a crashed engine left names it still, hence "names". Empty when it names none,
    or this process (the engine itself was refused: another program holds it)."""
    try:
        with open(directory / "engine.lock", "rb") as file:  # the holder's text: byte 0 on
            text = file.read(32).decode(errors="replace").strip()
    except OSError:
        return ""
    if not text.isdigit() or int(text) == os.getpid():
        return ""
    return f"; its engine.lock names pid {text}, the DTMS engine on this folder"


def _locked(root: BaseException) -> bool:
    """Whether another writer held the database past the timeout (diskcache's Timeout,
    or SQLite's own "database is locked"/"busy"): every write waits on that lock alike."""
    if isinstance(root, diskcache.Timeout):
        return True
    if isinstance(root, sqlite3.OperationalError):
        text = str(root).lower()
        return "database is locked" in text or "busy" in text
    return False


def disk_full(root: BaseException) -> bool:
    """Whether the failure is a full disk: SQLite's SQLITE_FULL ("database or disk is
    full"), or a file write's ``ENOSPC``/``EDQUOT`` (diskcache writes large values to
    files; the store writes none, but its folder's ``engine.lock`` is one)."""
    if isinstance(root, sqlite3.OperationalError):
        return "database or disk is full" in str(root).lower()
    return isinstance(root, OSError) and root.errno in (errno.ENOSPC, errno.EDQUOT)


def _cannot_keep_writes(root: BaseException) -> bool:
    """Whether the failure says the store cannot keep writes (a full or read-only disk,
    a damaged file: what ``/health`` lists, store_health.py), not that another writer
    held the database a moment too long: a lock past the timeout fails that write only,
    and listed it made ``/health`` a 503 for a minute after one busy moment (a lock that
    lasts fails the engine's cycles, which ``/health`` says while they fail)."""
    return not _locked(root) and isinstance(root, sqlite3.Error | OSError)


def _root_cause(exc: BaseException) -> BaseException:
    """The original failure. SQLite rolls back by itself on SQLITE_FULL, so diskcache's own
    ROLLBACK then fails with "no transaction is active" and hides the real error."""
    if "no transaction is active" in str(exc) and exc.__context__ is not None:
        return exc.__context__
    return exc
