"""The market's closures, learned from the gaps between the fast bars (docs/dtms.md §5,
§7): a gap of an hour or more is remembered with its time of the week, and a bar closing
at that time of a later week is the last before the market closes again. A deadline does
not fall due then (a close sent would meet the closed market), and the pause that
follows is a closure said at INFO, not stale data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from dtms_engine.test_engine_deadlines import FRIDAY_LAST, M5, SUNDAY_FIRST, at, fed, hedged_at, m5
from support.dtms_kit import minutes, scored

from dtms_plugin.engine.deadlines import (
    CLOSURE_SECONDS,
    CLOSURES_KEPT,
    WEEK,
    WEEKS_LOOKED_AT,
    MissingTime,
    clock_change,
    closure_end,
    market_current,
    slack,
)
from hookspecs import DefensiveState as S

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAYS_7 = timedelta(days=7)


def _epoch(t: datetime) -> int:
    return int((t - _EPOCH).total_seconds())


def _memory(*times: int, period: int = 300) -> MissingTime:
    memory = MissingTime(period)
    for t in times:
        memory.update(t)
    return memory


def test_a_gap_of_an_hour_or_more_is_a_closure_of_its_time_of_the_week() -> None:
    start = 10 * WEEK  # the close of the bar opened at start - 300
    memory = _memory(start - 300, start + CLOSURE_SECONDS)  # an hour: a closure
    week_on = start + WEEK
    assert memory.closure_after(week_on) == week_on + CLOSURE_SECONDS
    assert memory.closure_after(week_on + 2 * WEEK) == week_on + 2 * WEEK + CLOSURE_SECONDS
    shorter = _memory(start - 300, start + CLOSURE_SECONDS - 1)  # a second less: bars missing
    assert shorter.closure_after(week_on) is None
    # the close of the bar after it, the first asked about: its own is no earlier week's
    assert memory.closure_after(start + CLOSURE_SECONDS + 300) is None


def test_a_closure_matches_within_ten_minutes_up_to_four_weeks_on() -> None:
    """M5 bars: two bars missing before the close (this week's or the learned one's)
    still match, ending at the time of the week the learned closure ended."""
    start = 10 * WEEK
    memory = _memory(start - 300, start + 49 * 3600)
    for weeks in range(1, WEEKS_LOOKED_AT + 1):
        week_on = start + weeks * WEEK
        for off in (0, 150, -150, 600, -600):
            assert memory.closure_after(week_on + off) == week_on + 49 * 3600, off
        for off in (601, -601, 3600, -3600):  # an hour off: the bars before a daily break
            assert memory.closure_after(week_on + off) is None, off
    assert memory.closure_after(start + (WEEKS_LOOKED_AT + 1) * WEEK) is None  # too old
    assert memory.closure_after(start + WEEK + 86_400) is None  # another day of the week
    assert memory.closure_after(start) is None  # its own start: no earlier week


def test_the_newest_closure_of_that_time_gives_the_length() -> None:
    start = 10 * WEEK
    memory = _memory(start - 300, start + 3 * 3600, start + WEEK - 300, start + WEEK + 2 * 3600)
    assert memory.closure_after(start + 2 * WEEK) == start + 2 * WEEK + 2 * 3600


def test_the_newest_closures_are_kept() -> None:
    memory = _memory(0)
    t = 0
    for _ in range(CLOSURES_KEPT + 1):
        t += 300 + CLOSURE_SECONDS + 7  # closures at odd times: each its own time of week
        memory.update(t)
    first = 300  # the close of the bar opened at 0: the first closure's start, forgotten
    assert memory.closure_after(first + WEEK) is None
    second = first + 300 + CLOSURE_SECONDS + 7
    assert memory.closure_after(second + WEEK) == second + WEEK + CLOSURE_SECONDS + 7


def test_a_deadline_due_just_after_friday_s_last_close_waits_for_the_market() -> None:
    """HEDGED at 19:47 on Friday: its deadline (21:02) falls two minutes after the
    week's last bar closed (21:00), less than a period: without an earlier week in
    memory it fired into the closed market; the weekend before, learned from the bars
    of a week ago, tells it closes there."""
    last_week = [*m5(FRIDAY_LAST - DAYS_7 - minutes(60), FRIDAY_LAST - DAYS_7)]
    week_bars = [*m5(SUNDAY_FIRST - DAYS_7, FRIDAY_LAST)]
    rec = hedged_at(FRIDAY_LAST - minutes(75))
    rec = rec.evolve(flat_deadline=FRIDAY_LAST + M5 + minutes(2))
    for memory, fires in ((fed(week_bars), True), (fed([*last_week, *week_bars]), False)):
        e = at(rec, FRIDAY_LAST, FRIDAY_LAST + M5 + minutes(3), memory)
        assert (e.transition == (S.HEDGED, S.CLOSED)) is fires
        assert bool(e.actions) is fires


def test_the_market_is_current_between_bars_unless_a_closure_follows() -> None:
    memory = fed([*m5(FRIDAY_LAST - DAYS_7 - minutes(10), FRIDAY_LAST - DAYS_7),
                  *m5(SUNDAY_FIRST - DAYS_7, FRIDAY_LAST)])  # fmt: skip
    friday = scored(-3.0, FRIDAY_LAST, gaps=memory)
    close = FRIDAY_LAST + M5
    assert market_current(friday, close)  # at the close itself, as in a replay
    assert market_current(friday, close + minutes(1)) is False
    assert friday.closure_end() == SUNDAY_FIRST
    # a bar closing two bars before (two bars missing) is the last before the close too
    assert scored(-3.0, FRIDAY_LAST - 2 * M5, gaps=memory).closure_end() == SUNDAY_FIRST
    earlier = scored(-3.0, FRIDAY_LAST - 3 * M5, gaps=memory)  # fifteen minutes before
    its_close = FRIDAY_LAST - 2 * M5
    assert market_current(earlier, its_close + minutes(3)) and earlier.closure_end() is None
    assert market_current(earlier, its_close + M5) is False  # a period passed: not current
    assert scored(-3.0, FRIDAY_LAST).closure_end() is None  # no memory of the gaps


def test_a_few_missing_bars_before_a_close_are_tolerated_by_timeframe() -> None:
    """The slack: three periods, at most ten minutes, at least half a period (M1 three
    bars, M5 two, M15 ten minutes, H1 and coarser half a bar, as ever)."""
    assert [slack(p) for p in (60, 300, 900, 3600, 86_400)] == [180, 600, 600, 1800, 43_200]
    start = 10 * WEEK
    for period in (60, 300, 900, 3600):
        memory = _memory(start - period, start + 2 * 3600, period=period)
        week_on = start + WEEK
        within = slack(period)
        for off in (within, -within):
            assert memory.closure_after(week_on + off) is not None, (period, off)
        for off in (within + 1, -within - 1):
            assert memory.closure_after(week_on + off) is None, (period, off)


def test_m1_closes_with_their_last_minutes_missing_are_recognised() -> None:
    """M1 bars of four weeks, the market closing Friday 22:00 to Sunday 22:00; the last
    minute before the close has no bar every other week: each week from the second
    still knows the close, its end the Sunday's reopening."""
    memory = MissingTime(60)
    friday = 10 * WEEK + 4 * 86_400 + 22 * 3600 - 3 * 86_400  # epoch weeks begin Thursday
    for week in range(4):
        close = friday + week * WEEK - (60 if week % 2 else 0)  # the last bar's close
        for t in range(close - 3600, close, 60):
            memory.update(t)
        if week:
            assert memory.closure_after(close) == friday + week * WEEK + 48 * 3600, week
        memory.update(friday + week * WEEK + 48 * 3600)


def test_the_bars_before_each_daily_break_are_not_a_closure() -> None:
    """M5 bars, a break from 22:00 to 23:00 every day for two weeks: a bar closing ten
    minutes or more before the break is the market open, on any day."""
    memory = MissingTime(300)
    day0 = 10 * WEEK
    for day in range(14):
        for t in range(day0 + day * 86_400 - 3600, day0 + day * 86_400 + 22 * 3600, 300):
            memory.update(t)
    for day in range(14, 21):
        brk = day0 + day * 86_400 + 22 * 3600
        assert memory.closure_after(brk) == brk + 3600
        for before in (605, 900, 1800, 3600):
            assert memory.closure_after(brk - before) is None, (day, before)


def _cme_hours(first_sunday: datetime, weeks: int) -> list[int]:
    """The open times (epoch seconds) of M15 bars of a market on New York's clock, as a
    US index CFD trades: Sunday 18:00 to Friday 17:00, closed 17:00 to 18:00 each day;
    its hours move by an hour in UTC when New York's clocks change."""
    ny = ZoneInfo("America/New_York")
    day0 = datetime(first_sunday.year, first_sunday.month, first_sunday.day, tzinfo=ny)
    out = []
    for day in range(7 * weeks):
        date = (day0 + timedelta(days=day)).date()
        weekday = date.weekday()  # Monday 0 … Sunday 6
        for slot in range(96):
            hour, minute = divmod(slot * 15, 60)
            if weekday == 5 or (weekday == 6 and hour < 18) or (weekday == 4 and hour >= 17):
                continue  # the weekend
            if hour == 17:
                continue  # the daily break
            local = datetime(date.year, date.month, date.day, hour, minute, tzinfo=ny)
            out.append(_epoch(local.astimezone(UTC)))
    return out


def _closures_told(times: list[int], period: int = 900) -> tuple[int, dict[datetime, int]]:
    """Feed ``times``; at each bar that is the last before a closure, ask when the
    market opens again. How many were asked, and by close time the ones told wrong:
    how many seconds late the end was told (``None``: not known for a closure). The
    first week's, with no week before, are not asked."""
    memory, asked, wrong = MissingTime(period), 0, {}
    for t, after in pairwise(times):
        memory.update(t)
        close = t + period
        if after - close >= CLOSURE_SECONDS and close - times[0] > WEEK + period:
            asked += 1
            told = memory.closure_after(close)
            if told != after:
                wrong[_EPOCH + timedelta(seconds=close)] = None if told is None else told - after
    return asked, wrong


def test_a_clock_change_moves_the_closures_learned_before_it_by_its_hour() -> None:
    """Spring and autumn in New York: the weekend that holds the change ends an hour
    early (late) in UTC, and so do every daily break and the Friday close after it. Each
    is known for the market closing, with when it opens again; matched on the old clock,
    the week after a change read all six as a feed that stopped (a stale WARNING at its
    first daily break and at the weekend). The weekend that holds the change is known as
    closed, its end told as the week before's (no calendar says the change is coming):
    in spring its bars come an hour early, in autumn an hour late."""
    for first_sunday, change_weekend, late in (
        (datetime(2024, 2, 18), datetime(2024, 3, 8, 22, tzinfo=UTC), 3600),
        (datetime(2024, 10, 13), datetime(2024, 11, 1, 21, tzinfo=UTC), -3600),
    ):
        asked, wrong = _closures_told(_cme_hours(first_sunday, 5))
        assert (asked, wrong) == (19, {change_weekend: late}), first_sunday


def _at(text: str) -> int:
    return _epoch(datetime.fromisoformat(text))


HOUR, DAY = 3600, 86_400
#: New York's clocks go back on Sunday 2024-11-03: its market's hours an hour later in UTC
WEEKEND_0 = (_at("2024-10-25T21:00+00:00"), 49 * HOUR)  # Friday 17:00 to Sunday 18:00 EDT
BREAK_0 = (_at("2024-10-28T21:00+00:00"), HOUR)  # Monday 17:00 to 18:00 EDT
WEEKEND_1 = (_at("2024-11-01T21:00+00:00"), 50 * HOUR)  # ... to Sunday 18:00 EST: 23:00 UTC
MONDAY_1 = _at("2024-11-04T00:00+00:00")


def test_after_a_clock_change_the_closures_before_it_are_an_hour_off() -> None:
    """The weekend that held New York's change ended an hour late: Monday's daily break
    learned before it (21:00 to 22:00 UTC) is known at 22:00 now, ending at 23:00, as at
    its old 21:00 (as before the change was known), not an hour early nor two late; the
    next Friday's close matches the weekend that held the change (it began on the old
    clock, ended on the new). Past the weeks looked at, no change counts."""
    closures = [WEEKEND_1, BREAK_0, WEEKEND_0]  # newest first
    end = sum(WEEKEND_1)
    assert clock_change(closures, MONDAY_1 + 22 * HOUR, slack(900)) == (HOUR, end)
    assert closure_end(closures, MONDAY_1 + 22 * HOUR, 900) == MONDAY_1 + 23 * HOUR
    assert closure_end(closures, MONDAY_1 + 22 * HOUR + 600, 900) == MONDAY_1 + 23 * HOUR
    for off in (20 * HOUR, 23 * HOUR, 22 * HOUR + 601):  # an hour early, two late, slack
        assert closure_end(closures, MONDAY_1 + off, 900) is None, off
    # its old time still matches, as it did before the change was known
    assert closure_end(closures, MONDAY_1 + 21 * HOUR, 900) == MONDAY_1 + 22 * HOUR
    friday = WEEKEND_1[0] + WEEK + HOUR  # 17:00 EST
    assert closure_end(closures, friday, 900) == end + WEEK
    assert clock_change(closures, end + WEEKS_LOOKED_AT * WEEK, 600) == (HOUR, end)
    assert clock_change(closures, end + WEEKS_LOOKED_AT * WEEK + 1, 600) == (0, 0)


def test_a_reopening_an_hour_off_when_no_clocks_changed_is_no_clock_change() -> None:
    """The same shape a week in January (a feed back an hour late after a weekend): no
    clocks changed, so the daily breaks keep their times, and a feed that dies an hour
    before one is stale, not closed."""
    closures = [(c[0] - 10 * WEEK, c[1]) for c in (WEEKEND_1, BREAK_0, WEEKEND_0)]
    monday = MONDAY_1 - 10 * WEEK
    assert clock_change(closures, monday + 22 * HOUR, 600) == (0, 0)
    assert closure_end(closures, monday + 21 * HOUR, 900) == monday + 22 * HOUR  # as ever
    assert closure_end(closures, monday + 22 * HOUR, 900) is None


def test_an_end_a_bar_or_a_day_off_is_no_clock_change() -> None:
    """Only an hour, give or take the slack, and more than the slack, the way the clocks
    went: a reopening a bar late, a day late, an hour early in autumn, or an hour on H4
    bars (within their slack) is none; a counterpart more than four weeks back is none;
    the newest counterpart decides."""
    start, length = WEEKEND_1[0] - WEEK, 49 * HOUR
    at = start + WEEK + 3 * DAY
    for later, period in ((600, 900), (DAY, 900), (HOUR - 601, 900), (HOUR + 601, 900),
                          (HOUR, 4 * HOUR), (0, 900), (-HOUR, 900)):  # fmt: skip
        closures = [(start + WEEK, length + later), (start, length)]
        assert clock_change(closures, at, slack(period)) == (0, 0), later
    for later in (HOUR - 600, HOUR + 600):
        closures = [(start + WEEK, length + later), (start, length)]
        assert clock_change(closures, at, 600) == (HOUR, start + WEEK + length + later)
    changed = (WEEKEND_1[0], length + HOUR)
    five_weeks = [changed, (changed[0] - 5 * WEEK, length)]
    assert clock_change(five_weeks, at, 600) == (0, 0)
    # four weeks and the slack before it: still one of the weeks looked at
    far = (changed[0] - 4 * WEEK - 600, length + 600)
    assert clock_change([changed, far], at, 600) == (HOUR, sum(changed))
    too_far = (far[0] - 1, length + 601)
    assert clock_change([changed, too_far], at, 600) == (0, 0)
    # the newest counterpart (a week before, as long) decides over an older one
    newest = [changed, *((changed[0] - w * WEEK, length + HOUR) for w in (1, 2)),
              (changed[0] - 3 * WEEK, length)]  # fmt: skip
    assert clock_change(newest, at, 600) == (0, 0)
    # H1: an end half an hour off is within the slack (no change); an hour is one
    half = [(changed[0], length + HOUR // 2), (changed[0] - WEEK, length)]
    assert clock_change(half, at, slack(3600)) == (0, 0)
    assert clock_change([changed, (changed[0] - WEEK, length)], at, slack(3600)) == (
        HOUR,
        sum(changed),
    )


def test_the_closure_that_held_the_change_tells_the_next_weekend() -> None:
    """Its counterpart four weeks back: a week after the change that one is five weeks
    old and matches nothing, and the closure that held the change (begun on the old
    clock, matched an hour off; ended on the new) is what tells the next weekend."""
    four = [WEEKEND_1, (WEEKEND_1[0] - 4 * WEEK, 49 * HOUR)]
    friday = WEEKEND_1[0] + WEEK + HOUR
    assert closure_end(four, friday, 900) == sum(WEEKEND_1) + WEEK
    assert closure_end(four, friday + HOUR, 900) is None  # two hours off: none


def test_a_weekend_is_a_day_or_more_and_the_horizon_reaches_the_change_s_weeks() -> None:
    """A closure of exactly a day is a weekend that can hold a change, and so is its
    counterpart of exactly a day; a change four weeks back is told by its counterpart four
    weeks before it, eight weeks back: the closure that held it matches an hour off."""
    spring = _at("2024-03-09T22:00+00:00")  # New York's clocks go forward on the 10th
    day_long = [(spring, DAY), (spring - WEEK, DAY + HOUR)]
    assert clock_change(day_long, spring + 2 * DAY, 600) == (-HOUR, spring + DAY)
    autumn = _at("2024-11-02T22:00+00:00")
    its_day = [(autumn, DAY + HOUR), (autumn - WEEK, DAY)]
    assert clock_change(its_day, autumn + 2 * DAY, 600) == (HOUR, autumn + DAY + HOUR)
    eight = [WEEKEND_1, (WEEKEND_1[0] - 4 * WEEK, 49 * HOUR)]
    new_time = WEEKEND_1[0] + 4 * WEEK + HOUR  # Friday 22:00 UTC, four weeks on: 17:00 EST
    assert closure_end(eight, new_time, 900) == sum(WEEKEND_1) + 4 * WEEK
