"""Resampling (complete, UTC-aligned buckets only) and the replay feed built on it."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookspecs import Bar
from hostapp.market.feed import ReplayFeed
from hostapp.market.resample import resample
from hostapp.market.synthetic import generate_bars

M5 = timedelta(minutes=5)


def at(h: int, m: int, day: int = 2) -> datetime:
    return datetime(2024, 1, day, h, m, tzinfo=UTC)


def m5_bars(first: datetime, n: int, base: float = 100.0) -> list[Bar]:
    """Bar i: open base+i, high base+i+0.5, low base+i-0.25, close base+i+0.25, volume i+1."""
    return [
        Bar(
            first + i * M5,
            base + i,
            base + i + 0.5,
            base + i - 0.25,
            base + i + 0.25,
            i + 1,
            0.01 * (i + 1),
        )
        for i in range(n)
    ]


def test_only_complete_buckets_leading_and_trailing_partials_dropped() -> None:
    bars = m5_bars(at(9, 55), 15)  # 09:55 | 10:00 … 10:55 | 11:00, 11:05
    h1 = resample(bars, "H1")
    assert len(h1) == 1
    b = h1[0]
    assert b.time == at(10, 0)
    assert (b.open, b.high, b.low, b.close) == (101.0, 112.5, 100.75, 112.25)
    assert b.volume == sum(range(2, 14))
    assert b.spread == pytest.approx(0.13)  # the last bar's spread


def test_trailing_bucket_complete_when_its_last_bar_is_there_or_time_has_passed() -> None:
    bars = m5_bars(at(10, 0), 12)  # 10:00 … 10:55: closes at 11:00
    assert [b.time for b in resample(bars, "H1")] == [at(10, 0)]
    short = bars[:11]  # 10:50 is the last bar: the 10:00 bucket still forming at 10:55
    assert resample(short, "H1") == []
    assert resample(short, "H1", now=at(11, 0))[0].close == short[-1].close


def test_interior_gaps_are_kept_and_buckets_align_to_utc() -> None:
    bars = m5_bars(at(0, 0), 24 * 12 * 2)  # two days
    del bars[30]  # 02:30 missing
    h1 = resample(bars, "H1")
    assert len(h1) == 48
    assert h1[2].time == at(2, 0) and h1[2].volume == sum(range(25, 37)) - 31
    h4 = resample(bars, "H4")
    assert [b.time.hour for b in h4[:6]] == [0, 4, 8, 12, 16, 20]
    d1 = resample(bars, "D1")
    assert [b.time for b in d1] == [at(0, 0), at(0, 0, day=3)]
    assert d1[0].open == bars[0].open and d1[1].close == bars[-1].close
    m15 = resample(bars, "M15")
    assert m15[0].time == at(0, 0) and m15[1].time == at(0, 15)
    assert resample(bars, "M5") == bars


def test_resample_refuses_a_finer_or_unknown_timeframe() -> None:
    with pytest.raises(ValueError, match="M1 bars from M5"):
        resample([], "M1")
    with pytest.raises(ValueError, match="'H5'"):
        resample([], "H5")
    # read as M1 bars, 00:00 … 00:45 are one bar per 5-minute bucket; the last bucket
    # (00:45-00:50) is still forming when its only M1 bar closes at 00:46
    sparse = resample(m5_bars(at(0, 0), 10), "M5", base="M1")
    assert [b.time.minute for b in sparse] == [0, 5, 10, 15, 20, 25, 30, 35, 40]


def test_feed_serves_closed_bars_only() -> None:
    feed = ReplayFeed({"A": m5_bars(at(10, 0), 30), "B": m5_bars(at(10, 10), 5, 50.0)})
    assert feed.symbols() == ["A", "B"]
    tl = feed.timeline()
    assert tl[0] == at(10, 5) and tl[-1] == at(12, 30) and len(tl) == 30
    assert feed.bars("A", "M5", 10) == () and feed.last_close("A") is None
    assert feed.advance(at(10, 5)) == {"A": feed.bars("A", "M5", 1)[0]}
    assert feed.bars("A", "M5", 10)[0].time == at(10, 0)
    new = feed.advance(at(10, 15))  # a jump: the 10:05 bar of A closed too, but not now
    assert set(new) == {"A", "B"}
    assert new["A"].time == at(10, 10) and new["B"].time == at(10, 10)
    assert [b.time for b in feed.bars("A", "M5", 10)] == [at(10, 0), at(10, 5), at(10, 10)]
    assert feed.last_close("B") == 50.25
    with pytest.raises(ValueError, match="cannot go back"):
        feed.advance(at(10, 10))


def test_feed_higher_timeframe_excludes_the_forming_bar() -> None:
    bars = m5_bars(at(10, 0), 30)
    feed = ReplayFeed({"A": bars})
    feed.advance(at(10, 55))
    assert feed.bars("A", "H1", 5) == ()  # 10:00 bucket still forming
    feed.advance(at(11, 0))
    (h1,) = feed.bars("A", "H1", 5)
    assert (h1.time, h1.open, h1.close) == (at(10, 0), 100.0, 111.25)
    feed.advance(at(11, 55))
    assert len(feed.bars("A", "H1", 5)) == 1
    assert [b.time for b in feed.bars("A", "M15", 2)] == [at(11, 15), at(11, 30)]
    feed.advance(at(13, 0))  # past the end of the data: the 12:00 bucket (6 bars) is done
    assert [b.time for b in feed.bars("A", "H1", 5)] == [at(10, 0), at(11, 0), at(12, 0)]
    assert feed.bars("A", "H1", 1)[0].close == bars[-1].close
    assert feed.bars("A", "H1", 0) == ()


def test_feed_refuses_bad_symbols_timeframes_and_unsorted_series() -> None:
    feed = ReplayFeed({"A": m5_bars(at(10, 0), 3)})
    with pytest.raises(ValueError, match="unknown symbol 'Z'"):
        feed.bars("Z", "M5", 1)
    with pytest.raises(ValueError, match="'W2'"):
        feed.bars("A", "W2", 1)
    bars = m5_bars(at(10, 0), 3)
    with pytest.raises(ValueError, match="A: bar 2"):
        ReplayFeed({"A": [bars[0], bars[2], bars[1]]})


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    start_minute=st.sampled_from([0, 5, 25, 55]),
    n=st.integers(0, 400),
    tf=st.sampled_from(["M15", "M30", "H1", "H4"]),
    stride=st.integers(1, 7),
)
def test_feed_agrees_with_batch_resample_at_every_step(
    seed: int, start_minute: int, n: int, tf: str, stride: int
) -> None:
    """Whatever the step pattern, the incremental higher-timeframe bars equal resampling
    the closed base bars as of that time."""
    bars = generate_bars("EURUSD", at(0, start_minute), n, seed=seed)
    feed = ReplayFeed({"EURUSD": bars})
    for now in feed.timeline()[::stride]:
        feed.advance(now)
        closed = [b for b in bars if b.time + M5 <= now]
        assert feed.bars("EURUSD", "M5", 7) == tuple(closed[-7:])  # a tuple, as it is kept
        assert feed.bars("EURUSD", tf, 1000) == tuple(resample(closed, tf, now=now))


def test_weekly_and_monthly_bars_from_daily_bars() -> None:
    from datetime import timedelta

    from hookspecs import Bar

    day0 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
    days = [day0 + timedelta(days=i) for i in range(70)]
    daily = [Bar(d, 10.0 + i, 11.0 + i, 9.0 + i, 10.5 + i, 1.0) for i, d in enumerate(days)]
    weekly = resample(daily, "W1", base="D1")
    # the first week (from Sunday 2023-12-31) misses its Sunday: not complete, dropped
    assert weekly[0].time == datetime(2024, 1, 7, tzinfo=UTC)
    assert weekly[0].open == 16.0 and weekly[0].close == 22.5 and weekly[0].volume == 7.0
    monthly = resample(daily, "MN1", base="D1")
    assert [b.time.month for b in monthly] == [1, 2]  # March is not over
    assert monthly[1].open == 41.0 and monthly[1].close == 69.5  # Feb 1 .. Feb 29
