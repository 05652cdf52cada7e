"""The symbol a bar file is named for, past what the tools that export bars add to it
(:func:`symbol_of_file`); :mod:`.csvdata` re-exports it beside the loader."""

from __future__ import annotations

import re
from pathlib import Path

from hookspecs import Timeframe

#: the period in a MetaTrader export's file name: a timeframe, or the word it writes for
#: D1, W1 and MN1
_EXPORT_PERIODS = {*Timeframe.__members__, "DAILY", "WEEKLY", "MONTHLY"}


#: Binance's file names: symbol, kline interval, then year and month (and day), or
#: whatever a download joined or renamed wrote there (``BTCUSDT-1h-2017-2019``)
_BINANCE_NAME = re.compile(r"(?P<symbol>[A-Z0-9]*[A-Z][A-Z0-9]*)-\d+(s|m|h|d|w|mo)(-.*)?")
#: a period in minutes at the end of a file's name: MetaTrader 4's (M1 to MN1) and
#: Kraken's, whose OHLCVT files also come in 720 (12 hours)
_PERIOD_MINUTES = {"1", "5", "15", "30", "60", "240", "720", "1440", "10080", "43200"}
#: MetaTrader 4's History Center export, symbol then period with nothing between
#: (``USDJPY60``): six capitals, as a pair or metal is named, and maybe a broker's
#: lower-case suffix (``EURUSDm1440``), so an index named with a number of its own
#: (``WALLSTREET30``, ``US30``) keeps it
_MT4_NAME = re.compile(r"(?P<symbol>[A-Z]{6}(?:[.-]?[a-z]+)?)(?P<minutes>\d+)")
#: what comes before Kraken's ``_60``: a ticker of capitals and digits (``XBTUSD``,
#: ``1INCHEUR``)
_TICKER = re.compile(r"[A-Z0-9]*[A-Z][A-Z0-9]*")
#: when, as one word of a file's name: a year, maybe its month, day and time run together
#: (``2020``, ``202001``, ``20200102``, ``202001020000``; a year of electronic trading:
#: 19xx or 20xx). The one definition both readers of names use: this module's, and
#: :mod:`hostapp.file_symbols`' words of a name that are no ticker
STAMP_WORD = r"(?:19|20)\d{2}(?:\d{2})*"
#: when, maybe with its month and day apart: ``2020-01``, ``2020-01-02``, ``2020_01``
#: (a month 01 to 12, a day 01 to 31: ``EURUSD_2024_13`` is no month's file)
_STAMP = rf"{STAMP_WORD}(?:[_-](?:0[1-9]|1[0-2])(?:[_-](?:0[1-9]|[12]\d|3[01]))?)?"
#: a symbol, maybe a MetaTrader period, then a year or years (a month, a day), ``_`` or
#: ``-`` between: how traders name a year's or a month's export (``XAUUSD_2024``,
#: ``XAUUSD-2023``, ``EURUSD_2020_2021``, ``EURUSD_M1_2020``, ``XAUUSD-H1-2019-2024``,
#: ``XAUUSD_2024_01``), so that the files of one symbol join as one series, not one
#: symbol a file
_PERIOD_AND_YEARS = re.compile(
    r"(?P<symbol>[^_\-]+)(?:[_-](?:"
    + "|".join(sorted(_EXPORT_PERIODS, key=len, reverse=True))
    + rf"))?(?:[_-]{_STAMP})+",
    re.IGNORECASE,
)


def symbol_of_file(path: str | Path) -> str:
    """The symbol a data file is named for: its name without the extension, and without
    what the tools that export bars add to it, so the known rules of that symbol apply:

    * MetaTrader's history export appends the period, then the first and last bar's
      times (``XAUUSD_M5_202401020000_202412312355`` or ``XAUUSD_Daily_…`` → ``XAUUSD``);
    * HistData.com names its files ``DAT_ASCII_EURUSD_M1_2024`` (``DAT_MT_…`` for its
      MetaTrader layout) → ``EURUSD``;
    * Dukascopy's are ``EURUSD_Candlestick_5_M_BID_01.01.2024-31.12.2024`` → ``EURUSD``;
    * Binance's are ``BTCUSDT-5m-2024-01`` (or ``…-2024-01-02``) → ``BTCUSDT``, and so
      is any name of capitals followed by a kline interval (``1m``, ``15m``, ``1h``,
      ``4h``, ``1d``, ``1w``, ``1mo``…) and maybe more: ``BTCUSDT-1h-2017-2019`` (a
      joined download) → ``BTCUSDT``;
    * a year's export, named by hand or by a script: ``XAUUSD_2024``, ``XAUUSD-2023``,
      ``EURUSD_2020_2021``, ``EURUSD_M1_2020`` or ``XAUUSD-H1-2019-2024`` (symbol, maybe
      a period, then years, months or days starting 19 or 20) → ``EURUSD``, ``XAUUSD``;
    * MetaTrader 4's History Center exports ``USDJPY60`` (the period in minutes) →
      ``USDJPY``, and Kraken's OHLCVT files are ``XBTUSD_60`` → ``XBTUSD``.

    Any other name is the symbol as it stands (``BTC-USD``, ``my_data``, and a broker's
    ``USDJPY.m``, which is what that broker calls it)."""
    stem = Path(path).stem
    binance = _BINANCE_NAME.fullmatch(stem)
    if binance:
        return binance["symbol"]
    yearly = _PERIOD_AND_YEARS.fullmatch(stem)
    if yearly:
        return yearly["symbol"]
    mt4 = _MT4_NAME.fullmatch(stem)
    if mt4 and mt4["minutes"] in _PERIOD_MINUTES:
        return mt4["symbol"]
    parts = stem.split("_")
    upper = [p.upper() for p in parts]
    if len(parts) > 3 and upper[0] == "DAT" and upper[1] in ("ASCII", "MT"):
        return parts[2]
    if len(parts) > 1 and "CANDLESTICK" in upper[1:]:
        return "_".join(parts[: upper.index("CANDLESTICK")])
    while len(parts) > 1 and parts[-1].isdigit() and len(parts[-1]) >= 8:
        parts.pop()  # a time stamp: 202401020000
    if len(parts) > 1 and parts[-1].upper() in _EXPORT_PERIODS:
        parts.pop()
    if len(parts) == 2 and parts[1] in _PERIOD_MINUTES and _TICKER.fullmatch(parts[0]):
        parts.pop()  # Kraken's XBTUSD_60
    return "_".join(parts)
