"""Archived records: the CLOSED trades of tickets a broker handed out again
(docs/dtms.md §8, ``archive:<ticket>:<opened_at>``), listed and kept under retention.

Why they are listed and purged here: an archived trade is a finished trade like any
other, with its result, and it used to be in no view and never removed: not in ``dtms
export`` (which reads :meth:`records`), not under retention. :meth:`archives` lists them
for the export, the status counts and the trade's detail, and each backend's
``purge_closed`` removes those retention would remove, as it removes the records.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from typing import Any

from .disk import UnsafeRowError, encode
from .opening import StoreError
from .rows import SCAN_ROWS, key_number

#: ``store`` below is a :class:`~.core.Store` (``disk_*``) or a
#: :class:`~.redis_store.RedisStore` (``redis_*``), whose private rows these read: typed
#: ``Any``, as naming them here would make an import cycle between the modules.
#: Retention's archived candidates (as ``core._CLOSED_BEFORE`` for the records).
_ARCHIVED_BEFORE = (
    "SELECT key FROM Cache WHERE key >= 'archive:' AND key < 'archive;' AND raw = 1"
    " AND mode = 1 AND filename IS NULL AND CASE WHEN typeof(value) = 'text' AND"
    " json_valid(value) THEN json_extract(value, '$.state') = 'CLOSED'"
    " AND coalesce(json_array_length(value, '$.owed'), 0) = 0"
    " AND json_extract(value, '$.closed_at') < ? ELSE 0 END ORDER BY rowid LIMIT ?"
)
_ARCHIVED_COUNT = "SELECT count(*) FROM Cache WHERE key >= 'archive:' AND key < 'archive;'"


def of_trade(
    entries: list[dict[str, Any]], record: Any, *, unnamed_by_date: bool = False
) -> list[dict[str, Any]]:
    """The entries of a ticket's history that are about the trade ``record`` (one ticket's
    history holds every trade the broker gave that ticket: a fresh paper account's
    tickets start at 1 again, and a new trade's export line and dashboard row showed the
    earlier trade's actions as its own): those naming its opening time (``opened_at``)
    and those naming none, which an older writer's are; of those, for an archived trade
    (``unnamed_by_date``), only the ones dated from its opening to its close."""
    if not isinstance(record, dict):
        return entries
    first, last = record.get("opened_at"), record.get("closed_at")
    out = []
    for entry in entries:
        theirs, at = entry.get("opened_at"), entry.get("at")
        if isinstance(theirs, str) and isinstance(first, str):
            if _same_time(theirs, first):
                out.append(entry)
        elif not unnamed_by_date or (
            isinstance(at, str)
            and (not isinstance(first, str) or at >= first)
            and (not isinstance(last, str) or at <= last)
        ):
            out.append(entry)
    return out


def _same_time(a: str, b: str) -> bool:
    try:
        return datetime.fromisoformat(a) == datetime.fromisoformat(b)
    except ValueError:
        return a == b


def retained(record: Any, stamp: str) -> bool:
    """Whether retention keeps ``record`` at ``stamp`` (ISO text in UTC): all but a
    CLOSED one with nothing owed, closed before it."""
    if not isinstance(record, dict):
        return True
    closed = record.get("closed_at")
    finished = record.get("state") == "CLOSED" and not record.get("owed")
    return not (finished and isinstance(closed, str) and closed < stamp)


def disk_archives(store: Any) -> list[tuple[int, dict[str, Any]]]:
    """``(ticket, record)`` of every readable archived record, oldest first."""
    store._drain()
    rows = store._cache._sql(SCAN_ROWS, ("archive:", "archive;", time.time())).fetchall()
    out = []
    for key, mode, filename, value in rows:
        ticket = key_number(key[len("archive:") :].split(":", 1)[0])
        try:
            record = store._cache.disk.fetch(mode, filename, value, False)
        except (UnsafeRowError, json.JSONDecodeError):
            store.log.error("store %s: unreadable row %r skipped", store.directory, key)
            continue
        if ticket is not None and isinstance(record, dict):
            out.append((ticket, record))
    return out


def disk_purge_archives(store: Any, stamp: str, limit: int) -> int:
    """Inside the caller's write: remove at most ``limit`` archived records retention
    removes at ``stamp``; how many."""
    rows = store._cache._sql(_ARCHIVED_BEFORE, (stamp, limit)).fetchall()
    store._delete_many([key for (key,) in rows])
    return len(rows)


def disk_archived_count(store: Any) -> int:
    """How many archived records: a count over the key index, nothing decoded."""
    store._drain()
    return int(store._cache._sql(_ARCHIVED_COUNT).fetchone()[0])


#: The Redis archive index: ticket -> how many archived records it has, written in the
#: same script call as each archive (:mod:`.redis_script`), so listing and counting them
#: read it instead of scanning the keyspace (which a status poll and every retention
#: pass did). ``_INDEXED`` says the index covers the store: absent, the store was
#: written before it (:func:`redis_index_archives`).
_INDEX = "archives"
_INDEXED = "archives:indexed"


def redis_archives(store: Any) -> list[tuple[int, dict[str, Any]]]:
    """``(ticket, record)`` of every readable archived record (a list per ticket)."""
    out = []
    for ticket, text in _archived_texts(store).items():
        value = store._decode(f"archive:{ticket}", text)
        if isinstance(value, list):
            out += [(ticket, record) for record in value if isinstance(record, dict)]
    return out


def redis_archived_count(store: Any) -> int:
    """How many archived records, from the index alone (one round trip)."""
    import redis  # only with a Redis store: a directory store needs no client

    try:
        counts = store.client.hvals(store.prefix + _INDEX)
    except redis.RedisError as exc:
        store._unreadable("the archive index", exc)
        return 0
    return sum(n for n in (key_number(c) for c in counts) if n is not None)


def redis_purge_archives(store: Any, stamp: str, ops: list[list[Any]]) -> None:
    """Add to ``ops`` (the caller's write) what removes the archived records retention
    removes at ``stamp``: each ticket's list rewritten without them, or deleted, only if
    it is still the list read here (``archcas``): one another replica added to meanwhile
    is left whole, for the next pass."""
    for ticket, text in _archived_texts(store).items():
        value = store._decode(f"archive:{ticket}", text)
        before = [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []
        kept = [r for r in before if retained(r, stamp)]
        if len(kept) != len(before) or text is None:  # absent: an index entry to drop
            ops.append(["archcas", str(ticket), text or "", encode(kept) if kept else ""])


def redis_index_archives(store: Any) -> None:
    """Once per store: index the archives of a store written before the index (one SCAN
    of the keyspace, the prefix's glob characters escaped), then mark it indexed. Run
    at open, so no reader ever misses an archive made by an older version."""
    import redis

    try:
        if store.client.exists(store.prefix + _INDEXED):
            return
        match = re.sub(r"([*?\[\]\\])", r"\\\1", store.prefix) + "archive:*"
        names = list(store.client.scan_iter(match=match, count=500))
    except redis.RedisError as exc:
        store._unreadable("the archived records", exc)
        return
    found = (key_number(str(n)[len(store.prefix) + len("archive:") :]) for n in names)
    tickets = sorted(t for t in found if t is not None)
    try:
        with store._writing("the archive index") as ops:
            ops.extend(["archidx", str(t)] for t in tickets)
            ops.append(["set", _INDEXED, "true"])
    except StoreError:  # logged: a reader on a read-only Redis opens all the same
        return
    if tickets:
        store.log.info("store %s: %d archived tickets indexed", store.location, len(tickets))


def _archived_texts(store: Any) -> dict[int, str | None]:
    """The archived records' text of every indexed ticket, by ticket (None: absent)."""
    import redis

    try:
        names = store.client.hkeys(store.prefix + _INDEX)
        tickets = sorted(t for t in (key_number(n) for n in names) if t is not None)
        keys = [f"{store.prefix}archive:{t}" for t in tickets]
        texts = store.client.mget(keys) if keys else []
    except redis.RedisError as exc:
        store._unreadable("the archived records", exc)
        return {}
    return dict(zip(tickets, texts, strict=True))
