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
most of them end outside that window.
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
    times were read (the module's docstring), with the hours they look off by; ``None``
    when there are none. ``is_pair``: whether a symbol is a pair of currencies or metals
    (the paper broker's :func:`~hostapp.brokers.paper_rules.currency_pair`)."""
    said = []
    for symbol, bars in series.items():
        if not is_pair(symbol) or len(bars) < 2:
            continue
        if bars[1].time - bars[0].time >= timedelta(days=1):
            continue  # daily bars: their time of day is no opening hour
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
    if not said:
        return None
    return (
        "; ".join(said) + ": if the file's times were written on another clock than the one "
        "they were read on, say which with --data-tz (or [host] data_tz)"
    )
