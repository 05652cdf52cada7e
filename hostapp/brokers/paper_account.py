"""Where a paper account keeps its state: in memory, or in a SQLite file shared by
several processes.

The broker logic (:mod:`.paper`) is written once against :class:`AccountStore`. Every
broker call runs inside :meth:`AccountStore.read` or :meth:`AccountStore.write`; for the
file store a write is one ``BEGIN IMMEDIATE`` transaction, so two processes closing the
same position, or drawing a ticket, at the same moment are serialised by SQLite and
cannot both succeed or get the same number. The in-memory store makes those no-ops and
keeps positions per symbol, because the replay checks stops on every bar.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from hookspecs import Bar, Direction, MarginMode, Quote, Trade

from ..market.timeframes import EPOCH, from_epoch, timeframe_seconds, to_epoch


@dataclass(slots=True)
class Position:
    """An open position as the store keeps it (mutable: partial closes shrink it)."""

    ticket: int
    symbol: str
    direction: Direction
    volume: float
    entry_price: float
    stop_loss: float | None
    take_profit: float | None
    opened_at: datetime
    magic: int = 0
    comment: str = ""


@dataclass(frozen=True, slots=True)
class ClosedDeal:
    """A closed (part of a) position and why it closed."""

    trade: Trade
    reason: str


@dataclass(frozen=True, slots=True)
class AccountMeta:
    login: int
    deposit: float
    margin_mode: MarginMode
    currency: str


class AccountStore(Protocol):
    meta: AccountMeta

    def read(self) -> contextlib.AbstractContextManager[None]: ...
    def write(self) -> contextlib.AbstractContextManager[None]: ...
    def positions(self, symbol: str | None = None) -> list[Position]: ...
    def get(self, ticket: int) -> Position | None: ...
    def put(self, pos: Position) -> None: ...
    def delete(self, ticket: int) -> None: ...
    def next_ticket(self) -> int: ...
    def balance(self) -> float: ...
    def add_balance(self, amount: float) -> None: ...
    def record(self, deal: ClosedDeal) -> None: ...
    def history(self) -> list[ClosedDeal]: ...
    def last_deal(self, ticket: int) -> ClosedDeal | None: ...
    def quote(self, symbol: str) -> Quote | None: ...
    def set_quote(self, quote: Quote) -> None: ...
    def close(self) -> None: ...


def _ts(when: datetime) -> float:
    """Epoch seconds with the fraction: live quotes and fills are not on whole seconds."""
    return (when - EPOCH).total_seconds()


_NO_TRANSACTION: contextlib.AbstractContextManager[None] = contextlib.nullcontext()


class MemoryStore:
    """One process's account, in dicts. Positions are grouped per symbol."""

    def __init__(self, meta: AccountMeta) -> None:
        self.meta = meta
        self._by_symbol: dict[str, dict[int, Position]] = {}
        self._tickets: dict[int, Position] = {}
        self._last_ticket = 0
        self._balance = meta.deposit
        self._history: list[ClosedDeal] = []
        self._last_deal: dict[int, ClosedDeal] = {}
        self._quotes: dict[str, Quote] = {}

    def read(self) -> contextlib.AbstractContextManager[None]:
        """Nothing to lock or roll back in memory: one shared empty context (a generator
        context per call was a visible share of a replay's broker queries)."""
        return _NO_TRANSACTION

    write = read

    def positions(self, symbol: str | None = None) -> list[Position]:
        if symbol is None:
            return sorted(self._tickets.values(), key=lambda p: p.ticket)
        group = self._by_symbol.get(symbol)
        return sorted(group.values(), key=lambda p: p.ticket) if group else []

    def get(self, ticket: int) -> Position | None:
        return self._tickets.get(ticket)

    def put(self, pos: Position) -> None:
        self._tickets[pos.ticket] = pos
        self._by_symbol.setdefault(pos.symbol, {})[pos.ticket] = pos

    def delete(self, ticket: int) -> None:
        pos = self._tickets.pop(ticket, None)
        if pos is not None:
            self._by_symbol[pos.symbol].pop(ticket, None)

    def next_ticket(self) -> int:
        self._last_ticket += 1
        return self._last_ticket

    def balance(self) -> float:
        return self._balance

    def add_balance(self, amount: float) -> None:
        self._balance += amount

    def record(self, deal: ClosedDeal) -> None:
        self._history.append(deal)
        self._last_deal[deal.trade.ticket] = deal

    def history(self) -> list[ClosedDeal]:
        return list(self._history)

    def last_deal(self, ticket: int) -> ClosedDeal | None:
        return self._last_deal.get(ticket)

    def quote(self, symbol: str) -> Quote | None:
        return self._quotes.get(symbol)

    def set_quote(self, quote: Quote) -> None:
        self._quotes[quote.symbol] = quote

    def close(self) -> None:
        pass


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

#: Closed base bars kept per symbol in an account file (about a week of M5).
BARS_KEPT = 2000
#: Trim the bars table once per this many bars a process writes (per symbol).
_TRIM_EVERY = 64

_POSITION_COLUMNS = (
    "ticket, symbol, direction, volume, entry_price, stop_loss, take_profit, opened_at, "
    "magic, comment"
)


class SqliteStore:
    """An account in a SQLite file (WAL mode) that several processes open at once.

    The first process to open a new file writes the account's settings into it; later
    ones take them from the file, so the balance is the account's, not the config's.
    A process whose settings disagree with the file's margin mode or currency is refused
    with ``ValueError``, as a terminal logged into a different account would be.
    """

    def __init__(self, path: str | Path, meta: AccountMeta, *, timeout: float = 10.0) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        # A fresh checkout has no folder for the shipped `.hostapp/paper-account.sqlite`.
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._depth = 0
        self._bars_timeframe: str | None = None  # what this process last declared
        self._bars_written: dict[str, int] = {}
        with self.write():
            self._create_schema()
            stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if not stored:
                for key, value in (
                    ("login", str(meta.login)),
                    ("deposit", repr(meta.deposit)),
                    ("balance", repr(meta.deposit)),
                    ("margin_mode", meta.margin_mode),
                    ("currency", meta.currency),
                    ("last_ticket", "0"),
                ):
                    self._db.execute("INSERT INTO meta VALUES (?, ?)", (key, value))
                stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
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
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
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
            "UPDATE meta SET value = ? WHERE key = 'balance'", (repr(self.balance() + amount),)
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
        row = self._db.execute(
            f"SELECT {_POSITION_COLUMNS}, profit, close_price, closed_at, reason "
            "FROM history WHERE ticket = ? ORDER BY id DESC LIMIT 1",
            (ticket,),
        ).fetchone()
        return None if row is None else self._deal(row)

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
