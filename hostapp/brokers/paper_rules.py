"""The paper broker's settings, symbol table and trading rules: pure functions of a
position, a bar, a quote and a symbol's specification, kept apart from the account so
they read (and can be checked) on their own."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from hookspecs import ActionResult, Bar, CloseReason, Direction, Quote, ResultCode, SymbolInfo

from .paper_account import Position

DEFAULT_SYMBOLS: dict[str, SymbolInfo] = {
    "XAUUSD": SymbolInfo("XAUUSD", 2, 0.01, 0.01, 0.01, 100.0, 0.5, 0.0, 100.0),
    "EURUSD": SymbolInfo("EURUSD", 5, 0.00001, 0.01, 0.01, 100.0, 0.0001, 0.0, 100_000.0),
    "GBPUSD": SymbolInfo("GBPUSD", 5, 0.00001, 0.01, 0.01, 100.0, 0.0001, 0.0, 100_000.0),
    "USDJPY": SymbolInfo("USDJPY", 3, 0.001, 0.01, 0.01, 100.0, 0.01, 0.0, 100_000.0),
    "BTCUSD": SymbolInfo("BTCUSD", 2, 0.01, 0.01, 0.01, 10.0, 10.0, 0.0, 1.0),
}

#: Used by :meth:`PaperBroker.on_bar` for bars without a spread; 10 points otherwise.
DEFAULT_SPREADS: dict[str, float] = {
    "XAUUSD": 0.25,
    "EURUSD": 0.00008,
    "GBPUSD": 0.00012,
    "USDJPY": 0.012,
    "BTCUSD": 15.0,
}


#: currencies a six-letter symbol is made of (``GBPJPY``): a forex or metal pair
CURRENCIES = frozenset(
    {
        *("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN"),
        *("HUF", "CZK", "TRY", "ZAR", "MXN", "SGD", "HKD", "CNH", "ILS", "THB", "XAU", "XAG"),
    }
)

#: the currencies of :data:`CURRENCIES` that are metals: a pair of theirs is no forex
#: pair (its lot is ounces, sized by its price; its profit is in its quote currency)
METALS = frozenset({"XAU", "XAG"})

#: ISO 4217's currencies in use (2024), the money an account or a symbol's profits may be
#: in: a broker's account in rupees or reais is as real as one in dollars
_ISO_4217_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
"""
ISO_4217 = frozenset(_ISO_4217_CODES.split())

#: the currencies an account (``[host.paper] currency``) or a symbol's profits
#: (``[host.paper.symbols.NAME] profit_currency``) may be in: ISO 4217's and the offshore
#: yuan brokers quote (CNH); no metal, and no coin (the ledger books money to the cent:
#: a deal of $5.90 on a BTC account booked 0.00 BTC). Any three letters were taken
#: before, and a typo ("ABC") or a metal ("XAU") ran a whole run with its money named in
#: it, no pair of the run's matching it and so nothing converted (README, "The paper
#: account itself")
MONEY_CURRENCIES = (ISO_4217 | CURRENCIES) - METALS


def check_currency(value: str, key: str) -> str:
    """``value`` as a currency of :data:`MONEY_CURRENCIES`, in capitals ("usd" is USD);
    a ValueError naming ``key`` and a few accepted ones otherwise (its caller's
    ``parse_settings`` puts the file and the table before it)."""
    if len(value) != 3 or not (value.isascii() and value.isalpha()):
        raise ValueError(f"{key} must be a 3-letter code, got {value!r}")
    code = value.upper()
    if code not in MONEY_CURRENCIES:
        raise ValueError(
            f"key {key!r}: {value!r} is not a currency code (ISO 4217's, such as USD, EUR,"
            " GBP, JPY, INR, or CNH; a metal such as XAU, a coin such as BTC, is not an"
            " account's money here)"
        )
    return code


#: a broker's name for a six-capital symbol: a suffix that starts with a mark
#: (``USDJPY.m``, ``XAUUSD.pro``, ``EURUSD-ecn``, ``EURUSD_i``, ``EURUSD#``) or is
#: lower-case letters (``EURUSDm``, ``XAUUSDc``); an upper-case letter is part of the
#: name (``BTCUSDT`` is not ``BTCUSD``)
_SUFFIXED = re.compile(r"(?P<name>[A-Z]{6})(?:[._\-+#!].*|[a-z]+)")


def listed_name(symbol: str) -> str:
    """The name ``symbol`` goes by without a broker's suffix (``USDJPY.m`` → ``USDJPY``);
    ``symbol`` itself when it has none. Brokers add suffixes for their account types, and
    a suffixed pair is still the pair: its lot, its digits, its profit currency."""
    m = _SUFFIXED.fullmatch(symbol)
    return m["name"] if m else symbol


def currency_pair(symbol: str) -> tuple[str, str] | None:
    """The two currencies of a forex or metal pair (``GBPJPY``, ``USDJPY.m``: ``("USD",
    "JPY")``); ``None`` for any other symbol (``BTCUSDT``, ``US30``)."""
    name = listed_name(symbol)
    base, quote = name[:3], name[3:]
    if len(name) == 6 and base in CURRENCIES and quote in CURRENCIES:
        return base, quote
    return None


#: how the names of coins start, which are letters too but no stock
_COINS = ("BTC", "XBT", "ETH", "XRP", "SOL", "DOGE", "LTC", "ADA", "BNB", "SHIB")


def stock_ticker(symbol: str) -> bool:
    """Whether ``symbol`` reads as a stock's ticker (``GOOG``, ``AAPL``, ``F``): one to
    five capitals, not a currency, a metal or a coin. A share trades one unit to the lot,
    not the 100,000-notional lot guessed for other unknown symbols, under which a
    stop's minimum lot risked three times the share asked on GOOG's daily bars."""
    return (
        symbol.isascii()
        and symbol.isalpha()
        and symbol.isupper()
        and len(symbol) <= 5
        and symbol not in CURRENCIES
        and not symbol.startswith(_COINS)
    )


def known_rules(symbol: str) -> SymbolInfo | None:
    """The paper broker's rules of ``symbol``, or of the symbol it names with a broker's
    suffix (``USDJPY.m`` trades as ``USDJPY``: a lot of 100,000 units), under its own
    name; ``None`` for a symbol it does not know."""
    if symbol in DEFAULT_SYMBOLS:
        return DEFAULT_SYMBOLS[symbol]
    info = DEFAULT_SYMBOLS.get(listed_name(symbol))
    return None if info is None else replace(info, name=symbol)


#: The spread assumed for a symbol without one (in the bars or above), at most this
#: fraction of the price: 2 basis points, a liquid market's.
SPREAD_OF_PRICE = 0.0002
#: ... and at least this one: half a basis point, under the tightest of the table's
#: (EURUSD's 0.00008 is 0.7 of one): ten points of a price quoted to a cent near 60,000
#: cost nothing (0.10 on a coin whose spread is dollars).
SPREAD_FLOOR_OF_PRICE = 0.00005
#: float noise in a count of points (0.0002 * 200 / 0.01 is 3.9999999999999996)
_POINTS_NOISE = 1e-9
#: The most of the price a known symbol's table spread (:data:`DEFAULT_SPREADS`) is
#: charged: 10 basis points. The table's spreads are today's, in price units, and old
#: history is priced far lower: BTCUSD's 15.00 was 5 % of a 2015 price near 300 and more
#: than the whole move of most days. Ten basis points leave every forex spread of the
#: table as it is at any price its pair has traded at since the 1970s (EURUSD's 0.00008
#: is 1 basis point at 0.83, USDJPY's 0.012 is 1.6 at 75), and XAUUSD's 0.25 down to
#: $250 (6 at $400), gold's lowest since 1979; BTCUSD's 15.00 is charged from $15,000
#: up, and below that the cap follows the price (0.30 at $300), about what a retail
#: broker's coin spread is as a share of the price.
KNOWN_SPREAD_OF_PRICE = 0.001


def spread_cap(symbol: str) -> float:
    """The most of the price the spread assumed for ``symbol``'s bars without one is
    kept to, as a share: :data:`KNOWN_SPREAD_OF_PRICE` for a symbol of the table (under
    a broker's suffix too), :data:`SPREAD_OF_PRICE` for a guessed one."""
    known = symbol in DEFAULT_SPREADS or listed_name(symbol) in DEFAULT_SPREADS
    return KNOWN_SPREAD_OF_PRICE if known else SPREAD_OF_PRICE


def one_point_share(
    symbol: str, info: SymbolInfo | None, price: float, spread: float
) -> float | None:
    """The share of ``price`` that ``spread``, assumed by :func:`default_spread`, was
    when it was the one-point floor above :func:`spread_cap` (digits that quote no finer),
    else ``None``: only then does the costs note say one point was charged."""
    if info is None or not price > 0 or info.point <= spread_cap(symbol) * price:
        return None
    if abs(spread - info.point) > _POINTS_NOISE * max(1.0, info.point):
        return None
    return info.point / price


def default_spread(symbol: str, info: SymbolInfo | None, price: float) -> float:
    """The spread of a bar that carries none: the table's for its symbols (under a
    broker's suffix too), at most :data:`KNOWN_SPREAD_OF_PRICE` of the price in whole
    points (at least one), else 10 points, but no less than :data:`SPREAD_FLOOR_OF_PRICE`
    and no more than :data:`SPREAD_OF_PRICE` of the price, in whole points (the floor
    rounded up, the cap down, so neither is crossed by rounding) and never under one
    point: no market quotes a spread finer than its price. Ten points alone were 1 % of
    the price of a coin quoted at 0.00001 with 8 decimals (every sell's stop fell inside
    the spread), and nothing of an index whose prices read as having 6 decimals
    (yfinance's float noise) or of a coin near 60,000. A guessed symbol's point is fine
    enough that one point is within the cap (:func:`spread_digits`); a point a
    ``[host.paper.symbols.NAME]`` table's ``digits`` make coarser than the cap costs one
    point, which the run's costs note says (README "hostapp replay")."""
    known = DEFAULT_SPREADS.get(symbol)
    if known is None:
        known = DEFAULT_SPREADS.get(listed_name(symbol))
    if known is not None:
        # today's spread in price units, kept to :data:`KNOWN_SPREAD_OF_PRICE` of the
        # price in whole points (at least one): old history is priced far lower
        rules = info if info is not None else known_rules(symbol)
        if rules is None or not price > 0:
            return known
        points = math.floor(KNOWN_SPREAD_OF_PRICE * price / rules.point + _POINTS_NOISE)
        return min(known, round(max(1, points) * rules.point, rules.digits))
    if info is None:
        return 0.0
    point = info.point
    points = max(10, math.ceil(SPREAD_FLOOR_OF_PRICE * price / point - _POINTS_NOISE))
    points = min(points, math.floor(SPREAD_OF_PRICE * price / point + _POINTS_NOISE))
    return round(max(1, points) * point, info.digits)


def spread_digits(lowest: float) -> int:
    """The fewest digits whose point is at most :data:`SPREAD_OF_PRICE` of ``lowest``, so
    that the spread assumed for a guessed symbol (:func:`default_spread`) stays within
    two basis points of every price from ``lowest`` up. A file's whole-number prices
    (SOLUSD near 100) gave a point of 1, and the one-point spread was 1 % of the price:
    a buy filled at 101 against a bid of 100, and a target at 101 closed at once for
    nothing."""
    if not (math.isfinite(lowest) and lowest > 0):
        return 0
    return max(0, math.ceil(-math.log10(SPREAD_OF_PRICE * lowest) - _POINTS_NOISE))


@dataclass(frozen=True)
class PaperSettings:
    """The ``[host.paper]`` table. ``account_file`` empty: the account lives in memory
    (a simulated run's; a live run refuses it, :func:`hostapp.live_paper.live_account`).
    ``symbols``: the ``[host.paper.symbols.NAME]`` tables as the file has them, checked
    by :func:`~.paper_symbols.parse_paper_symbols`, whose messages name each table."""

    balance: float = 10_000.0
    margin_mode: Literal["hedging", "netting"] = "hedging"
    account_file: str = ""
    currency: str = "USD"
    symbols: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.balance) and self.balance > 0):
            raise ValueError(f"balance must be > 0, got {self.balance}")
        # "usd" is USD: every comparison of currencies (the ledger's, the account file's)
        # is of capitals, and a lower-case one matched no pair, its EURUSD profits booked
        # as euros counted as dollars
        object.__setattr__(self, "currency", check_currency(self.currency, "currency"))


EPS = 1e-9

#: How near a price counts as touching a stop or a target, as a share of the price: a
#: hundred-thousandth of a point or less of the symbols the paper broker trades (a
#: point is at least 1e-7 of the price: 0.01 of a coin near 100,000; EURUSD's is 8e-6
#: of it), and thousands of times the float noise of adding a spread to a bid (1.28361 +
#: 0.00012 is 1.2837299999999998, one unit in the last place under 1.28373). The
#: broker's rules do not reach :func:`hit`, so the share is of the price, not of the
#: point; an absolute one such as :data:`EPS` is a tenth of a point of a coin quoted at
#: 0.00001 with 8 decimals and under the float noise of one near 100,000.
TOUCH_OF_PRICE = 1e-12


def fail(code: ResultCode, message: str) -> ActionResult:
    return ActionResult.failure(code, message)


def hit(pos: Position, bar: Bar, spread: float) -> tuple[float, CloseReason] | None:
    """Where ``pos`` closes inside ``bar``, if it does. ``spread`` is added to the bar's
    (bid) prices for a sell, which closes at the ask. Order: a gap through the stop or the
    target fills at the open; then the stop at its price; then the target at its price.
    A price that touches a level exactly fills it, on either side: within
    :data:`TOUCH_OF_PRICE` of it, as the sum of a bid and a spread is a touch that float
    noise put under the level (244 of 2,000 exact ask touches of sell stops were missed,
    and no buy's, whose bid is the file's own price)."""
    o, h, low = bar.open + spread, bar.high + spread, bar.low + spread
    sl, tp = pos.stop_loss, pos.take_profit
    near = TOUCH_OF_PRICE * h  # prices are > 0 (Bar checks), all of one magnitude
    if pos.direction == "buy":
        if sl is not None and o <= sl + near:
            return o, "stop_loss"
        if tp is not None and o >= tp - near:
            return o, "take_profit"
        if sl is not None and low <= sl + near:
            return sl, "stop_loss"
        if tp is not None and h >= tp - near:
            return tp, "take_profit"
        return None
    if sl is not None and o >= sl - near:
        return o, "stop_loss"
    if tp is not None and o <= tp + near:
        return o, "take_profit"
    if sl is not None and h >= sl - near:
        return sl, "stop_loss"
    if tp is not None and low <= tp + near:
        return tp, "take_profit"
    return None


def touched_both(pos: Position, bar: Bar, spread: float) -> bool:
    """Whether ``bar`` (its prices plus ``spread``, as :func:`hit` reads them) opened
    between ``pos``'s stop and target and then reached both: a bar cannot say which came
    first, and :func:`hit` takes the stop (the pessimistic reading), which the run's
    notes count (README "hostapp replay"). A gap through either level is no such bar: the
    open came first."""
    sl, tp = pos.stop_loss, pos.take_profit
    if sl is None or tp is None:
        return False
    o, h, low = bar.open + spread, bar.high + spread, bar.low + spread
    near = TOUCH_OF_PRICE * h
    if pos.direction == "buy":
        return sl + near < o < tp - near and low <= sl + near and h >= tp - near
    return tp + near < o < sl - near and h >= sl - near and low <= tp + near


def round_volume(info: SymbolInfo, volume: float) -> float | ActionResult:
    """``volume`` rounded down to the step, or the refusal when that is out of bounds."""
    if not (isinstance(volume, int | float) and math.isfinite(volume) and volume > 0):
        return fail(ResultCode.INVALID_VOLUME, f"volume must be a number > 0, got {volume!r}")
    steps = math.floor(volume / info.volume_step + EPS)
    decimals = max(0, -math.floor(math.log10(info.volume_step)) + 1)
    rounded = round(steps * info.volume_step, decimals)
    if rounded < info.volume_min - EPS:
        return fail(
            ResultCode.INVALID_VOLUME,
            f"volume {volume:g} is below the minimum {info.volume_min:g} "
            f"(rounded down to the step {info.volume_step:g})",
        )
    if rounded > info.volume_max + EPS:
        return fail(
            ResultCode.INVALID_VOLUME,
            f"volume {rounded:g} is above the maximum {info.volume_max:g}",
        )
    return rounded


def check_stops(
    info: SymbolInfo, direction: Direction, quote: Quote, sl: float | None, tp: float | None
) -> ActionResult | None:
    """MetaTrader's rule: a buy (closed at the bid) needs SL ≤ bid − stops level and
    TP ≥ bid + stops level; a sell (closed at the ask) the mirror image around the ask."""
    ref, side = (quote.bid, "bid") if direction == "buy" else (quote.ask, "ask")
    sign = 1 if direction == "buy" else -1
    level = info.stops_level
    for name, price, want in (("stop loss", sl, -sign), ("take profit", tp, sign)):
        if price is None:
            continue
        if not (math.isfinite(price) and price > 0):
            return fail(ResultCode.INVALID_STOPS, f"{name} must be a price > 0, got {price!r}")
        distance = (price - ref) * want  # > 0 on the right side
        if distance <= 0:
            where = "below" if want < 0 else "above"
            return fail(
                ResultCode.INVALID_STOPS,
                f"{name} {price} of a {direction} must be {where} the {side} {ref}",
            )
        if distance < level - EPS * max(1.0, ref):
            return fail(
                ResultCode.INVALID_STOPS,
                f"{name} {price} is {distance:.{info.digits}f} from the {side} {ref}, "
                f"closer than the stops level {level}",
            )
    return None
