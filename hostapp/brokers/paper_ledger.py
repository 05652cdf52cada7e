"""The money side of the paper broker: opening a position at the quote, what a deal
earns, and booking a close into the balance and the history.

Profit of a deal is ``(close − open) × sign × volume × contract_size`` in the symbol's
quote currency; when the account currency is the symbol's base instead (``USDJPY`` on a
USD account, or a broker's ``USDJPY.m``) it is divided by the closing price. A profit in
a third currency is turned into the account's at the price of the run's symbol of the
two (:func:`rate_symbol`: ``XAUUSD``'s dollars on a EUR account at ``EURUSD``'s, divided;
``EURUSD``'s on a JPY account at ``USDJPY``'s, multiplied), its mid price at the time;
as a step's stops are checked, its price as the step began (the last bar's close before
it), whatever order the step's symbols are fed in: taken as each was fed, a deal's
money depended on the order of the files on the command line. Where the run has no such
symbol (or it has no price yet), a pair of two other currencies (``GBPJPY`` on a USD account, not a
metal) has its profit turned into its base currency at its own price and counted as the
account's, off by that currency's rate to it (GBP's 1.3 to the dollar), not by the
quote's (yen counted as dollars, 150 times the worth of a standard lot's move); a
metal's, and a bundled ``BTCUSD``'s, are counted as the account's as they are; the run's
notes name each such symbol (:func:`booked_currency`). An index's or a stock's profit
currency is not in its name: a ``[host.paper.symbols.NAME]`` table's ``profit_currency``
tells it, and it is then converted as a pair's quote currency is (``JP225``'s yen at
``USDJPY``'s on a USD account); left untold, its profits are counted as the account's,
which the run's notes say too. A deal booked unconverted because the rate symbol had no
price yet is counted (:attr:`PaperLedger.unconverted`), and the notes say how many.
Money is rounded to cents per deal.

:class:`PaperLedger` sits below both the order calls (:mod:`.paper_orders`) and the
per-bar stop checks of :class:`~hostapp.brokers.paper.PaperBroker`: both close positions
through :meth:`PaperLedger._book`, so the arithmetic is written once.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hookspecs import Direction, Quote, SymbolInfo, Trade

from .paper_account import AccountStore, ClosedDeal, Position
from .paper_rules import (
    CURRENCIES,
    DEFAULT_SYMBOLS,
    METALS,
    PaperSettings,
    currency_pair,
    listed_name,
)
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


def profit_currency(symbol: str, told: str | None = None) -> str | None:
    """The currency a price move of ``symbol`` is money in: a pair's second (a metal's
    too), a bundled symbol's last three letters (``BTCUSD``'s dollars), else ``told``
    (its ``[host.paper.symbols.NAME]`` table's ``profit_currency``: an index's, a
    stock's, whose name does not say it); ``None`` for one whose currency is not known."""
    pair = currency_pair(symbol)
    if pair is not None:
        return pair[1]
    name = listed_name(symbol)
    known = name in DEFAULT_SYMBOLS and len(name) == 6 and name[3:] in CURRENCIES
    return name[3:] if known else told


def told_currencies(tables: Mapping[str, Any]) -> dict[str, str]:
    """The ``profit_currency`` of each ``[host.paper.symbols.NAME]`` table that gives one,
    in capitals (``tables`` as :class:`~.paper_rules.PaperSettings` keeps them, checked
    by :func:`~.paper_symbols.parse_paper_symbols`)."""
    return {
        name: table["profit_currency"].upper()
        for name, table in tables.items()
        if isinstance(table, dict) and isinstance(table.get("profit_currency"), str)
    }


def booked_currency(symbol: str, currency: str, told: str | None = None) -> str | None:
    """The currency a deal's money on ``symbol`` is really in, booked as ``currency``,
    where no symbol of the run turns it (:func:`rate_symbol`): ``currency`` itself for a
    pair of it, the first of a pair of two others (``GBPJPY``'s yen turned into pounds
    at its price), a metal's second (``XAUUSD``'s dollars), a bundled ``BTCUSD``'s
    dollars; ``None`` for a symbol whose profit currency is not known (an index, a
    stock) and no ``told`` one (:func:`profit_currency`), counted as the account's. A
    currency here that is not ``currency`` is money counted in the wrong unit, which the
    run's notes say (:func:`hostapp.symbol_rules.guessed_rules_note`)."""
    pair = currency_pair(symbol)
    if pair is None:
        return profit_currency(symbol, told)
    if currency in pair:
        return currency
    return pair[1] if pair[0] in METALS else pair[0]


@functools.lru_cache(maxsize=4096)
def rate_symbol(
    symbol: str, currency: str, symbols: tuple[str, ...], told: str | None = None
) -> tuple[str, bool, bool] | None:
    """The symbol among ``symbols`` (the run's) whose price turns ``symbol``'s profit into
    ``currency``, whether it is divided by (``EURUSD`` for dollars on a EUR account) or
    multiplied by (``USDJPY`` for dollars on a JPY account), and whether the profit is
    first turned into ``symbol``'s base at its own price: a pair with no symbol of its
    quote currency and the account's, but one of its base's (``USDJPY``'s yen on a EUR
    account, into dollars at its price, then into euros at ``EURUSD``'s). ``None`` when
    the profit is in ``currency`` already, is turned by ``symbol``'s own price alone
    (:func:`in_base_currency`'s first case), is of no known currency, or no symbol of the
    run converts it. ``told``: :func:`profit_currency`'s. Worked out once per symbol and
    run, as every bar values every open position."""
    money = profit_currency(symbol, told)
    pair = currency_pair(symbol)
    if money is None or money == currency or (pair is not None and pair[0] == currency):
        return None
    base = pair[0] if pair is not None and pair[0] not in METALS else None
    for first, into in ((False, money), (True, base)):
        for other in symbols if into is not None else ():
            two = currency_pair(other)
            if two == (currency, into):
                return other, True, first
            if two == (into, currency):
                return other, False, first
    return None


@dataclass
class Unconverted:
    """The deals of one symbol booked unconverted, as its rate symbol had no price yet:
    how many, their profit in all (in the symbol's currency, counted as the account's),
    and when the last was booked. The run's notes say it, only when it happened."""

    deals: int = 0
    total: float = 0.0
    last: datetime | None = None


class PaperLedger:
    """Positions opened, valued and closed on the account store; the broker supplies the
    symbol table, the settings, the store and the clock
    (:class:`~hostapp.brokers.paper.PaperBroker` builds them)."""

    settings: PaperSettings
    _symbols: dict[str, SymbolInfo]
    #: the tables' profit currencies, read once from the settings (:meth:`told_currency`)
    _told: dict[str, str] | None = None
    #: per symbol, its deals booked unconverted (:attr:`unconverted`); made at the first
    _unconverted: dict[str, Unconverted] | None = None
    _symbol_names: tuple[str, ...]
    #: during a step, the rate symbols' quotes as it began (:meth:`_freeze_rates`)
    _step_rates: dict[str, Quote | None] | None = None
    _rate_names: tuple[str, ...] | None = None  # the symbols profits are converted at
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

    def rate_of(self, symbol: str) -> tuple[str, bool, bool] | None:
        """:func:`rate_symbol` among this account's symbols: what ``symbol``'s profits
        are turned into the account's currency with (the run's notes say it)."""
        told = self.told_currency(symbol)
        return rate_symbol(symbol, self._store.meta.currency, self._symbol_names, told)

    def told_currency(self, symbol: str) -> str | None:
        """``symbol``'s ``[host.paper.symbols.NAME] profit_currency``, if its table gives
        one."""
        told = self._told
        if told is None:
            told = self._told = told_currencies(self.settings.symbols)
        return told.get(symbol)

    def profit_currency_of(self, symbol: str) -> str | None:
        """:func:`profit_currency` of ``symbol`` on this account, its table's told one
        included; ``None`` when it is not known (its money counted as the account's)."""
        return profit_currency(symbol, self.told_currency(symbol))

    def booked_currency_of(self, symbol: str) -> str | None:
        """:func:`booked_currency` of ``symbol`` on this account, its table's told one
        included; the account's own for a symbol whose money its price turns into it
        (:func:`in_base_currency`: ``USDJPY`` on a USD account)."""
        currency = self._store.meta.currency
        told = self.told_currency(symbol)
        if told is None and currency_pair(symbol) is None and in_base_currency(symbol, currency):
            return currency
        return booked_currency(symbol, currency, told)

    @property
    def unconverted(self) -> Mapping[str, Unconverted]:
        """Per symbol, the deals this broker booked unconverted because the symbol that
        turns their money into the account's had no price yet (the run's notes say so)."""
        return self._unconverted or {}

    def _rate_quote(self, name: str) -> Quote | None:
        """The quote of rate symbol ``name``: as the step began, during a step."""
        frozen = self._step_rates
        if frozen is not None and name in frozen:
            return frozen[name]
        return self._store.quote(name)

    def rate_names(self) -> tuple[str, ...]:
        """The symbols this account's profits are converted at (none: every symbol is
        in the account's currency, or its rate is unknown), worked out once."""
        names = self._rate_names
        if names is None:
            rates = (self.rate_of(symbol) for symbol in self._symbol_names)
            names = self._rate_names = tuple({rate[0] for rate in rates if rate is not None})
        return names

    def _freeze_rates(self) -> None:
        """Keep the rate symbols' quotes as they are now, until :meth:`_thaw_rates`."""
        names = self.rate_names()
        # no rate symbol (an account in the symbols' own currency): nothing to freeze
        self._step_rates = {name: self._store.quote(name) for name in names} if names else None

    def _thaw_rates(self) -> None:
        self._step_rates = None

    def _profit(
        self, symbol: str, direction: Direction, entry: float, price: float, volume: float
    ) -> float:
        return self._money(symbol, direction, entry, price, volume)[0]

    def _money(
        self, symbol: str, direction: Direction, entry: float, price: float, volume: float
    ) -> tuple[float, bool]:
        """What a deal earns in the account's currency, and whether it was left
        unconverted for want of a price of the symbol that converts it."""
        info = self._symbols.get(symbol)
        contract = info.contract_size if info is not None else 1.0
        sign = 1 if direction == "buy" else -1
        money = (price - entry) * sign * volume * contract
        rate = self.rate_of(symbol)
        quote = self._rate_quote(rate[0]) if rate is not None else None
        if rate is not None and quote is not None and quote.bid > 0:
            mid = (quote.bid + quote.ask) / 2
            if rate[2]:  # into the symbol's base first, at its own price
                money /= price
            return round(money / mid if rate[1] else money * mid, 2), False
        # a told profit currency is no pair's: its money is never divided by the price
        told = self.told_currency(symbol) is not None and currency_pair(symbol) is None
        if not told and in_base_currency(symbol, self._store.meta.currency):
            money /= price
        return round(money, 2), rate is not None

    def _count_unconverted(self, symbol: str, profit: float, when: datetime) -> None:
        if self._unconverted is None:
            self._unconverted = {}
        seen = self._unconverted.setdefault(symbol, Unconverted())
        seen.deals += 1
        seen.total = round(seen.total + profit, 2)
        seen.last = when

    def _book(
        self, pos: Position, volume: float, price: float, when: datetime, reason: str
    ) -> Trade:
        """Close ``volume`` of ``pos`` at ``price``: balance, history, position updated."""
        profit, unconverted = self._money(pos.symbol, pos.direction, pos.entry_price, price, volume)
        if unconverted:
            self._count_unconverted(pos.symbol, profit, when)
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
