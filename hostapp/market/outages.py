"""Hours without bars on a weekday, at a time the market does not close on other days: a
feed outage (or a holiday), said in the run's notes.

A replay holds its positions across a gap in the bars with their stops unchecked and
fills them at the first bar after it (docs/architecture.md §8). Gaps of more than four
days are said already (:func:`hostapp.data.data_gaps_note`); the weekends and daily
breaks of a market are not news; but three hours missing on a Wednesday afternoon (a
feed that stopped) were said nowhere. A gap is a market's own closure when another gap
of the file starts at the same time of day (a daily break) or when it spans a Saturday
(a weekend); any other gap of an hour or more is named.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from itertools import pairwise

from hookspecs import Bar

#: the shortest gap said: shorter ones are a quiet market's missing bars
SHORTEST = timedelta(hours=1)
#: the longest: longer gaps are :func:`hostapp.data.data_gaps_note`'s
LONGEST = timedelta(days=4)


def _spans_saturday(start: datetime, end: datetime) -> bool:
    day = start
    while day < end:
        if day.weekday() == 5:
            return True
        day = min(end, (day + timedelta(days=1)).replace(hour=0, minute=0, second=0))
    return False


def outages(bars: Sequence[Bar], period: timedelta) -> list[tuple[datetime, datetime]]:
    """The gaps of ``bars`` (each from the close of the bar before it to the open of the
    bar after it) that are no closure of the market (the module's docstring)."""
    gaps = [
        (a.time + period, b.time)
        for a, b in pairwise(bars)
        if max(SHORTEST, 3 * period) <= b.time - a.time - period < LONGEST
    ]
    starts = Counter(start.hour * 60 + start.minute for start, _ in gaps)
    return [
        (start, end)
        for start, end in gaps
        if starts[start.hour * 60 + start.minute] < 2 and not _spans_saturday(start, end)
    ]


def outage_note(series: Mapping[str, Sequence[Bar]], period: timedelta) -> str | None:
    """One sentence naming, per symbol, how many outages its bars have and the longest;
    ``None`` without any, and for daily bars or coarser."""
    if period >= timedelta(days=1):
        return None
    told = []
    for symbol, bars in series.items():
        found = outages(bars, period)
        if not found:
            continue
        start, end = max(found, key=lambda gap: gap[1] - gap[0])
        hours = (end - start) / timedelta(hours=1)
        told.append(
            f"{symbol} {len(found)} (the longest {hours:.1f} h from {start:%Y-%m-%d %H:%M} "
            f"UTC, a {start:%A})"
        )
    if not told:
        return None
    return (
        "the bars stop for an hour or more at times their market does not close on other "
        f"days (a feed outage, or a holiday): {'; '.join(told)}; positions are held across "
        "such a gap with their stops unchecked and filled at the first bar after it"
    )
