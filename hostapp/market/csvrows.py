"""The cells of a bar file and the checks every format's loader shares.

:mod:`.csvdata` detects a file's format and reads the generic one; :mod:`.csvexports`
reads what other tools export. Both go through these functions (and make their bars with
:mod:`.csvbars`), so a bad number or unsorted times read the same whatever wrote the
file: a :class:`CsvError` naming the file and the line.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timezone, tzinfo
from pathlib import Path

from hookspecs import Bar, SymbolInfo
from hookspecs.timeframes import epoch_seconds

from .csvdates import (
    TIME_FORMS,
    DateOrder,
    DateOrderError,
    as_iso,
    compact_date,
    date_order,
    is_compact_number,
)
from .timeframes import from_epoch
from .zones import NEW_YORK_CLOSE, SkippedTimeError
from .zones import in_zone as in_zone
from .zones import parse_zone as parse_zone


class CsvError(ValueError):
    """A CSV file cannot be loaded. ``line`` is 1-based; 0 when about the whole file."""

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


def number(path: str | Path, line: int, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CsvError(path, line, f"{name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CsvError(path, line, f"{name} {text!r} is not a finite number")
    return value


OHLC = ("open", "high", "low", "close")
#: a bar's open, high, low and close
Ohlc = tuple[float, float, float, float]


def ohlc(path: str | Path, line: int, texts: list[str]) -> Ohlc:
    o, h, low, c = (number(path, line, n, t) for n, t in zip(OHLC, texts, strict=True))
    return o, h, low, c


def cell(path: str | Path, line: int, cells: list[str], index: dict[str, int], name: str) -> str:
    i = index[name]
    if i >= len(cells) or cells[i] == "":
        raise CsvError(path, line, f"missing value for {name.strip('<>').lower()}")
    return cells[i]


def parse_time(text: str, zone: tzinfo = UTC, order: DateOrder | None = None) -> datetime:
    """ISO 8601, ``YYYY-MM-DD HH:MM[:SS]``, a date written another way (:mod:`.csvdates`;
    ``order`` says which number of a ``01/02/2024`` date is the day, and ``"ymd"`` that
    an eight-digit number is a ``YYYYMMDD`` date) or a whole epoch number (seconds,
    milliseconds or microseconds, told by its size), to an aware UTC datetime. A time
    written without an offset is in ``zone`` (UTC unless the user says where the data
    was written)."""
    t = text.strip()
    if order == "ymd" and is_compact_number(t):
        day = compact_date(t)
        if day is None:
            raise ValueError(f"{t!r} is not a date YYYYMMDD")
        return in_zone(day, zone)
    if t.replace(".", "", 1).isdigit():
        return from_epoch(epoch_seconds(float(t) if "." in t else int(t)))
    if t[4:5] != "-":  # not ISO's "YYYY-": a date written another way
        t = as_iso(t, order)
    try:
        dt = datetime.fromisoformat(t)  # 3.11 accepts "Z", a space separator and HH:MM
    except ValueError:  # nearly ISO: "2024-1-2", "2024-01-02 0:05", "… 12:05 PM"
        dt = datetime.fromisoformat(as_iso(t, order))
    if dt.tzinfo is None:
        return in_zone(dt, zone)
    return dt.astimezone(UTC)


def read_time(
    path: str | Path, line: int, text: str, zone: tzinfo = UTC, order: DateOrder | None = None
) -> datetime:
    """:func:`parse_time` of a file's cell: a :class:`CsvError` naming the forms a time
    may take when it is none of them, or saying that ``zone``'s clock never shows it."""
    try:
        return parse_time(text, zone, order)
    except SkippedTimeError as exc:
        raise CsvError(path, line, str(exc)) from None
    except (ValueError, OverflowError):
        if order == "ymd" and is_compact_number(text.strip()):
            why = "a date YYYYMMDD, as the file's other eight-digit times are"
            raise CsvError(path, line, f"time {text!r} is not {why}") from None
        name = text.strip().strip("\ufeff\"'<>").lower()  # "time", "<DATE>"
        if not any(c.isdigit() for c in name) and ("time" in name or "date" in name):
            why = "a column's name: a second header line (two files joined into one?)"
            raise CsvError(path, line, f"time {text!r} is {why}; remove it") from None
        raise CsvError(path, line, f"time {text!r} is not {TIME_FORMS}") from None


def file_date_order(
    path: str | Path, rows: list[tuple[int, list[str]]], *at: int
) -> DateOrder | None:
    """:func:`~.csvdates.date_order` of the times in columns ``at`` of the rows after the
    header (a date and a time of day in columns of their own: both, as the loader joins
    them): a :class:`CsvError` naming the line when they do not tell."""
    dated = (
        (line, " ".join(cells[i] for i in at))
        for line, cells in rows[1:]
        if all(i < len(cells) for i in at)
    )
    try:
        return date_order(dated)
    except DateOrderError as exc:
        raise CsvError(path, exc.line, str(exc)) from None


def looks_like_time(text: str) -> bool:
    """Whether ``text`` reads as a time (a ``01/02/2024`` date either way round)."""
    for order in ("dmy", "mdy"):
        try:
            parse_time(text, UTC, order)
        except (ValueError, OverflowError):
            continue
        return True
    return False


#: the bars refused inside :func:`surveying`: the line, the kind of fault, the refusal
Survey = list[tuple[int, str, str]]
_SURVEY: ContextVar[Survey | None] = ContextVar("survey", default=None)


@contextmanager
def surveying() -> Iterator[Survey]:
    """Inside the block a loader reads a file past its faults: a bar's values that are
    refused (:func:`~.csvbars.checked_bar`) are listed (:data:`Survey`) instead of raised,
    and times out of order (:func:`check_order`) are read as they stand. Only a file
    already refused is read so, once more, for the refusal to say how many lines share
    its fault and where (:mod:`.csvbars`, :mod:`.csvorder`): named alone, the first of
    125 bad lines had a trader fix it and rerun for the next, 125 times."""
    found: Survey = []
    token = _SURVEY.set(found)
    try:
        yield found
    finally:
        _SURVEY.reset(token)


def survey() -> Survey | None:
    """The list :func:`surveying` keeps, inside its block; else ``None``."""
    return _SURVEY.get()


def point_of(symbol_info: SymbolInfo | None, digits: int) -> float:
    """The size of a point, to turn MetaTrader's spreads into price units: the one a
    file's prices show with their most ``digits`` (MetaTrader writes prices with the
    symbol's digits: ``2035.12`` → 0.01, ``1.10423`` → 0.00001), or the symbol's when it
    is finer (prices that happen to end in zeros). A broker that quotes gold with three
    digits has a point of 0.001 whatever the usual two say."""
    shown = 10.0**-digits
    return min(symbol_info.point, shown) if symbol_info is not None else shown


def check_spread_unit(path: str | Path, line: int, bars: list[Bar]) -> None:
    """A ``spread`` column is in price units; MetaTrader's spreads are whole numbers of
    points, and read as prices they are far too wide (12 points of EURUSD read as 12.0:
    every trade loses a fortune at the fill). Whole-number spreads wider than the bars'
    median range, or than 0.5 % of the price, are refused with the fix (``line``: the
    header's); prices without decimals are left alone (a point is 1 there). Spreads of
    any other unit (pips: 2.7 for EURUSD) are refused when they average more than 5 % of
    the price, which no market's spread does."""
    if not bars:
        return
    mean_spread = sum(b.spread for b in bars) / len(bars)
    mean_price = sum(b.close for b in bars) / len(bars)
    if mean_spread > 0.05 * mean_price:
        raise CsvError(
            path,
            line,
            f"spread: on average {mean_spread:g}, {mean_spread / mean_price:.0%} of the average "
            f"close {mean_price:g}: spreads are in price units (0.00012 for 1.2 pips of "
            "EURUSD); name the column spread_points for MetaTrader's points",
        )
    if not all(b.spread.is_integer() for b in bars):
        return  # price units (most files stop at their first bar here)
    spreads = [b.spread for b in bars if b.spread > 0]
    if not spreads:
        return
    if all(p.is_integer() for b in bars[:100] for p in (b.open, b.high, b.low, b.close)):
        return
    wide = statistics.median(spreads)
    ranges = [b.high - b.low for b in bars if b.high > b.low]
    span = statistics.median(ranges) if ranges else 0.0
    price = statistics.median(b.close for b in bars)
    if span and wide > span:
        why = f"wider than the bars' median range {span:g}"
    elif wide > 0.005 * price:
        why = f"{wide / price:.1%} of the median close {price:g}"
    else:
        return
    raise CsvError(
        path,
        line,
        f"spread: whole numbers (median {wide:g}), {why}: these look like MetaTrader's "
        "points, not price units; name the column spread_points to have them converted "
        "with the symbol's point",
    )


class UnsortedError(CsvError):
    """A time before the previous line's: :func:`~.csvdata.load_csv` reads a file that is
    newest first from its end (:mod:`.csvorder`). ``previous_line``: the line of the
    later time; ``times``: the line's time and the previous line's."""

    def __init__(
        self,
        path: str | Path,
        line: int,
        message: str,
        previous_line: int,
        times: tuple[datetime, datetime] | None = None,
    ) -> None:
        super().__init__(path, line, message)
        self.previous_line = previous_line
        self.times = times


#: the line and the time of the bar read before, as the loaders keep it
Previous = tuple[int, datetime] | None


def check_order(
    path: str | Path, line: int, time: datetime, previous: Previous, zone: tzinfo = UTC
) -> datetime:
    """``time``, checked to come after ``previous`` (its line and time). A time read in
    ``zone`` may be the second of the two hours a clock change back repeats (03:00 to
    03:59 twice in Athens on the last Sunday of October, in a file written in local
    time): read as the first, it would go back an hour, so it is read as the second. A
    repeated time names both lines: a row repeated exactly was dropped before
    (:mod:`.csvmend`), so these differ, and which is right is not for the replay to
    guess; read in a zone with summer time, it may also be the hour another clock
    repeats (a New York close server's, a week after Athens'), which it says."""
    if previous is None:
        return time
    before, earlier = previous
    if time <= earlier and zone is not UTC:
        later = time.astimezone(zone).replace(fold=1).astimezone(UTC)
        if later > earlier:
            time = later
    if time <= earlier and _SURVEY.get() is not None:
        return time  # a survey reads on: it tells every place the times go wrong
    if time == earlier:
        why = "one of the two rows must go"
        if not isinstance(zone, timezone) and str(zone) != NEW_YORK_CLOSE:
            why += (
                f", or the file's clock repeats this hour and is not {zone}'s: a MetaTrader "
                f"server on New York close time is --data-tz {NEW_YORK_CLOSE}"
            )
        raise CsvError(
            path,
            line,
            f"duplicate time {time.isoformat()}, also on line {before} with other values ({why})",
        )
    if time < earlier:
        raise UnsortedError(
            path,
            line,
            f"time {time.isoformat()} is before the previous line's {earlier.isoformat()} "
            "(rows must be sorted oldest first)",
            before,
            (time, earlier),
        )
    return time


def decimals(text: str) -> int:
    """The decimals a price is written with: ``2035.12`` → 2, and in the scientific
    notation pandas writes small prices in, ``1.234e-05`` → 8."""
    mantissa, _, exponent = text.lower().partition("e")
    head, _, frac = mantissa.partition(".")
    if not head.lstrip("-").isdigit() or (frac and not frac.isdigit()):
        return 0
    try:
        shift = int(exponent) if exponent else 0
    except ValueError:
        return 0
    return max(0, len(frac) - shift)
