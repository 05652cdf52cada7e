"""The trading rules of replayed symbols: the paper broker's own for the symbols it knows,
else a guess from the prices (digits, lot size), and the note that says what was guessed
(the money figures of a guessed symbol are only as good as the guess)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from hookspecs import Bar, Broker, SimBroker, SymbolInfo

from .costs_note import costs_note as costs_note

if TYPE_CHECKING:
    from .brokers.paper import PaperBroker
    from .brokers.paper_symbols import PaperSymbols


def symbol_infos(
    series: Mapping[str, Iterable[Bar]], configured: PaperSymbols | None = None
) -> dict[str, SymbolInfo]:
    """The rules of the data's symbols, and of no other (a symbol without bars has no
    price to trade at, and a server asked to defend a trade in it would wait for bars
    forever): the paper broker's own for the symbols it knows, with a broker's suffix or
    not (``USDJPY.m`` is ``USDJPY``), else a guess; what a ``[host.paper.symbols.NAME]``
    table of ``configured`` gives replaces either (:mod:`.brokers.paper_symbols`).

    Digits are the most decimals the prices of the first 500 bars really have (opens,
    highs and lows too: a close can end in a zero the others do not), float noise left
    out (:func:`_decimals`: yfinance's ``1229.22998`` is 1229.23), and no more than give
    the highest price eight significant digits (no market quotes more: a last guard
    against noise, which made a 6-digit S&P 500 whose assumed spread of ten points cost
    nothing); and at least enough that rounding the lowest price to the point keeps three
    significant digits, so a stop is never rounded to 0, and that a point is at most two
    basis points of the series' lowest low, so the spread assumed for its bars without
    one keeps within two basis points (:func:`~.brokers.paper_rules.spread_digits`:
    whole-number prices near 100 gave a point, and a spread, of 1 %). A lot is sized to be worth
    about 100,000 at the highest close of the whole series (a power of ten: 100,000 units
    of a price near 1, 100 of a price near 2,000 as for gold, 1 of a price near 60,000 as
    for bitcoin, 100,000,000 of a coin at 0.0016), so a 0.01 lot risks about what it
    risks on the bundled symbols and sizing lands inside the 0.01 to 100 lot limits
    whatever the instrument; a pair of currencies (``GBPJPY``, ``USDMXN``:
    :func:`~.brokers.paper_rules.currency_pair`, not a metal) trades a standard lot of
    100,000 units of its base; a name that reads as a stock's ticker (``GOOG``:
    :func:`~.brokers.paper_rules.stock_ticker`) trades one share a lot, whatever its price.

    Why the highest close, not the first: a lot's worth, and so the money the minimum lot
    risks at a stop, grows with the price. Sized on the first bar, a series that rose a
    thousandfold (MSFT's split-adjusted closes, $0.07 in 1986, $70 in 2017) made the
    0.01 lot worth a thousand times the 1,000 meant: every order risked more than the
    balance, and every run was wiped out a third of the way in. Sized on the highest,
    the minimum lot is worth at most about 3,000 (0.01 of a 100,000 lot, rounded to a
    power of ten) anywhere in the file, and a price far below its high only asks for more
    lots, which the 100 lot maximum caps (an order smaller than asked, never larger). A
    streamed series (the builtin one of a live run or a server, made as it is read, whose
    profile keeps its price in a band) is sized on its first 500 bars, as reading it whole
    could take minutes.
    """
    infos = _infos(series)
    if configured is not None:
        infos = {s: configured.apply(info) for s, info in infos.items()}
    return infos


def _infos(series: Mapping[str, Iterable[Bar]]) -> dict[str, SymbolInfo]:
    """:func:`symbol_infos` without the configured tables."""
    from .brokers.paper_rules import currency_pair, known_rules, spread_digits, stock_ticker

    infos: dict[str, SymbolInfo] = {}
    for symbol, bars in series.items():
        known = known_rules(symbol)
        if known is not None:
            infos[symbol] = known
            continue
        sample = list(itertools.islice(bars, 500))
        if not sample:
            continue
        prices = [p for b in sample for p in (b.open, b.high, b.low, b.close)]
        digits = min(max(_decimals(p) for p in prices), _digits_cap(max(prices)))
        whole = bars if isinstance(bars, Sequence) else sample  # a streamed one: its sample
        lowest = spread_digits(min(b.low for b in whole))  # a spread within 2 bp of it
        digits = min(_MAX_DIGITS, max(digits, _digits_for(min(prices)), lowest))
        highest = max(b.close for b in whole)
        infos[symbol] = SymbolInfo(
            symbol,
            digits,
            10.0**-digits,
            0.01,
            0.01,
            100.0,
            contract_size=_contract_size(
                highest, stock=stock_ticker(symbol), pair=currency_pair(symbol)
            ),
        )
    return infos


def guessed_rules_note(broker: Broker, symbols: Iterable[str]) -> str | None:
    """One sentence on what :func:`symbol_infos` guessed for the paper broker (``None``
    when it knows every symbol, or for a real broker). Lot sizes follow the guessed
    contract, and so do the money figures: of fixed-lot orders, of risk-sized ones
    wherever the lot limits cap them (SPY's guessed lot of one share, capped at 100
    lots, risks a fifth of the 1 % asked), and the spread assumed for bars without one
    (ten points of the guessed digits, within a share of the price). A trade's R hardly
    does (its partial closes are rounded to the lot step), but a run's R results do
    wherever a rule counts money: DTMS's account rail on the day's realised loss
    (:data:`MONEY_RULE`) fires on other days for another lot, and vetoes entries and
    puts every open trade in defensive mode until the day ends. The same SPY minute
    bars replayed as ``SPY_us`` (a lot of 100 units) and as ``SPY`` (one share) had
    DTMS veto 35 entries against 6, and change the same entries' R by +0.92R against
    +2.01R: the sentence says so, and names the table and keys that give the real
    rules. A pair whose currencies are not the account's (GBPJPY on a USD account), in a
    run without a symbol to convert with (USDJPY), books its profits in its first
    currency, turned from its second at its price (:mod:`.brokers.paper_ledger`),
    counted as the account's; a metal's in its second.
    A broker's name for a symbol it knows (``USDJPY.m``) is traded on that symbol's
    rules, which the sentence says too: the broker's own may differ (a micro account's
    lot). A symbol with a ``[host.paper.symbols.NAME]`` table is not guessed: the
    sentence says its rules are the file's, and which of them the table left to the
    guess."""
    from .brokers.paper import PaperBroker
    from .brokers.paper_rules import DEFAULT_SYMBOLS, listed_name

    if not isinstance(broker, SimBroker):
        return None
    table = broker.settings.symbols if isinstance(broker, PaperBroker) else {}
    infos = [
        info
        for s in symbols
        if (s not in DEFAULT_SYMBOLS or s in table) and (info := broker.symbol_info(s)) is not None
    ]
    told = [i for i in infos if i.name in table]
    known = [i for i in infos if i.name not in table and listed_name(i.name) in DEFAULT_SYMBOLS]
    guessed = [i for i in infos if i.name not in table and i not in known]
    said: list[str] = []
    if known:
        said.append(
            "the paper broker trades a broker's name for a symbol it knows on that symbol's "
            "rules: " + "; ".join(f"{i.name} as {listed_name(i.name)} ({_rules(i)})" for i in known)
        )
    if told:
        said.append(
            "rules from plugins.toml for "
            + "; ".join(f"{i.name} ({_rules(i)}{_left(i, table[i.name])})" for i in told)
        )
    if guessed:
        said.append(
            f"the paper broker does not know {', '.join(i.name for i in guessed)} and "
            f"guessed the trading rules from the prices "
            f"({'; '.join(f'{i.name}: {_rules(i)}, {_limits(i)}' for i in guessed)}): lot "
            "sizes follow that guess, and so do the money figures (of orders sized by risk "
            "too, where the lot limits cap them) and the spread assumed for bars without "
            "one; a trade's R hardly does, but the run's R results do wherever a rule "
            f"counts money, as {MONEY_RULE} does, so the same bars under another name "
            "trade otherwise (a [host.paper.symbols.NAME] table in plugins.toml gives the "
            "real ones: contract_size, volume_min, volume_step, volume_max, digits, spread)"
        )
    unused = sorted(set(table) - set(symbols))
    if unused:  # a table for a symbol this run has no bars of: said, not silently ignored
        said.append(
            f"plugins.toml's [host.paper.symbols] tables for {', '.join(unused)} are unused: "
            "this run has no bars of "
            + ("that symbol (tables match exact names)" if len(unused) == 1 else "those symbols")
        )
    money = _money_note(broker, symbols)
    if money:
        said.append(money)
    if not said:
        return None
    return "; ".join(said)


def _money_note(broker: SimBroker, symbols: Iterable[str]) -> str | None:
    """The symbols whose profits are in a currency that is not the account's: those the
    paper broker turns into it at the price of another of the run's symbols
    (:meth:`~.brokers.paper_ledger.PaperLedger.rate_of`), with the deals it booked
    unconverted before that symbol had a price, if any; those it books in another
    currency, counted as the account's (:func:`~.brokers.paper_ledger.booked_currency`):
    every one of the run's, the bundled ones too (XAUUSD's dollars on a euro account were
    counted as euros with no word, as a guessed symbol's were not); and those whose
    profit currency is not known at all (an index, a stock, with no ``profit_currency``
    in its table: JP225's yen were booked as dollars with no word, a table's rules or
    not), since the money figures, orders sized by risk, the drawdown % and DTMS's
    daily-loss rail all count that money."""
    from .brokers.paper import PaperBroker
    from .brokers.paper_ledger import booked_currency, profit_currency
    from .brokers.paper_rules import METALS, currency_pair

    currency = broker.account().currency
    paper = broker if isinstance(broker, PaperBroker) else None
    turned, counted, unknown = [], [], []
    for name in symbols:
        if broker.symbol_info(name) is None:
            continue
        rate = paper.rate_of(name) if paper is not None else None
        if paper is not None:
            booked, money = paper.booked_currency_of(name), paper.profit_currency_of(name)
        else:
            booked, money = booked_currency(name, currency), profit_currency(name)
        if rate is not None:
            first = f", after its own price into {name[:3]}" if rate[2] else ""
            late = _unconverted(paper, name, rate[0], money) if paper is not None else ""
            turned.append(f"{name}'s ({money}) at {rate[0]}'s{first}{late}")
            continue
        if booked is None:
            unknown.append(name)
            continue
        if booked == currency:
            continue
        pair = currency_pair(name)
        if pair is None or pair[0] in METALS:
            counted.append(f"{name}'s profits are in {booked}, counted as {currency}")
        else:
            counted.append(
                f"{name}'s profits are in {pair[1]}, turned into {booked} at its price "
                f"and counted as {currency}"
            )
    said = []
    if turned:
        said.append(
            f"profits turned into {currency} at the price, at the time, of the run's symbol "
            f"of the two currencies: {', '.join(turned)}"
        )
    if counted:
        said.append(
            "; ".join(counted)
            + "; the run has no symbol of that currency and the account's to turn it with, "
            "so the money figures, orders sized by risk, the drawdown % and DTMS's "
            "daily-loss rail ([plugin.dtms.rails] daily_loss_pct) count that money as "
            f"{currency}: a symbol of the two among the run's (EURUSD beside XAUUSD on a EUR "
            "account), or an account in the symbol's currency ([host.paper] currency), counts "
            "it right"
        )
    if unknown:
        said.append(
            f"{', '.join(unknown)}: profits in an unknown currency, counted as {currency}; "
            "set [host.paper.symbols.NAME] profit_currency"
        )
    return "; ".join(said) or None


def _unconverted(broker: PaperBroker, symbol: str, rate: str, money: str | None) -> str:
    """What the note says of ``symbol``'s deals booked before ``rate``, the symbol that
    converts them, had a price (a file that starts later): "" when there were none."""
    seen = broker.unconverted.get(symbol)
    if seen is None or seen.last is None:
        return ""
    deals = f"{seen.deals} deals" if seen.deals != 1 else "1 deal"
    total = f"{seen.total:,.2f} {money or ''}".rstrip() + (" in all" if seen.deals != 1 else "")
    last = "the last at" if seen.deals != 1 else "at"
    return (
        f" ({deals} of {symbol}, {total}, booked unconverted until {rate} had a price, "
        f"{last} {seen.last:%Y-%m-%d %H:%M})"
    )


#: the rule of this distribution's plugins that counts money, and so follows a guessed
#: lot (docs/dtms.md §7): vetoed entries and defended trades, hence R results, with it
MONEY_RULE = (
    "DTMS's account rail on the day's realised loss ([plugin.dtms.rails] daily_loss_pct, "
    "a share of the balance: it vetoes entries and puts every open trade in defensive mode "
    "until the day ends)"
)


#: the keys of a ``[host.paper.symbols.NAME]`` table that a guess fills when left out
_GUESSED_KEYS = ("digits", "contract_size", "volume_min", "volume_step", "volume_max")


def _left(info: SymbolInfo, table: object) -> str:
    """What a symbol's table leaves to the guess, as the note says it ("" for none, or
    for a symbol the paper broker knows: the rest are its own rules)."""
    from .brokers.paper_rules import DEFAULT_SYMBOLS, listed_name

    if listed_name(info.name) in DEFAULT_SYMBOLS or not isinstance(table, dict):
        return ""
    missing = [k for k in _GUESSED_KEYS if k not in table]
    return f"; {', '.join(missing)} guessed" if missing else ""


def _rules(info: SymbolInfo) -> str:
    units = "unit" if info.contract_size == 1 else "units"
    return f"{info.digits} digits, a lot of {info.contract_size:,g} {units}"


def _limits(info: SymbolInfo) -> str:
    """A guessed symbol's volume limits and stops level, which a broker's real ones may
    not share (a stock's whole shares, an index's stops level): a refusal or a sizing
    that differs live is explained by them."""
    stops = f"{info.stops_level:g}" if info.stops_level else "none"
    return (
        f"{info.volume_min:g} to {info.volume_max:g} lots by {info.volume_step:g}, "
        f"stops level {stops}"
    )


_MAX_DIGITS = 10


def _decimals(price: float) -> int:
    """Decimals ``price`` really has (0 to 10): the fewest that give the same number back.

    Not the decimals of its float text: a computed 1.1 is 1.1000000000000001, a price a
    data frame kept in single precision reads 1.0946000814437866, and yfinance writes its
    single-precision prices with ten significant digits (1229.23 as ``1229.22998``). Each
    is its decimal number within float noise: float64's, or half a float32 step (a little
    more, for the ten digits written), and counts as such.
    """
    for digits in range(_MAX_DIGITS):
        rounded = round(price, digits)
        if math.isclose(rounded, price, rel_tol=1e-12) or abs(price - rounded) <= 0.6 * _ulp32(
            rounded
        ):
            return digits
    return _MAX_DIGITS


def _ulp32(value: float) -> float:
    """The step between single-precision floats at ``value`` (0 at 0)."""
    if value == 0 or not math.isfinite(value):
        return 0.0
    return math.ldexp(1.0, math.frexp(value)[1] - 24)


#: the significant digits no market's price goes beyond (BTC at 60,000.12 has 7)
_SIGNIFICANT = 8


def _digits_cap(highest: float) -> int:
    """The most decimals that keep ``highest`` within :data:`_SIGNIFICANT` digits."""
    if highest <= 0:
        return _MAX_DIGITS
    return min(_MAX_DIGITS, max(0, _SIGNIFICANT - 1 - math.floor(math.log10(highest))))


def _digits_for(lowest: float) -> int:
    """Decimals that keep three significant digits of ``lowest`` (0.0016 → 5)."""
    if lowest <= 0:
        return 0
    return min(_MAX_DIGITS, max(0, 2 - math.floor(math.log10(lowest))))


#: a standard lot of a currency pair: 100,000 units of its base currency, whatever the
#: quote (GBPJPY near 190 and USDMXN near 17 too, not the 1,000 and 10,000 units a
#: 100,000 notional in the quote currency would be)
_FX_LOT = 100_000.0


def _contract_size(
    price: float, *, stock: bool = False, pair: tuple[str, str] | None = None
) -> float:
    """Units in one lot: a standard lot of a currency ``pair`` (not a metal), one share of
    a ``stock`` whatever its ``price`` (a split-adjusted history starts at cents: sized
    on those, a lot was a million shares by the time the price was dollars), else the
    power of ten nearest a 100,000 notional at ``price``, at least 1."""
    from .brokers.paper_rules import METALS

    if pair is not None and pair[0] not in METALS:  # a metal's lot follows its price
        return _FX_LOT
    if stock:
        return 1.0
    exponent = round(math.log10(100_000 / price)) if price > 0 else 5
    return float(10 ** max(0, exponent))
