"""The paper broker: a simulated account that follows MetaTrader's rules closely enough
that a strategy tested on it behaves the same against a real terminal.

Fills: buy at the ask, sell at the bid; positions close at the opposite side. Stops and
targets are checked inside each bar (:meth:`PaperBroker.on_bar`) with the stop first when
both are inside the same bar (the pessimistic reading of a bar we cannot see into), and
filled at their price, or at the open when the bar gaps through them. Volumes are rounded
DOWN to the symbol's step (never trade more than asked; the result's message names the
volume asked too) and refused below the minimum; a partial close may leave less than the
minimum open, as MetaTrader's checks are of the request's volume, and says so.
Every refusal is an :class:`ActionResult` with a code; nothing here raises for one.
Equity at or below zero at a bar's close stops out every position
(:mod:`.paper_stop_out`).

The order calls are :class:`~.paper_orders.PaperOrders`, the money they move (profit of a
deal, booking a close) :class:`~.paper_ledger.PaperLedger`; this module is the broker
itself: its state, prices and bars in, and the queries.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hookspecs import (
    AccountInfo,
    Bar,
    BrokerError,
    CloseReason,
    Quote,
    SymbolInfo,
    Trade,
    WaitingOrder,
)

from ..market.timeframes import timeframe_seconds
from .paper_account import AccountMeta, ClosedDeal, MemoryStore, Position
from .paper_account_file import SqliteStore
from .paper_orders import PaperOrders
from .paper_rules import (
    DEFAULT_SPREADS,
    DEFAULT_SYMBOLS,
    PaperSettings,
    default_spread,
    one_point_share,
    touched_both,
)
from .paper_rules import hit as _hit
from .paper_stop_out import PaperStopOut, StopOut

__all__ = ["DEFAULT_SPREADS", "DEFAULT_SYMBOLS", "PaperBroker", "PaperSettings"]


class PaperBroker(PaperOrders, PaperStopOut):
    """A simulated account implementing :class:`hookspecs.Broker`."""

    def __init__(
        self,
        *,
        symbols: Mapping[str, SymbolInfo] | None = None,
        settings: PaperSettings | None = None,
        clock: Callable[[], datetime] | None = None,
        timeframe: str = "M5",
        spreads: Mapping[str, float] | None = None,
    ) -> None:
        """``spreads``: a symbol's spread for bars that carry none, before the default
        (:func:`~.paper_rules.default_spread`): a ``[host.paper.symbols.NAME]`` table's."""
        self.settings = settings or PaperSettings()
        self._symbols = dict(DEFAULT_SYMBOLS if symbols is None else symbols)
        #: the symbols' names, once: every valuation of a position asks which of them
        #: converts its profit (paper_ledger.rate_symbol, cached by them)
        self._symbol_names = tuple(self._symbols)
        self._spreads = dict(spreads or {})
        #: the spreads ``[host.paper.symbols.NAME]`` tables give (the costs note names them)
        self.table_spreads: Mapping[str, float] = self._spreads
        #: per symbol, the least and the most spread assumed for its bars without one (a
        #: spread in basis points of the price moves with it), and how many such bars
        #: there were: the run's costs note
        self.assumed_spreads: dict[str, tuple[float, float]] = {}
        self.bars_without_spread: Counter[str] = Counter()
        #: per symbol, the most of the price (a share) an assumed spread was
        self.assumed_shares: dict[str, float] = {}
        #: per symbol, the most of the price (a share) that a spread of one point was,
        #: where one point was charged and is more than the assumed spread's cap
        #: (:func:`~.paper_rules.spread_cap`: a table's coarse ``digits``, a known
        #: symbol's price under a point's worth): the costs note says so (README
        #: "hostapp replay")
        self.one_point_spreads: dict[str, float] = {}
        #: positions closed at their stop in a bar that touched their target too (the
        #: stop is taken first: :func:`~.paper_rules.touched_both`), for the run's notes
        self.stop_with_target = 0
        self._clock = clock
        self._bar_period = timedelta(seconds=timeframe_seconds(timeframe))
        self._timeframe = timeframe
        s = self.settings
        # An account file also keeps the closed bars, for the other processes on it.
        self._bar_file: SqliteStore | None = None
        if s.account_file:
            meta = AccountMeta(
                random.randint(1_000_000, 9_999_999), s.balance, s.margin_mode, s.currency
            )
            self._bar_file = SqliteStore(s.account_file, meta)
            self._store = self._bar_file
        else:
            self._store = MemoryStore(AccountMeta(1, s.balance, s.margin_mode, s.currency))
        self._hedging = self._store.meta.margin_mode == "hedging"
        #: AccountInfo's identity and engine_lock: a file's, none for one in memory
        self._names = ("", "")
        if s.account_file:
            self._names = (
                f"paper {self._store.meta.login}",
                f"{Path(s.account_file).resolve()}.dtms-engine.lock",
            )
        #: ticket -> (quote, (volume, entry, SL, TP), the Trade built for them): the
        #: positions as asked for since the newest bar (see ``_trade``)
        self._memo: dict[int, tuple[Quote | None, tuple[float | None, ...], Trade]] = {}
        #: when equity first reached zero, and the positions stopped out (the run's note);
        #: an account file may begin the run wiped out already
        self.stop_out = StopOut(start_balance=round(self._store.balance(), 2))

    def release(self) -> None:
        """Close the account file (no-op in memory)."""
        self._store.close()

    def keep_clock(self, when: datetime) -> None:
        """Write into the account file that the run driving it got to ``when`` with no
        bar left unplayed (a stop between two bars): a restart resumes there, not at the
        last quote (:func:`~.paper_account_reads.last_activity`). No-op in memory."""
        if self._bar_file is not None:
            with self._bar_file.write():
                self._bar_file.set_run_clock(when)

    # -- market ---------------------------------------------------------------------

    def set_quote(self, symbol: str, bid: float, ask: float, time: datetime) -> None:
        with self._store.write():
            self._store.set_quote(Quote(symbol, bid, ask, time))

    def quote(self, symbol: str) -> Quote | None:
        with self._query():
            return self._store.quote(symbol)

    def symbol_info(self, symbol: str) -> SymbolInfo | None:
        return self._symbols.get(symbol)

    def step(self) -> contextlib.AbstractContextManager[None]:
        """The bars of one step, fed in one write of the account file
        (:class:`hostapp.loop_protocols.StepFed`), their deals' money converted at the
        rates as the step began (:mod:`.paper_ledger`); the write alone when no symbol
        converts at a rate (a replay's every step: the wrapper's calls cost more than
        the write)."""
        return _Step(self) if self.rate_names() else self._store.write()

    def on_bar(self, symbol: str, bar: Bar) -> list[tuple[Trade, CloseReason]]:
        """Close the positions on ``symbol`` whose stop or target lies inside ``bar`` (bid
        prices; a sell closes at bid + spread), in ticket order, then quote the bar's close
        rounded to the symbol's digits (a file's float noise, yfinance's ``1311.459961`` on
        a 2-digit symbol, is no price a broker quotes or fills at); then, when the equity
        is at or below zero, stop out every position (on any symbol, at its quote:
        :mod:`.paper_stop_out`).
        Closing time is the bar's close time: the earliest the host can know of it. A
        position opened at or after that (a live run's clock ahead of a loop that fell
        behind its bars) is not checked against the bar: its prices came before the
        position existed, and it closed before it opened. With an account file the bar
        is kept there too (as a terminal keeps its history)."""
        info = self._symbols.get(symbol)
        digits = info.digits if info is not None else 8
        spread = bar.spread
        if not spread:  # the file has none for this bar: assumed, and counted for the note
            told = self._spreads.get(symbol)
            if told is None:
                spread = default_spread(symbol, info, bar.close)
                share = one_point_share(symbol, info, bar.close, spread)
                if share is not None:  # the cap is under a point: one point was charged
                    self.one_point_spreads[symbol] = max(
                        share, self.one_point_spreads.get(symbol, share)
                    )
            else:
                spread = told
            low, high = self.assumed_spreads.get(symbol, (spread, spread))
            self.assumed_spreads[symbol] = (min(low, spread), max(high, spread))
            if bar.close > 0:  # the most of the price charged, as the costs note says
                most = spread / bar.close
                self.assumed_shares[symbol] = max(most, self.assumed_shares.get(symbol, most))
            self.bars_without_spread[symbol] += 1
        when = bar.time + self._bar_period
        if self.stop_out.when is not None and when > self.stop_out.when:
            self.stop_out.bars_after += 1  # a bar the wiped-out account never traded
        store = self._store
        closed: list[tuple[Trade, CloseReason]] = []
        self._memo.clear()  # a new quote follows: no Trade built before it is asked again
        with store.write():
            for pos in store.positions(symbol):
                if (pos.stop_loss is None and pos.take_profit is None) or pos.opened_at >= when:
                    continue
                paid = spread if pos.direction == "sell" else 0.0
                hit = _hit(pos, bar, paid)
                if hit is not None:
                    price, reason = hit
                    if reason == "stop_loss" and touched_both(pos, bar, paid):
                        self.stop_with_target += 1  # the stop taken first: the run's note
                    price = round(price, digits)
                    deal = self._book(pos, pos.volume, price, when, reason)
                    closed.append((self._position_closed(deal), reason))
            bid = round(bar.close, digits)  # on the price grid, as a broker quotes
            store.set_quote(Quote(symbol, bid, round(bar.close + spread, digits), when))
            if self._bar_file is not None:
                self._bar_file.add_bar(symbol, bar, self._timeframe)
            closed.extend(self._stop_out(when))
        return closed

    @property
    def run_notes(self) -> list[str]:
        """For the run's summary: the account wiped out (:mod:`.paper_stop_out`), and the
        trades closed at their stop in a bar that touched their target too: their R is
        the worse reading of a bar whose order the data does not give (finer bars do)."""
        notes = [self.stop_out.note] if self.stop_out.note else []
        n = self.stop_with_target
        if n:
            said = f"{n:,} trades closed at their" if n != 1 else "1 trade closed at its"
            its = "their" if n != 1 else "its"
            notes.append(
                f"{said} stop in a bar that also touched {its} target (the stop is taken "
                "first: the bar cannot say which came first; finer bars can)"
            )
        return notes

    # -- queries --------------------------------------------------------------------

    def waiting_orders(self, symbol: str) -> list[WaitingOrder]:
        """:class:`hookspecs.WaitingOrders`: none; a paper order fills, or is refused, at
        once, and no answer of its is ever lost."""
        return []

    def positions(self) -> list[Trade]:
        with self._query():
            quotes: dict[str, Quote | None] = {}
            out = []
            for pos in self._store.positions():
                if pos.symbol not in quotes:
                    quotes[pos.symbol] = self._store.quote(pos.symbol)
                out.append(self._trade(pos, quotes[pos.symbol]))
            if len(self._memo) > len(out):
                # positions another process closed: a host that never feeds bars (the
                # serving host on a shared account file) would otherwise keep one Trade
                # per position it ever saw
                self._memo = {t.ticket: self._memo[t.ticket] for t in out}
            return out

    def position(self, ticket: int) -> Trade | None:
        with self._query():
            pos = self._store.get(ticket)
            return None if pos is None else self._trade(pos, self._store.quote(pos.symbol))

    def account(self) -> AccountInfo:
        with self._query():
            balance = self._store.balance()
            floating = self._floating()
            meta = self._store.meta
            return AccountInfo(
                meta.login,
                balance,
                round(balance + floating, 2),
                meta.margin_mode,
                meta.currency,
                *self._names,
            )

    def closed_trades(self) -> list[Trade]:
        """Every closing deal, oldest first; a partial close is one deal of its volume."""
        return [d.trade for d in self.history()]

    def history(self) -> list[ClosedDeal]:
        """Closing deals with their reason: stop_loss, take_profit, action, netting,
        stop_out."""
        with self._query():
            return self._store.history()

    def closed_trade(self, ticket: int) -> Trade | None:
        """The position as it closed: its newest closing deal (price, time, the volume
        that closed last), with the profit of all its closing deals, a partial close's
        included, as ``on_trade_closed`` promises. Without reading the whole history (the
        loop asks on every close, over an account file that has months of deals)."""
        closed = self.closed_with_reason(ticket)
        return None if closed is None else closed[0]

    def closed_with_reason(self, ticket: int) -> tuple[Trade, CloseReason | None] | None:
        """:class:`hookspecs.CloseReasons`: :meth:`closed_trade`, with ``stop_loss`` or
        ``take_profit`` when the bars hit the position's stop or target (its newest
        closing deal says so), else ``None``: an order closed it. Another process on a
        shared account file closes positions this one finds gone; their deals say why."""
        with self._query():
            deal = self._store.last_deal(ticket)
            if deal is None:
                return None
            trade = self._position_closed(deal.trade)
        if deal.reason == "stop_loss":
            return trade, "stop_loss"
        return trade, "take_profit" if deal.reason == "take_profit" else None

    def realised_pnl(self) -> float:
        with self._query():
            return round(self._store.balance() - self._store.meta.deposit, 2)

    # -- internals ------------------------------------------------------------------

    def _query(self) -> contextlib.AbstractContextManager[None]:
        """Queries read one consistent snapshot; failing to read is a BrokerError. An
        account in memory cannot fail to read: its (empty) context as it is."""
        if self._bar_file is None:
            return self._store.read()
        return self._file_query()

    @contextlib.contextmanager
    def _file_query(self) -> Iterator[None]:
        try:
            with self._store.read():
                yield
        except sqlite3.Error as exc:
            raise BrokerError(f"paper account: {exc}") from exc

    def _trade(self, pos: Position, quote: Quote | None) -> Trade:
        """The open position as a :class:`Trade`, built (and checked) once per position
        state and quote: a replay's cycle asks for the same positions several times (the
        strategy, the exits, DTMS), and each build checks thirteen fields."""
        state = (pos.volume, pos.entry_price, pos.stop_loss, pos.take_profit)
        memo = self._memo.get(pos.ticket)
        if memo is not None and memo[0] is quote and memo[1] == state:
            return memo[2]
        trade = pos.as_trade(pos.volume, self._open_profit(pos, quote))
        self._memo[pos.ticket] = (quote, state, trade)
        return trade


class _Step:
    """:meth:`PaperBroker.step`: the account file's write, the rates frozen inside it. A
    class, not a generator: it is entered once per step of every replay (a generator's
    context manager cost five times the write's own, 0.1 s per 100,000 steps)."""

    __slots__ = ("_broker", "_write")

    def __init__(self, broker: PaperBroker) -> None:
        self._broker = broker
        self._write = broker._store.write()

    def __enter__(self) -> None:
        self._write.__enter__()
        self._broker._freeze_rates()

    def __exit__(self, *exc: Any) -> bool | None:
        self._broker._thaw_rates()
        return self._write.__exit__(*exc)
