"""Bar files other tools export: MetaTrader 5's history export, pandas' ``to_csv`` (so
yfinance), and the header-less lines of MetaTrader 4's History Center, HistData.com and
Binance's klines (Dukascopy's: :mod:`.csvdukascopy`; MetaStock's: :mod:`.csvmetastock`).
:mod:`.csvdata` describes each layout and picks the loader; the checks of every value are
:mod:`.csvrows`'.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from hookspecs import Bar, SymbolInfo

from .csvbars import checked_bar
from .csvdates import DateOrder
from .csvheader import columns
from .csvrows import (
    CsvError,
    Ohlc,
    Previous,
    cell,
    check_order,
    decimals,
    file_date_order,
    in_zone,
    number,
    ohlc,
    parse_time,
    point_of,
    read_time,
)
from .zones import SkippedTimeError

MT5_REQUIRED = ("<DATE>", "<OPEN>", "<HIGH>", "<LOW>", "<CLOSE>", "<TICKVOL>")
MT5_OPTIONAL = ("<TIME>", "<VOL>", "<SPREAD>")
#: MetaTrader 5's Python API bars saved with pandas: the fields of ``copy_rates_*``
MT5_RATES_REQUIRED = ("time", "open", "high", "low", "close", "tick_volume")
MT5_RATES_OPTIONAL = ("spread", "real_volume")
PANDAS_INDEX = ("", "date", "datetime")
PANDAS_REQUIRED = ("open", "high", "low", "close")
#: the columns yfinance writes that a replay does not read (its ``Adj Close``: README)
PANDAS_UNREAD = ("adj close", "dividends", "stock splits", "capital gains")
PANDAS_OPTIONAL = ("volume", *PANDAS_UNREAD)

Rows = list[tuple[int, list[str]]]


def load_mt5(
    path: str | Path,
    rows: list[tuple[int, list[str]]],
    symbol_info: SymbolInfo | None,
    zone: tzinfo = UTC,
    left_out: list[str] | None = None,
) -> list[Bar]:
    header_line, header = rows[0]
    index = columns(path, header_line, header, MT5_REQUIRED, MT5_OPTIONAL, left_out=left_out)
    order = file_date_order(path, rows, *(index[n] for n in ("<DATE>", "<TIME>") if n in index))

    def time_of(line: int, cells: list[str]) -> datetime:
        date_text = cell(path, line, cells, index, "<DATE>")
        time_text = cell(path, line, cells, index, "<TIME>") if "<TIME>" in index else "00:00"
        return _metatrader_time(path, line, date_text, time_text, zone, order)

    return _metatrader_bars(path, rows, index, _MT5_EXPORT_NAMES, symbol_info, time_of, zone)


def load_mt5_rates(
    path: str | Path,
    rows: Rows,
    symbol_info: SymbolInfo | None,
    zone: tzinfo = UTC,
    left_out: list[str] | None = None,
) -> list[Bar]:
    """MetaTrader 5's Python API bars (``copy_rates_*``) saved with pandas, its field
    names as the header. ``time`` is the server's wall clock, in epoch seconds as the API
    gives it or as dates once converted, so it is read in ``zone``; ``tick_volume`` is
    the volume and ``spread`` is in points, as in :func:`load_mt5`; ``real_volume`` is
    not read."""
    header_line, header = rows[0]
    index = columns(
        path, header_line, header, MT5_RATES_REQUIRED, MT5_RATES_OPTIONAL, left_out=left_out
    )
    order = file_date_order(path, rows, index["time"])

    def time_of(line: int, cells: list[str]) -> datetime:
        text = cell(path, line, cells, index, "time")
        time = read_time(path, line, text, zone, order)
        if text.isdigit() and order != "ymd":  # the server's clock counted as if it were UTC
            time = in_zone(time.replace(tzinfo=None), zone)
        return time

    return _metatrader_bars(path, rows, index, _MT5_RATES_NAMES, symbol_info, time_of, zone)


#: the columns of MetaTrader's prices, tick volume and spread (in points), in its history
#: export and in its Python API's bars
_MT5_EXPORT_NAMES = ("<OPEN>", "<HIGH>", "<LOW>", "<CLOSE>", "<TICKVOL>", "<SPREAD>")
_MT5_RATES_NAMES = ("open", "high", "low", "close", "tick_volume", "spread")


def _metatrader_bars(
    path: str | Path,
    rows: Rows,
    index: dict[str, int],
    names: tuple[str, ...],
    symbol_info: SymbolInfo | None,
    time_of: Callable[[int, list[str]], datetime],
    zone: tzinfo = UTC,
) -> list[Bar]:
    """The rows of a MetaTrader file as bars: ``time_of`` reads a row's time, ``names``
    the columns of its prices, tick volume and spread. The spread is in points, turned
    into price units with the symbol's point when known, else with the point its prices'
    most decimals in the file show (MetaTrader writes them with the symbol's digits)."""
    header = rows[0][1]
    *price_names, volume_name, spread_name = names
    parsed: list[tuple[int, datetime, Ohlc, float, float]] = []
    previous: Previous = None
    digits = 0
    for line, cells in rows[1:]:
        if len(cells) > len(header):
            raise CsvError(path, line, f"{len(cells)} values but the header has {len(header)}")
        try:
            time = time_of(line, cells)
        except SkippedTimeError as exc:
            raise CsvError(path, line, str(exc)) from None
        time = check_order(path, line, time, previous, zone)
        previous = line, time
        texts = [cell(path, line, cells, index, n) for n in price_names]
        prices = ohlc(path, line, texts)
        digits = max(digits, *(decimals(t) for t in texts))
        volume_text = cell(path, line, cells, index, volume_name)
        volume = number(path, line, volume_name.strip("<>").lower(), volume_text)
        points = 0.0
        if spread_name in index:
            points = number(path, line, "spread", cell(path, line, cells, index, spread_name))
        parsed.append((line, time, prices, volume, points))
    point = point_of(symbol_info, digits)
    return [
        checked_bar(path, line, time, prices, volume, round(points * point, 10))
        for line, time, prices, volume, points in parsed
    ]


def yfinance_levels(rows: list[tuple[int, list[str]]]) -> int:
    """How many of the lines after the header are yfinance's extra header levels: a
    ``Ticker,EURUSD=X,...`` line, then a ``Date,,,...`` line naming the index (0 to 2)."""
    n = 0
    for _, cells in rows[1:3]:
        head = cells[0].lower()
        if head == "ticker" or (head in PANDAS_INDEX and not any(cells[1:])):
            n += 1
        else:
            break
    return n


def _after_time(
    path: str | Path,
    line: int,
    header: list[str],
    first: int,
    optional: tuple[str, ...],
    left_out: list[str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> tuple[list[int], int | None]:
    """Where the open, high, low and close (and the volume, if any) are, in a header
    whose first ``first`` columns say the time: the named columns checked as
    :func:`~.csvrows.columns` checks them."""
    named = columns(
        path,
        line,
        header[first:],
        PANDAS_REQUIRED,
        optional,
        aliases,
        left_out,
        unread=PANDAS_UNREAD,
        whole=header,
    )
    index = {name: i + first for name, i in named.items()}
    return [index[n] for n in PANDAS_REQUIRED], index.get("volume")


def load_pandas(
    path: str | Path,
    rows: list[tuple[int, list[str]]],
    zone: tzinfo = UTC,
    left_out: list[str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> list[Bar]:
    """pandas' ``to_csv`` (a date index, then the price columns); also the common
    ``Date,Time,Open,…`` layout, its time of day ``00:05[:00]`` in a column of its own.
    Dates are any of :mod:`.csvdates`' forms. ``aliases``: the volume's column when
    named for an asset (:func:`~.csvheader.base_volume`)."""
    header_line, header = rows[0]
    split = len(header) > 1 and header[1].lower() == "time"  # Date,Time,Open,...
    first = 2 if split else 1
    price_at, volume_at = _after_time(
        path, header_line, header, first, PANDAS_OPTIONAL, left_out, aliases
    )
    skip = yfinance_levels(rows)
    order = file_date_order(path, rows[skip:], *((0, 1) if split else (0,)))
    bars: list[Bar] = []
    previous: Previous = None
    for line, cells in rows[1 + skip :]:
        if len(cells) > len(header):
            raise CsvError(path, line, f"{len(cells)} values but the header has {len(header)}")
        texts = [cells[i] if i < len(cells) else "" for i in price_at]
        if not any(texts):
            continue  # pandas writes a NaN bar (a closed market) as empty cells
        when = cells[0]
        if split:
            if len(cells) < 2 or not cells[1]:
                raise CsvError(path, line, "missing value for time")
            when = f"{cells[0]} {cells[1]}"
        time = read_time(path, line, when, zone, order)
        time = check_order(path, line, time, previous, zone)
        previous = line, time
        for name, text in zip(PANDAS_REQUIRED, texts, strict=True):
            if not text:
                raise CsvError(path, line, f"missing value for {name}")
        prices = ohlc(path, line, texts)
        volume = 0.0
        if volume_at is not None and volume_at < len(cells) and cells[volume_at]:
            volume = number(path, line, "volume", cells[volume_at])
        bars.append(checked_bar(path, line, time, prices, volume, 0.0))
    return bars


#: MetaTrader 4's History Center export: ``2024.01.02,00:05,open,high,low,close,volume``
_MT4_DATE = re.compile(r"\d{4}\.\d{2}\.\d{2}")
_MT4_TIME = re.compile(r"\d{1,2}:\d{2}(:\d{2})?")
#: the same date and time in one cell, as MetaTrader 4 scripts write bars with
#: ``TimeToString``: ``2024.01.02 00:05,open,high,low,close[,volume]``
_MT4_STAMP = re.compile(rf"{_MT4_DATE.pattern} {_MT4_TIME.pattern}")
#: HistData.com's ASCII bars: ``20240102 000500;open;high;low;close;volume``
_HISTDATA_TIME = re.compile(r"\d{8} \d{6}")
#: HistData.com's times are Eastern Standard Time all year (no daylight saving)
HISTDATA_UTC_OFFSET = timedelta(hours=-5)


#: Binance's klines (data.binance.vision): open time, open, high, low, close, volume,
#: close time, then quote volume, trade count, taker buy volumes and an unused column
BINANCE_WIDTH = 12
#: the first cell of the header line some of its files have
BINANCE_HEADER = "open_time"
#: the fewest digits of a whole epoch time in a first cell (seconds from 1973 on)
_EPOCH_DIGITS = 9


def headerless_kind(cells: list[str]) -> str | None:
    """``"mt4"``, ``"mt4 one cell"`` (its date and time in one cell), ``"histdata"`` or
    ``"epoch"`` when a first line is a bar of theirs, else ``None``. ``"epoch"``: a whole
    epoch time, then open, high, low, close and maybe volume, in the order every exchange
    writes them (Binance's klines, Kraken's OHLCVT); any later columns are theirs (close
    time, trade counts) and not read."""
    if len(cells) == 7 and _MT4_DATE.fullmatch(cells[0]) and _MT4_TIME.fullmatch(cells[1]):
        return "mt4"
    if len(cells) in (5, 6) and _HISTDATA_TIME.fullmatch(cells[0]):
        return "histdata"
    if len(cells) in (5, 6) and _MT4_STAMP.fullmatch(cells[0]):
        return "mt4 one cell"
    if len(cells) >= 5 and cells[0].isdigit() and len(cells[0]) >= _EPOCH_DIGITS:
        try:
            [float(c) for c in cells[1:5]]
        except ValueError:
            return None
        return "epoch"
    return None


def load_headerless(
    path: str | Path, rows: Rows, kind: str, zone: tzinfo | None = None
) -> list[Bar]:
    """Every line a bar (no header): MetaTrader 4's date, time, prices and tick volume
    (the broker's server time, in ``zone``, UTC unless said, as with MetaTrader 5's
    export; also with the date and time in one cell, as its scripts write them),
    HistData.com's time, prices and volume (Eastern Standard Time unless ``zone`` says
    where they were written, turned into UTC), or an exchange's epoch open time (UTC),
    prices and volume (Binance: the base asset's)."""
    clock = zone or UTC
    width = 7 if kind == "mt4" else len(rows[0][1])
    bars: list[Bar] = []
    previous: Previous = None
    for line, cells in rows:
        if len(cells) != width:
            raise CsvError(path, line, f"{len(cells)} values where the first line has {width}")
        try:
            if kind == "mt4":
                time, texts = _metatrader_time(path, line, cells[0], cells[1], clock), cells[2:7]
            elif kind == "mt4 one cell":
                date, _, hour = cells[0].partition(" ")
                time, texts = _metatrader_time(path, line, date, hour, clock), cells[1:6]
            elif kind == "epoch":
                time, texts = _epoch_time(path, line, cells[0]), cells[1:6]
            else:
                time, texts = _histdata_time(path, line, cells[0], zone), cells[1:6]
        except SkippedTimeError as exc:
            raise CsvError(path, line, str(exc)) from None
        time = check_order(path, line, time, previous, UTC if kind == "epoch" else clock)
        previous = line, time
        prices = ohlc(path, line, texts[:4])
        volume = number(path, line, "volume", texts[4]) if len(texts) > 4 else 0.0
        bars.append(checked_bar(path, line, time, prices, volume, 0.0))
    return bars


def _metatrader_time(
    path: str | Path,
    line: int,
    date_text: str,
    time_text: str,
    zone: tzinfo = UTC,
    order: DateOrder | None = None,
) -> datetime:
    """MetaTrader's ``2024.01.02`` and ``00:05[:00]`` (both its exports): the broker's
    server time, in ``zone`` (UTC unless the user names the server's zone). An export a
    spreadsheet saved again has its dates in the spreadsheet's form (``02.01.2024``,
    ``1/2/2024``: :mod:`.csvdates`, ``order`` the file's)."""
    for layout in ("%Y.%m.%d %H:%M", "%Y.%m.%d %H:%M:%S"):
        try:
            naive = datetime.strptime(f"{date_text} {time_text}", layout)
        except ValueError:
            continue
        try:
            return in_zone(naive, zone)
        except OverflowError:
            raise CsvError(
                path, line, f"date/time {date_text!r} {time_text!r} is out of range in UTC"
            ) from None
    try:
        return parse_time(f"{date_text} {time_text}", zone, order)
    except (ValueError, OverflowError):
        raise CsvError(
            path, line, f"date/time {date_text!r} {time_text!r} is not 'YYYY.MM.DD' 'HH:MM[:SS]'"
        ) from None


def _epoch_time(path: str | Path, line: int, text: str) -> datetime:
    try:
        if not text.isdigit():
            raise ValueError(text)
        return parse_time(text)
    except (ValueError, OverflowError):
        raise CsvError(
            path, line, f"open time {text!r} is not epoch milliseconds or microseconds"
        ) from None


def _histdata_time(path: str | Path, line: int, text: str, zone: tzinfo | None) -> datetime:
    """HistData.com's ``20240102 000500`` in Eastern Standard Time all year, or in
    ``zone`` when the user says where it was written (NinjaTrader writes the layout in
    the computer's local time)."""
    try:
        local = datetime.strptime(text, "%Y%m%d %H%M%S")
    except ValueError:
        raise CsvError(path, line, f"time {text!r} is not 'YYYYMMDD HHMMSS'") from None
    try:
        if zone is not None:
            return in_zone(local, zone)
        return (local - HISTDATA_UTC_OFFSET).replace(tzinfo=UTC)
    except OverflowError:
        raise CsvError(path, line, f"time {text!r} is out of range in UTC") from None
