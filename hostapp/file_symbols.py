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
* OANDA's ``USD_JPY`` → ``USDJPY``; and a lower-case ``usdjpy`` → ``USDJPY``.

A name is only changed into a symbol the paper broker knows or a pair of currencies
(``GBP_JPY`` → ``GBPJPY``), except under TradingView's resolution suffix, which says
what the name is; anything else stays as written (``GC=F``, a future, ``BRK-B``,
``my_data``): ``--symbol`` names it otherwise. The replay says in its notes what a file
was read as when its name was changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from .brokers.paper_rules import CURRENCIES, currency_pair, known_rules
from .market.csvdata import symbol_of_file

#: TradingView's export: ``PREFIX_SYMBOL, 60`` (resolutions ``1``, ``60``, ``1D``,
#: ``1W``, ``1M``…), maybe with the download's tag after an underscore
_TRADINGVIEW = re.compile(r"(?P<name>[^,]+),\s*\d*[A-Za-z]?(?:_[0-9a-z]+)?", re.IGNORECASE)
#: yfinance's currencies: ``EURUSD=X``, or ``JPY=X`` for the dollar against yen
_YFINANCE_FX = re.compile(r"(?P<name>[A-Za-z]{3}|[A-Za-z]{6})=X", re.IGNORECASE)
#: ``BASE-QUOTE`` or ``BASE_QUOTE``: yfinance's crypto, OANDA's instruments
_SPLIT_PAIR = re.compile(r"(?P<base>[A-Za-z0-9]{2,6})[-_](?P<quote>[A-Za-z]{3,4})")
#: the quotes of a crypto pair besides the currencies (``BTC-USDT``)
_CRYPTO_QUOTES = frozenset({"USDT", "USDC", "BTC", "ETH"})


def file_symbol(path: str | Path) -> str:
    """The symbol ``path``'s bars are replayed as (the module's docstring)."""
    name = symbol_of_file(path)
    tradingview = _TRADINGVIEW.fullmatch(name)
    if tradingview:
        bare = _without_prefix(tradingview["name"].strip(), always=True)
        return _known(bare) or bare.upper()
    return _known(name) or _known(_without_prefix(name)) or name


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
    fx = _YFINANCE_FX.fullmatch(upper)
    if fx:
        upper = fx["name"] if len(fx["name"]) == 6 else f"USD{fx['name']}"
    pair = _SPLIT_PAIR.fullmatch(upper)
    if pair and (pair["quote"] in CURRENCIES or pair["quote"] in _CRYPTO_QUOTES):
        upper = pair["base"] + pair["quote"]
    if known_rules(upper) is not None or currency_pair(upper) is not None:
        return upper
    return None
