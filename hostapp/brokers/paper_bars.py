"""The closed bars a paper account file keeps, and the reads of them.

The trading host writes each closed base bar into its account file
(:meth:`~hostapp.brokers.paper_account_file.SqliteStore.add_bar`) so that other processes
on the file read history from it as they would from a terminal
(:class:`~hostapp.brokers.paper_market.PaperTerminalMarket`). The queries of the bars
table are plain functions of a connection, because that reader holds its own connection,
not a store.
"""

from __future__ import annotations

import sqlite3

from hookspecs import Bar

from ..market.timeframes import from_epoch, timeframe_seconds

#: Closed base bars kept per symbol in an account file (about a week of M5).
BARS_KEPT = 2000


def trim_bars(db: sqlite3.Connection, symbol: str, keep: int) -> None:
    """Delete all but the newest ``keep`` bars of ``symbol`` (an index range scan)."""
    db.execute(
        "DELETE FROM bars WHERE symbol = ? AND time <= (SELECT time FROM bars WHERE symbol = ?"
        " ORDER BY time DESC LIMIT 1 OFFSET ?)",
        (symbol, symbol, keep),
    )


def read_bars(db: sqlite3.Connection, symbol: str, until: int, count: int) -> list[Bar]:
    """The newest ``count`` bars of ``symbol`` opened before ``until`` (epoch seconds),
    oldest first."""
    rows = db.execute(
        "SELECT time, open, high, low, close, volume, spread FROM bars"
        " WHERE symbol = ? AND time < ? ORDER BY time DESC LIMIT ?",
        (symbol, until, count),
    ).fetchall()
    return [Bar(from_epoch(r[0]), r[1], r[2], r[3], r[4], r[5], r[6]) for r in reversed(rows)]


def bars_timeframe(db: sqlite3.Connection) -> str | None:
    """The base timeframe of the bars in the file, as the last writer declared it."""
    row = db.execute("SELECT value FROM meta WHERE key = 'bars_timeframe'").fetchone()
    if row is None:
        return None
    try:
        timeframe_seconds(str(row[0]))
    except ValueError:
        return None
    return str(row[0])
