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
import time
from typing import Any

from .disk import UnsafeRowError, encode
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


def redis_archives(store: Any) -> list[tuple[int, dict[str, Any]]]:
    """``(ticket, record)`` of every readable archived record (a list per ticket)."""
    out = []
    for ticket in _archived_tickets(store):
        out += [(ticket, record) for record in store.archived(ticket)]
    return out


def redis_purge_archives(store: Any, stamp: str, ops: list[list[Any]]) -> None:
    """Add to ``ops`` (the caller's write) what removes the archived records retention
    removes at ``stamp``: each ticket's list rewritten without them, or deleted."""
    for ticket in _archived_tickets(store):
        kept_before = store.archived(ticket)
        kept = [r for r in kept_before if retained(r, stamp)]
        if len(kept) != len(kept_before):
            key = f"archive:{ticket}"
            ops.append(["set", key, encode(kept)] if kept else ["del", key])


def _archived_tickets(store: Any) -> list[int]:
    import redis  # only with a Redis store: a directory store needs no client

    try:
        names = list(store.client.scan_iter(match=f"{store.prefix}archive:*", count=500))
    except redis.RedisError as exc:
        store._unreadable("the archived records", exc)
        return []
    found = (key_number(str(n)[len(store.prefix) + len("archive:") :]) for n in names)
    return sorted(t for t in found if t is not None)
