"""Dates as spreadsheets, MetaTrader and other tools write them, rewritten as ISO 8601.

A bar file's times are ISO 8601 when a program wrote them, but a file that went through
a spreadsheet, or came from MetaTrader or a European export, writes its dates another
way. These are read (one form per file):

* year first, with dots, slashes or dashes: ``2024.01.02`` (MetaTrader), ``2024/01/02``,
  ``2024-1-2``;
* year last with dots: ``02.01.2024``, day first, as every locale that writes dots;
* year last with slashes or dashes: ``01/02/2024``, which is the 2nd of January in the
  United States and the 1st of February in most other places. The file tells which:
  :func:`date_order` looks for a date whose first or second number is above 12, so
  cannot be a month. A file with none (all its days fall on the 1st to the 12th) is
  refused, as is one with dates of both kinds.

The time of day may have a one-digit hour (``0:05``, as Excel writes it) and ``AM`` or
``PM``, or be an hour alone with them after a dash (``2019-10-17 09-AM``, as
CryptoDataDownload's older hourly files write it). Whatever is not one of these forms is
left as it is, for ISO 8601 to judge.

A date written as an eight-digit number, ``20240102`` (or ``20240102.0``, as pandas writes
a column of whole numbers that has a gap), as exchanges and data vendors write it, is
also a whole number of epoch seconds: August 1970. :func:`date_order` tells which once
per file, from all its eight-digit times: bars in epoch seconds open on whole minutes (a
multiple of 60: consecutive daily dates 20040819 and 20040820 would be bars one second
apart, the first at 22:53:39). A file not all of whose eight-digit times are whole
minutes has dates (a year from 1900 to 2100, a real month and day: one that is no date is
refused, naming its line, never read as 1970); one whose times are all whole minutes has
epoch seconds, unless they are all dates too: that file cannot be told and is refused.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Literal

#: which number of a ``01/02/2024`` date is the day: day-month-year or month-day-year;
#: ``"ymd"``: the file's eight-digit numbers are dates (``20240102``), not epoch seconds
DateOrder = Literal["dmy", "mdy", "ymd"]

_YEAR_FIRST = re.compile(r"(\d{4})([./-])(\d{1,2})\2(\d{1,2})(?=$|[ T])")
_YEAR_LAST = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4})(?=$|[ T])")
#: an eight-digit date, maybe with the ``.0`` of a float column, alone or before a time
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:\.0+)?(?=$|[ T])")
#: a time that is an eight-digit number and nothing else: a date or epoch seconds
_COMPACT_NUMBER = re.compile(r"\d{8}(?:\.0+)?")
#: the years an eight-digit number is read as a date in: beyond them it is no market's
_COMPACT_YEARS = range(1900, 2101)
_CLOCK = re.compile(r"[ T](\d{1,2}):(\d{2})(:\d{2}(?:\.\d+)?)?(?:\s*([AaPp])[Mm])?(.*)")
#: an hour and AM or PM alone, after a dash: CryptoDataDownload's older hourly files
#: (``2019-10-17 09-AM``)
_HOUR_DASH = re.compile(r" (\d{1,2})-([AaPp][Mm])")

#: the forms a time may take, for error messages
TIME_FORMS = (
    "ISO 8601 ('2024-01-02 00:05[:00]'), a date written 2024.01.02, 2024/01/02, "
    "02.01.2024, 01/02/2024 or 20240102 with a time, or an epoch number (seconds, "
    "milliseconds or microseconds)"
)


class DateOrderError(ValueError):
    """The file's ``NN/NN/YYYY`` dates do not say which number is the day: ``line`` is
    the line of the date quoted in the message."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(message)


def as_iso(text: str, order: DateOrder | None = None) -> str:
    """``text`` with its date (and a one-digit or AM/PM time) rewritten as ISO 8601;
    unchanged when its date is not one of the forms above. ``ValueError`` for a
    ``01/02/2024`` date when ``order`` is not known."""
    m = _YEAR_FIRST.match(text)
    if m is not None:
        year, month, day = m[1], m[3], m[4]
    elif (m := _COMPACT.match(text)) is not None:
        year, month, day = m[1], m[2], m[3]
    else:
        m = _YEAR_LAST.match(text)
        if m is None:
            return text
        if m[2] == "." or order == "dmy":
            day, month = m[1], m[3]
        elif order == "mdy":
            month, day = m[1], m[3]
        else:
            raise ValueError(f"{text!r}: is its first number the day or the month?")
        year = m[4]
    return f"{year}-{int(month):02d}-{int(day):02d}{_clock(text[m.end() :])}"


def _clock(rest: str) -> str:
    """The time after a rewritten date, with a two-digit, 24-hour hour."""
    hour_only = _HOUR_DASH.fullmatch(rest)
    if hour_only is not None:
        rest = f" {hour_only[1]}:00 {hour_only[2]}"
    m = _CLOCK.fullmatch(rest)
    if m is None:
        return rest  # no time (midnight), or not one: ISO 8601 judges it
    hour = int(m[1])
    if m[4] is not None:  # AM/PM: 12 AM is midnight, 12 PM noon
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} with AM/PM")
        hour = hour % 12 + (12 if m[4] in "Pp" else 0)
    return f" {hour:02d}:{m[2]}{m[3] or ''}{m[5]}"


def is_compact_number(text: str) -> bool:
    """Whether a time is an eight-digit number (``20240102``, ``20240102.0``): a date
    or epoch seconds, as :func:`date_order` tells for its file."""
    return _COMPACT_NUMBER.fullmatch(text) is not None


def compact_date(text: str) -> datetime | None:
    """The day an eight-digit number writes as ``YYYYMMDD``, a naive midnight; ``None``
    when ``text`` is not such a number, or is no date of a year from 1900 to 2100."""
    if not is_compact_number(text):
        return None
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:8])
    if year not in _COMPACT_YEARS:
        return None
    try:
        return datetime(year, month, day)
    except ValueError:  # month 13, 31 April
        return None


def date_order(dated: Iterable[tuple[int, str]]) -> DateOrder | None:
    """Whether a file's ``NN/NN/YYYY`` (or ``NN-NN-YYYY``) dates are day or month first,
    from ``(line, text)`` of its times in file order: the first date whose first number
    is above 12 says day first, one whose second number is, month first. ``None`` when
    the first time is written another way (a file writes all its dates one way).
    :class:`DateOrderError` when no date tells, or when two tell differently. A file
    whose first time is an eight-digit number is ``"ymd"`` when its numbers are dates
    (:func:`_compact_order`)."""
    times = iter(dated)
    head = next(times, None)
    if head is None:
        return None
    dated = itertools.chain([head], times)
    if is_compact_number(head[1]):
        return _compact_order(dated)
    first: tuple[int, str] | None = None
    day_first: tuple[int, str] | None = None
    month_first: tuple[int, str] | None = None
    for line, text in dated:
        m = _YEAR_LAST.match(text)
        if first is None:
            if m is None or m[2] == ".":
                return None
            first = (line, text)
        if m is None:
            continue  # not a date at all: the row's own parse says so
        if int(m[1]) > 12 and day_first is None:
            day_first = (line, text)
        elif int(m[3]) > 12 and month_first is None:
            month_first = (line, text)
    if day_first is not None and month_first is not None:
        raise DateOrderError(
            month_first[0],
            f"date {month_first[1]!r} is month first, but line {day_first[0]} has "
            f"{day_first[1]!r}, day first: one file writes its dates one way",
        )
    if day_first is not None:
        return "dmy"
    if month_first is not None:
        return "mdy"
    if first is None:
        return None
    raise DateOrderError(
        first[0],
        f"date {first[1]!r} may be day first or month first, and no date in the file has "
        "a day above 12 to tell which: write the dates as YYYY-MM-DD",
    )


def _compact_order(dated: Iterable[tuple[int, str]]) -> DateOrder | None:
    """``"ymd"`` when a file's eight-digit numbers are dates, ``None`` when they are
    epoch seconds, by the rule in the module's description: not all whole minutes (as
    bar times in epoch seconds are) says dates; all whole minutes says seconds, unless
    all are dates too, which is a :class:`DateOrderError`."""
    numbers = [(line, text) for line, text in dated if is_compact_number(text)]
    if any(int(t.partition(".")[0]) % 60 for _, t in numbers):
        return "ymd"
    if any(compact_date(t) is None for _, t in numbers):
        return None
    line, text = numbers[0]
    day = compact_date(text)
    seconds = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(text.partition(".")[0]))
    raise DateOrderError(
        line,
        f"time {text!r} may be the date {day:%Y-%m-%d} or epoch seconds "
        f"({seconds:%Y-%m-%d %H:%M} UTC), and no time in the file tells which: write the "
        "dates as YYYY-MM-DD",
    )
