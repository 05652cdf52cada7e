"""The symbol a replayed file is read as, from its name.

:func:`~hostapp.market.csvdata.symbol_of_file` takes off what MetaTrader, HistData,
Dukascopy, Binance and Kraken add to a symbol. Charting sites and data libraries name
their downloads their own way, and a name the paper broker does not know trades on
rules guessed from the prices (another lot size, another spread: other figures), so
these are read as the symbol they name too:

* TradingView's ``FX_EURUSD, 60`` (exchange prefix, then the chart's resolution, maybe
  followed by the download's ``_1a2b3`` tag) → ``EURUSD``; ``BINANCE_BTCUSDT, 60`` →
  ``BTCUSDT``; an ``EXCHANGE:SYMBOL`` prefix the same;
* yfinance's currencies, ``EURUSD=X`` → ``EURUSD``, and ``JPY=X`` → ``USDJPY`` (yfinance
  quotes a lone currency against the dollar); its crypto ``BTC-USD`` → ``BTCUSD``;
* OANDA's ``USD_JPY`` → ``USDJPY``, and with its granularity after a space, ``EUR_USD H1``
  → ``EURUSD``; and a lower-case ``usdjpy`` → ``USDJPY``;
* a metal's code alone, ``XAU`` (any case) → ``XAUUSD`` and ``XAG`` → ``XAGUSD``: the
  metals are quoted in dollars, and a lone code names the ounce's price (an index of
  that name is ``^XAU`` on Yahoo and Stooq, and stays so);
* Stooq's ``xauusd_d`` (the period after ``_``: ``d``, ``w``, ``m``, ``h``, ``5``…) →
  ``XAUUSD``, its stocks' ``aapl_us_5`` (a market after the ticker) → ``AAPL``, and its
  indices' ``^spx_h`` (a ``^`` before the name) → ``^SPX``;
* dukascopy-node's ``eurusd-h1-bid-2024-01-01-2024-03-30`` → ``EURUSD``;
* CryptoDataDownload's ``Binance_BTCUSDT_1h`` (exchange, pair, period: ``1h``, ``d``,
  ``minute``, Gemini's ``1hr``) → ``BTCUSDT``;
* Finam's ``SBER_240103_240103`` (first and last day, ``YYMMDD``) → ``SBER``;
* a symbol the paper broker knows (or a pair of currencies) followed by words that say
  what the file holds or when, any case: :data:`_NOT_TICKERS` (``DATA``, ``BID``,
  ``ASK``, ``OHLC``…, ``MT4``, ``MT5``), a period (``H1``, ``1h``, ``DAILY``), a year or
  a date (``2024``, ``20240102``): ``EURUSD_data``, ``XAUUSD_mt5``, ``XAUUSD_data_2024``
  → ``EURUSD``, ``XAUUSD``. Any other ending after a symbol the paper broker knows is a
  broker's suffix and stays, as the broker names it (``USDJPY.m``, ``EURUSD_i``,
  ``XAUUSD.pro``, ``XAUUSDpro``, ``EURUSD-ecn``; ``USDJPY.m_mt5_2024`` → ``USDJPY.m``):
  it trades on the known symbol's rules (:func:`~.brokers.paper_rules.known_rules`);
* a name of words around one symbol (``FOREX_EURUSD_1H_ASK``, split at ``_``,
  ``-``, ``.`` and spaces) → that symbol, when exactly one of the words (or two
  neighbours, ``EUR_USD``) is a symbol the paper broker knows or a pair of currencies:
  ``EURUSD``; and after a word that says the file holds a stock (``STOCKS_GOOGL``,
  ``ETF_SPY_1D``), its one word that reads as a ticker: ``GOOGL``.

A name is only changed into a symbol the paper broker knows or a pair of currencies
(``GBP_JPY`` → ``GBPJPY``), except under TradingView's resolution suffix, the other
exporters' own patterns above (a Stooq name only with a market, ``_us``, or when what
is left is such a symbol), which say what the name is, and a ticker after a word that
says the file holds a stock; anything else stays as
written (``GC=F``, a future, ``BRK-B``, ``my_data``): ``--symbol`` names it otherwise.
The replay says in its notes what a file was read as when its name was changed.

What comes out must be a symbol as ``--symbol`` takes one (:data:`SYMBOL`: brokers and
the DTMS API take no other), else the file is refused in one line that says to give
``--symbol``: NinjaTrader's ``NQ 03-24.Last.txt`` names ``NQ 03-24.Last``, with spaces.
A name that cannot be printed (not UTF-8 text) is left to the replay's own refusal,
which shows its bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path

from hookspecs.settings import ConfigError

from .brokers.paper_rules import (
    CURRENCIES,
    DEFAULT_SYMBOLS,
    METALS,
    currency_pair,
    known_rules,
    stock_ticker,
)
from .market.csvdata import symbol_of_file
from .market.csvnames import STAMP_WORD

#: a symbol: 1 to 64 printable ASCII characters without spaces, as brokers name them and
#: the DTMS API takes them (``XAU USD`` was replayed, then refused by a DTMS server); a
#: file's name and ``--symbol`` (``replay_files.check_symbol_option``) are held to it
SYMBOL = re.compile(r"[!-~]{1,64}")
#: the rule in words, as the refusals say it
SYMBOL_RULE = (
    "a symbol name of 1 to 64 printable ASCII characters without spaces "
    "(as brokers and the DTMS API take them)"
)

#: TradingView's export: ``PREFIX_SYMBOL, 60`` (resolutions ``1``, ``60``, ``1D``,
#: ``1W``, ``1M``…), maybe with the download's tag after an underscore
_TRADINGVIEW = re.compile(r"(?P<name>[^,]+),\s*\d*[A-Za-z]?(?:_[0-9a-z]+)?", re.IGNORECASE)
#: yfinance's currencies: ``EURUSD=X``, or ``JPY=X`` for the dollar against yen
_YFINANCE_FX = re.compile(r"(?P<name>[A-Za-z]{3}|[A-Za-z]{6})=X", re.IGNORECASE)
#: ``BASE-QUOTE`` or ``BASE_QUOTE``: yfinance's crypto, OANDA's instruments
_SPLIT_PAIR = re.compile(r"(?P<base>[A-Za-z0-9]{2,6})[-_](?P<quote>[A-Za-z]{3,4})")
#: the quotes of a crypto pair besides the currencies (``BTC-USDT``)
_CRYPTO_QUOTES = frozenset({"USDT", "USDC", "BTC", "ETH"})


#: Stooq's downloads: a ticker (an index's after ``^``), maybe its market (``_us``),
#: then the period
_STOOQ = re.compile(
    r"(?P<name>\^?[a-z0-9.]+?)(?:_(?P<market>us|uk|jp|de|hk|hu|pl))?_(?P<period>[dwmhqy]|\d+)"
)
#: dukascopy-node's: instrument, timeframe, price side, then the first and last day
_DUKASCOPY_NODE = re.compile(
    r"(?P<name>[a-z0-9]+)-(?:tick|s1|m\d+|h\d+|d1|mn1)-(?:bid|ask|mid)"
    r"-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}"
)
#: OANDA's with a granularity after a space (``EUR_USD H1``, ``EUR_USD D``)
_OANDA_GRANULARITY = re.compile(r"(?P<name>[A-Za-z]{3}_[A-Za-z]{3}) (?:[SMH]\d+|[DWM])")
#: CryptoDataDownload's: the exchange, the pair in capitals, the period
_CRYPTODATADOWNLOAD = re.compile(
    r"[A-Za-z]+_(?P<name>[A-Z0-9]{5,12})_(?:\d*(?:m|h|d|hr|min|minute|day)|minute|daily|hourly)"
)
#: Finam's: the ticker, then the first and last day (``YYMMDD``)
_FINAM = re.compile(r"(?P<name>[A-Z0-9]+)_\d{6}_\d{6}")


def file_symbol(path: str | Path) -> str:
    """The symbol ``path``'s bars are replayed as (the module's docstring): a
    ``ConfigError`` naming the file when its name gives none :data:`SYMBOL` takes."""
    symbol = _named(symbol_of_file(path))
    if symbol.isprintable() and not SYMBOL.fullmatch(symbol):
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(path))
        raise ConfigError(
            f"{shown}: the symbol its name gives, {symbol!r}, is not {SYMBOL_RULE}: give the "
            "symbol with --symbol NAME, or rename the file"
        )
    return symbol


def _named(name: str) -> str:
    """The symbol ``name`` (a file's, past what exporters add) stands for."""
    exported = _exporters_name(name)
    if exported is not None:
        return exported
    tradingview = _TRADINGVIEW.fullmatch(name)
    if tradingview:
        bare = _without_prefix(tradingview["name"].strip(), always=True)
        return _known(bare) or bare.upper()
    bare = _without_file_words(name)
    return _known(bare) or _known(_without_prefix(bare)) or _among_words(name) or name


#: the marks a file's name separates its words with
_WORDS = re.compile(r"[_\-. ]+")
#: words that say a file holds a stock's bars, before or after its ticker
_STOCK_WORDS = frozenset(
    {"STOCK", "STOCKS", "SHARE", "SHARES", "EQUITY", "EQUITIES", "ETF", "ETFS", "NYSE", "NASDAQ"}
)
#: words of a name that say what the file holds or where it came from, not which market:
#: a price side, what the columns hold, a period, the platform that exported it. No
#: ticker, and no broker's suffix (``EURUSD_data`` holds EURUSD's bars)
_NOT_TICKERS = frozenset(
    {
        *("BID", "ASK", "MID", "OHLC", "OHLCV", "DATA", "BARS", "CANDLES", "TICKS", "HISTORY"),
        *("DAILY", "DAY", "WEEK", "WEEKLY", "MONTH", "MONTHLY", "HOUR", "HOURLY", "MINUTE"),
        *("MT4", "MT5"),
    }
)
#: the other words that say what a file holds: a period (``H1``, ``M15``, ``MN1``,
#: ``1h``, ``4H``, ``15min``) or when (``2024``, ``202401``, ``202401020000``)
_PERIOD_OR_TIME = re.compile(
    rf"[MHDW]\d{{1,4}}|MN1?|\d+(?:S|M|MIN|H|HR|D|W|MO)|{STAMP_WORD}|\d{{8,}}"
)
#: a name split at its marks, the marks kept (odd places)
_WORDS_AND_MARKS = re.compile(r"([_\-. ]+)")


def _without_file_words(name: str) -> str:
    """``name`` without the words at its end that say what the file holds or when
    (:data:`_NOT_TICKERS`, :data:`_PERIOD_OR_TIME`): ``EURUSD_data`` → ``EURUSD``,
    ``USDJPY.m_mt5_2024`` → ``USDJPY.m``. A broker's suffix is no such word
    (``USDJPY.m``, ``EURUSD_i``, ``XAUUSD.pro``, ``EURUSD-ecn``): it stays."""
    parts = _WORDS_AND_MARKS.split(name)
    while len(parts) > 2 and (
        parts[-1].upper() in _NOT_TICKERS or _PERIOD_OR_TIME.fullmatch(parts[-1].upper())
    ):
        del parts[-2:]
    return "".join(parts)


def _among_words(name: str) -> str | None:
    """The one symbol among ``name``'s words (the module's docstring), else ``None``: a
    word or two neighbours that are a known symbol or a currency pair; failing that, after
    a word of :data:`_STOCK_WORDS`, the one other word written as a ticker (capitals:
    ``stocks_t`` is a file's variant, not AT&T). Two candidates are no answer."""
    words = [w for w in _WORDS.split(name) if w]
    if len(words) < 2:
        return None
    found = {k for w in words if (k := _listed(w)) is not None}
    for first, second in pairwise(words):
        joined = _known(f"{first}_{second}")
        if joined is not None and _listed(joined) is not None:
            found.add(joined)
    if found:
        return found.pop() if len(found) == 1 else None
    if not any(w.upper() in _STOCK_WORDS for w in words):
        return None
    tickers = {
        w for w in words if w not in _STOCK_WORDS and w not in _NOT_TICKERS and stock_ticker(w)
    }
    return tickers.pop() if len(tickers) == 1 else None


def _listed(word: str) -> str | None:
    """``word`` as a symbol the paper broker knows or a pair of currencies (any case),
    under its own name; else ``None`` (a metal's code alone, ``XAU``, is not: among other
    words it may name an index of gold miners)."""
    upper = word.upper()
    if upper in DEFAULT_SYMBOLS or currency_pair(upper) == (upper[:3], upper[3:]):
        return upper
    return None


def _exporters_name(name: str) -> str | None:
    """The symbol in a name an exporter of the module's docstring wrote, else ``None``."""
    for pattern in (_DUKASCOPY_NODE, _CRYPTODATADOWNLOAD, _FINAM):
        found = pattern.fullmatch(name)
        if found is not None:
            return found["name"].upper()
    oanda = _OANDA_GRANULARITY.fullmatch(name)
    if oanda is not None:
        return _known(oanda["name"]) or oanda["name"].upper()
    stooq = _STOOQ.fullmatch(name)
    if stooq is not None:
        if stooq["market"] is not None or stooq["name"].startswith("^"):
            return stooq["name"].upper()  # a stock's ticker, an index's name
        return _known(stooq["name"])
    return None


def renamed_note(files: Mapping[str, str]) -> str | None:
    """One sentence naming the files (``file → symbol``) read as a symbol other than
    their name (past the exporters' additions MetaTrader's names make plain): the run's
    figures follow that symbol's rules, so it says which."""
    said = [
        f"{path} as {symbol}" for path, symbol in files.items() if symbol_of_file(path) != symbol
    ]
    if not said:
        return None
    return (
        f"files read as the symbol their names stand for: {'; '.join(said)} "
        "(--symbol names another)"
    )


def _without_prefix(name: str, *, always: bool = False) -> str:
    """``name`` without an exchange's prefix (``OANDA_XAUUSD``, ``FX_IDC:EURUSD``) when
    what follows reads as a symbol, or ``always`` (TradingView's names have one); else
    ``name``."""
    for mark in (":", "_"):
        if mark in name:
            rest = name.rsplit(mark, 1)[1]
            if always or mark == ":" or _known(rest):
                return rest
    return name


def _known(name: str) -> str | None:
    """The symbol ``name`` stands for when it is one the paper broker knows or a pair of
    currencies, written any case or as yfinance and OANDA write it; else ``None``."""
    if known_rules(name) is not None:
        return name
    upper = name.upper()
    if upper in METALS:  # a metal alone: its price in dollars, as gold and silver are quoted
        upper += "USD"
    fx = _YFINANCE_FX.fullmatch(upper)
    if fx:
        upper = fx["name"] if len(fx["name"]) == 6 else f"USD{fx['name']}"
    pair = _SPLIT_PAIR.fullmatch(upper)
    if pair and (pair["quote"] in CURRENCIES or pair["quote"] in _CRYPTO_QUOTES):
        upper = pair["base"] + pair["quote"]
    if known_rules(upper) is not None or currency_pair(upper) is not None:
        return upper
    return None
