"""The :class:`Store`: trade records, the ``is_defensive`` state cache, the account mode,
the action history and the remote strategy's outbox, as JSON rows of one diskcache.

Keys are namespaced strings (``"trade:7"``, ``"state:7"``, ``"outbox:7"``, ``"action:12"``).
Enumerations (``records()``, ``outbox_items()``) read the rows under their prefix through
the key index of diskcache's own table, in the order the rows were first written: there
is no separate index to keep in step, so registering a trade costs the same with ten or
ten thousand of them, and no planted or damaged index row can hide an intact record. A
record's listing (what the dashboard orders and filters by, :mod:`.listing`) is the tag
of its own row, written with it (:mod:`.disk_listing`).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeGuard

import orjson

from .archives import disk_archived_count, disk_archives, disk_purge_archives
from .disk import Encoded, JsonDisk, UnsafeRowError
from .disk_listing import DiskcacheListing
from .folder import FolderHold, Place
from .opening import StoreError, open_cache
from .outage import WriteOutage
from .rows import SCAN_ROWS, key_number
from .shared import ACCOUNT_MODE, SharedReads, journal_label
from .shared import parse_iso as _parse_iso

_ACTION_SEQ = "action:seq"
#: the per-ticket journal index keeps this many newest entries (what `dtms export` writes)
PER_TICKET_ACTIONS = 1000

# Retention's candidates: CLOSED records with nothing owed, closed before a time (ISO text
# in UTC compares in time order); a row that is not valid JSON text never matches.
_CLOSED_BEFORE = (
    "SELECT key FROM Cache WHERE key >= 'trade:' AND key < 'trade;' AND raw = 1 AND mode = 1"
    " AND filename IS NULL AND CASE WHEN typeof(value) = 'text' AND json_valid(value) THEN"
    " json_extract(value, '$.state') = 'CLOSED'"
    " AND coalesce(json_array_length(value, '$.owed'), 0) = 0"
    " AND json_extract(value, '$.closed_at') < ? ELSE 0 END"
    " ORDER BY rowid LIMIT ?"
)


class Store(DiskcacheListing, FolderHold, SharedReads):
    """The DTMS store on one directory. Open one per process; close it on shutdown.

    Reads never raise for a bad row: an unreadable (or planted) row is logged at ERROR and
    treated as absent. Writes raise :class:`StoreError` (and log it) when they fail; the
    writes of one :meth:`batch` commit together or not at all.
    """

    #: the damaged journal counter last said, and the newest entry then
    _seq_said: tuple[Any, int] | None = None

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        log: logging.Logger | None = None,
        disk: type[JsonDisk] = JsonDisk,
        timeout: float = 5.0,
        lock_wait: float | None = None,  # a write's wait once open (opening.open_cache)
        max_actions: int = 10_000,
    ) -> None:
        self.directory = Path(directory).expanduser()
        self.log = log or logging.getLogger("dtms_plugin.store")
        self._max_actions = max_actions
        db = self.directory / "cache.db"
        existed = db.exists()
        self._disk, self._timeout, self._lock_wait = disk, timeout, lock_wait
        self._cache, self.kept_aside = open_cache(
            self.directory, disk, timeout, self.log, lock_wait
        )
        try:  # its folder's files, checked before each write (folder.py)
            self._place: Place | None = Place(self.directory)
        except sqlite3.Error as exc:
            self._cache.close()
            raise StoreError(f"cannot open store in {self.directory}: {exc}") from None
        #: how the directory was found: "existing" (perhaps empty), "new" (no database
        #: file) or "damaged" (kept aside at :attr:`kept_aside`, started empty). The
        #: local strategy says so when it adopts open positions (docs/dtms.md §8).
        self.opened_as = "damaged" if self.kept_aside else "existing" if existed else "new"
        self._batch_thread: int | None = None  # the thread inside batch(), if any
        self._engine_lock: Path | None = None  # engine.lock, while this store holds it
        self._rows = []  # its writes not yet sent
        self.damaged = {}  # unreadable rows by key, and why: /health's "damaged" (rows.py)
        self.last_write_failure: tuple[float, str] | None = None  # (when, why): rows.py
        self.outage = WriteOutage()

    @property
    def where(self) -> str:
        """The store's directory, as messages name it."""
        return str(self.directory)

    def close(self) -> None:
        self._cache.close()
        self._let_go()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ trade records

    def get_record(self, ticket: int) -> dict[str, Any] | None:
        value = self._read(f"trade:{ticket}")
        return value if isinstance(value, dict) else None

    def put_record(self, ticket: int, record: dict[str, Any] | Encoded) -> None:
        """Write the whole record (JSON: int dict keys come back as strings); an
        :class:`Encoded` record is its JSON text, written as it is."""
        with self._writing(f"record of ticket {ticket}"):
            self._put([(f"trade:{ticket}", record)])

    def put_records(self, records: Mapping[int, dict[str, Any] | Encoded]) -> None:
        """Write many whole records in one transaction (as :meth:`put_record` each)."""
        if records:
            with self._writing(f"records of {len(records)} tickets"):
                self._put((f"trade:{t}", r) for t, r in records.items())

    def delete_record(self, ticket: int) -> None:
        with self._writing(f"deletion of record {ticket}"):
            self._delete(f"trade:{ticket}")

    def archive_record(self, ticket: int) -> str | None:
        """Keep the record of ``ticket`` under a key of its own and free the ticket for a
        new trade (a broker that reuses tickets: a fresh paper account, another server).
        The archive key names the ticket and the old trade's opening time; returns it,
        or None when there was no record. Archived records are not in :meth:`records`."""
        with self._writing(f"archive of record {ticket}"):
            old = self.get_record(ticket)
            if old is None:
                return None
            key = f"archive:{ticket}:{old.get('opened_at', '')}"
            self._put([(key, old)])
            self._delete(f"trade:{ticket}")
        return key

    def archived(self, ticket: int) -> list[dict[str, Any]]:
        """The archived records of ``ticket``, oldest first."""
        prefix = f"archive:{ticket}:"
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        self._drain()
        rows = self._cache._sql(SCAN_ROWS, (prefix, end, time.time())).fetchall()
        out = []
        for key, mode, filename, value in rows:
            try:
                record = self._cache.disk.fetch(mode, filename, value, False)
            except (UnsafeRowError, json.JSONDecodeError):
                self.log.error("store %s: unreadable row %r skipped", self.directory, key)
                continue
            if isinstance(record, dict):
                out.append(record)
        return out

    def archives(self) -> list[tuple[int, dict[str, Any]]]:
        """``(ticket, record)`` of every archived record (:mod:`.archives`)."""
        return disk_archives(self)

    def archived_count(self) -> int:
        return disk_archived_count(self)

    def purge_closed(self, closed_before: datetime, limit: int = 100) -> list[int]:
        """Remove at most ``limit`` CLOSED records closed before ``closed_before`` (oldest
        tickets first), with their state row, journal index and journal entries, in one
        transaction; returns their tickets. Archived records past it go too (at most
        ``limit``), not counted in the tickets: the live record of their ticket stays. A
        record that is not CLOSED, has no close time or is not valid JSON is never
        touched: retention only ever removes finished trades. The condition is read by
        SQLite from the JSON text, so no record is decoded."""
        if limit <= 0:
            return []
        stamp = _iso(closed_before)
        with self._writing("retention of closed trades"):
            self._drain()
            rows = self._cache._sql(_CLOSED_BEFORE, (stamp, limit)).fetchall()
            tickets = [n for (key,) in rows if (n := key_number(key[len("trade:") :])) is not None]
            gone = [
                key
                for ticket in tickets
                for key in (
                    *(f"action:{seq}" for seq in self._ticket_seqs(ticket)),
                    f"trade:{ticket}",
                    f"state:{ticket}",
                    f"actions:ticket:{ticket}",
                )
            ]
            self._delete_many(gone)
            disk_purge_archives(self, stamp, limit)
        self._purge_marks(closed_before)
        return tickets

    def records(self) -> dict[int, dict[str, Any]]:
        """Every readable record, by ticket, in the order they were first written."""
        return {t: r for t, r in self._scan("trade:") if isinstance(r, dict)}

    # ------------------------------------------------------------------ state cache

    def put_state(self, ticket: int, state: str | None, at: datetime) -> None:
        """Cache the DTMS state of ``ticket`` seen at ``at``; None means "not managed"."""
        with self._writing(f"state of ticket {ticket}"):
            self._put([(f"state:{ticket}", {"state": state, "at": _iso(at)})])

    def get_state(self, ticket: int) -> tuple[str | None, datetime] | None:
        value = self._read(f"state:{ticket}")
        if not isinstance(value, dict):
            return None
        state = value.get("state")
        at = _parse_iso(value.get("at"))
        if at is None or not (state is None or isinstance(state, str)):
            self.log.error("store %s: malformed state row for ticket %s", self.directory, ticket)
            return None
        return state, at

    def put_states(self, states: Mapping[int, str | None], at: datetime) -> None:
        """Cache many states seen at ``at`` in one transaction (a batch refresh)."""
        stamp = _iso(at)
        # strings and None only: orjson's text is the same JSON, at a fraction of the cost
        with self._writing(f"states of {len(states)} tickets"):
            self._put(
                (f"state:{t}", Encoded(orjson.dumps({"state": s, "at": stamp}).decode()))
                for t, s in states.items()
            )

    def delete_state(self, ticket: int) -> None:
        with self._writing(f"deletion of state {ticket}"):
            self._delete(f"state:{ticket}")

    # ------------------------------------------------------------------ account mode

    def put_account_mode(self, until: datetime | None, reason: str) -> None:
        """Enter account defensive mode until ``until``; ``None`` clears it."""
        with self._writing("account mode"):
            if until is None:
                self._delete(ACCOUNT_MODE)
            else:
                self._put([(ACCOUNT_MODE, {"until": _iso(until), "reason": reason})])

    # ------------------------------------------------------------------ action journal

    def append_actions(self, entries: Iterable[dict[str, Any]]) -> None:
        """Append many entries, in order, in one transaction."""
        entries = list(entries)
        if not entries:
            return
        with self._writing(journal_label(entries)):
            seq = self._action_seq()
            rows: list[tuple[str, Any]] = []
            by_ticket: dict[int, list[int]] = {}
            for entry in entries:
                rows.append((f"action:{seq}", entry))
                owner = entry.get("ticket")
                if _is_int(owner):
                    by_ticket.setdefault(owner, []).append(seq)
                seq += 1
            rows.append((_ACTION_SEQ, seq))
            dropped: list[int] = []  # past a trade's newest PER_TICKET_ACTIONS
            for ticket, seqs in by_ticket.items():
                joined = [*self._ticket_seqs(ticket), *seqs]
                dropped += joined[:-PER_TICKET_ACTIONS]
                rows.append((f"actions:ticket:{ticket}", joined[-PER_TICKET_ACTIONS:]))
            self._put(rows)
            for old in dropped:
                self._delete(f"action:{old}")
            # out of the newest max_actions: gone unless a trade keeps it (its newest
            # PER_TICKET_ACTIONS stay while the trade does: retention removes them)
            first = seq - len(entries)
            for old in range(max(0, first - self._max_actions), seq - self._max_actions):
                entry = self._get(f"action:{old}")
                owner = entry.get("ticket") if isinstance(entry, dict) else None
                if not _is_int(owner):
                    self._delete(f"action:{old}")

    def _action_seq(self) -> int:
        """The next journal entry's number: the counter row's, unless it is unreadable,
        absent while entries are stored, or names an entry already stored (planted, or an
        old copy put back): then one past the newest entry, said at ERROR. A counter read
        as 0 wrote over the first entries, another trade's history then."""
        seq = self._get(_ACTION_SEQ)
        if _is_int(seq) and seq >= 0 and f"action:{seq}" not in self._cache:
            return seq
        newest = max(self._numbers("action:"), default=-1)
        if (seq is not None or newest >= 0) and self._seq_said != (seq, newest):
            self._seq_said = (seq, newest)  # once per damage: the dashboard reads it each poll
            self.log.error(
                "store %s: journal counter %r rebuilt from the entries: next is %d",
                self.directory, seq, newest + 1,
            )  # fmt: skip
        return newest + 1

    def _ticket_seqs(self, ticket: int) -> list[int]:
        """The journal entries of ``ticket`` (sequence numbers), from its index row; an
        unreadable index is rebuilt from the entries themselves."""
        value = self._get(f"actions:ticket:{ticket}")
        if value is None:
            return []
        if isinstance(value, list) and all(_is_int(v) for v in value):
            return list(value)
        self.log.error(
            "store %s: journal index of ticket %s rebuilt from the entries", self.directory, ticket
        )
        entries = self._scan("action:")
        seqs = [s for s, e in entries if isinstance(e, dict) and e.get("ticket") == ticket]
        return sorted(seqs)[-PER_TICKET_ACTIONS:]

    def actions(self, ticket: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (of one ticket, or all: of the newest
        ``max_actions``), oldest first."""
        if limit <= 0:
            return []
        if ticket is None:
            end = self._action_seq()
            seqs = list(range(max(0, end - min(limit, self._max_actions)), end))
        else:
            seqs = self._ticket_seqs(ticket)[-limit:]
        out = []
        for s in seqs:
            entry = self._read(f"action:{s}")
            if isinstance(entry, dict) and (ticket is None or entry.get("ticket") == ticket):
                out.append(entry)  # an index naming another's entry shows none of it
        return out

    def actions_count(self, ticket: int | None = None) -> int:
        """The entries kept: every ``action:<n>`` row (the newest ``max_actions``, and
        older ones a trade still keeps), or the entries of ``ticket``'s index; keys only,
        no value decoded."""
        try:
            return self._count("action:") if ticket is None else len(self._ticket_seqs(ticket))
        except sqlite3.Error as exc:
            self.log.error("store %s: cannot count the journal: %s", self.directory, exc)
            return 0

    # ------------------------------------------------------------------ small values

    def get_value(self, name: str) -> Any:
        """A named JSON value (``None`` when absent), for strategies' own bookkeeping."""
        return self._read(f"value:{name}")

    def put_value(self, name: str, value: Any) -> None:
        with self._writing(f"value {name!r}"):
            self._put([(f"value:{name}", value)])

    def update_value(self, name: str, change: Callable[[Any], Any]) -> Any:
        """Read-modify-write ``name`` atomically, even against other processes."""
        with self._writing(f"value {name!r}"):
            new = change(self._read(f"value:{name}"))
            self._put([(f"value:{name}", new)])
        return new

    # ------------------------------------------------------------------ outbox

    def outbox_put(self, ticket: int, payload: dict[str, Any]) -> None:
        """Queue ``payload`` for ``ticket``; replaces a pending one, keeping its place."""
        with self._writing(f"outbox entry for ticket {ticket}"):
            self._put([(f"outbox:{ticket}", payload)])

    def outbox_get(self, ticket: int) -> dict[str, Any] | None:
        value = self._read(f"outbox:{ticket}")
        return value if isinstance(value, dict) else None

    def outbox_items(self) -> list[tuple[int, dict[str, Any]]]:
        """Every readable entry, oldest first (a replaced entry keeps its place)."""
        return [(t, p) for t, p in self._scan("outbox:") if isinstance(p, dict)]

    def outbox_remove(self, ticket: int) -> None:
        with self._writing(f"outbox removal of ticket {ticket}"):
            self._delete(f"outbox:{ticket}")

    def outbox_remove_if(self, ticket: int, payload: dict[str, Any]) -> bool:
        """Remove the entry only if it is still ``payload`` (not replaced meanwhile).

        The sender uses this after a delivery, so a newer entry queued for the same ticket
        while the request was in flight is not lost. Returns whether it removed.
        """
        with self._writing(f"outbox removal of ticket {ticket}"):
            if self.outbox_get(ticket) != payload:
                return False
            self._delete(f"outbox:{ticket}")
            return True

    def outbox_len(self) -> int:
        try:
            return self._count("outbox:")
        except sqlite3.Error as exc:
            self.log.error("store %s: cannot count the outbox: %s", self.directory, exc)
            return 0


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _iso(at: datetime) -> str:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at}: store times must be timezone-aware")
    return at.astimezone(UTC).isoformat()
