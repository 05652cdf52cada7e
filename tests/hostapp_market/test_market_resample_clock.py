"""Coarser bars built on the data's clock (``--data-tz``), as MetaTrader builds them on its
server's: FX data written two hours east of UTC makes five D1 bars a week, where buckets
aligned to UTC gave a two-hour Sunday stub each week too, and DTMS's D1 ATR (its signal
timeframe on H4) was read off them. Data without a zone keeps UTC's buckets."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from hookspecs import Bar, Timeframe
from hostapp.loop_drivers import HostBarCloses
from hostapp.market.feed import ReplayFeed
from hostapp.market.resample import resample
from hostapp.market.zones import parse_zone

ATHENS = parse_zone("Europe/Athens")
NEW_YORK_CLOSE = parse_zone("America/New_York+7")


def fx_weeks(zone: object, monday: datetime, weeks: int, minutes: int = 5) -> list[Bar]:
    """An FX symbol's bars on ``zone``'s clock: Monday 00:00 to Friday's last bar, every
    ``minutes``, the server's wall times turned into UTC."""
    assert isinstance(zone, type(ATHENS)) or zone is NEW_YORK_CLOSE
    bars: list[Bar] = []
    price = 1.1
    for week in range(weeks):
        for day in range(5):
            wall = monday + timedelta(weeks=week, days=day)
            for i in range(24 * 60 // minutes):
                t = (wall + timedelta(minutes=minutes * i)).replace(tzinfo=zone).astimezone(UTC)  # type: ignore[arg-type]
                price += 0.0001 if (i // 7) % 2 else -0.0001
                bars.append(Bar(t, price, price + 0.0003, price - 0.0003, price + 0.0001, 1.0))
    return bars


def weekdays(bars: list[Bar], zone: object) -> Counter[str]:
    return Counter(b.time.astimezone(zone).strftime("%a") for b in bars)  # type: ignore[arg-type]


@pytest.mark.parametrize("zone", [ATHENS, NEW_YORK_CLOSE])
@pytest.mark.parametrize("base", ["M5", "H4"])
def test_an_fx_week_on_a_server_clock_is_five_d1_bars(zone: object, base: str) -> None:
    minutes = Timeframe.parse(base).seconds // 60
    # two weeks either side of the US's and the EU's clock changes of spring 2024
    bars = fx_weeks(zone, datetime(2024, 3, 4), 6, minutes)
    d1 = resample(bars, "D1", base=base, zone=zone)  # type: ignore[arg-type]
    assert len(d1) == 30 and set(weekdays(d1, zone)) == {"Mon", "Tue", "Wed", "Thu", "Fri"}
    assert all(b.time.astimezone(zone).hour == 0 for b in d1)  # type: ignore[arg-type]
    utc = resample(bars, "D1", base=base)  # the old buckets: a Sunday stub every week
    # a stub each Sunday but the first (cut: dropped), and the last Friday not yet closed
    assert weekdays(utc, UTC)["Sun"] == 5 and len(utc) == 34
    w1 = resample(bars, "W1", base=base, zone=zone, now=bars[-1].time + timedelta(days=3))  # type: ignore[arg-type]
    assert [b.time.astimezone(zone).strftime("%a %H:%M") for b in w1] == ["Sun 00:00"] * 5  # type: ignore[arg-type]


def test_h4_buckets_open_on_the_clock_and_a_clock_change_makes_a_longer_day() -> None:
    """2024-10-27: Athens repeats 03:00, so that day's first H4 bar holds five hours and
    the day 25; the hour-long buckets are UTC's on any whole-hour clock."""
    start = datetime(2024, 10, 26, 21, tzinfo=UTC)  # Athens' midnight (summer time)
    bars = [Bar(start + timedelta(minutes=5 * i), 1.0, 1.0, 1.0, 1.0, 1.0) for i in range(12 * 30)]
    h4 = resample(bars, "H4", zone=ATHENS)
    assert [b.time.astimezone(ATHENS).hour for b in h4][:3] == [0, 4, 8]
    assert h4[1].time - h4[0].time == timedelta(hours=5)
    assert Timeframe.D1.bucket_end(start, ATHENS) - start == timedelta(hours=25)
    assert resample(bars, "H1", zone=ATHENS) == resample(bars, "H1")


def test_the_feed_builds_the_signal_timeframe_on_the_data_clock() -> None:
    """The bars a plugin asks for (DTMS's D1 on H4), one by one and all at once."""
    bars = fx_weeks(ATHENS, datetime(2024, 1, 8), 2, 240)
    feed = ReplayFeed({"EURUSD": bars}, base_timeframe="H4", zone=ATHENS)
    for step in feed.timeline():
        feed.advance(step)
    shown = feed.bars("EURUSD", "D1", 100)
    assert len(shown) == 10 and set(weekdays(shown, ATHENS)) == {"Mon", "Tue", "Wed", "Thu", "Fri"}
    series = feed.series("EURUSD", "D1")
    assert series is not None and series[0] == shown
    assert [c - b.time for b, c in zip(*series, strict=True)] == [timedelta(days=1)] * 10
    utc = ReplayFeed({"EURUSD": bars}, base_timeframe="H4")
    utc.advance(feed.timeline()[-1])
    assert weekdays(utc.bars("EURUSD", "D1", 100), UTC)["Sun"] == 1  # the old Sunday stub


def test_host_d1_bars_close_at_the_data_clock_midnight() -> None:
    closes = HostBarCloses("D1", ATHENS)
    steps = [datetime(2024, 1, 8, 18, tzinfo=UTC) + timedelta(hours=h) for h in range(30)]
    assert [s.hour for s in steps if closes(s)] == [22, 22]
    utc = HostBarCloses("D1")
    assert [s.hour for s in steps if utc(s)] == [0]


@pytest.mark.parametrize(
    ("zone", "timeframe", "opens"),
    [("Asia/Kolkata", "H1", ":00"), ("+05:30", "H1", ":00"), ("Asia/Kathmandu", "M30", ":00")],
)
def test_bars_nest_on_a_clock_whose_offset_is_not_whole_hours(
    zone: str, timeframe: str, opens: str
) -> None:
    """India's +05:30: H1 bars opened at :30 on its clock (UTC's hours) while its H4 and
    D1 bars open on its own hours, so an H1 bar straddled an H4 one."""
    clock = parse_zone(zone)
    start = datetime(2024, 1, 2, tzinfo=UTC)
    bars = [Bar(start + timedelta(minutes=15 * i), 1, 1, 1, 1, 1, 0) for i in range(4 * 48)]
    fine = resample(bars, timeframe, base="M15", zone=clock)
    coarse = resample(bars, "H4", base="M15", zone=clock)
    assert {b.time.astimezone(clock).strftime(":%M") for b in fine} <= {opens, ":30"}
    assert all(b.time.astimezone(clock).minute in (0, 30) for b in fine)
    h4_opens = {b.time for b in coarse}
    assert all(any(b.time == o for b in fine) for o in h4_opens)  # every H4 opens with one
    assert not Timeframe.H1.on_clock(parse_zone("Europe/Athens"))  # whole hours: UTC's
