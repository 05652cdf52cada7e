"""The deadlines count the market's time (docs/dtms.md §1, §5): the missing time between
the bars the indicators were fed moves them, bars that exist do not, however late DTMS
looked at them (a slow host, a restart, an action's unknown outcome), and a deadline is
due only while the market is current (never into the closed market after Friday's last
bar, while the data still counts as fresh)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from support.dtms_kit import GOLD, SETTINGS, T0, bars, minutes, quote, scored, snapshot
from support.dtms_machine import BAR, NOW, record

from dtms_plugin.engine import AccountState, Evaluation, SymbolIndicators, begin, evaluate, finish
from dtms_plugin.engine.deadlines import MissingTime
from dtms_plugin.engine.record import TradeRecord
from hookspecs import ActionResult
from hookspecs import DefensiveState as S

M5 = minutes(5)
HEDGING = AccountState(True, False)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FRIDAY_LAST = datetime(2026, 1, 9, 20, 55, tzinfo=UTC)  # closes 21:00, the week's last
SUNDAY_FIRST = datetime(2026, 1, 11, 22, 0, tzinfo=UTC)
WEEKEND = SUNDAY_FIRST - FRIDAY_LAST - M5  # the market's missing time: 49 h


def m5(start: datetime, end: datetime) -> Iterator[datetime]:
    """The open times of the M5 bars from ``start`` to ``end``, both included."""
    t = start
    while t <= end:
        yield t
        t += M5


def fed(times: Iterable[datetime]) -> MissingTime:
    """The live memory of the gaps after the fast bars opened at ``times`` were fed."""
    memory = MissingTime(300)
    for t in times:
        memory.update(int((t - _EPOCH).total_seconds()))
    return memory


def week() -> MissingTime:
    """Every M5 bar of Friday evening and Sunday night: a weekend between them."""
    friday = m5(FRIDAY_LAST - minutes(180), FRIDAY_LAST)
    return fed([*friday, *m5(SUNDAY_FIRST, SUNDAY_FIRST + minutes(180))])


def at(rec: TradeRecord, bar: datetime, now: datetime, memory: MissingTime | None) -> Evaluation:
    """One evaluation at ``now`` with S = −3 (HEDGED stays HEDGED) on the bar ``bar``."""
    snap = scored(-3.0, bar, gaps=memory)
    return evaluate(rec, snap, quote(1999.0, at=now), now, SETTINGS, GOLD, HEDGING)


def hedged_at(bar: datetime) -> TradeRecord:
    """A trade just HEDGED on ``bar`` at its close (flat deadline 15 bars later)."""
    rec = record(S.WARNING_L2, last_bar_time=bar - M5)
    e = evaluate(rec, scored(-7.0, bar), quote(1999.0), bar + M5, SETTINGS, GOLD, HEDGING)
    assert e.transition == (S.WARNING_L2, S.HEDGED)
    assert e.record.flat_deadline == bar + M5 + 15 * M5
    return e.record.evolve(owed=(), hedge_ticket=9)


@pytest.mark.parametrize("cycle", [10, 15, 20])
def test_a_host_slower_than_the_bars_closes_a_hedged_trade_after_its_fifteen_bars(
    cycle: int,
) -> None:
    """Each cycle finds the bars that closed since the last one: they are the market's
    time, not a gap, so the deadline stays and fires at the first cycle past it."""
    rec = hedged_at(BAR)
    deadline = rec.flat_deadline
    assert deadline is not None
    memory = fed(m5(T0, BAR + minutes(300)))
    now = NOW
    for _ in range(30):
        now += minutes(cycle)
        e = at(rec, now - M5, now, memory)
        if e.transition is not None:
            break
        assert e.record.flat_deadline == deadline
        rec = e.record
    assert e.transition == (S.HEDGED, S.CLOSED) and "flat deadline" in e.reason
    assert deadline <= now < deadline + minutes(cycle)


def test_bars_that_came_while_an_outcome_was_unknown_count() -> None:
    """A hedge whose outcome stays unknown for two hours while every bar comes: once it
    is settled the deadline has passed (those bars were the market's), and the trade is
    closed at once, not given two hours more."""
    rec = record(S.WARNING_L2)
    e = evaluate(rec, scored(-7.0, BAR), quote(1999.0), NOW, SETTINGS, GOLD, HEDGING)
    hedge = e.actions[0]
    deadline = e.record.flat_deadline
    rec = begin(e.record, hedge, NOW)
    memory = fed(m5(T0, BAR + minutes(300)))
    bar = BAR
    for _ in range(24):
        bar += M5
        e = at(rec, bar, bar + M5, memory)
        assert e.why == "waiting: an action's outcome is unknown"
        rec = e.record
    rec = finish(rec, hedge, ActionResult.success(new_ticket=5), bar + M5, SETTINGS)
    bar += M5
    e = at(rec, bar, bar + M5, memory)
    assert e.transition == (S.HEDGED, S.CLOSED), e.reason
    assert e.record.flat_deadline is None and deadline is not None and deadline < bar


def test_a_restart_whose_warm_up_covers_the_downtime_moves_no_deadline() -> None:
    """Down for three hours: the live indicators warm up on bars reaching back past the
    trade's last scored bar, so they know the market had every bar meanwhile."""
    series = bars(60, start=T0)  # every M5 bar from T0 on, the live path fed them all
    indicators = SymbolIndicators("XAUUSD", SETTINGS)
    for bar in series:
        indicators.feed_fast(bar)
    live = indicators.snapshot()
    assert live is not None and live.gaps is indicators.gaps
    assert live.missing_since(BAR) == timedelta(0)
    newest = series[-1].time
    rec = record(S.HEDGED, hedge_ticket=9, last_bar_time=BAR, flat_deadline=newest + minutes(30))
    e = at(rec, newest, newest + M5, indicators.gaps)
    assert e.transition is None
    assert e.record.flat_deadline == newest + minutes(30)
    assert e.record.last_bar_time == newest


def test_the_gaps_the_live_path_was_fed_are_what_its_snapshot_answers() -> None:
    series = bars(10, start=T0)
    indicators = SymbolIndicators("XAUUSD", SETTINGS)
    for bar in [*series[:4], *series[7:]]:  # three bars missing: 15 min
        indicators.feed_fast(bar)
    assert indicators.feed_fast(series[5]) is False  # an older bar is not fed
    live = indicators.snapshot()
    assert live is not None
    assert live.missing_since(series[0].time) == minutes(15)
    assert live.missing_since(series[3].time) == minutes(15)
    assert live.missing_since(series[7].time) == timedelta(0)


def test_a_weekend_moves_the_deadline_by_the_time_the_market_was_closed() -> None:
    deadline = FRIDAY_LAST + minutes(15)
    rec = record(S.HEDGED, hedge_ticket=9, last_bar_time=FRIDAY_LAST, flat_deadline=deadline)
    for memory in (week(), None):  # without a memory, the span beyond one bar: the same
        e = at(rec, SUNDAY_FIRST, SUNDAY_FIRST + M5, memory)
        assert e.transition is None
        assert e.record.flat_deadline == deadline + WEEKEND
    rec = record(S.RECOVERING, last_bar_time=FRIDAY_LAST, recovery_deadline=deadline)
    e = at(rec, SUNDAY_FIRST, SUNDAY_FIRST + M5, week())
    assert e.record.recovery_deadline == deadline + WEEKEND


def test_a_deadline_past_friday_s_last_bar_waits_for_the_market_and_its_bars() -> None:
    """HEDGED at 19:55 on Friday: the deadline (21:10) falls after the week's last bar
    closed (21:00), while the data still counts as fresh (two periods). No close is sent
    into the closed market; the trade gets its fifteen bars after the weekend."""
    memory = week()
    rec = hedged_at(FRIDAY_LAST - minutes(65))
    assert rec.flat_deadline == FRIDAY_LAST + minutes(15)
    seen = 0
    for bar in m5(FRIDAY_LAST - minutes(60), FRIDAY_LAST):
        for k in range(5):  # a cycle a minute while the bar is the newest
            e = at(rec, bar, bar + M5 + minutes(k), memory)
            assert e.transition is None
            rec = e.record
        seen += 1
    for k in range(5, 60):  # the market is closed; the data goes stale at 21:10
        e = at(rec, FRIDAY_LAST, FRIDAY_LAST + minutes(k), memory)
        assert e.transition is None and not e.actions, k
        rec = e.record
    for bar in m5(SUNDAY_FIRST, SUNDAY_FIRST + minutes(60)):
        e = at(rec, bar, bar + M5, memory)
        seen += 1
        if e.transition is not None:
            break
        rec = e.record
    assert e.transition == (S.HEDGED, S.CLOSED) and seen == 15


def test_on_d1_a_deadline_never_fires_over_the_weekend() -> None:
    """D1 bars on weekdays only, an evaluation every hour: HEDGED at Tuesday's first
    cycle, the trade is closed after fifteen D1 bars, never on a Saturday or Sunday (the
    Friday bar, closed at Saturday 00:00, counts as fresh until Monday 00:00)."""
    day = timedelta(days=1)
    d1 = replace(SETTINGS, fast_timeframe="D1", signal_timeframe="W1")
    days = (datetime(2026, 1, 5, tzinfo=UTC) + day * i for i in range(40))
    weekdays = [d for d in days if d.weekday() < 5]
    memory = MissingTime(86_400)
    rec = record(S.WARNING_L2, last_bar_time=weekdays[0] - day * 3)
    hedged_on: int | None = None
    for i, bar in enumerate(weekdays):
        memory.update(int((bar - _EPOCH).total_seconds()))
        now = bar + day
        while now < weekdays[i + 1] + day:
            snap = snapshot(
                bar, settings=d1, fast_period=day, fast_close_time=bar + day, gaps=memory
            )
            snap._scores["buy"] = scored(-7.0 if hedged_on is None else -3.0).score("buy")
            e = evaluate(rec, snap, quote(1999.0, at=now), now, d1, GOLD, HEDGING)
            rec = e.record
            if e.transition == (S.WARNING_L2, S.HEDGED):
                hedged_on = i
            elif e.transition is not None:
                assert e.transition == (S.HEDGED, S.CLOSED) and now.weekday() < 5, now
                assert hedged_on is not None and i - hedged_on == 15  # D1 bars closed since
                return
            now += timedelta(hours=1)
    raise AssertionError("never closed")


def test_rows_9_11_and_12_wait_for_a_current_market() -> None:
    """The newest bar (``BAR`` − 5 min, already scored) closed at ``BAR``: from ``NOW``
    on, one period later, the next bar is due and has not come, so no deadline is due."""
    bar, second = BAR - M5, timedelta(seconds=1)
    rec = record(S.RECOVERING, last_score=2.0, recovery_deadline=BAR)
    e = at(rec, bar, NOW, None)
    assert e.transition is None and e.record.recovery_deadline == BAR
    e = at(rec, bar, NOW - second, None)
    assert e.transition == (S.RECOVERING, S.HEALTHY)
    assert at(rec.evolve(last_score=0.5), bar, NOW, None).transition is None
    e = at(rec.evolve(last_score=0.5), bar, NOW - second, None)
    assert e.transition == (S.RECOVERING, S.CLOSED)
    flat = record(S.HEDGED, hedge_ticket=9, flat_deadline=BAR)
    assert at(flat, bar, NOW, None).transition is None
    assert at(flat, bar, NOW - second, None).transition == (S.HEDGED, S.CLOSED)


def test_a_last_scored_bar_older_than_the_memory_counts_the_unknown_span_as_missing() -> None:
    """The indicators were fed from 11:00 on (a gap of 10 min at 12:00): how many bars the
    market had between the trade's last bar (10:20) and 11:00 is unknown, so that span
    counts as missing beyond one bar, as before the memory existed."""
    memory = fed(
        [*m5(T0 + minutes(60), T0 + minutes(115)), *m5(T0 + minutes(130), NOW + minutes(120))]
    )
    newest = T0 + minutes(150)
    snap = snapshot(newest, gaps=memory)
    assert snap.missing_since(BAR) == minutes(35) + minutes(10)
    assert snap.missing_since(T0 + minutes(60)) == minutes(10)
    assert snap.missing_since(T0 + minutes(130)) == timedelta(0)
    assert snapshot(newest).missing_since(BAR) == newest - BAR - M5
    assert snapshot(newest).missing_since(newest) == timedelta(0)
    deadline = newest + minutes(30)
    rec = record(S.HEDGED, hedge_ticket=9, last_bar_time=BAR, flat_deadline=deadline)
    e = at(rec, newest, newest + M5, memory)
    assert e.record.flat_deadline == deadline + minutes(45)


def _memory(times: Iterable[int], keep: int | None = None) -> MissingTime:
    memory = MissingTime(300)
    if keep is not None:  # room for fewer gaps than the 1,024 a symbol's memory keeps
        memory.keep = keep
    for t in times:
        memory.update(t)
    return memory


def test_missing_time_sums_the_time_beyond_one_period_between_fed_bars() -> None:
    memory = _memory([0, 300, 900, 1200, 3000])  # gaps of 300 s at 900, 1500 s at 3000
    assert memory.total == 1800
    assert memory.missing(0, 3000) == memory.missing(300, 3000) == 1800
    assert memory.missing(900, 3000) == memory.missing(1200, 3000) == 1500
    assert memory.missing(3000, 3000) == 0
    assert memory.missing(0, 1200) == memory.missing(0, 900) == 300
    assert memory.missing(300, 600) == 0 and memory.missing(900, 1200) == 0


def test_missing_time_before_its_memory_counts_the_span_beyond_one_period() -> None:
    assert _memory([]).missing(0, 900) == 600  # nothing fed: the whole span
    assert _memory([]).missing(0, 200) == 0
    memory = _memory([600, 900, 1500])  # fed from 600 on; a gap of 300 s at 1500
    assert memory.missing(0, 1500) == 300 + 300
    assert memory.missing(400, 1500) == 0 + 300
    assert memory.missing(400, 900) == 0


def test_missing_time_keeps_the_newest_gaps_and_counts_the_forgotten_span() -> None:
    memory = _memory([0, 300, 900, 1500], keep=2)  # two gaps of 300 s: both kept
    assert memory.missing(0, 1500) == 600 and memory.missing(300, 1500) == 600
    memory.update(2100)  # a third: the one at 900 is forgotten
    assert memory.total == 900
    assert memory.missing(900, 2100) == memory.missing(1200, 2100) == 600
    assert memory.missing(1500, 2100) == 300
    assert memory.missing(0, 2100) == (900 - 0 - 300) + 600  # 300 more than is true
    assert memory.missing(900, 1500) == 300


def test_missing_time_counts_every_second_and_only_gaps_take_memory() -> None:
    assert _memory([0, 301]).missing(0, 301) == 1  # one second late: one second missing
    assert _memory([301, 601]).missing(0, 601) == 1  # the unknown span: one second too
    # bars on schedule take no room: with room for one gap, the one at 900 is kept
    memory = _memory([0, 300, 900, 1200, 1500], keep=1)
    assert memory.missing(0, 1500) == 300


def test_missing_time_remembers_the_newest_1024_gaps() -> None:
    """docs/dtms.md §1: past 1,024 gaps the oldest is forgotten, and a span reaching back
    before it counts whole beyond one bar."""
    memory = _memory([0, 300])
    t = 300
    for _ in range(1024):
        t += 600
        memory.update(t)
    assert memory.missing(0, t) == memory.total == 1024 * 300
    t += 600
    memory.update(t)  # the 1,025th: the first (at 900) is forgotten
    assert memory.missing(0, t) == (900 - 0 - 300) + memory.total - 300
    assert memory.missing(900, t) == memory.total - 300
