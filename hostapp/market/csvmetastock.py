"""The MetaStock ASCII layout, as Finam and Stooq export bars::

    <TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>[,<OPENINT>]

detected by its first header cell, ``<TICKER>``. Dates are ``20240103`` (``240103``,
Finam's short year, and the forms of :mod:`.csvdates` too), times ``100000`` or
``1000`` (``10:00[:00]`` too; a daily file writes ``000000`` or leaves ``<TIME>`` out:
midnight). ``<DTYYYYMMDD>`` is another name of ``<DATE>``. ``<TICKER>``, ``<PER>``
(the period) and ``<OPENINT>`` are not read and not noted: the symbol and the timeframe
come from the file name and the bars. The times are the exporter's clock, so they are
read in ``zone`` (``--data-tz``; Finam writes Moscow time unless asked otherwise).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, tzinfo
from pathlib import Path

from hookspecs import Bar

from .csvbars import checked_bar
from .csvdates import DateOrder
from .csvheader import columns
from .csvrows import (
    CsvError,
    Previous,
    cell,
    check_order,
    file_date_order,
    in_zone,
    number,
    ohlc,
    parse_time,
)
from .zones import SkippedTimeError

#: the first header cell that tells the layout
METASTOCK_FIRST = "<ticker>"
_REQUIRED = ("<DATE>", "<OPEN>", "<HIGH>", "<LOW>", "<CLOSE>")
_OPTIONAL = ("<TIME>", "<VOL>", "<TICKER>", "<PER>", "<OPENINT>")
_ALIASES = {"<DTYYYYMMDD>": "<DATE>"}


def load_metastock(
    path: str | Path,
    rows: list[tuple[int, list[str]]],
    zone: tzinfo = UTC,
    left_out: list[str] | None = None,
) -> list[Bar]:
    """The bars of a MetaStock ASCII file (the module's docstring); ``<VOL>`` is the
    volume, 0 without it."""
    header_line, header = rows[0]
    index = columns(path, header_line, header, _REQUIRED, _OPTIONAL, _ALIASES, left_out)
    at = index["<DATE>"]
    spelled = [r for r in rows[1:] if at < len(r[1]) and not r[1][at].isdigit()]
    order = file_date_order(path, [rows[0], *spelled], at)  # digits are always YYYYMMDD
    bars: list[Bar] = []
    previous: Previous = None
    for line, cells in rows[1:]:
        if len(cells) > len(header):
            raise CsvError(path, line, f"{len(cells)} values but the header has {len(header)}")
        date_text = cell(path, line, cells, index, "<DATE>")
        time_text = cell(path, line, cells, index, "<TIME>") if "<TIME>" in index else "0"
        time = _time(path, line, date_text, time_text, zone, order)
        time = check_order(path, line, time, previous, zone)
        previous = line, time
        prices = ohlc(path, line, [cell(path, line, cells, index, n) for n in _REQUIRED[1:]])
        volume = 0.0
        if "<VOL>" in index:
            volume = number(path, line, "volume", cell(path, line, cells, index, "<VOL>"))
        bars.append(checked_bar(path, line, time, prices, volume, 0.0))
    return bars


def _clock(text: str) -> str:
    """A time of day written as digits (``100000``, ``1000``, ``0``) as ``HH:MM:SS``;
    any other text as it is."""
    if not text.isdigit():
        return text
    digits = text.zfill(4) if len(text) <= 4 else text.zfill(6)
    if len(digits) > 6:
        raise ValueError(text)
    return f"{digits[:2]}:{digits[2:4]}:{digits[4:6] or '00'}"


def _time(
    path: str | Path,
    line: int,
    date_text: str,
    time_text: str,
    zone: tzinfo,
    order: DateOrder | None,
) -> datetime:
    """A row's date and time of day, in ``zone``."""
    try:
        clock = _clock(time_text)
        if date_text.isdigit() and len(date_text) in (6, 8):
            day = datetime.strptime(date_text, "%Y%m%d" if len(date_text) == 8 else "%y%m%d")
            return in_zone(datetime.combine(day, time.fromisoformat(clock)), zone)
        return parse_time(f"{date_text} {clock}", zone, order)
    except SkippedTimeError as exc:  # a time the zone's clock skips: its own message
        raise CsvError(path, line, str(exc)) from None
    except (ValueError, OverflowError):
        raise CsvError(
            path,
            line,
            f"date/time {date_text!r} {time_text!r} is not 'YYYYMMDD' (or 'YYMMDD') "
            "'HHMMSS' (or 'HHMM')",
        ) from None
