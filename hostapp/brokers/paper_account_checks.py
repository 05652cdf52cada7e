"""What a paper account file says about itself when it is opened: its format, the damage
an older hostapp can leave in it, and a starting balance the settings no longer give.

An account file outlives the version that made it (README: "Upgrading keeps these
folders"). An older hostapp run on a newer file does not know the newer ``meta`` rows
(the run clock, the data it was traded on), so it may replay its data from the start
over the account: quotes rewound, positions closed at prices of a time before they were
opened, money booked that never was. The current version cannot undo that (the user's
history is kept as it is) but it says so, in one line naming the file and what it
found; and it marks the files it writes with a format number (SQLite's
``user_version``), so that a later version can tell, and this one refuses a file of a
format newer than it knows instead of doing that damage itself.

Each check is one SQL query, cheap on an account of 100,000 deals: the file is opened
at every start of the host and of ``dtms serve``.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from .paper_account_reads import read_only

#: The format this code writes and reads up to (``PRAGMA user_version``). 0 is a file of
#: a version from before formats were numbered; 1 the tables of
#: :mod:`.paper_account_file` with the ``run_clock`` and data-record ``meta`` rows.
FORMAT = 1


class NewerAccountFile(sqlite3.DatabaseError):
    """An account file of a format newer than this code knows: refused before anything
    is read or written, as an older version would misread it (see the module's text).
    A :class:`sqlite3.DatabaseError`, which the commands report as an account file that
    cannot be opened, naming the file and its key."""

    def __init__(self, path: str, found: int) -> None:
        super().__init__(
            f"{path}: written by a newer hostapp (format {found}); this one reads up to "
            f"{FORMAT}: upgrade, or use another account_file"
        )
        self.found = found


def check_format(db: sqlite3.Connection, path: str) -> None:
    """Raise :class:`NewerAccountFile` for a file of a format after :data:`FORMAT`."""
    (found,) = db.execute("PRAGMA user_version").fetchone()
    if int(found) > FORMAT:
        raise NewerAccountFile(path, int(found))


def mark_format(db: sqlite3.Connection) -> None:
    """Write :data:`FORMAT` into the file (inside the caller's write transaction)."""
    (found,) = db.execute("PRAGMA user_version").fetchone()
    if int(found) < FORMAT:
        db.execute(f"PRAGMA user_version = {FORMAT}")


def file_format(path: str | Path) -> int | None:
    """The format of the account file at ``path``, read-only (another host may be
    writing it); ``None`` for a missing or unreadable file."""
    rows = read_only(path, ("PRAGMA user_version", ()))
    return None if rows is None else int(rows[0][0][0])


def _when(epoch: float) -> str:
    return f"{datetime.fromtimestamp(epoch, UTC):%Y-%m-%d %H:%M}"


#: How far a deal or quote may be dated behind the account's clock before it is damage:
#: ``dtms serve`` acts on the file's newest quote while a ``--speed`` host acts on its own
#: clock, up to a bar ahead of it; an older version's replay goes back days.
SLACK_SECONDS = 86_400.0

#: The ``meta`` key of the newest quote when the run clock was last written
#: (:meth:`~.paper_account_file.SqliteStore.set_run_clock`): quotes older than it were
#: written after it by a host that rewound the market.
RUN_CLOCK_QUOTE = "run_clock_quote"

#: Deals closed before they were opened: how many, and the first (in booking order).
_CLOSED_BEFORE_OPEN = """
SELECT count(*), (SELECT ticket || ' ' || opened_at || ' ' || closed_at FROM history
                  WHERE closed_at < opened_at ORDER BY id LIMIT 1)
FROM history WHERE closed_at < opened_at"""

#: Deals dated behind a deal booked before them (the account's clock went back): how
#: many, and the first. One scan of the history (a window over it in booking order).
_BOOKED_BEHIND = """
WITH booked AS (
    SELECT id, ticket, closed_at, max(closed_at) OVER (
        ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS ahead
    FROM history)
SELECT count(*), (SELECT ticket || ' ' || closed_at || ' ' || ahead FROM booked
                  WHERE closed_at < ahead - ? ORDER BY id LIMIT 1)
FROM booked WHERE closed_at < ahead - ?"""

#: The newest quote against the newest deal and against the quotes the run clock saw.
_QUOTES_BEHIND = f"""
SELECT (SELECT max(time) FROM quotes), (SELECT max(closed_at) FROM history),
       (SELECT CAST(value AS REAL) FROM meta WHERE key = '{RUN_CLOCK_QUOTE}')"""


def damage(db: sqlite3.Connection, path: str) -> str | None:
    """One line naming ``path`` and what an older version's run left in it, or None."""
    found: list[str] = []
    count, first = db.execute(_CLOSED_BEFORE_OPEN).fetchone()
    if count:
        ticket, opened, closed = str(first).split(" ")
        found.append(
            f"{count} closed trade(s) dated before they were opened (the first: ticket "
            f"{ticket}, opened {_when(float(opened))}, closed {_when(float(closed))})"
        )
    count, first = db.execute(_BOOKED_BEHIND, (SLACK_SECONDS, SLACK_SECONDS)).fetchone()
    if count:
        ticket, closed, ahead = str(first).split(" ")
        found.append(
            f"{count} deal(s) dated behind a deal booked before them (the first: ticket "
            f"{ticket}, closed {_when(float(closed))}, after one closed {_when(float(ahead))})"
        )
    quote, deal, seen = db.execute(_QUOTES_BEHIND).fetchone()
    if quote is not None and seen is not None and float(quote) < float(seen):
        found.append(
            f"its newest quote ({_when(float(quote))}) is dated behind the run clock's "
            f"({_when(float(seen))})"
        )
    elif quote is not None and deal is not None and float(quote) < float(deal) - SLACK_SECONDS:
        found.append(
            f"its newest quote ({_when(float(quote))}) is dated behind its newest deal "
            f"({_when(float(deal))})"
        )
    if not found:
        return None
    return (
        f"paper account file {path}: {'; '.join(found)}: a run of an older hostapp on it "
        "replayed its data over the account (README: going back to an older version); "
        "the file is kept as it is, its balance and history include those deals"
    )


def deposit_note(path: str, kept: float, configured: float) -> str | None:
    """One line when the file's starting balance is not ``[host.paper] balance``."""
    if round(kept, 2) == round(configured, 2):
        return None
    return (
        f"paper account file {path} keeps its own starting balance {kept:,.2f}, not "
        f"[host.paper] balance {configured:,.2f} (which makes a new account only): to "
        "start afresh with it, name a new account_file (or move this one aside)"
    )


def file_findings(path: str | Path, configured: float) -> list[str]:
    """The lines :class:`~.paper_account_file.SqliteStore` logs on opening the file at
    ``path``, read-only (for a command to print them and keep them in its summary);
    none for a missing or unreadable file."""
    file = Path(path)
    if not file.is_file():
        return []
    try:
        db = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'deposit'").fetchone()
            said = (
                None if row is None else deposit_note(str(path), float(row[0]), configured),
                damage(db, str(path)),
            )
        finally:
            db.close()
    except sqlite3.Error:
        return []
    return [line for line in said if line is not None]
