"""Orders are proposed when a host-timeframe bar closes, on the buckets the feed builds
(docs/architecture.md §6): weeks open on Sunday and months on the 1st, not on multiples
of their length since the epoch (a Thursday); a bar that closes in a gap of the data (a
weekend, a holiday) is proposed on at the first step after the gap, with that bar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hookspecs import Bar, OrderRequest, hookimpl
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.driving import drive
from hostapp.loop_drivers import HostBarCloses
from hostapp.testing import bars_from_closes

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


class Watcher:
    """Records when it was asked for orders, and the newest host bar it was shown."""

    def __init__(self) -> None:
        self.asked: list[tuple[datetime, datetime]] = []

    @hookimpl
    def propose_orders(self, bars: list[Bar], now: datetime) -> list[OrderRequest]:
        if bars:
            self.asked.append((now, bars[-1].time))
        return []


async def _asked(bars: list[Bar], base: str, timeframe: str) -> list[tuple[datetime, datetime]]:
    watcher = Watcher()
    config = config_from_dict({"host": {"symbols": ["XAUUSD"], "timeframe": timeframe}})
    app = build_sim_app(
        config,
        {"XAUUSD": bars},
        base_timeframe=base,
        timeframe=timeframe,
        builtins={"watcher": watcher},
        entry_points=[],
        env={},
    )
    await drive(app, progress=None)
    return watcher.asked


def _weekdays(start: datetime, days: int) -> list[Bar]:
    """D1 bars of a market closed at weekends: Monday to Friday."""
    every = bars_from_closes([100.0 + i for i in range(days)], start=start, step_seconds=86_400)
    return [b for b in every if b.time.weekday() < 5]


async def test_weekly_bars_close_on_sundays_and_are_proposed_on_after_the_weekend() -> None:
    bars = _weekdays(datetime(2024, 1, 7, tzinfo=UTC), 35)  # Sunday 7 January, five weeks
    asked = await _asked(bars, "D1", "W1")
    # each week (Sunday to Saturday) closes in the weekend gap; the first step after it is
    # Monday's bar closing on Tuesday 00:00, and the bar shown is the week just closed (the
    # first week, without its Sunday, is not a whole bar: the resampler leaves it out)
    assert asked == [
        (datetime(2024, 1, 23, tzinfo=UTC), datetime(2024, 1, 14, tzinfo=UTC)),
        (datetime(2024, 1, 30, tzinfo=UTC), datetime(2024, 1, 21, tzinfo=UTC)),
        (datetime(2024, 2, 6, tzinfo=UTC), datetime(2024, 1, 28, tzinfo=UTC)),
    ]
    assert all(now.weekday() == 1 for now, _ in asked)  # never a Thursday (epoch weeks)


async def test_an_hourly_bar_that_ends_in_a_gap_is_proposed_on_after_it() -> None:
    start = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    bars = bars_from_closes([100.0 + i * 0.1 for i in range(48)], start=start)
    # no M5 bars from 12:30 to 13:20: the 13:00 close falls in the gap
    gap = (start + timedelta(minutes=150), start + timedelta(minutes=200))
    bars = [b for b in bars if not gap[0] <= b.time < gap[1]]
    asked = await _asked(bars, "M5", "H1")
    assert [(now.strftime("%H:%M"), bar.strftime("%H:%M")) for now, bar in asked] == [
        ("11:00", "10:00"),
        ("12:00", "11:00"),
        ("13:25", "12:00"),  # the first step after the gap, with the 12:00 bar
        ("14:00", "13:00"),
    ]


def test_a_run_that_starts_inside_a_bucket_waits_for_its_end() -> None:
    closes = HostBarCloses("H1")
    t = datetime(2024, 1, 2, 10, 5, tzinfo=UTC)
    steps = [t + timedelta(minutes=5 * i) for i in range(24)]
    assert [s.strftime("%H:%M") for s in steps if closes(s)] == ["11:00", "12:00"]
    on_the_hour = HostBarCloses("H1")
    assert on_the_hour(datetime(2024, 1, 2, 11, 0, tzinfo=UTC))  # a first step at a close


def test_months_close_on_the_first() -> None:
    closes = HostBarCloses("MN1")
    days = [datetime(2024, 1, 1, tzinfo=UTC) + DAY * i for i in range(1, 100)]
    assert [d.date().isoformat() for d in days if closes(d)] == [
        "2024-02-01",
        "2024-03-01",
        "2024-04-01",
    ]


def test_a_bar_completed_before_a_weekend_is_not_closed_again_after_it() -> None:
    """Friday's last hourly bar closes on Saturday 00:00, completing the 20:00 H4 bar; the
    next step is Monday 01:00, inside Monday's first bucket. The empty bucket that opened
    on Saturday 00:00 is no bar: Monday 01:00 closes nothing (it asked for orders again on
    the bars already asked on, and a cross opened twice)."""
    closes = HostBarCloses("H4")
    friday = datetime(2024, 1, 12, 17, 0, tzinfo=UTC)
    steps = [friday + HOUR * i for i in range(8)]  # 17:00 … Saturday 00:00
    monday = datetime(2024, 1, 15, 1, 0, tzinfo=UTC)
    steps += [monday + HOUR * i for i in range(8)]  # 01:00 … 08:00
    assert [s.strftime("%a %H:%M") for s in steps if closes(s)] == [
        "Fri 20:00",
        "Sat 00:00",
        "Mon 04:00",
        "Mon 08:00",
    ]


async def test_hourly_data_asked_as_h4_is_proposed_on_once_per_h4_bar_across_weekends() -> None:
    start = datetime(2024, 1, 8, tzinfo=UTC)  # a Monday; two weeks of weekday hours
    every = bars_from_closes([100.0 + i * 0.01 for i in range(14 * 24)], start=start,
                             step_seconds=3600)  # fmt: skip
    bars = [b for b in every if b.time.weekday() < 5]
    asked = await _asked(bars, "H1", "H4")
    shown = [bar for _, bar in asked]
    assert len(shown) == len(set(shown)), "an H4 bar proposed on twice"
    assert all(now.hour % 4 == 0 and now.minute == 0 for now, _ in asked)
    assert all(now - bar == 4 * HOUR for now, bar in asked)
    # Friday's 20:00 bar is asked on at Saturday 00:00, and Monday's first at 04:00
    assert (datetime(2024, 1, 13, tzinfo=UTC), datetime(2024, 1, 12, 20, tzinfo=UTC)) in asked
    assert (datetime(2024, 1, 15, 4, tzinfo=UTC), datetime(2024, 1, 15, tzinfo=UTC)) in asked


def test_a_day_on_a_clock_that_cuts_the_base_bars_closes_once_across_a_weekend() -> None:
    """H4 bars stamped in UTC (00:00 … 20:00), D1 on the "New York close" clock, whose
    day ends at 21:00 UTC in summer, inside the 20:00 bar. The resampler puts a bar in
    the day it opens in, so Friday's 20:00 bar completes Friday's day at Saturday 00:00.
    Taken from the instant before each step, that bar also opened the next day, whose
    "end" fell on Saturday 21:00: Monday's first step closed it again, and the strategy
    was asked twice on Friday's bar (a cross opened twice, every weekend)."""
    from hostapp.market.zones import parse_zone

    closes = HostBarCloses("D1", parse_zone("America/New_York+7"), 4 * 3600)
    friday = datetime(2024, 4, 19, 4, 0, tzinfo=UTC)
    steps = [friday + 4 * HOUR * i for i in range(6)]  # 04:00 … Saturday 00:00
    monday = datetime(2024, 4, 22, 4, 0, tzinfo=UTC)
    steps += [monday + 4 * HOUR * i for i in range(6)]  # 04:00 … Tuesday 00:00
    assert [s.strftime("%a %H:%M") for s in steps if closes(s)] == ["Sat 00:00", "Tue 00:00"]
    utc = HostBarCloses("D1", None, 4 * 3600)  # the same bars on UTC days: as before
    assert [s.strftime("%a %H:%M") for s in steps if utc(s)] == ["Sat 00:00", "Tue 00:00"]
