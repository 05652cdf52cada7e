"""The listing of the diskcache store's trade records (:mod:`.listing`), and the records
of a page read together: what lets a page of ``GET /dtms/trades`` decode only its own
records (docs/architecture.md §9, "The store").

Each record row carries its entry in diskcache's ``tag`` column, written by the statement
that writes the record (:func:`.rows.record_listing`), so every row of every record is
listed by one statement that decodes no record. Every entry is checked, never trusted
blindly: a row that is not JSON text is neither decoded nor listed (as :meth:`records`
refuses it), and a row whose tag is missing (written by a version before the listing,
whose writes clear it) or not an entry of this form is decoded as :meth:`records` would
decode it, listed from that, and its tag written back onto that very row (only while it
still holds the text decoded). Entries a caller found disagreeing with their records
(``mend``) are rebuilt the same way. Either is said in one log line.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator
from typing import Any

from .disk import UnsafeRowError
from .listing import Listed, Memo, entry_text, listed
from .opening import StoreError
from .rows import RECORDS, UNREADABLE, DiskcacheRows, key_number

_END = RECORDS[:-1] + chr(ord(RECORDS[-1]) + 1)  # the first key past every record's
# every record row's key and tag, and whether it is JSON text (else it is not decoded),
# in the key index's order: nothing reads more than that index and the tag
_LIST = (
    "SELECT key, tag, mode = 1 AND filename IS NULL AND typeof(value) = 'text' FROM Cache"
    " WHERE key >= ? AND key < ? AND raw = 1 AND (expire_time IS NULL OR expire_time > ?)"
)
_ROWS = (
    "SELECT key, mode, filename, value, tag FROM Cache WHERE raw = 1"
    " AND (expire_time IS NULL OR expire_time > ?) AND key IN ({})"
)
# an entry goes back only onto the row it was read from, while that row holds that text
_RETAG = (
    "UPDATE Cache SET tag = ? WHERE key = ? AND raw = 1 AND mode = 1 AND filename IS NULL"
    " AND value IS ?"
)
_CHUNK = 500  # SQLite's bound parameters per statement stay well under its limit


class DiskcacheListing(DiskcacheRows):
    """The listing and page reads of :class:`~.core.Store`."""

    #: whether a rebuilt entry is written back (not by a store open for reading only)
    _relists: bool = True
    _memo: Memo | None = None  # the entries the last listing read, by their text

    def listing(self, mend: Collection[int] = ()) -> dict[int, Listed]:
        """The listing entry of every readable record, by ticket (in key order), read
        without decoding a record whose entry is sound; the entries of ``mend`` are
        rebuilt from their records whatever their tags say."""
        mend = set(mend)
        try:
            self._drain()
            rows = self._cache._sql(_LIST, (RECORDS, _END, time.time())).fetchall()
        except sqlite3.Error as exc:
            self.log.error("store %s: cannot list the records: %s", self.directory, exc)
            return {}
        memo = self._memo = self._memo or Memo()
        read, keep = memo.reader()
        found: dict[int, Listed | None] = {}
        for key, tag, text in rows:
            ticket = key_number(key[len(RECORDS) :])
            if ticket is None:
                continue  # not a record's key: records() skips it too
            if not text:
                self.log.error(
                    "store %s: row %r is not JSON text; not listed, not decoded",
                    self.directory,
                    key,
                )
                continue
            found[ticket] = None if ticket in mend else read(tag)
        keep()
        missing = [t for t, entry in found.items() if entry is None]
        if missing:
            found.update(self._relist(missing))
        return {t: entry for t, entry in found.items() if entry is not None}

    def get_records(self, tickets: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The readable records of ``tickets`` by ticket, in that order, read together
        (the absent and unreadable left out, as :meth:`records` leaves them out)."""
        wanted = list(dict.fromkeys(tickets))
        got = {t: record for t, record, _, _ in self._rows_of(wanted) if isinstance(record, dict)}
        return {t: got[t] for t in wanted if t in got}

    def _rows_of(self, tickets: list[int]) -> Iterator[tuple[int, Any, str, object]]:
        """``(ticket, decoded record, its text, stored tag)`` of each row of ``tickets``;
        the record is ``UNREADABLE`` for a row the store's ``Disk`` refuses (not JSON
        text: never decoded) or cannot decode, which is logged."""
        fetch = self._cache.disk.fetch
        for start in range(0, len(tickets), _CHUNK):
            keys = [f"{RECORDS}{t}" for t in tickets[start : start + _CHUNK]]
            query = _ROWS.format(", ".join("?" * len(keys)))
            try:
                self._drain()
                rows = self._cache._sql(query, (time.time(), *keys)).fetchall()
            except sqlite3.Error as exc:
                self.log.error("store %s: cannot read records: %s", self.directory, exc)
                return
            for key, mode, filename, value, tag in rows:
                ticket = key_number(key[len(RECORDS) :])
                if ticket is None:
                    continue
                try:
                    record = fetch(mode, filename, value, False)
                except (UnsafeRowError, json.JSONDecodeError) as exc:
                    self.log.error(
                        "store %s: unreadable row %r treated as absent: %s",
                        self.directory,
                        key,
                        exc,
                    )
                    record = UNREADABLE
                yield ticket, record, value, tag

    def _relist(self, tickets: list[int]) -> dict[int, Listed | None]:
        """The entries of ``tickets`` from their decoded records (None: no record), their
        tags written back where they differ, and one log line saying how many."""
        out: dict[int, Listed | None] = dict.fromkeys(tickets)
        writes: list[tuple[str | None, str, str]] = []
        absent = damaged = 0
        for ticket, record, text, tag in self._rows_of(tickets):
            entry = listed(record) if isinstance(record, dict) else None
            out[ticket] = entry
            new = None if entry is None else entry_text(entry)
            if new != tag and isinstance(text, str):  # only a JSON text row is retagged
                writes.append((new, f"{RECORDS}{ticket}", text))
                absent, damaged = (absent + 1, damaged) if tag is None else (absent, damaged + 1)
        if writes:
            self._retag(writes, absent, damaged)
        return out

    def _retag(self, writes: list[tuple[str | None, str, str]], absent: int, damaged: int) -> None:
        """Write rebuilt entries back (a failed write is logged by ``_writing``: the
        answer stands, and the next listing rebuilds them again)."""
        level = logging.WARNING if damaged else logging.INFO
        self.log.log(
            level,
            "store %s: listing of %d records rebuilt from the records (%d without one:"
            " written by an older version; %d unreadable or disagreeing with its record)",
            self.directory,
            absent + damaged,
            absent,
            damaged,
        )
        if not self._relists:
            return
        try:
            with self._writing(f"listing of {len(writes)} records"):
                self._drain()
                self._cache._con.executemany(_RETAG, writes)
        except StoreError:
            pass
