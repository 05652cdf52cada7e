"""The paper broker's order calls: open, modify, close and hedge, with MetaTrader's
refusals.

:class:`PaperOrders` is the order half of :class:`~hostapp.brokers.paper.PaperBroker`, as
:class:`~hostapp.brokers.mt5_trading.Trading` is the MetaTrader broker's. Each call is one
write transaction on the account store (:meth:`PaperOrders._run`) and every refusal is an
:class:`~hookspecs.ActionResult` with a code, never an exception. The rules checked are
:mod:`.paper_rules`; the money moved is :class:`~.paper_ledger.PaperLedger`'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta

from hookspecs import (
    ActionResult,
    NettingEffect,
    OrderRequest,
    Quote,
    ResultCode,
    SymbolInfo,
    inside_freeze,
    opposite,
)

from .paper_account import Position
from .paper_ledger import PaperLedger
from .paper_rules import EPS as _EPS
from .paper_rules import check_stops as _check_stops
from .paper_rules import fail as _fail
from .paper_rules import round_volume as _volume
from .volume_words import asked_words


class PaperOrders(PaperLedger):
    """The order calls of :class:`hookspecs.Broker` on a paper account."""

    _hedging: bool
    _bar_period: timedelta

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
        """Close ``ticket``, or ``volume`` lots of it (rounded down to the step, and the
        message says so; a volume at or above the position's closes it all). The realised
        P&L goes to the balance. A part may leave less than the minimum open, as the
        MetaTrader adapter's does (MetaTrader checks the volume of the request, not what
        it leaves): the message says so, and only a full close can take the rest."""
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
        quote = self._quoted(order.symbol)
        if isinstance(quote, ActionResult):
            return quote
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
        asked = asked_words(volume, order.volume, info.volume_step)
        return ActionResult.success(
            f"{pos.direction} {volume:g} {pos.symbol}{asked} at {pos.entry_price}", pos.ticket
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
            return _netted(f"added {volume:g} to {pos.ticket}", pos.ticket, "added")
        now = self._now(quote)
        if volume < pos.volume - _EPS:
            self._book(pos, volume, price, now, "netting")
            return _netted(f"reduced {pos.ticket} by {volume:g}", pos.ticket, "reduced")
        self._book(pos, pos.volume, price, now, "netting")
        rest = round(volume - pos.volume, 8)
        if rest < _EPS:
            return _netted(f"closed {pos.ticket} (netting)", None, "closed")
        new = self._new_position(order.symbol, order.direction, rest, sl, tp, quote)
        new.magic, new.comment = order.magic, order.comment
        self._store.put(new)
        return _netted(f"reversed {pos.ticket} into {new.ticket}", new.ticket, "reversed")

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
        return self._quoted(pos.symbol)

    def _quoted(self, symbol: str) -> Quote | ActionResult:
        """The symbol's price, or ``market_closed``: none yet, or its market is closed
        while another symbol's trades. A run of symbols with other hours (an index's
        daily break, FX beside bitcoin at the weekend) moves the clock on with the
        others' bars: a stop moved on a symbol with no bar since its market closed was
        taken on its last price before the close, as no broker takes one then."""
        quote = self._store.quote(symbol)
        if quote is None:
            return _fail(ResultCode.MARKET_CLOSED, f"no price for {symbol} yet")
        newest = self._store.newest_quote_time()
        if newest is not None and newest - quote.time >= self._bar_period:
            return _fail(
                ResultCode.MARKET_CLOSED,
                f"the market of {symbol} is closed: no bar since {quote.time:%Y-%m-%d %H:%M} "
                f"UTC, and other symbols have bars to {newest:%Y-%m-%d %H:%M} UTC",
            )
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
        frozen = _frozen(pos, info, quote)
        if frozen is not None:
            return frozen
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
        frozen = _frozen(pos, info, quote)
        if frozen is not None:
            return frozen
        amount, asked, said = pos.volume, "", ""
        if volume is not None and not volume >= pos.volume - _EPS:  # NaN goes in here
            rounded = _volume(info, volume)
            if isinstance(rounded, ActionResult):
                return rounded
            left = round(pos.volume - rounded, 8)
            if left < info.volume_min - _EPS:
                said += (
                    f"; {left:g} left open, below the minimum {info.volume_min:g}: only a "
                    "full close can take it"
                )
            amount = rounded
            asked = asked_words(rounded, volume, info.volume_step)
        price = quote.bid if pos.direction == "buy" else quote.ask
        trade = self._book(pos, amount, price, self._now(quote), "action")
        return ActionResult.success(
            f"closed {amount:g}{asked} of {ticket} at {price}, profit {trade.profit:.2f}{said}"
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
        asked = asked_words(rounded, volume, info.volume_step)
        return ActionResult.success(
            f"hedged {ticket}: {side} {rounded:g}{asked} at {hedge.entry_price}", hedge.ticket
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


def _unknown_symbol(pos: Position) -> ActionResult:
    """A position (of another process on the same account file) on a symbol this broker
    has no rules for: refused, as MetaTrader refuses a symbol not in Market Watch."""
    return _fail(
        ResultCode.REJECTED,
        f"position {pos.ticket}: unknown symbol {pos.symbol!r} (not in this broker's symbols)",
    )


def _netted(message: str, ticket: int | None, effect: NettingEffect) -> ActionResult:
    """An open that changed the symbol's netting position, the change as data."""
    return ActionResult(True, ResultCode.OK, message, ticket, netting=effect)


def _frozen(pos: Position, info: SymbolInfo, quote: Quote) -> ActionResult | None:
    """MetaTrader's refusal to move a level of, or close, a position whose stop or target
    lies within the freeze level of the price it closes at (:func:`hookspecs.inside_freeze`)."""
    sign = 1 if pos.direction == "buy" else -1
    price = quote.bid if sign > 0 else quote.ask
    level = info.freeze_level
    if not inside_freeze(sign, price, pos.stop_loss, pos.take_profit, level):
        return None
    return _fail(
        ResultCode.FROZEN,
        f"position {pos.ticket}: its stop {pos.stop_loss} or target {pos.take_profit} is within "
        f"the freeze level {level:g} of the price {price}",
    )
