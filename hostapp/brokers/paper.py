"""The paper broker: a simulated account that follows MetaTrader's rules closely enough
that a strategy tested on it behaves the same against a real terminal.

Fills: buy at the ask, sell at the bid; positions close at the opposite side. Stops and
targets are checked inside each bar (:meth:`PaperBroker.on_bar`) with the stop first when
both are inside the same bar (the pessimistic reading of a bar we cannot see into), and
filled at their price, or at the open when the bar gaps through them. Volumes are rounded
DOWN to the symbol's step (never trade more than asked) and refused below the minimum.
Every refusal is an :class:`ActionResult` with a code; nothing here raises for one.

Profit of a deal is ``(close − open) × sign × volume × contract_size`` in the symbol's
quote currency; when the account currency is the symbol's base instead (``USDJPY`` on a
USD account) it is divided by the closing price. Money is rounded to cents per deal.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta

from hookspecs import (
    AccountInfo,
    ActionResult,
    Bar,
    BrokerError,
    CloseReason,
    Direction,
    OrderRequest,
    Quote,
    ResultCode,
    SymbolInfo,
    Trade,
    opposite,
)

from ..market.timeframes import timeframe_seconds
from .paper_account import (
    AccountMeta,
    AccountStore,
    ClosedDeal,
    MemoryStore,
    Position,
    SqliteStore,
)
from .paper_rules import DEFAULT_SPREADS, DEFAULT_SYMBOLS, PaperSettings
from .paper_rules import EPS as _EPS
from .paper_rules import check_stops as _check_stops
from .paper_rules import fail as _fail
from .paper_rules import hit as _hit
from .paper_rules import round_volume as _volume

__all__ = ["DEFAULT_SPREADS", "DEFAULT_SYMBOLS", "PaperBroker", "PaperSettings"]


class PaperBroker:
    """A simulated account implementing :class:`hookspecs.Broker`."""

    def __init__(
        self,
        *,
        symbols: Mapping[str, SymbolInfo] | None = None,
        settings: PaperSettings | None = None,
        clock: Callable[[], datetime] | None = None,
        timeframe: str = "M5",
    ) -> None:
        self.settings = settings or PaperSettings()
        self._symbols = dict(DEFAULT_SYMBOLS if symbols is None else symbols)
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
            self._store: AccountStore = self._bar_file
        else:
            self._store = MemoryStore(AccountMeta(1, s.balance, s.margin_mode, s.currency))
        self._hedging = self._store.meta.margin_mode == "hedging"
        #: ticket -> (quote, (volume, entry, SL, TP), the Trade built for them): the
        #: positions as asked for since the newest bar (see ``_trade``)
        self._memo: dict[int, tuple[Quote | None, tuple[float | None, ...], Trade]] = {}

    def release(self) -> None:
        """Close the account file (no-op in memory)."""
        self._store.close()

    # -- market ---------------------------------------------------------------------

    def set_quote(self, symbol: str, bid: float, ask: float, time: datetime) -> None:
        with self._store.write():
            self._store.set_quote(Quote(symbol, bid, ask, time))

    def quote(self, symbol: str) -> Quote | None:
        with self._query():
            return self._store.quote(symbol)

    def symbol_info(self, symbol: str) -> SymbolInfo | None:
        return self._symbols.get(symbol)

    def on_bar(self, symbol: str, bar: Bar) -> list[tuple[Trade, CloseReason]]:
        """Close the positions on ``symbol`` whose stop or target lies inside ``bar`` (bid
        prices; a sell closes at bid + spread), in ticket order, then quote the bar's close.
        Closing time is the bar's close time: the earliest the host can know of it. With an
        account file the bar is kept there too (as a terminal keeps its history)."""
        info = self._symbols.get(symbol)
        digits = info.digits if info is not None else 8
        spread = bar.spread or self._default_spread(symbol, info)
        when = bar.time + self._bar_period
        store = self._store
        closed: list[tuple[Trade, CloseReason]] = []
        self._memo.clear()  # a new quote follows: no Trade built before it is asked again
        with store.write():
            for pos in store.positions(symbol):
                if pos.stop_loss is None and pos.take_profit is None:
                    continue
                hit = _hit(pos, bar, spread if pos.direction == "sell" else 0.0)
                if hit is not None:
                    price, reason = hit
                    price = round(price, digits)
                    closed.append((self._book(pos, pos.volume, price, when, reason), reason))
            store.set_quote(Quote(symbol, bar.close, round(bar.close + spread, digits), when))
            if self._bar_file is not None:
                self._bar_file.add_bar(symbol, bar, self._timeframe)
        return closed

    # -- queries --------------------------------------------------------------------

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
                meta.login, balance, round(balance + floating, 2), meta.margin_mode, meta.currency
            )

    def closed_trades(self) -> list[Trade]:
        """Every closing deal, oldest first; a partial close is one deal of its volume."""
        return [d.trade for d in self.history()]

    def history(self) -> list[ClosedDeal]:
        """Closing deals with their reason: stop_loss, take_profit, action, netting."""
        with self._query():
            return self._store.history()

    def closed_trade(self, ticket: int) -> Trade | None:
        """The newest closing deal of ``ticket``, without reading the whole history (the
        loop asks on every close, over an account file that has months of deals)."""
        with self._query():
            deal = self._store.last_deal(ticket)
        return None if deal is None else deal.trade

    def realised_pnl(self) -> float:
        with self._query():
            return round(self._store.balance() - self._store.meta.deposit, 2)

    # -- orders ---------------------------------------------------------------------

    def open(self, order: OrderRequest) -> ActionResult:
        return self._run(lambda: self._open(order))

    def modify_sl_tp(
        self, ticket: int, stop_loss: float | None, take_profit: float | None
    ) -> ActionResult:
        """Set both levels (``None`` removes one). Only a level that changes is checked
        against the stops level, so moving the target never fails because the price came
        near an untouched stop; a level inside the freeze level cannot be moved."""
        return self._run(lambda: self._modify(ticket, stop_loss, take_profit))

    def close(self, ticket: int, volume: float | None = None) -> ActionResult:
        """Close ``ticket``, or ``volume`` lots of it (rounded down to the step; a volume
        at or above the position's closes it all). The realised P&L goes to the balance."""
        return self._run(lambda: self._close(ticket, volume))

    def hedge(self, ticket: int, volume: float) -> ActionResult:
        """Open the opposite position (its own ticket, comment ``DTMS_HEDGE_<ticket>``,
        no stop or target) on a hedging account; refused on a netting one."""
        if not self._hedging:
            return _fail(ResultCode.HEDGING_NOT_ALLOWED, "the account is netting: no hedges")
        return self._run(lambda: self._hedge(ticket, volume))

    def _open(self, order: OrderRequest) -> ActionResult:
        info = self._symbols.get(order.symbol)
        if info is None:
            return _fail(ResultCode.REJECTED, f"unknown symbol {order.symbol!r}")
        store = self._store
        quote = store.quote(order.symbol)
        if quote is None:
            return _fail(ResultCode.MARKET_CLOSED, f"no price for {order.symbol} yet")
        volume = _volume(info, order.volume)
        if isinstance(volume, ActionResult):
            return volume
        sl = None if order.stop_loss is None else round(order.stop_loss, info.digits)
        tp = None if order.take_profit is None else round(order.take_profit, info.digits)
        bad = _check_stops(info, order.direction, quote, sl, tp)
        if bad is not None:
            return bad
        if store.balance() + self._floating() <= 0:
            return _fail(ResultCode.NO_MONEY, "equity is not positive")
        if not self._hedging:
            existing = store.positions(order.symbol)
            if existing:
                return self._net(existing[0], order, info, volume, sl, tp, quote)
        pos = self._new_position(order.symbol, order.direction, volume, sl, tp, quote)
        pos.magic, pos.comment = order.magic, order.comment
        store.put(pos)
        return ActionResult.success(
            f"{pos.direction} {volume:g} {pos.symbol} at {pos.entry_price}", pos.ticket
        )

    def _net(
        self,
        pos: Position,
        order: OrderRequest,
        info: SymbolInfo,
        volume: float,
        sl: float | None,
        tp: float | None,
        quote: Quote,
    ) -> ActionResult:
        """A netting account holds one position per symbol: an order the same way adds to
        it (volume-weighted entry; the order's levels, when given, replace the old ones),
        an opposite one reduces, closes or reverses it, as MetaTrader does."""
        price = quote.ask if order.direction == "buy" else quote.bid
        if order.direction == pos.direction:
            total = round(pos.volume + volume, 8)
            if total > info.volume_max + _EPS:
                return _fail(
                    ResultCode.INVALID_VOLUME,
                    f"position would be {total:g} lots, above the maximum {info.volume_max:g}",
                )
            pos.entry_price = round((pos.entry_price * pos.volume + price * volume) / total, 10)
            pos.volume = total
            if sl is not None:
                pos.stop_loss = sl
            if tp is not None:
                pos.take_profit = tp
            self._store.put(pos)
            return ActionResult.success(f"added {volume:g} to {pos.ticket}", pos.ticket)
        now = self._now(quote)
        if volume < pos.volume - _EPS:
            self._book(pos, volume, price, now, "netting")
            return ActionResult.success(f"reduced {pos.ticket} by {volume:g}", pos.ticket)
        self._book(pos, pos.volume, price, now, "netting")
        rest = round(volume - pos.volume, 8)
        if rest < _EPS:
            return ActionResult.success(f"closed {pos.ticket} (netting)")
        new = self._new_position(order.symbol, order.direction, rest, sl, tp, quote)
        new.magic, new.comment = order.magic, order.comment
        self._store.put(new)
        return ActionResult.success(f"reversed {pos.ticket} into {new.ticket}", new.ticket)

    def _held(self, ticket: int) -> tuple[Position, SymbolInfo] | ActionResult:
        """The open position and its symbol's rules, or the refusal that says why not."""
        pos = self._store.get(ticket)
        if pos is None:
            return _fail(ResultCode.NOT_FOUND, f"position {ticket} not found")
        info = self._symbols.get(pos.symbol)
        if info is None:
            return _unknown_symbol(pos)
        return pos, info

    def _tradable(self, ticket: int) -> tuple[Position, SymbolInfo, Quote] | ActionResult:
        """What a deal on ``ticket`` needs (position, rules, price), or the refusal."""
        held = self._held(ticket)
        if isinstance(held, ActionResult):
            return held
        quote = self._priced(held[0])
        if isinstance(quote, ActionResult):
            return quote
        return (*held, quote)

    def _priced(self, pos: Position) -> Quote | ActionResult:
        quote = self._store.quote(pos.symbol)
        if quote is None:
            return _fail(ResultCode.MARKET_CLOSED, f"no price for {pos.symbol} yet")
        return quote

    def _modify(
        self, ticket: int, stop_loss: float | None, take_profit: float | None
    ) -> ActionResult:
        held = self._held(ticket)
        if isinstance(held, ActionResult):
            return held
        pos, info = held
        sl = None if stop_loss is None else round(stop_loss, info.digits)
        tp = None if take_profit is None else round(take_profit, info.digits)
        if sl == pos.stop_loss and tp == pos.take_profit:
            return ActionResult(True, ResultCode.NO_CHANGES, "levels already set")
        quote = self._priced(pos)
        if isinstance(quote, ActionResult):
            return quote
        if info.freeze_level > 0:
            price = quote.bid if pos.direction == "buy" else quote.ask
            for name, level in (("stop loss", pos.stop_loss), ("take profit", pos.take_profit)):
                if level is not None and abs(price - level) < info.freeze_level - _EPS:
                    return _fail(
                        ResultCode.FROZEN,
                        f"{name} {level} is within the freeze level {info.freeze_level} "
                        f"of the price {price}",
                    )
        changed_sl = sl if sl != pos.stop_loss else None
        changed_tp = tp if tp != pos.take_profit else None
        bad = _check_stops(info, pos.direction, quote, changed_sl, changed_tp)
        if bad is not None:
            return bad
        pos.stop_loss, pos.take_profit = sl, tp
        self._store.put(pos)
        return ActionResult.success(f"position {ticket}: stop loss {sl}, take profit {tp}")

    def _close(self, ticket: int, volume: float | None) -> ActionResult:
        ready = self._tradable(ticket)
        if isinstance(ready, ActionResult):
            return ready
        pos, info, quote = ready
        amount = pos.volume
        if volume is not None and not volume >= pos.volume - _EPS:  # NaN goes in here
            rounded = _volume(info, volume)
            if isinstance(rounded, ActionResult):
                return rounded
            left = round(pos.volume - rounded, 8)
            if left < info.volume_min - _EPS:
                return _fail(
                    ResultCode.INVALID_VOLUME,
                    f"closing {rounded:g} of {pos.volume:g} would leave {left:g}, "
                    f"below the minimum {info.volume_min:g}",
                )
            amount = rounded
        price = quote.bid if pos.direction == "buy" else quote.ask
        trade = self._book(pos, amount, price, self._now(quote), "action")
        return ActionResult.success(
            f"closed {amount:g} of {ticket} at {price}, profit {trade.profit:.2f}"
        )

    def _hedge(self, ticket: int, volume: float) -> ActionResult:
        ready = self._tradable(ticket)
        if isinstance(ready, ActionResult):
            return ready
        pos, info, quote = ready
        rounded = _volume(info, volume)
        if isinstance(rounded, ActionResult):
            return rounded
        side = opposite(pos.direction)
        hedge = self._new_position(pos.symbol, side, rounded, None, None, quote)
        hedge.magic, hedge.comment = pos.magic, f"DTMS_HEDGE_{ticket}"
        self._store.put(hedge)
        return ActionResult.success(
            f"hedged {ticket}: {side} {rounded:g} at {hedge.entry_price}", hedge.ticket
        )

    # -- internals ------------------------------------------------------------------

    def _run(self, call: Callable[[], ActionResult]) -> ActionResult:
        """One order call = one write transaction. A busy or broken account file is a
        result (TRANSIENT: try again), never an exception."""
        try:
            with self._store.write():
                return call()
        except sqlite3.OperationalError as exc:
            return _fail(ResultCode.TRANSIENT, f"account file busy: {exc}")
        except sqlite3.Error as exc:
            return _fail(ResultCode.REJECTED, f"account file error: {exc}")

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

    def _now(self, quote: Quote) -> datetime:
        return self._clock() if self._clock is not None else quote.time

    def _new_position(
        self,
        symbol: str,
        direction: Direction,
        volume: float,
        sl: float | None,
        tp: float | None,
        quote: Quote,
    ) -> Position:
        price = quote.ask if direction == "buy" else quote.bid
        ticket = self._store.next_ticket()
        return Position(ticket, symbol, direction, volume, price, sl, tp, self._now(quote))

    def _profit(
        self, symbol: str, direction: Direction, entry: float, price: float, volume: float
    ) -> float:
        info = self._symbols.get(symbol)
        contract = info.contract_size if info is not None else 1.0
        sign = 1 if direction == "buy" else -1
        money = (price - entry) * sign * volume * contract
        currency = self._store.meta.currency
        if len(symbol) == 6 and symbol[:3] == currency and symbol[3:] != currency:
            money /= price
        return round(money, 2)

    def _book(
        self, pos: Position, volume: float, price: float, when: datetime, reason: str
    ) -> Trade:
        """Close ``volume`` of ``pos`` at ``price``: balance, history, position updated."""
        profit = self._profit(pos.symbol, pos.direction, pos.entry_price, price, volume)
        store = self._store
        store.add_balance(profit)
        trade = Trade(
            pos.ticket,
            pos.symbol,
            pos.direction,
            volume,
            pos.entry_price,
            pos.stop_loss,
            pos.take_profit,
            pos.opened_at,
            pos.magic,
            pos.comment,
            profit=profit,
            close_price=price,
            closed_at=when,
        )
        store.record(ClosedDeal(trade, reason))
        if volume >= pos.volume - _EPS:
            store.delete(pos.ticket)
        else:
            pos.volume = round(pos.volume - volume, 8)
            store.put(pos)
        return trade

    def _open_profit(self, pos: Position, quote: Quote | None) -> float:
        if quote is None:
            return 0.0
        price = quote.bid if pos.direction == "buy" else quote.ask
        return self._profit(pos.symbol, pos.direction, pos.entry_price, price, pos.volume)

    def _trade(self, pos: Position, quote: Quote | None) -> Trade:
        """The open position as a :class:`Trade`, built (and checked) once per position
        state and quote: a replay's cycle asks for the same positions several times (the
        strategy, the exits, DTMS), and each build checks thirteen fields."""
        state = (pos.volume, pos.entry_price, pos.stop_loss, pos.take_profit)
        memo = self._memo.get(pos.ticket)
        if memo is not None and memo[0] is quote and memo[1] == state:
            return memo[2]
        trade = Trade(
            pos.ticket,
            pos.symbol,
            pos.direction,
            pos.volume,
            pos.entry_price,
            pos.stop_loss,
            pos.take_profit,
            pos.opened_at,
            pos.magic,
            pos.comment,
            profit=self._open_profit(pos, quote),
        )
        self._memo[pos.ticket] = (quote, state, trade)
        return trade

    def _floating(self) -> float:
        total = 0.0
        for pos in self._store.positions():
            total += self._open_profit(pos, self._store.quote(pos.symbol))
        return total

    def _default_spread(self, symbol: str, info: SymbolInfo | None) -> float:
        if symbol in DEFAULT_SPREADS:
            return DEFAULT_SPREADS[symbol]
        return 10 * info.point if info is not None else 0.0


def _unknown_symbol(pos: Position) -> ActionResult:
    """A position (of another process on the same account file) on a symbol this broker
    has no rules for: refused, as MetaTrader refuses a symbol not in Market Watch."""
    return _fail(
        ResultCode.REJECTED,
        f"position {pos.ticket}: unknown symbol {pos.symbol!r} (not in this broker's symbols)",
    )
