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


def test_a_clock_change_counts_for_a_week_and_only_an_hour_off() -> None:
    """A weekend that ended an hour late (week 1): the daily break learned before it
    (Monday 21:00 to 22:00) is known an hour later in the week after, and not two hours
    later, nor an hour earlier, nor once a week has passed since the change."""
    hour, day = 3600, 86_400
    monday = 10 * WEEK + 4 * day  # epoch weeks begin on Thursday
    brk = (monday + 21 * hour, hour)  # Monday's daily break, week 0
    weekend0 = (monday - 2 * day - 3 * hour, 2 * day)  # Friday 21:00 to Sunday 21:00
    weekend1 = (weekend0[0] + WEEK, 2 * day + hour)  # ... to Sunday 22:00: clocks went back
    closures = [weekend1, brk, weekend0]  # newest first
    period = 900
    monday1 = monday + WEEK
    assert clock_change(closures, monday1 + 22 * hour, slack(period)) == (hour, sum(weekend1))
    assert closure_end(closures, monday1 + 22 * hour, period) == monday1 + 23 * hour
    assert closure_end(closures, monday1 + 22 * hour + 600, period) == monday1 + 23 * hour
    for off in (20 * hour, 23 * hour, 22 * hour + 601):  # an hour early, two late, slack
        assert closure_end(closures, monday1 + off, period) is None, off
    # the next Friday: the weekend that held the change began on the old clock
    assert closure_end(closures, weekend1[0] + WEEK + hour, period) == sum(weekend1) + WEEK
    # past a week since the change ended, no hour off counts
    too_late = sum(weekend1) + WEEK + 1
    assert clock_change(closures, too_late, slack(period)) == (0, 0)
    assert closure_end([weekend1, brk, weekend0], brk[0] + 2 * WEEK + hour, period) is None


def test_an_end_a_bar_or_a_day_off_is_no_clock_change() -> None:
    """Only an hour, give or take the slack, and more than the slack: a reopening a bar
    late, a holiday's day, or an hour on H4 bars (within their slack) moves nothing; a
    counterpart more than four weeks back is none; the newest counterpart decides."""
    hour, day = 3600, 86_400
    start = 10 * WEEK
    for later, period in ((600, 900), (day, 900), (hour - 601, 900), (hour + 601, 900),
                          (hour, 4 * hour), (0, 900)):  # fmt: skip
        closures = [(start + WEEK, 2 * day + later), (start, 2 * day)]
        assert clock_change(closures, start + WEEK + 3 * day, slack(period)) == (0, 0), later
    for later in (hour - 600, hour + 600, -hour):
        closures = [(start + WEEK, 2 * day + later), (start, 2 * day)]
        shift = hour if later > 0 else -hour
        assert clock_change(closures, start + WEEK + 3 * day, 600) == (
            shift,
            start + WEEK + 2 * day + later,
        )
    five_weeks = [(start + 5 * WEEK, 2 * day + hour), (start, 2 * day)]
    assert clock_change(five_weeks, start + 5 * WEEK + 3 * day, 600) == (0, 0)
    four_weeks = [(start + 4 * WEEK, 2 * day + hour), (start, 2 * day)]
    assert clock_change(four_weeks, start + 4 * WEEK + 3 * day, 600) == (
        hour,
        start + 4 * WEEK + 2 * day + hour,
    )
    # the newest counterpart (a week before, same length) decides over an older one
    newest = [(start + 2 * WEEK, 2 * day + hour), (start + WEEK, 2 * day + hour), (start, 2 * day)]
    assert clock_change(newest, start + 2 * WEEK + 3 * day, 600) == (0, 0)


def test_a_clock_change_s_bounds_to_the_second() -> None:
    """A week after the change's end, still; four weeks and the slack between the closure
    and its counterpart, still; an end moved by the slack alone (H1: half an hour) is no
    change; the closure that held the change is the one matched when the closures before
    it are too old: it began on the old clock and ended on the new."""
    hour, day, within = 3600, 86_400, 600
    start = 10 * WEEK
    changed = (start + WEEK, 2 * day + hour)
    end = sum(changed)
    assert clock_change([changed, (start, 2 * day)], end + WEEK, within) == (hour, end)
    assert clock_change([changed, (start, 2 * day)], end + WEEK + 1, within) == (0, 0)
    far = (start + WEEK - 4 * WEEK - within, 2 * day)  # four weeks and the slack before
    assert clock_change([changed, far], end + day, within) == (hour, end)
    too_far = (far[0] - 1, 2 * day + 1)
    assert clock_change([changed, too_far], end + day, within) == (0, 0)
    half = [(start + WEEK, 2 * day + hour // 2), (start, 2 * day)]
    assert clock_change(half, start + WEEK + 3 * day, slack(3600)) == (0, 0)
    assert clock_change([(start + WEEK, 2 * day + hour), (start, 2 * day)], end, slack(3600)) == (
        hour,
        end,
    )
    # its counterpart four weeks back: a week after the change, that one is five weeks
    # old, and the closure that held the change is what tells the next weekend
    four = [(start + 4 * WEEK, 2 * day + hour), (start, 2 * day)]
    friday = start + 5 * WEEK + hour  # the next weekend's close, an hour later in UTC
    assert closure_end(four, friday, 900) == start + 5 * WEEK + 2 * day + hour
