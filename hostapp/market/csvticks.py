"""What a file that is no bar layout :mod:`.csvdata` reads is told: tick files are
refused as such, with the way to export bars from the tool that wrote them, and any
other refusal of a file's layout names the layouts that are read (README lists them).

A tick file holds quotes (bid, ask, maybe the last trade), not bars: a replay trades on
bars' opens, highs, lows and closes, and building them from ticks is the exporting
tool's job, which each of them does (a candle period instead of ticks).
"""

from __future__ import annotations

import re
from pathlib import Path

from .csvrows import CsvError, looks_like_time
from .csvshape import is_time_name

#: the layouts read, as a refusal of a file's layout names them
SUPPORTED = (
    "the layouts read are a header naming time,open,high,low,close[,volume] in any order "
    "(timestamp or unix for the time), pandas/yfinance (Date,Open,…), MetaTrader 5's "
    "export and Python API bars, MetaStock/Finam/Stooq (<TICKER>,<PER>,<DATE>,…), "
    "Dukascopy's bars (Gmt time,Open,…), CryptoDataDownload's and Gemini's "
    "(unix,date,symbol,open,…), and without a header MetaTrader 4's lines, HistData.com's "
    "bars and exchanges' epoch lines (Binance, Kraken); README lists them"
)

#: how to get bars instead of ticks, per tool
_EXPORT_BARS = {
    "MetaTrader 5": "export bars instead: the Symbols window (Ctrl+U), its Bars tab, Export Bars",
    "Dukascopy": "download candles instead: a period of 1 minute or more, not Ticks",
    "HistData.com": "download its bars instead: the M1 files (DAT_ASCII_…_M1_…)",
    "": "export bars (open, high, low, close) instead of ticks from the tool that wrote it",
}
#: the names of a quote's columns in a tick file
_QUOTES = frozenset({"bid", "ask", "last"})
#: HistData.com's ticks: ``20240102 000000123,bid,ask,volume`` (milliseconds in the time)
_HISTDATA_TICK = re.compile(r"\d{8} \d{9}")


def check_not_ticks(path: str | Path, line: int, cells: list[str]) -> None:
    """A :class:`CsvError` when the first line (a header, or a first row in a file
    without one) is a tick file's: saying so, and how that tool exports bars."""
    names = {c.strip("<>").lower() for c in cells}
    if names & _QUOTES and "open" not in names:
        first = cells[0].lower()
        dukascopy = first in ("gmt time", "local time")
        tool = "MetaTrader 5" if first == "<date>" else "Dukascopy" if dukascopy else ""
    elif cells and _HISTDATA_TICK.fullmatch(cells[0]):
        tool = "HistData.com"
    else:
        return
    whose = f"{tool}'s tick data" if tool else "tick data"
    raise CsvError(
        path,
        line,
        f"{whose} (bid/ask quotes), not bars: hostapp replays bars; {_EXPORT_BARS[tool]}",
    )


def check_not_one_price(path: str | Path, line: int, header: list[str]) -> None:
    """A :class:`CsvError` for a header of a time and one price (findatapy's
    ``Date,EURUSD.bid``, a close-only ``Date,S&P500.close``): ticks or closes, a price a
    line, not the open, high, low and close of bars, which the refusal of the missing
    columns would not say."""
    if len(header) != 2 or looks_like_time(header[0]) or not is_time_name(header[0]):
        return
    price = header[1]
    if price.strip().lower() in ("open", "high", "low", "close"):
        return
    raise CsvError(
        path,
        line,
        f"header {','.join(header)!r}: a time and one price, {price!r}, a line: ticks or "
        "closes, not bars; hostapp replays bars (open, high, low, close): export bars from "
        "the tool that wrote it, or build them (pandas: resample('5min').ohlc())",
    )
