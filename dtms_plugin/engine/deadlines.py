"""The HEDGED flat deadline and the RECOVERING recovery deadline (docs/dtms.md §1, §5):
set when the trade enters its state, moved by the market's missing time (remembered live
by :class:`MissingTime`), and due only while the market is current. They count the
market's time, not the calendar's nor the cycles': a host slower than the fast bars, down
for a while, or waiting on an action's unknown outcome finds bars that came meanwhile,
and those count."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ..settings import DtmsSettings
from .record import TradeRecord
from .snapshot import SignalSnapshot

_NO_GAP = timedelta(0)


class MissingTime:
    """The market's missing time (docs/dtms.md §5): per fed bar, the seconds beyond one
    period since the bar before it (a weekend, a holiday, a feed that stopped), summed.

    Only the bars that follow a gap are kept, as (open time, running sum), the newest
    ``keep`` of them: a bar costs a subtraction, a question a bisect. Times are epoch
    seconds. What lies before the memory (the first bar fed, or the oldest gap forgotten)
    is unknown, and :meth:`missing` counts it as missing: never less than is true."""

    __slots__ = (
        "_base",
        "_base_sum",
        "_closures",
        "_last",
        "_sums",
        "_times",
        "keep",
        "period",
        "total",
    )

    def __init__(self, period: int) -> None:
        self.period = period
        self.keep = 1024  # docs/dtms.md §1
        self.total = 0
        self._last: int | None = None
        self._base: int | None = None  # the oldest bar from which the sums are known
        self._base_sum = 0  # the running sum at that bar
        self._times: list[int] = []
        self._sums: list[int] = []
        #: the closures seen (gaps of CLOSURE_SECONDS or more): (start, length), newest last
        self._closures: list[tuple[int, int]] = []

    def update(self, t: int) -> None:
        last = self._last
        self._last = t
        if last is None:
            self._base = t
            return
        gap = t - last - self.period
        if gap >= CLOSURE_SECONDS:
            self._closures.append((t - gap, gap))
            if len(self._closures) > CLOSURES_KEPT:
                del self._closures[0]
        if gap > 0:
            self.total += gap
            times, sums = self._times, self._sums
            times.append(t)
            sums.append(self.total)
            if len(times) > self.keep:
                self._base, self._base_sum = times[0], sums[0]
                del times[0], sums[0]

    def _sum_at(self, t: int) -> int:
        i = bisect.bisect_right(self._times, t)
        return self._sums[i - 1] if i else self._base_sum

    def missing(self, since: int, newest: int) -> int:
        """The missing seconds over the bars after the one opened at ``since`` up to the
        one opened at ``newest``; a span before the memory counts whole beyond one period."""
        base = self._base
        if base is None:
            base = newest
        if since >= base:
            return self._sum_at(newest) - self._sum_at(since)
        unknown = base - since - self.period
        return (unknown if unknown > 0 else 0) + self._sum_at(newest) - self._base_sum

    def closure_after(self, close: int) -> int | None:
        """When the market's closure that follows a bar closing at ``close`` (epoch
        seconds) ends, if the market closed at that time of the week in one of the
        :data:`WEEKS_LOOKED_AT` weeks before (a weekend, a daily break, a holiday of the
        same weekday): a closure seen to begin within :func:`slack` of that time. It ends
        when that one did, at the same time of the week. ``None``: none did. docs/dtms.md
        §5, §7. Only that time, give or take a few missing bars (a last minute without
        ticks, this week or that one): an hour off would also match the bars an hour
        before every daily break, and a feed that died then would read as closed; after a
        clock change, the closures learned before it an hour off too
        (:func:`closure_end`)."""
        return closure_end(reversed(self._closures), close, self.period)


def slack(period: int) -> int:
    """How far from a learned closure's start, in seconds, a bar may close and still be
    the last before the market closes again: :data:`MISSING_BARS` periods, but no more
    than :data:`MISSING_SPAN`, and never less than half a period (docs/dtms.md §5)."""
    return max(period // 2, min(MISSING_BARS * period, MISSING_SPAN))


def closure_end(closures: Iterable[tuple[int, int]], close: int, period: int) -> int | None:
    """:meth:`MissingTime.closure_after` over ``closures`` ((start, length) in epoch
    seconds, newest first): the one rule, shared with a replay's
    :meth:`.replay.ReplayIndicators.closure_after`.

    A clock change (summer time, at a weekend) moves a market's hours by an hour in UTC:
    the closure that holds it ends an hour early or late against the weeks before
    (:func:`clock_change`). A close that no closure matches at its time is then matched
    an hour off against the closures learned before it (the one that held it began on
    the old clock and ended on the new one). Their old times still match: a weekend's
    feed back an hour late on another zone's change weekend reads as a change too, and
    only adds matches so (docs/dtms.md §5)."""
    within = slack(period)
    recent = []
    for start, length in closures:
        if close - start > HORIZON:
            break  # newest first: the rest are older still
        weeks = weeks_back(close - start, within)
        if weeks:
            return start + weeks * WEEK + length
        recent.append((start, length))
    shift, since = clock_change(recent, close, within)
    if not shift:
        return None
    for start, length in recent:
        end = start + length
        if end > since:
            continue  # learned on the new clock: matched above if at all
        weeks = weeks_back(close - start - shift, within)
        if weeks:
            return end + weeks * WEEK + (shift if end < since else 0)
    return None


def weeks_back(ago: int, within: int) -> int:
    """How many whole weeks, 1 to :data:`WEEKS_LOOKED_AT`, ``ago`` seconds are, give or
    take ``within``; 0: none."""
    weeks = (2 * ago + WEEK) // (2 * WEEK)  # the nearest whole number
    return weeks if 0 < weeks <= WEEKS_LOOKED_AT and abs(ago - weeks * WEEK) <= within else 0


def clock_change(closures: list[tuple[int, int]], close: int, within: int) -> tuple[int, int]:
    """``(shift, end)``: the market's hours moved by ``shift`` seconds (± :data:`CLOCK_CHANGE`)
    at the closure that ended at ``end``, in the :data:`WEEKS_LOOKED_AT` weeks before
    ``close``: the newest weekend (a closure of :data:`WEEKEND` or more) that began at the
    time of the week an earlier one did (within ``within``; its newest such one) and
    ended an hour, more than ``within``, from when that one did, while the clocks of one
    of :data:`CLOCK_ZONES` changed so (on H4 and coarser bars an hour is within the
    slack: no change shows). A reopening an hour late for another reason (a feed that
    came back late) is none, but on a weekend when one of those clocks changed that way
    it reads as one (:func:`closure_end` then only adds matches). ``(0, 0)``: none."""
    for i, (start, length) in enumerate(closures):
        end = start + length
        if close - end > WEEKS_LOOKED_AT * WEEK:
            break  # newest first: the rest ended longer ago still
        if length < WEEKEND:
            continue  # a daily break holds no change: clocks change at a weekend
        for before, its_length in closures[i + 1 :]:
            if start - before > WEEKS_LOOKED_AT * WEEK + within:
                break  # older still: none of the weeks looked at
            if its_length < WEEKEND:
                continue  # not the same closure: that one was a weekend too
            weeks = weeks_back(start - before, within)
            if weeks:  # the same closure, weeks on
                moved = end - (before + weeks * WEEK + its_length)
                if within < abs(moved) and abs(abs(moved) - CLOCK_CHANGE) <= within:
                    shift = int(math.copysign(CLOCK_CHANGE, moved))
                    if clocks_moved(start, end, shift):
                        return shift, end
                break  # its newest match decides
    return 0, 0


def clocks_moved(start: int, end: int, shift: int) -> bool:
    """Did the clocks of one of :data:`CLOCK_ZONES` change between ``start`` and ``end``
    (epoch seconds) so that hours kept on them moved by ``shift`` in UTC (forward in
    spring: an hour earlier, ``shift`` < 0)?"""
    when = (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
    return any(_offset(when[1], zone) - _offset(when[0], zone) == -shift for zone in CLOCK_ZONES)


def _offset(when: datetime, zone: ZoneInfo) -> int:
    """``zone``'s clocks ahead of UTC at ``when`` (UTC), in seconds."""
    return int(
        (when.astimezone(zone).replace(tzinfo=None) - when.replace(tzinfo=None)).total_seconds()
    )


#: a gap this long or longer is a closure of the market (a weekend, a break), not a
#: missing bar or two: remembered with its time of the week (MissingTime.closure_after)
CLOSURE_SECONDS = 3600
#: the closures remembered: a year of weekends and daily breaks
CLOSURES_KEPT = 512
WEEK = 604_800  # seconds
#: how many weeks back a closure is looked for at the same time of the week
WEEKS_LOOKED_AT = 4
#: how far a clock change (summer time) moves a market's hours in UTC, in seconds
CLOCK_CHANGE = 3600
#: the clocks markets keep their hours on whose summer time moves them in UTC: New York's
#: (US exchanges, and MetaTrader servers on New York close), London's and the EU's (they
#: change at one instant), Sydney's
CLOCK_ZONES = tuple(
    ZoneInfo(name) for name in ("America/New_York", "Europe/London", "Australia/Sydney")
)
#: how far back a closure can matter to :func:`closure_end`, in seconds: a change within
#: the weeks looked at, and the weeks before it that tell it (2 × 4 weeks, and a week for
#: the weekend that held it and the slack)
HORIZON = 5_443_200  # nine weeks
#: a closure this long or longer is a weekend (or a holiday's), which a clock change,
#: made early on a Sunday, falls in; a daily break never holds one
WEEKEND = 86_400
#: the missing bars before a closure (or before the one learned) still recognised: M1's
#: last minutes without ticks; capped by MISSING_SPAN so that M5 and coarser bars never
#: match the bars more than ten minutes before every daily break
MISSING_BARS = 3
MISSING_SPAN = 600  # seconds


def flat(now: datetime, settings: DtmsSettings) -> dict[str, object]:
    """Entering HEDGED: a new flat deadline (built only then: ``_step`` runs per call)."""
    return {
        "flat_deadline": now + settings.fast_bars(settings.actions.flat_bars),
        "recovery_deadline": None,
    }


def past_gap(rec: TradeRecord, snapshot: SignalSnapshot, last_bar: datetime) -> TradeRecord:
    """The deadlines moved by the time the market had no bars between the bar the trade
    was last scored on (``last_bar``) and the snapshot's newest (a weekend, a holiday, a
    feed that stopped), so a HEDGED trade of Friday evening gets its flat bars after the
    weekend, not over it. Bars that exist move nothing, however late DTMS saw them."""
    gap = snapshot.missing_since(last_bar)
    if gap <= _NO_GAP:
        return rec
    fl, recovery = rec.flat_deadline, rec.recovery_deadline
    return rec.evolve(
        flat_deadline=fl + gap if fl is not None else None,
        recovery_deadline=recovery + gap if recovery is not None else None,
    )


def market_current(snapshot: SignalSnapshot, now: datetime) -> bool:
    """The newest fast bar closed less than one period before ``now``, and the market did
    not close after such a bar in an earlier week (:meth:`MissingTime.closure_after`): the
    next bar is due. A deadline passed otherwise waits for that bar (and the gap it may
    bring): past Friday's last bar the data is still fresh for a while (docs/dtms.md §7),
    the market is closed, and a close sent then would meet it closed. In a replay ``now``
    is the newest bar's close, always current."""
    since = now - snapshot.fast_close_time
    return since < snapshot.fast_period and (since <= _NO_GAP or snapshot.closure_end() is None)
