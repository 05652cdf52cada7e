"""Dukascopy's bar export, detected by a first header cell ``Gmt time`` or ``Local time``::

    Gmt time,Open,High,Low,Close,Volume

with times ``02.01.2024 00:05:00.000`` (a ``Local time`` ends them with its offset,
`` GMT+0200``, and is converted to UTC). Dukascopy fills the hours a market is closed
(weekends, holidays) with flat bars: no volume, one price. They are left out, as the
market had no bars then, and counted for the run's notes (:mod:`.csvmend`), so a file
that is half fillers does not read as a full one without a word.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hookspecs import Bar

from .csvbars import checked_bar
from .csvheader import columns
from .csvrows import OHLC, CsvError, Previous, check_order, number, ohlc

#: the first header cells of its layout
DUKASCOPY_INDEX = ("gmt time", "local time")
_OPTIONAL = ("volume",)

Rows = list[tuple[int, list[str]]]


def load_dukascopy(
    path: str | Path,
    rows: Rows,
    left_out: list[str] | None = None,
    fillers: list[int] | None = None,
) -> list[Bar]:
    """The bars of a Dukascopy export (the module's docstring), without its flat filler
    bars, whose lines go to ``fillers``."""
    header_line, header = rows[0]
    named = columns(path, header_line, header[1:], OHLC, _OPTIONAL, left_out=left_out)
    price_at = [named[n] + 1 for n in OHLC]
    volume_at = named["volume"] + 1 if "volume" in named else None
    bars: list[Bar] = []
    previous: Previous = None
    for line, cells in rows[1:]:
        if len(cells) != len(header):
            raise CsvError(path, line, f"{len(cells)} values but the header has {len(header)}")
        time = _dukascopy_time(path, line, cells[0])
        prices = ohlc(path, line, [cells[i] for i in price_at])
        volume = number(path, line, "volume", cells[volume_at]) if volume_at else 0.0
        if volume == 0.0 and min(prices) == max(prices):
            if fillers is not None:
                fillers.append(line)
            continue  # a flat filler bar: the market was closed
        check_order(path, line, time, previous)
        previous = line, time
        bars.append(checked_bar(path, line, time, prices, volume, 0.0))
    return bars


_DUKASCOPY_TIME = re.compile(
    r"(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?"
    r"(?: GMT([+-])(\d{2}):?(\d{2}))?"
)


def _dukascopy_time(path: str | Path, line: int, text: str) -> datetime:
    m = _DUKASCOPY_TIME.fullmatch(text)
    if m is None:
        raise CsvError(path, line, f"time {text!r} is not 'DD.MM.YYYY HH:MM:SS[.mmm][ GMT+HHMM]'")
    day, month, year, hour, minute, second, frac, sign, oh, om = m.groups()
    try:
        time = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int((frac or "0").ljust(6, "0")), tzinfo=UTC,
        )  # fmt: skip
    except ValueError as exc:
        raise CsvError(path, line, f"time {text!r}: {exc}") from None
    if sign is not None:  # a local time: back to UTC
        offset = timedelta(hours=int(oh), minutes=int(om))
        try:
            time = time - offset if sign == "+" else time + offset
        except OverflowError:
            raise CsvError(path, line, f"time {text!r} is out of range in UTC") from None
    return time
