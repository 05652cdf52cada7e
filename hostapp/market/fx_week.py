"""Forex files whose weeks open at an hour forex never opens: times read on a wrong clock.

Spot forex and metals trade from Sunday evening to Friday evening: the week opens at New
York's 17:00 on Sunday, 21:00 or 22:00 UTC, and feeds that open it on their server's
midnight (UTC+2 or +3) or at Monday 00:00 UTC stay between Sunday 19:00 and Monday 01:00
UTC. A pair's file whose weekends end elsewhere was read on another clock than it was
written on: an Athens server's export given ``--data-tz Asia/Tokyo`` opens its weeks on
Sunday at 15:00 UTC, every bar seven hours early, and nothing else in the run says so
(the sessions, the daily-loss day and the D1 bars built from the bars follow the error).
The times alone cannot prove the clock, so nothing is changed: the run's notes say when
the weeks open as read, and by how many hours that is off (docs/architecture.md §8).

Only pairs of currencies or metals (``EURUSD``, ``XAUUSD.m``), only bars finer than a
day, and only when two weekends or more (gaps of 36 hours or more) are in the file and
most of them end outside that window. A file of D1 bars has no hour to tell its clock by,
but its days that open while forex is closed (a GMT broker's Sunday bars, six a week)
are stubs of a few hours that weigh on all that is measured in bars, which the note says
too: the same stubs built from finer bars are counted by :mod:`hostapp.bar_clock`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median

from hookspecs import Bar

_WEEKEND = timedelta(hours=36)
_DAY = 24 * 60
_WEEK = 7 * _DAY
#: minutes of the week (Sunday 00:00 UTC = 0) in which a forex week opens
OPENS_FROM, OPENS_TO = 19 * 60, _DAY + 60
#: where a week usually opens (Sunday 22:00 UTC): what the hours off are counted from
_USUAL = 22 * 60
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def _minute_of_week(t: datetime) -> int:
    return ((t.weekday() + 1) % 7) * _DAY + t.hour * 60 + t.minute


def week_opens(bars: Sequence[Bar]) -> list[int]:
    """The minute of the week (Sunday 00:00 UTC = 0) of each bar that ends a weekend."""
    return [_minute_of_week(b.time) for a, b in pairwise(bars) if b.time - a.time >= _WEEKEND]


def fx_week_note(
    series: Mapping[str, Sequence[Bar]], is_pair: Callable[[str], object]
) -> str | None:
    """One sentence naming the pairs whose weeks open outside forex's hours as their
    times were read (the module's docstring), with the hours they look off by, and one
    naming the pairs whose D1 bars include days that open while forex is closed
    (:func:`closed_market_days`); ``None`` when there are neither. ``is_pair``: whether a
    symbol is a pair of currencies or metals (the paper broker's
    :func:`~hostapp.brokers.paper_rules.currency_pair`)."""
    said, stubs = [], []
    for symbol, bars in series.items():
        if not is_pair(symbol) or len(bars) < 2:
            continue
        if bars[1].time - bars[0].time >= timedelta(days=1):
            # daily bars: their time of day is no opening hour, but a day of them that
            # opens while forex is closed holds only Sunday evening's hours
            short = closed_market_days(bars)
            if short >= 2:
                stubs.append(f"{symbol} {short:,} of {len(bars):,}")
            continue
        opens = week_opens(bars)
        outside = [m for m in opens if not OPENS_FROM <= m <= OPENS_TO]
        if len(opens) < 2 or len(outside) * 3 < len(opens) * 2:
            continue
        typical = int(median(outside))
        off = (typical - _USUAL + _WEEK // 2) % _WEEK - _WEEK // 2
        hours = round(off / 60)
        when = f"{_DAYS[typical // _DAY]} {typical % _DAY // 60:02d}:{typical % 60:02d}"
        way = "ahead of" if hours > 0 else "behind"
        said.append(
            f"{symbol}'s weeks open on {when} UTC as its times were read ({len(outside)} of "
            f"{len(opens)} weekends), about {abs(hours)} hours {way} forex's Sunday "
            f"21:00-22:00 UTC"
        )
    notes = []
    if said:
        notes.append(
            "; ".join(said) + ": if the file's times were written on another clock than the "
            "one they were read on, say which with --data-tz (or [host] data_tz)"
        )
    if stubs:
        notes.append(
            "D1 bars in the files that open while forex is closed (Saturday, or Sunday before "
            "19:00 UTC: a broker on GMT makes a day of Sunday evening's few hours, six bars a "
            f"week): {', '.join(stubs)}; their short ranges shrink an ATR, and each counts as "
            "a bar where bars are counted (a deadline of so many bars). A broker's export on "
            "New York's close (a server on UTC+2/+3) has five bars a week; from finer bars, "
            "--bar-clock America/New_York+7 builds such days"
        )
    return ". ".join(notes) or None


#: how long a daily bar may be spaced from the next and still be one of a D1 file (a
#: weekend or a holiday between two is more, and the median leaves them out)
_DAILY = (timedelta(hours=20), timedelta(hours=28))


def closed_market_days(bars: Sequence[Bar]) -> int:
    """How many of ``bars``, a D1 file's, open while forex is closed: from Saturday 12:00
    to Sunday 19:00 UTC (a GMT broker's Sunday 00:00, a GMT+2 server's Sunday midnight
    read on its clock, Saturday 22:00 UTC). Each holds only the hours from the week's
    open to its day's end. A New York close's Sunday 21:00 or 22:00 UTC opens Monday's
    whole session and is not one; a file of weekly bars stamped on Sunday is no D1 file
    (0)."""
    gaps = [(b.time - a.time).total_seconds() for a, b in pairwise(bars[:50])]
    low, high = (d.total_seconds() for d in _DAILY)
    if not gaps or not low <= median(gaps) <= high:
        return 0
    saturday_noon = 6 * _DAY + 12 * 60
    return sum(
        1
        for b in bars
        if _minute_of_week(b.time) < OPENS_FROM or _minute_of_week(b.time) >= saturday_noon
    )
