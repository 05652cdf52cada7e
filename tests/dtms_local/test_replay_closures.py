"""A replay's indicators (``ReplayIndicators``) learn the market's closures as the live
path's (``SymbolIndicators``, :class:`MissingTime`) do (docs/dtms.md §5, §7): on random
weeks of M5 bars with closures at the same times of the week, missing bars, one-off
gaps, a first sight late in the series (the week before it read for its gaps alone) and
quiet spells that skip bars, both answer ``closure_end`` the same after every cycle, from
the bars before the one asked about only. And a replay of markets with other hours says
a share's nights are its market closed, not stale data."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

import pytest
from dtms_local.test_replay_indicators import SMALL, START, Bars, Host
from hypothesis import given, settings
from hypothesis import strategies as st

from dtms_plugin.engine import ReplayIndicators, SymbolIndicators
from dtms_plugin.engine.deadlines import WEEK
from dtms_plugin.local import LocalStrategy
from hookspecs import Bar, SeriesView
from hostapp.market.feed import ReplayFeed

M5 = timedelta(minutes=5)
BARS_A_WEEK = WEEK // 300


def weekly_bars(seed: int, weeks: int, missing: float) -> list[Bar]:
    """``weeks`` of M5 bars from :data:`START` without the bars of one to three closures
    a week at fixed times of the week (now and then skipped, or a bar or two longer or
    shorter), of one-off gaps, and of single bars missing with probability ``missing``."""
    rnd = random.Random(seed)
    schedule = [
        (rnd.randrange(BARS_A_WEEK), rnd.choice([12, 13, 15, 24, 60, 288, 576]))
        for _ in range(rnd.randint(1, 3))
    ]
    absent: set[int] = set()
    for week in range(weeks):
        for offset, length in schedule:
            if rnd.random() < 0.15:
                continue  # not closed that week (a holiday's other hours)
            first = week * BARS_A_WEEK + offset + rnd.choice([0, 0, 0, -1, 1, -2])
            absent.update(range(first, first + length + rnd.choice([0, 0, 1, -1])))
        if rnd.random() < 0.3:  # a one-off gap at any time
            first = week * BARS_A_WEEK + rnd.randrange(BARS_A_WEEK)
            absent.update(range(first, first + rnd.choice([3, 12, 40])))
    out: list[Bar] = []
    for i in range(weeks * BARS_A_WEEK):
        if i in absent or rnd.random() < missing:
            continue
        p = 2000.0 + rnd.gauss(0.0, 1.0)
        out.append(Bar(START + M5 * i, p, p + 0.5, p - 0.5, p, 10.0, 0.2))
    return out


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    weeks=st.integers(2, 3),
    missing=st.sampled_from([0.0, 0.01, 0.2]),
    late=st.sampled_from([0, 300, 2500, 4000]),
    quiet=st.sampled_from([0.0, 0.5, 0.97]),
)
def test_replay_closures_match_the_live_ones(
    seed: int, weeks: int, missing: float, late: int, quiet: float
) -> None:
    """``late``: the bars before the first cycle (read at first sight, as the week before
    the warm-up); ``quiet``: how often a cycle is left out (long runs skip bars)."""
    bars = weekly_bars(seed, weeks, missing)
    feed = ReplayFeed({"XAUUSD": bars}, base_timeframe="M5")
    assert isinstance(feed, SeriesView) and not isinstance(Bars(feed), SeriesView)
    live, ahead = LocalStrategy(SMALL), LocalStrategy(SMALL)
    live_host, ahead_host = Host(Bars(feed)), Host(feed)
    rnd = random.Random(seed + 1)
    for k, now in enumerate(feed.timeline()):
        feed.advance(now)
        if k < late or (k > late and rnd.random() < quiet):
            continue
        a = live._bars(live_host, "XAUUSD", now)  # type: ignore[arg-type]
        b = ahead._bars(ahead_host, "XAUUSD", now)  # type: ignore[arg-type]
        assert isinstance(a, SymbolIndicators) and isinstance(b, ReplayIndicators)
        sa, sb = a.snapshot(), b.snapshot()
        assert sa is not None and sb is not None
        assert sa.fast_bar == sb.fast_bar
        assert sa.closure_end() == sb.closure_end(), now


def _replay_feed(bars: dict[str, list[Bar]]) -> ReplayFeed:
    return ReplayFeed(bars, base_timeframe="M5")


def test_a_replay_mixing_market_hours_says_a_share_s_nights_are_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """FX around the clock, a share from 14:30 to 21:00 on weekdays, three weeks: in the
    third week (the two before learned), the share's nights are its market closed, said
    at INFO, never its bars stale (they were, with closures never learned in a replay)."""
    fx: list[Bar] = []
    share: list[Bar] = []
    for i in range(3 * BARS_A_WEEK):
        t = START + M5 * i
        bar = Bar(t, 1.1, 1.2, 1.0, 1.1, 1.0, 0.1)
        if t.weekday() < 5 or (t.weekday() == 6 and t.hour >= 22):
            fx.append(bar)
        minute = t.hour * 60 + t.minute
        if t.weekday() < 5 and 14 * 60 + 30 <= minute < 21 * 60:
            share.append(bar)
    feed = _replay_feed({"EURUSD": fx, "AAPL": share})
    strategy = LocalStrategy(SMALL)
    host = Host(feed)
    caplog.set_level(logging.INFO, logger=strategy.log.name)
    third_week = START + 2 * timedelta(weeks=1)
    for now in feed.timeline():
        feed.advance(now)
        snap = strategy._bars(host, "AAPL", now)  # type: ignore[arg-type]
        assert snap is not None
        if now > third_week:
            strategy._note_stale(host, "AAPL", snap.snapshot(), now)  # type: ignore[arg-type]
    assert not any("stale" in p for p in strategy.problems), strategy.problems
    assert strategy.problems.get("AAPL market closed", 0) > 0
    closed = [r for r in caplog.records if "AAPL market closed" in r.getMessage()]
    assert closed and all(r.levelno == logging.INFO for r in closed)
