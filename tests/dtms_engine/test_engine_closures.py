"""The market's closures, learned from the gaps between the fast bars (docs/dtms.md §5,
§7): a gap of an hour or more is remembered with its time of the week, and a bar closing
at that time of a later week is the last before the market closes again. A deadline does
not fall due then (a close sent would meet the closed market), and the pause that
follows is a closure said at INFO, not stale data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dtms_engine.test_engine_deadlines import FRIDAY_LAST, M5, SUNDAY_FIRST, at, fed, hedged_at, m5
from support.dtms_kit import minutes, scored

from dtms_plugin.engine.deadlines import (
    CLOSURE_SECONDS,
    CLOSURES_KEPT,
    WEEK,
    WEEKS_LOOKED_AT,
    MissingTime,
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
