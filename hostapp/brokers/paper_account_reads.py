"""Reading a paper account file from outside the broker that trades it: opened read-only,
as another process may be writing it (a restart deciding where to resume, the data check)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: The ``meta`` key of where the clock of the host that last drove the account had got
#: to when it stopped (epoch seconds): :meth:`SqliteStore.set_run_clock`.
RUN_CLOCK = "run_clock"


def read_only(path: str | Path, *queries: tuple[str, tuple[Any, ...]]) -> list[list[Any]] | None:
    """Each query's rows from the account file at ``path``, opened read-only (the hosts
    that trade it may be writing it); ``None`` for a missing file, or one that cannot be
    read so (not an account file yet: its tables are made on first open)."""
    file = Path(path)
    if not file.is_file():
        return None
    try:
        db = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return [db.execute(sql, args).fetchall() for sql, args in queries]
        finally:
            db.close()
    except sqlite3.Error:
        return None


def last_activity(path: str | Path) -> datetime | None:
    """Where the data of the hosts that traded a paper account file had got to: the
    newest quote it was valued at, or the clock of the host that last drove it when that
    stopped later, between two bars (:data:`RUN_CLOCK`); ``None`` for a missing, new or
    unreadable file; never before its newest deal or position. A paper host restarted on
    it resumes its data from there: replaying from the start would settle the account's
    positions at the older prices of a time before they were opened, and resuming at the
    last quote would have a host stopped in a weekend's gap wait the whole gap again at
    every restart."""
    read = read_only(
        path,
        ("SELECT max(time) FROM quotes", ()),
        ("SELECT value FROM meta WHERE key = ?", (RUN_CLOCK,)),
        # no later than the account's newest deal or position: an older version's run
        # that replayed its data over the file left its quotes behind them (README:
        # going back to an older version), and resuming there priced positions at a
        # time before they were opened
        (
            "SELECT max(opened_at) FROM positions UNION ALL SELECT max(opened_at) FROM "
            "history UNION ALL SELECT max(closed_at) FROM history",
            (),
        ),
    )
    if read is None:
        return None
    ((newest,),), clock, events = read
    row = clock[0] if clock else None
    if newest is None:
        return None  # never traded: a clock alone is no history to resume
    if row is not None:
        newest = max(newest, float(row[0]))
    # a hair before: a between-bars action dated at the next bar's close (a --speed
    # clock stopped there) does not make that bar, never played, count as played
    newest = max([newest, *(float(t) - 1e-6 for (t,) in events if t is not None)])
    return datetime.fromtimestamp(newest, UTC)
