"""Where a paper account keeps its state: the records, the store interface, and the
store in memory.

The broker logic (:mod:`.paper`) is written once against :class:`AccountStore`. Every
broker call runs inside :meth:`AccountStore.read` or :meth:`AccountStore.write`; for the
file store (:mod:`.paper_account_file`) a write is one ``BEGIN IMMEDIATE`` transaction, so
two processes closing the same position, or drawing a ticket, at the same moment are
serialised by SQLite and cannot both succeed or get the same number. The in-memory store
makes those no-ops and keeps positions per symbol, because the replay checks stops on
every bar.

The account file's bar queries (:mod:`.paper_bars`) are re-exported from here, the
module :mod:`.paper_market` and the tests import them from.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hookspecs import Direction, MarginMode, Quote, Trade

from .paper_bars import BARS_KEPT, bars_timeframe, read_bars, trim_bars

__all__ = [
    "BARS_KEPT",
    "AccountMeta",
    "AccountStore",
    "ClosedDeal",
    "MemoryStore",
    "Position",
    "bars_timeframe",
    "read_bars",
    "trim_bars",
]


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

    def as_trade(
        self,
        volume: float,
        profit: float,
        close_price: float | None = None,
        closed_at: datetime | None = None,
    ) -> Trade:
        """``volume`` of this position as the broker reports it: open (its floating
        ``profit``), or closed at ``close_price`` and ``closed_at`` (realised)."""
        return Trade(
            self.ticket,
            self.symbol,
            self.direction,
            volume,
            self.entry_price,
            self.stop_loss,
            self.take_profit,
            self.opened_at,
            self.magic,
            self.comment,
            profit=profit,
            close_price=close_price,
            closed_at=closed_at,
        )


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
    def realised(self, ticket: int) -> float: ...
    def quote(self, symbol: str) -> Quote | None: ...
    def set_quote(self, quote: Quote) -> None: ...
    def newest_quote_time(self) -> datetime | None: ...
    def close(self) -> None: ...


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
        self._realised: dict[int, float] = {}  # per ticket, every closing deal's profit
        self._quotes: dict[str, Quote] = {}
        self._newest: datetime | None = None

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
        self._balance = round(self._balance + amount, 2)  # cents, as every deal is booked

    def record(self, deal: ClosedDeal) -> None:
        self._history.append(deal)
        ticket = deal.trade.ticket
        self._last_deal[ticket] = deal
        self._realised[ticket] = self._realised.get(ticket, 0.0) + deal.trade.profit

    def history(self) -> list[ClosedDeal]:
        return list(self._history)

    def last_deal(self, ticket: int) -> ClosedDeal | None:
        return self._last_deal.get(ticket)

    def realised(self, ticket: int) -> float:
        return self._realised.get(ticket, 0.0)

    def quote(self, symbol: str) -> Quote | None:
        return self._quotes.get(symbol)

    def set_quote(self, quote: Quote) -> None:
        self._quotes[quote.symbol] = quote
        if self._newest is None or quote.time > self._newest:
            self._newest = quote.time

    def newest_quote_time(self) -> datetime | None:
        """The time of the newest quote of any symbol: how far the market has got."""
        return self._newest

    def close(self) -> None:
        pass
