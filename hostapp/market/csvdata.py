"""Loading bars from CSV files: a generic format and what other tools export.

Generic (header required, columns in any order, names case-insensitive)::

    time,open,high,low,close[,volume][,spread]

``time`` (or ``timestamp``, as ccxt and most crypto downloads name it, ``unix`` as
CryptoDataDownload and ``unix timestamp`` as Gemini do: their ``date`` text of the same
time is left out; without any of them, ``date`` or another column named for the time,
wherever it is: :func:`~.csvshape.time_column`) is ISO 8601
(``2024-01-02T00:05:00Z``, an offset is converted to UTC), ``YYYY-MM-DD HH:MM[:SS]``, a
date as spreadsheets and MetaTrader write it (``2024.01.02``, ``02.01.2024``,
``01/02/2024`` day or month first as the file shows, ``20240102`` as exchange downloads
write it, told from epoch seconds once per file: :mod:`.csvdates`) or a whole epoch
number, told by its size: seconds, milliseconds (13 digits, as Binance and JavaScript
write them) or microseconds; a time without an offset is UTC. ``volume`` is
0 when the file has none (forex data often has none: a TradingView export without
volume is this layout); ``spread`` is in price units, like :attr:`hookspecs.Bar.spread`
(whole-number spreads wider than the bars or than 0.5 % of the price are MetaTrader's
points and are refused, naming the fix: a ``spread_points`` column, converted with the
symbol's point as in MetaTrader's export below).
Any other column is not read (exports add their own: ``amount``, ``adjClose``,
TradingView's ``Volume MA``) and the run's notes name it, except the volume of a file
that names it for an asset (``Volume BTC``, ``Volume_(BTC)``: :func:`~.csvheader.base_volume`,
said in the notes too), and except one a letter off a
known name that is missing (``volumne``, ``clsoe``): that is refused as the slip it is,
as its values would be missing without a word.

MetaTrader 5's Python API bars (``copy_rates_*``) saved with pandas, detected by a
``tick_volume`` column::

    time,open,high,low,close,tick_volume,spread,real_volume

``time`` is the server's wall clock (epoch seconds as the API gives it, or dates), so it
is read in ``zone`` like MetaTrader's export below; ``spread`` is in points, converted the
same way; ``real_volume`` is not read.

MetaStock's ASCII layout, as Finam and Stooq export bars (``<TICKER>,<PER>,<DATE>,…``):
:mod:`.csvmetastock`.

pandas writes row numbers first (an unnamed column of 0, 1, 2, …, or ``index`` after
``reset_index``) when the time is a column, not the index: they are skipped, and times
that count from the epoch by seconds are refused. A file of several symbols (a
``Ticker`` column) is read for the one asked (:mod:`.csvshape`).

MetaTrader's export (tab-separated, detected by a first header cell ``<DATE>``)::

    <DATE>  <TIME>  <OPEN>  <HIGH>  <LOW>  <CLOSE>  <TICKVOL>  <VOL>  <SPREAD>

with dates ``2024.01.02`` and times ``00:05:00`` (``<TIME>`` is absent in a D1 export:
midnight). MetaTrader writes the broker's server time: UTC unless ``zone``
(``--data-tz``) names the server's. The volume is ``<TICKVOL>`` (``<VOL>``, real volume,
is 0 for forex and metals). ``<SPREAD>`` is in
points and is converted to price units with ``symbol_info.point`` when given; otherwise the
point is inferred from the prices, which MetaTrader writes with the symbol's digits
(``2035.12`` → 0.01, ``1.10423`` → 0.00001), taking the most decimals seen in the file.

pandas' ``DataFrame.to_csv`` (so a yfinance download saved with it), detected by a first
header cell that is empty, ``Date`` or ``Datetime`` (any case)::

    Date,Open,High,Low,Close,Adj Close,Volume

columns in any order and any case; ``Adj Close`` (and the ``Dividends``, ``Stock Splits`` and
``Capital Gains`` of ``Ticker.history``) are ignored without a note, any other column is left
out as in the generic layout, ``Volume`` may be absent (0) or a float.
Dates are ``2024-01-02`` (midnight) or ``2024-01-02 09:30:00-05:00``; an offset is converted
to UTC, a time without one is UTC; dates written another way are read as in the generic
layout. A ``Time`` column right after ``Date`` holds the time of day
(``Date,Time,Open,…``). Newer
yfinance writes a two-level header, ``Price,...`` then ``Ticker,EURUSD=X,...`` then
``Date,,,...``: the two extra rows are skipped. A row with no prices at all is how pandas
writes a missing bar (NaN): it is skipped.

Dukascopy's export, detected by a first header cell ``Gmt time`` or ``Local time``::

    Gmt time,Open,High,Low,Close,Volume

with times ``02.01.2024 00:05:00.000`` (a local time ends with its offset, `` GMT+0200``,
and is converted to UTC). The flat bars it fills a closed market with (no volume, one
price) are left out, and counted in the run's notes (:mod:`.csvdukascopy`).

Without a header, three layouts are known by their first line: MetaTrader 4's History
Center export, ``2024.01.02,00:05,open,high,low,close,volume`` (server time, in
``zone``; HistData.com's files of this layout, named ``DAT_MT_…``, in Eastern Standard
Time like its others), HistData.com's ASCII bars, ``20240102 000500;open;high;low;close;volume`` in
Eastern Standard Time all year, converted to UTC (both in ``zone`` when the user gives
one: NinjaTrader writes the layout in local time), and lines that start with a whole
epoch time followed by open, high, low, close and maybe volume, as exchanges write them
(any later columns are not read): Binance's klines (data.binance.vision, twelve columns
``open_time,open,high,low,close,volume,close_time,…``, times in milliseconds or, in spot
files from 2025, microseconds; also with that header line) and Kraken's OHLCVT
(``timestamp,open,high,low,close,volume,trades`` in seconds). MetaTrader 4 scripts
write its date and time in one cell (``2024.01.02 00:05,open,…``): read too. Any other
file needs a header.

Excel's ``sep=,`` first line and a web address before the header (CryptoDataDownload's)
are skipped (:mod:`.csvlines`). A tick file is refused as one, as is a time with one
price a line, and a file of no layout here names the ones read (:mod:`.csvticks`).

A file is tab-separated when its first line has a tab, semicolon-separated when it has
more semicolons than commas, else comma-separated. Decimals are written with a point,
except in a semicolon-separated file, where a number written ``1,08523`` is read with a
decimal comma (as a spreadsheet in most of Europe saves a file), and a point between
every three digits of its whole part separates thousands (``1.821,72``). A MetaTrader export
saved again by a spreadsheet keeps its header and is read the same, its dates in the
spreadsheet's form.

Any problem raises :class:`CsvError` naming the file and the line, never a traceback from
inside the parser: a bad number, a high below the low, a missing column, unsorted times,
a time twice with other values (naming both lines), an empty file, a price above
10^18 or a spike (a bar ten times away from both its neighbours, :mod:`.csvspikes`), a
line longer than 128 KiB (:mod:`.csvlines`: read a chunk at a time, so ``/dev/zero``
fails at once). The blemishes real files have are mended instead, each counted in the
run's notes (:mod:`.csvmend`): Yahoo's ``null`` rows, a row repeated exactly (the one
before, or a block two overlapping exports pasted together repeat: :mod:`.csvorder`), a
cut-off last line, an empty volume cell, Dukascopy's filler bars, and a file written
newest first (read reversed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timezone, tzinfo
from functools import partial
from pathlib import Path

from hookspecs import Bar, SymbolInfo

from .csvbars import BarError, bar_lines, checked_bar, with_lines_like_it
from .csvclocks import histdata_mt, own_clock_note
from .csvdukascopy import DUKASCOPY_INDEX, load_dukascopy
from .csvexports import (
    BINANCE_HEADER,
    BINANCE_WIDTH,
    HISTDATA_UTC_OFFSET,
    PANDAS_INDEX,
    headerless_kind,
    load_headerless,
    load_mt5,
    load_mt5_rates,
    load_pandas,
    yfinance_levels,
)
from .csvheader import base_volume, columns, left_out_note
from .csvlines import read_rows
from .csvmend import Mended, Rows, mend_rows
from .csvmetastock import METASTOCK_FIRST, load_metastock
from .csvnames import symbol_of_file
from .csvorder import bars_in_order
from .csvrows import (
    OHLC,
    CsvError,
    Previous,
    cell,
    check_order,
    check_spread_unit,
    decimals,
    file_date_order,
    looks_like_time,
    number,
    ohlc,
    parse_time,
    point_of,
    read_time,
)
from .csvshape import (
    SYMBOL_NAMES,
    check_not_counted,
    day_column,
    one_symbol,
    time_column,
    without_row_numbers,
)
from .csvspikes import check_spikes, spikes_note
from .csvsplits import (
    adjusted_column,
    adjusted_values,
    find_splits,
    jumps_notes,
    split_times,
)
from .csvspreads import zero_spreads_note
from .csvticks import SUPPORTED, check_not_one_price, check_not_ticks

__all__ = ["CsvError", "left_out_note", "load_csv", "parse_time", "symbol_of_file"]

GENERIC_COLUMNS = ("time", "open", "high", "low", "close")
GENERIC_OPTIONAL = ("volume", "spread", "spread_points")
#: other names of the generic columns: ``timestamp`` is ccxt's, Kraken's and most crypto
#: downloads' name for the time, ``unix`` CryptoDataDownload's and ``unix timestamp``
#: Gemini's (their ``date`` column, the same time as text, is then left out)
GENERIC_ALIASES = {"timestamp": "time", "unix": "time", "unix timestamp": "time"}


def load_csv(
    path: str | Path,
    *,
    symbol_info: SymbolInfo | None = None,
    zone: tzinfo | None = None,
    left_out: list[str] | None = None,
    notes: list[str] | None = None,
    keep_spikes: bool = False,
    symbol: str | None = None,
    splits: list[tuple[datetime, str]] | None = None,
) -> list[Bar]:
    """Bars from ``path``, oldest first; the format is detected from the first line.
    ``zone``: where times written without an offset were written (generic, pandas,
    MetaTrader and HistData.com files; Dukascopy's and epoch times say their own);
    ``None``, not said: UTC, but HistData.com's Eastern Standard Time for its files.
    ``left_out`` gets the names of the header's columns that were not read because the
    layout has no use for them, for the run to say so; ``notes`` what was mended in the
    file (:mod:`.csvmend`): rows skipped, dropped or reversed, the splits in its prices
    and bars that open half the price or more away from the close before
    (:mod:`.csvsplits`; ``splits`` gets each split's bar time and ratio), and, when
    ``zone`` is ``None``, the clock a HistData.com or MetaTrader file was read on
    (:mod:`.csvclocks`).
    ``keep_spikes``: a spike is kept, and said in ``notes``, instead of refused.
    ``symbol``: the symbol the run reads the file as, whose rows are read from a file of
    several (:func:`~.csvshape.one_symbol`)."""
    rows = list(read_rows(path))
    if not rows:
        raise CsvError(path, 0, "the file is empty (a header line is required)")
    rows = without_row_numbers(rows)
    rows, chosen = one_symbol(path, rows, symbol)
    header_line, header = rows[0]
    check_not_ticks(path, header_line, header)
    check_not_one_price(path, header_line, header)
    kind = headerless_kind(header)
    first = header[0].lower() if header else ""
    pandas = first in PANDAS_INDEX or (first == "price" and yfinance_levels(rows) > 0)
    head = 0 if kind is not None else 1 + (yfinance_levels(rows) if pandas else 0)
    mended = Mended()
    rows = rows[:head] + mend_rows(rows[head:], header if head else None, mended)
    unread: list[str] = []
    with bar_lines() as lines:

        def load(rows: Rows) -> list[Bar]:
            try:
                return _load(path, rows, kind, symbol_info, zone, unread, mended)
            except BarError as refused:  # named with the other lines of its fault
                again = partial(_load, path, rows, kind, symbol_info, zone, [], Mended())
                raise with_lines_like_it(refused, again) from None

        def restart() -> None:  # a failed pass counted some: the next one counts all
            unread.clear()
            lines.clear()
            mended.restart()

        bars = bars_in_order(str(path), rows, head, load, restart, mended)
    if not bars:
        raise CsvError(path, header_line, "no bars after the header")
    check_not_counted(path, bars, lines)
    kept = spikes_note(path, bars, lines) if keep_spikes else None
    named = header if kind is None else []
    found = find_splits(bars, _adjusted(rows, named, lines))
    jumps = jumps_notes(path, bars, lines, named, found)
    if not keep_spikes:
        check_spikes(path, bars, lines)
    if left_out is not None:  # a symbol column read to choose the rows was not left out
        left_out.extend(u for u in unread if not (chosen and u.strip().lower() in SYMBOL_NAMES))
    if splits is not None:
        splits.extend(split_times(bars, found))
    if notes is not None:
        notes.extend(mended.notes(str(path)))
        clock = own_clock_note(path, kind, header, zone)
        zeros = zero_spreads_note(path, header, unread, bars, symbol)
        notes.extend(filter(None, [chosen, kept, *jumps, clock, zeros]))
    return bars


def _load(
    path: str | Path,
    rows: Rows,
    kind: str | None,
    symbol_info: SymbolInfo | None,
    said: tzinfo | None,
    left_out: list[str],
    mended: Mended,
) -> list[Bar]:
    """The bars of ``rows`` (the header first, if the file has one) in the layout its
    first line says; ``kind``: :func:`~.csvexports.headerless_kind` of that line;
    ``said``: the zone the user gave, if any (HistData.com's files are in Eastern Standard
    Time unless the user says otherwise: NinjaTrader writes their layout in local time)."""
    zone = said or UTC
    header = rows[0][1]
    first = header[0].lower() if header else ""
    if first == "<date>":
        return load_mt5(path, rows, symbol_info, zone, left_out)
    if first == METASTOCK_FIRST:
        return load_metastock(path, rows, zone, left_out)
    if "tick_volume" in (h.lower() for h in header):
        return load_mt5_rates(path, rows, symbol_info, zone, left_out)
    volume = base_volume(header) if kind is None else None
    mended.volume_from = volume
    aliases = {volume.lower(): "volume"} if volume is not None else {}
    if first in PANDAS_INDEX or (first == "price" and yfinance_levels(rows)):
        return load_pandas(path, rows, zone, left_out, aliases)
    if first in DUKASCOPY_INDEX:
        return load_dukascopy(path, rows, left_out, mended.fillers)
    if kind is not None:
        if histdata_mt(path, kind) and said is None:
            zone = timezone(HISTDATA_UTC_OFFSET)  # HistData's MetaTrader layout: EST too
        return load_headerless(path, rows, kind, zone if kind.startswith("mt4") else said)
    if first == BINANCE_HEADER and len(header) == BINANCE_WIDTH and len(rows) > 1:
        return load_headerless(path, rows[1:], "epoch")
    return _load_generic(path, rows, zone, symbol_info, left_out, mended, aliases)


def _adjusted(rows: Rows, header: list[str], lines: list[int]) -> list[float | None] | None:
    """The adjusted close of each bar (its line in ``lines``), when ``header`` has one
    (:mod:`.csvsplits`); ``None`` when it has none."""
    at = adjusted_column(header)
    if at is None:
        return None
    cells = dict(rows)
    return adjusted_values([c[at] if at < len(c := cells[n]) else None for n in lines])


def _load_generic(
    path: str | Path,
    rows: list[tuple[int, list[str]]],
    zone: tzinfo = UTC,
    symbol_info: SymbolInfo | None = None,
    left_out: list[str] | None = None,
    mended: Mended | None = None,
    volume_alias: Mapping[str, str] | None = None,
) -> list[Bar]:
    """The generic layout; ``volume_alias``: the column read as the volume, when named
    for an asset (:func:`~.csvheader.base_volume`). An empty volume cell is a bar without
    volume (``mended`` counts them): files of many sources have the odd one, and a bar's
    volume is not what a replay trades on, whereas an empty price stays an error."""
    header_line, header = rows[0]
    if header and looks_like_time(header[0]):
        raise CsvError(
            path,
            header_line,
            f"no header line: the first line must name the columns, e.g. "
            f"{','.join(GENERIC_COLUMNS)}[,volume][,spread]; {SUPPORTED}",
        )
    aliases = {**GENERIC_ALIASES, **(volume_alias or {})}
    at, others = time_column(header, rows[1][1] if len(rows) > 1 else None)
    if at is not None:
        aliases[header[at].lower()] = "time"
        if mended is not None and others:
            mended.time_from = header[at], [header[i] for i in others]
    index = columns(
        path, header_line, header, GENERIC_COLUMNS, GENERIC_OPTIONAL, aliases, left_out, SUPPORTED
    )
    if "spread" in index and "spread_points" in index:
        raise CsvError(path, header_line, "columns 'spread' and 'spread_points': only one of them")
    spread_name = "spread_points" if "spread_points" in index else "spread"
    day = day_column(header, index["time"], rows[1][1] if len(rows) > 1 else None)
    if day is not None:  # Symbol,Date,Time,…: the date and the time of day, joined
        index["date"] = day
        if left_out is not None and header[day] in left_out:
            left_out.remove(header[day])
    order = file_date_order(path, rows, *(() if day is None else (day,)), index["time"])
    bars: list[Bar] = []
    previous: Previous = None
    digits = 0
    for line, cells in rows[1:]:
        if len(cells) > len(header):
            raise CsvError(path, line, f"{len(cells)} values but the header has {len(header)}")
        when = cell(path, line, cells, index, "time")
        if day is not None:
            when = f"{cell(path, line, cells, index, 'date')} {when}"
        time = check_order(path, line, read_time(path, line, when, zone, order), previous, zone)
        previous = line, time
        if mended is not None:
            mended.clock_of(line, when)
        texts = [cell(path, line, cells, index, n) for n in OHLC]
        prices = ohlc(path, line, texts)
        volume = 0.0
        if "volume" in index:
            at = index["volume"]
            if mended is not None and at < len(cells) and cells[at] == "":
                mended.no_volume.append(line)
            else:
                volume = number(path, line, "volume", cell(path, line, cells, index, "volume"))
        spread = 0.0
        if spread_name in index:
            spread = number(path, line, spread_name, cell(path, line, cells, index, spread_name))
            if spread_name == "spread_points":
                digits = max(digits, *(decimals(t) for t in texts))
        bars.append(checked_bar(path, line, time, prices, volume, spread))
    if spread_name == "spread_points" and spread_name in index:
        point = point_of(symbol_info, digits)
        return [replace(b, spread=round(b.spread * point, 10)) for b in bars]
    if "spread" in index:
        check_spread_unit(path, header_line, bars)
    return bars
