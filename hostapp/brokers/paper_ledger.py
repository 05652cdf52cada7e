"""The money side of the paper broker: opening a position at the quote, what a deal
earns, and booking a close into the balance and the history.

Profit of a deal is ``(close − open) × sign × volume × contract_size`` in the symbol's
quote currency; when the account currency is the symbol's base instead (``USDJPY`` on a
USD account, or a broker's ``USDJPY.m``) it is divided by the closing price. A pair of
two other currencies (``GBPJPY`` on a USD account, not a metal) has no rate to the
account's in the data: its profit is turned into its base currency the same way and
counted as the account's, off by that currency's rate to it (GBP's 1.3 to the dollar),
not by the quote's (yen counted as dollars, 150 times the worth of a standard lot's
move). Money is rounded to cents per deal.

:class:`PaperLedger` sits below both the order calls (:mod:`.paper_orders`) and the
per-bar stop checks of :class:`~hostapp.brokers.paper.PaperBroker`: both close positions
through :meth:`PaperLedger._book`, so the arithmetic is written once.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from datetime import datetime

from hookspecs import Direction, Quote, SymbolInfo, Trade

from .paper_account import AccountStore, ClosedDeal, Position
from .paper_rules import CURRENCIES, DEFAULT_SYMBOLS, METALS, currency_pair, listed_name
from .paper_rules import EPS as _EPS


@functools.lru_cache(maxsize=4096)
def in_base_currency(symbol: str, currency: str) -> bool:
    """Is a deal's money on ``symbol`` divided by its price for an account in
    ``currency`` (the rule above: the account's currency is its base, or it is a cross of
    two others)? A symbol's answer never changes, and every bar values every open
    position (the stop-out's equity), so it is worked out once per symbol."""
    name = listed_name(symbol)  # USDJPY.m's profits are USDJPY's
    if len(name) == 6 and name[:3] == currency and name[3:] != currency:
        return True
    pair = currency_pair(name)
    return pair is not None and pair[0] not in METALS and currency not in pair


def booked_currency(symbol: str, currency: str) -> str | None:
    """The currency a deal's money on ``symbol`` is really in once :func:`in_base_currency`
    has had its say, booked as ``currency`` whatever it is: ``currency`` itself for a pair
    of it, the first of a pair of two others (``GBPJPY``'s yen turned into pounds), a
    metal's second (``XAUUSD``'s dollars), and the second three letters of a bundled
    symbol that ends in a currency (``BTCUSD``'s dollars); ``None`` for a symbol whose
    profit currency is not known (an index, a stock), counted as the account's. A run
    has no rate to turn one into the other, so a currency here that is not ``currency``
    is money counted in the wrong unit, which the run's notes say
    (:func:`hostapp.symbol_rules.guessed_rules_note`)."""
    pair = currency_pair(symbol)
    if pair is None:
        name = listed_name(symbol)
        known = name in DEFAULT_SYMBOLS and len(name) == 6 and name[3:] in CURRENCIES
        return name[3:] if known else None
    if currency in pair:
        return currency
    return pair[1] if pair[0] in METALS else pair[0]


class PaperLedger:
    """Positions opened, valued and closed on the account store; the broker supplies the
    symbol table, the store and the clock (:class:`~hostapp.brokers.paper.PaperBroker`
    builds them)."""

    _symbols: dict[str, SymbolInfo]
    _store: AccountStore
    _clock: Callable[[], datetime] | None

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

    def calc_profit(
        self,
        symbol: str,
        direction: Direction,
        volume: float,
        open_price: float,
        close_price: float,
    ) -> float | None:
        """:class:`hookspecs.ProfitCalculator`: what a deal earns by the rule above;
        ``None`` for a symbol the account does not trade."""
        if symbol not in self._symbols:
            return None
        return self._profit(symbol, direction, open_price, close_price, volume)

    def _profit(
        self, symbol: str, direction: Direction, entry: float, price: float, volume: float
    ) -> float:
        info = self._symbols.get(symbol)
        contract = info.contract_size if info is not None else 1.0
        sign = 1 if direction == "buy" else -1
        money = (price - entry) * sign * volume * contract
        if in_base_currency(symbol, self._store.meta.currency):
            money /= price
        return round(money, 2)

    def _book(
        self, pos: Position, volume: float, price: float, when: datetime, reason: str
    ) -> Trade:
        """Close ``volume`` of ``pos`` at ``price``: balance, history, position updated."""
        profit = self._profit(pos.symbol, pos.direction, pos.entry_price, price, volume)
        store = self._store
        store.add_balance(profit)
        trade = pos.as_trade(volume, profit, close_price=price, closed_at=when)
        store.record(ClosedDeal(trade, reason))
        if volume >= pos.volume - _EPS:
            store.delete(pos.ticket)
        else:
            pos.volume = round(pos.volume - volume, 8)
            store.put(pos)
        return trade

    def _position_closed(self, last_deal: Trade) -> Trade:
        """The position as it closed, from its last closing deal: with the profit of all
        its closing deals (``on_trade_closed``'s promise; the deal has its own part)."""
        total = round(self._store.realised(last_deal.ticket), 2)
        return (
            last_deal if total == last_deal.profit else dataclasses.replace(last_deal, profit=total)
        )

    def _open_profit(self, pos: Position, quote: Quote | None) -> float:
        if quote is None:
            return 0.0
        price = quote.bid if pos.direction == "buy" else quote.ask
        return self._profit(pos.symbol, pos.direction, pos.entry_price, price, pos.volume)

    def _floating(self) -> float:
        total = 0.0
        for pos in self._store.positions():
            total += self._open_profit(pos, self._store.quote(pos.symbol))
        return total
