"""The table a bar file is, around its bars: the row numbers pandas writes before them,
several symbols in one file, and which column holds the time when none is named
``time``. :mod:`.csvdata` reads the file's layout after these are settled.

* pandas' ``to_csv`` writes its row numbers first (an unnamed column of 0, 1, 2, …),
  and ``reset_index`` turns them into a column named ``index``: neither is a bar's, and
  both are skipped (:func:`without_row_numbers`); read as times, they are refused
  (:func:`check_not_counted`).
* A file of several symbols (bokeh's ``stocks.csv``, a ``Ticker`` column of AAPL, FB,
  GOOG, …, each symbol's dates again) is read for one of them, the symbol the run gives
  the file (``--symbol``, or its name): a replay trades one series per symbol, and the
  rows of the others are no bars of it (:func:`one_symbol`).
* Without a ``time`` column (or ``timestamp``, ``unix``), the time is the column named
  ``date``, ``datetime`` or ``dt``, or one whose name says it holds a time or a date
  (``TimeOfCandle``, ``Open time``), wherever it is: the first of them whose value
  reads as a date and time (:func:`time_column`). A ``time`` column of times of day
  (``00:05``) goes with the column named ``date`` (``Symbol,Date,Time,Open,…``:
  :func:`day_column`), as in the pandas layout's ``Date,Time,Open,…``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hookspecs import Bar

from .csvheader import one_letter_off
from .csvrows import CsvError, looks_like_time

Rows = list[tuple[int, list[str]]]

#: the names of a column that holds the bars' time, however a tool spells the rest
EXACT_TIME_NAMES = ("time", "timestamp", "unix", "unix timestamp", "date", "datetime", "dt")
#: the columns that name a row's symbol in a file of several
SYMBOL_NAMES = ("ticker", "symbol")
#: how many first rows tell whether a first column counts rows
_SAMPLE = 20
#: how many of a file's symbols a refusal lists
_SHOWN = 10


def is_time_name(name: str) -> bool:
    """Whether a column's name says it holds a time or a date (``Date``, ``TimeOfCandle``,
    ``open_time``)."""
    norm = name.strip().lower()
    return norm in EXACT_TIME_NAMES or "time" in norm or "date" in norm


def without_row_numbers(rows: Rows) -> Rows:
    """``rows`` without the row numbers pandas writes first: an unnamed column
    (``to_csv``) or one named ``index`` (``reset_index``) of whole numbers, when another
    column is named for the time (:func:`is_time_name`: ``Date``, ``TimeOfCandle``). In a
    file with no such column, an unnamed first column is pandas' index, the time: row
    numbers there read as the epoch's first seconds (1970-01-01 00:00:00, 00:00:01, …),
    which :func:`check_not_counted` refuses, naming them."""
    header = rows[0][1]
    if len(header) < 2 or len(rows) < 2 or header[0].strip().lower() not in ("", "index"):
        return rows
    firsts = [cells[0].strip() for _, cells in rows[1 : 1 + _SAMPLE] if cells]
    if firsts and all(f.isdigit() for f in firsts) and any(map(is_time_name, header[1:])):
        return [(line, cells[1:]) for line, cells in rows]
    return rows


def one_symbol(path: str | Path, rows: Rows, symbol: str | None) -> tuple[Rows, str | None]:
    """``(rows, note)``: the rows of ``symbol`` in a file whose ``Ticker`` or ``symbol``
    column holds several, and the run's note saying which were read; ``rows`` as they
    are, and no note, in a file of one symbol. A :class:`CsvError` naming the file's
    symbols when ``symbol`` is none of them: its rows are the dates of each symbol again,
    which read as one series go back in time (two overlapping exports?)."""
    header_line, header = rows[0]
    norm = [h.strip().lower() for h in header]
    at = next((norm.index(n) for n in SYMBOL_NAMES if n in norm), None)
    if at is None:
        return rows, None
    held = list(dict.fromkeys(c[at] for _, c in rows[1:] if at < len(c) and c[at]))
    if len(held) < 2:
        return rows, None
    column = header[at]
    listed = ", ".join(held[:_SHOWN]) + (
        f" and {len(held) - _SHOWN} more" if len(held) > _SHOWN else ""
    )
    if symbol not in held:
        given = (
            "" if symbol is None else f", and {symbol!r}, the symbol it is read as, is none of them"
        )
        raise CsvError(
            path,
            header_line,
            f"the file holds {len(held)} symbols in column {column!r} ({listed}){given}: a "
            f"run reads one of them from it, named as its symbol (hostapp replay --symbol "
            f"{held[0]}; in [host] data, {held[0]} = the file), or give one file per symbol",
        )
    # a row without the symbol's cell stays: a cut-off last line is mended, any other refused
    kept = [rows[0], *((n, c) for n, c in rows[1:] if at >= len(c) or c[at] == symbol)]
    note = (
        f"{path}: holds {len(held)} symbols in column {column!r} ({listed}); the "
        f"{len(kept) - 1:,} rows of {symbol} were read, the others left out"
    )
    return kept, note


def time_column(header: list[str], first: list[str] | None) -> tuple[int | None, list[int]]:
    """``(column, others)``: where the time is in a header without a column named
    ``time`` (or another name of it: ``timestamp``, ``unix``), and the other columns that
    would do as well (said in the run's notes, as the choice is the reader's); ``None``
    when the header has a ``time`` column or none that reads as one. ``first`` is the
    first row's cells: a column is the time only if its value there reads as a date and
    time (``TimeOfCandle``'s ``2021-10-27T09:55:00+03:30``), not as a count of rows or a
    price. The column named ``date``, ``datetime`` or ``dt`` comes first, then one
    whose name holds ``time`` or ``date``, each in the header's order."""
    norm = [h.strip().lower() for h in header]
    if any(n in ("time", "timestamp", "unix", "unix timestamp") for n in norm):
        return None, []
    named = [i for i, n in enumerate(norm) if n in EXACT_TIME_NAMES]
    named += [
        i for i, h in enumerate(header) if is_time_name(h) and i not in named and not _slip(norm[i])
    ]
    fits = [i for i in named if first is not None and i < len(first) and _reads_as_time(first[i])]
    if not fits:
        return None, []
    return fits[0], fits[1:]


#: a time of day alone, ``00:05`` or ``00:05:00``: the day is in another column
_TIME_OF_DAY = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?")


def day_column(header: list[str], time_at: int, first: list[str] | None) -> int | None:
    """The column named ``date`` when the time column (``time_at``) holds a time of day
    in ``first``, the first row's cells: the loader joins the two. ``None`` when the time
    column holds whole times or there is no ``date``."""
    if first is None or time_at >= len(first) or not _TIME_OF_DAY.fullmatch(first[time_at]):
        return None
    norm = [h.strip().lower() for h in header]
    return norm.index("date") if "date" in norm else None


def _slip(name: str) -> bool:
    """Whether ``name`` is a letter off a name of the time (``timestmp``): refused as the
    slip it is (:func:`~.csvheader.columns`), not read as another time column."""
    return any(one_letter_off(name, known) for known in EXACT_TIME_NAMES)


def _reads_as_time(text: str) -> bool:
    """Whether a cell reads as a date and time, not as a number that only reads as epoch
    seconds of the 1970s or earlier (a row number, a price, an amount)."""
    digits = text.strip().replace(".", "", 1)
    if digits.isdigit() and len(text.strip().split(".")[0]) < 9:
        return len(text.strip().split(".")[0]) == 8 and looks_like_time(text)  # 20240102
    return looks_like_time(text)


#: times before this are the epoch's first year: no market's bars, a count read as seconds
_EPOCH_YEAR_END = datetime(1971, 1, 1, tzinfo=UTC)


def check_not_counted(path: str | Path, bars: Sequence[Bar], lines: Sequence[int]) -> None:
    """A :class:`CsvError` when the bars' times are the epoch's first seconds, one second
    apart (1970-01-01 00:00:00, 00:00:01, …): row numbers or another count read as epoch
    seconds, not times. Traded, they made a run of one-second bars in 1970, which
    ``--timeframe M5`` then called M5 bars."""
    if len(bars) < 2 or bars[0].time >= _EPOCH_YEAR_END:
        return
    if {b.time - a.time for a, b in itertools.pairwise(bars[: _SAMPLE + 1])} != {_SECOND}:
        return
    start = int(bars[0].time.timestamp())
    raise CsvError(
        path,
        lines[0],
        f"the times read as {bars[0].time:%Y-%m-%d %H:%M:%S}, {bars[1].time:%H:%M:%S}, … "
        f"UTC: epoch seconds {start}, {start + 1}, …, one second apart, a count of rows and "
        "not times; the time must be a column of dates or epoch times (named time or date)",
    )


_SECOND = timedelta(seconds=1)
