"""A paper account in a SQLite file that several processes open at once.

The file is how the trading host and ``dtms serve`` share one paper account, as several
programs share one MetaTrader terminal (docs/architecture.md). It keeps the account (the
tables behind :class:`~hostapp.brokers.paper_account.AccountStore`) and, for the readers
of :mod:`.paper_market`, the closed bars the host fed (:mod:`.paper_bars`). Kept apart
from :mod:`.paper_account` because only a shared account needs SQL: a replay's account
lives in memory.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import astuple
from datetime import datetime
from pathlib import Path
from typing import Any

from hookspecs import Bar, BrokerError, MarginMode, Quote, Trade

from ..market.timeframes import EPOCH, from_epoch, to_epoch
from .paper_account import AccountMeta, ClosedDeal, Position
from .paper_account_checks import RUN_CLOCK_QUOTE, check_format, damage, deposit_note, mark_format
from .paper_account_reads import RUN_CLOCK
from .paper_bars import BARS_KEPT, trim_bars

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    ticket INTEGER PRIMARY KEY, symbol TEXT NOT NULL, direction TEXT NOT NULL,
    volume REAL NOT NULL, entry_price REAL NOT NULL, stop_loss REAL, take_profit REAL,
    opened_at REAL NOT NULL, magic INTEGER NOT NULL, comment TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS positions_symbol ON positions (symbol);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ticket INTEGER NOT NULL, symbol TEXT NOT NULL,
    direction TEXT NOT NULL, volume REAL NOT NULL, entry_price REAL NOT NULL,
    stop_loss REAL, take_profit REAL, opened_at REAL NOT NULL, magic INTEGER NOT NULL,
    comment TEXT NOT NULL, profit REAL NOT NULL, close_price REAL NOT NULL,
    closed_at REAL NOT NULL, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_ticket ON history (ticket);
CREATE TABLE IF NOT EXISTS quotes (
    symbol TEXT PRIMARY KEY, bid REAL NOT NULL, ask REAL NOT NULL, time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS bars (
    symbol TEXT NOT NULL, time INTEGER NOT NULL, open REAL NOT NULL, high REAL NOT NULL,
    low REAL NOT NULL, close REAL NOT NULL, volume REAL NOT NULL, spread REAL NOT NULL,
    PRIMARY KEY (symbol, time)) WITHOUT ROWID;
"""


#: Trim the bars table once per this many bars a process writes (per symbol).
_TRIM_EVERY = 64

#: the tickets a SQLite INTEGER holds (signed 64 bits). A client may register a ticket up
#: to 2**64 - 1 (MetaTrader's are ulong; docs/client.md), which this account never hands
#: out: asked about one, it answers "no such position or deal" rather than raising
#: OverflowError, which failed every DTMS cycle on the account (docs/dtms.md §8).
TICKETS = range(-(2**63), 2**63)

_POSITION_COLUMNS = (
    "ticket, symbol, direction, volume, entry_price, stop_loss, take_profit, opened_at, "
    "magic, comment"
)


def _ts(when: datetime) -> float:
    """Epoch seconds with the fraction: live quotes and fills are not on whole seconds."""
    return (when - EPOCH).total_seconds()


def not_a_folder(path: str | Path) -> None:
    """``IsADirectoryError`` saying what to write instead when the account file named is
    a folder: SQLite says only "unable to open database file", and a lock beside it
    (``/tmp`` → ``/tmp.lock``) would land in the folder above."""
    if Path(path).is_dir():
        raise IsADirectoryError(
            f"a folder, not a file: name the account file in it, e.g. "
            f"{Path(path) / 'paper-account.sqlite'}"
        )


class AccountFileFull(BrokerError, sqlite3.OperationalError):
    """A write of the account file failed for a full disk (SQLite's ``SQLITE_FULL``): the
    write was undone whole, the account is as it was before it. A
    :class:`~hookspecs.BrokerError` naming the file, which the run stops on in one line
    (:func:`hostapp.live_paper.paper_live`), where SQLite's bare "database or disk is
    full" came out of the loop as a traceback, with no summary and nothing in the log;
    still a :class:`sqlite3.OperationalError` for the callers that take a failed write
    of the file as one (an order's: ``TRANSIENT``, tried again)."""

    def __init__(self, path: str, exc: BaseException) -> None:
        super().__init__(
            f"paper account file {path}: the disk is full ({exc}); its last write was "
            "undone, the account is as it was before it: free some space and start the "
            "host again, it resumes there"
        )
        self.path = path


def _full(exc: BaseException) -> bool:
    """Is ``exc`` SQLite saying the disk (or the file's size limit) is full?"""
    return isinstance(exc, sqlite3.Error) and (
        (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF == sqlite3.SQLITE_FULL
        or "database or disk is full" in str(exc)
    )


class SqliteStore:
    """An account in a SQLite file (WAL mode) that several processes open at once.

    The first process to open a new file writes the account's settings into it; later
    ones take them from the file, so the balance is the account's, not the config's
    (said in one line, :attr:`findings`, when the two differ). A process whose settings
    disagree with the file's margin mode or currency is refused with ``ValueError``, as a
    terminal logged into a different account would be; a file of a newer format than
    this code knows with :class:`~.paper_account_checks.NewerAccountFile`, before
    anything is written to it. The damage an older version's run left in the file is
    said too (:func:`~.paper_account_checks.damage`), and the file kept as it is.
    """

    def __init__(self, path: str | Path, meta: AccountMeta, *, timeout: float = 10.0) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        not_a_folder(self.path)
        # A fresh checkout has no folder for the shipped `.hostapp/paper-account.sqlite`.
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            check_format(self._db, self.path)  # before a newer format's file is touched
        except sqlite3.Error:
            self._db.close()
            raise
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._depth = 0
        self._bars_timeframe: str | None = None  # what this process last declared
        self._bars_written: dict[str, int] = {}
        with self.write():
            self._create_schema()
            mark_format(self._db)
            stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            #: what the file says of itself that the user must hear (one line each):
            #: the process that opened it says them at its start
            self.findings: list[str] = []
            if stored:  # an account already: its own deposit, and what was done to it
                kept = deposit_note(self.path, float(stored["deposit"]), meta.deposit)
                said = (kept, damage(self._db, self.path))
                self.findings = [line for line in said if line is not None]
            else:
                for key, value in (
                    ("login", str(meta.login)),
                    ("deposit", repr(meta.deposit)),
                    ("balance", repr(meta.deposit)),
                    ("margin_mode", meta.margin_mode),
                    ("currency", meta.currency.upper()),
                    ("last_ticket", "0"),
                ):
                    self._db.execute("INSERT INTO meta VALUES (?, ?)", (key, value))
                stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        # a file an earlier version created with "usd" holds the account of "USD"
        stored["currency"] = stored["currency"].upper()
        for key in ("margin_mode", "currency"):
            if stored[key] != getattr(meta, key):
                self._db.close()
                raise ValueError(
                    f"{self.path}: the account file's {key} is {stored[key]!r}, "
                    f"the settings say {getattr(meta, key)!r}"
                )
        mode: MarginMode = "netting" if stored["margin_mode"] == "netting" else "hedging"
        self.meta = AccountMeta(
            int(stored["login"]), float(stored["deposit"]), mode, stored["currency"]
        )
        for line in self.findings:
            logging.getLogger(__name__).warning("%s", line)

    def _create_schema(self) -> None:
        """Statement by statement: ``executescript`` would commit our transaction."""
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self._db.execute(statement)

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        with self._lock:
            if self._depth:  # nested: part of the outer transaction
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute(begin)
            self._depth = 1
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException as exc:
                # a COMMIT that failed may have been rolled back by SQLite already, or not
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if _full(exc) and not isinstance(exc, AccountFileFull):
                    raise AccountFileFull(self.path, exc) from exc
                raise
            finally:
                self._depth = 0

    def read(self) -> contextlib.AbstractContextManager[None]:
        return self._transaction("BEGIN")

    def write(self) -> contextlib.AbstractContextManager[None]:
        return self._transaction("BEGIN IMMEDIATE")

    @staticmethod
    def _position(row: Sequence[Any]) -> Position:
        t, sym, d, vol, entry, sl, tp, opened, magic, comment = row
        return Position(
            int(t),
            str(sym),
            "sell" if d == "sell" else "buy",
            float(vol),
            float(entry),
            None if sl is None else float(sl),
            None if tp is None else float(tp),
            from_epoch(float(opened)),
            int(magic),
            str(comment),
        )

    def positions(self, symbol: str | None = None) -> list[Position]:
        sql = f"SELECT {_POSITION_COLUMNS} FROM positions"
        if symbol is None:
            rows = self._db.execute(sql + " ORDER BY ticket").fetchall()
        else:
            rows = self._db.execute(sql + " WHERE symbol = ? ORDER BY ticket", (symbol,)).fetchall()
        return [self._position(r) for r in rows]

    def get(self, ticket: int) -> Position | None:
        if ticket not in TICKETS:  # never one of this account's (:data:`TICKETS`)
            return None
        row = self._db.execute(
            f"SELECT {_POSITION_COLUMNS} FROM positions WHERE ticket = ?", (ticket,)
        ).fetchone()
        return None if row is None else self._position(row)

    def put(self, pos: Position) -> None:
        values = list(astuple(pos))
        values[7] = _ts(pos.opened_at)
        self._db.execute(
            f"INSERT OR REPLACE INTO positions ({_POSITION_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )

    def delete(self, ticket: int) -> None:
        if ticket in TICKETS:  # one outside them was never in the table
            self._db.execute("DELETE FROM positions WHERE ticket = ?", (ticket,))

    def next_ticket(self) -> int:
        self._db.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'last_ticket'"
        )
        row = self._db.execute("SELECT value FROM meta WHERE key = 'last_ticket'").fetchone()
        return int(row[0])

    def balance(self) -> float:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'balance'").fetchone()
        return float(row[0])

    def add_balance(self, amount: float) -> None:
        self._db.execute(
            "UPDATE meta SET value = ? WHERE key = 'balance'",
            (repr(round(self.balance() + amount, 2)),),  # cents: not 9111.45999999999
        )

    def record(self, deal: ClosedDeal) -> None:
        t = deal.trade
        assert t.close_price is not None and t.closed_at is not None
        self._db.execute(
            "INSERT INTO history (ticket, symbol, direction, volume, entry_price, stop_loss, "
            "take_profit, opened_at, magic, comment, profit, close_price, closed_at, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                t.ticket, t.symbol, t.direction, t.volume, t.entry_price, t.stop_loss,
                t.take_profit, _ts(t.opened_at), t.magic, t.comment, t.profit,
                t.close_price, _ts(t.closed_at), deal.reason,
            ),
        )  # fmt: skip

    def history(self) -> list[ClosedDeal]:
        rows = self._db.execute(
            f"SELECT {_POSITION_COLUMNS}, profit, close_price, closed_at, reason "
            "FROM history ORDER BY id"
        ).fetchall()
        return [self._deal(row) for row in rows]

    def last_deal(self, ticket: int) -> ClosedDeal | None:
        """The newest closing deal of ``ticket``: one indexed row, however long the history."""
        if ticket not in TICKETS:  # never one of this account's (:data:`TICKETS`)
            return None
        row = self._db.execute(
            f"SELECT {_POSITION_COLUMNS}, profit, close_price, closed_at, reason "
            "FROM history WHERE ticket = ? ORDER BY id DESC LIMIT 1",
            (ticket,),
        ).fetchone()
        return None if row is None else self._deal(row)

    def realised(self, ticket: int) -> float:
        """The profit of every closing deal of ``ticket`` (its partial closes too)."""
        if ticket not in TICKETS:
            return 0.0
        row = self._db.execute(
            "SELECT SUM(profit) FROM history WHERE ticket = ?", (ticket,)
        ).fetchone()
        return float(row[0] or 0.0)

    def _deal(self, row: Sequence[Any]) -> ClosedDeal:
        p = self._position(row[:10])
        trade = Trade(
            p.ticket,
            p.symbol,
            p.direction,
            p.volume,
            p.entry_price,
            p.stop_loss,
            p.take_profit,
            p.opened_at,
            p.magic,
            p.comment,
            profit=float(row[10]),
            close_price=float(row[11]),
            closed_at=from_epoch(float(row[12])),
        )
        return ClosedDeal(trade, str(row[13]))

    def quote(self, symbol: str) -> Quote | None:
        row = self._db.execute(
            "SELECT bid, ask, time FROM quotes WHERE symbol = ?", (symbol,)
        ).fetchone()
        return None if row is None else Quote(symbol, row[0], row[1], from_epoch(row[2]))

    def set_quote(self, quote: Quote) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO quotes VALUES (?, ?, ?, ?)",
            (quote.symbol, quote.bid, quote.ask, _ts(quote.time)),
        )

    def newest_quote_time(self) -> datetime | None:
        row = self._db.execute("SELECT MAX(time) FROM quotes").fetchone()
        return None if row is None or row[0] is None else from_epoch(row[0])

    def set_run_clock(self, when: datetime) -> None:
        """Keep where the driving host's clock got to (:func:`last_activity`), and the
        newest quote then: a quote found older than it later was written by a host that
        rewound the market (:func:`~.paper_account_checks.damage`)."""
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (RUN_CLOCK, repr(_ts(when))))
        self._db.execute(
            "INSERT OR REPLACE INTO meta SELECT ?, max(time) FROM quotes HAVING count(*) > 0",
            (RUN_CLOCK_QUOTE,),
        )

    # -- bars: the file is also the "terminal" other processes read bars from ---------

    def add_bar(self, symbol: str, bar: Bar, timeframe: str) -> None:
        """Keep ``bar`` (a closed ``timeframe`` bar). A bar older than the newest kept one
        means a new run on this file: the newer bars are dropped so the series stays one
        run's. The table is trimmed to about :data:`BARS_KEPT` bars every few writes."""
        t = to_epoch(bar.time)
        db = self._db
        if self._bars_timeframe != timeframe:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('bars_timeframe', ?)", (timeframe,))
            self._bars_timeframe = timeframe
        db.execute("DELETE FROM bars WHERE symbol = ? AND time >= ?", (symbol, t))
        db.execute(
            "INSERT INTO bars VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (symbol, t, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.spread),
        )
        written = self._bars_written.get(symbol, 0) + 1
        self._bars_written[symbol] = written
        if written % _TRIM_EVERY == 0:
            trim_bars(db, symbol, BARS_KEPT)

    def close(self) -> None:
        self._db.close()
