"""A replay's indicators computed ahead with numpy (``ReplayIndicators``) give what the
live path's bar-by-bar indicators (``SymbolIndicators``) give: the same snapshot values,
scores and state sequence to 1e-9, on random series with gaps, flat bars, bars without
volume or spread, and cycles with quiet spells longer than the warm-up (bars skipped),
with the replay computing ahead in chunks of every size."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dtms_plugin.engine import (
    AccountState,
    ReplayIndicators,
    SignalSnapshot,
    SymbolIndicators,
    TradeRecord,
    begin,
    evaluate,
    finish,
    register,
)
from dtms_plugin.engine import replay as replay_mod
from dtms_plugin.local import LocalStrategy
from dtms_plugin.settings import DtmsSettings
from hookspecs import ActionResult, Bar, MarketView, Quote, SeriesView, SymbolInfo, Trade
from hostapp.market.feed import ReplayFeed

M5 = timedelta(minutes=5)
START = datetime(2026, 1, 4, 20, 0, tzinfo=UTC)  # a Sunday evening: a day boundary soon
INFO = SymbolInfo("XAUUSD", 2, 0.01, 0.01, 0.01, 100.0)
OK = ActionResult.success(new_ticket=99)
_BASE = DtmsSettings()
# short periods, so a few hundred bars get every indicator going; a short warm-up, so
# quiet spells skip bars
SMALL = replace(
    _BASE,
    indicators=replace(
        _BASE.indicators,
        atr_period=4,
        atr_baseline=6,
        rsi_period=4,
        macd_fast=3,
        macd_slow=6,
        macd_signal=3,
        ema_fast=4,
        ema_slow=9,
        ema_slope_bars=3,
        bollinger_period=5,
        warmup_bars=40,
    ),
    rails=replace(_BASE.rails, spread_median_bars=7),
    trail=replace(_BASE.trail, period=6),
)
FIELDS = [
    n
    for n in SignalSnapshot.__slots__
    if n not in ("_scores", "_stale_after", "settings", "signal_cache", "order_flow", "gaps")
]


def make_bars(seed: int, n: int, flat: float, gappy: float) -> list[Bar]:
    rnd = random.Random(seed)
    out: list[Bar] = []
    t, p = START, 2000.0
    for _ in range(n):
        t += M5 * (1 if rnd.random() >= gappy else rnd.choice([2, 3, 7, 50, 300]))
        if rnd.random() < flat:
            o = h = lo = c = p
        else:
            o = p
            c = o + rnd.gauss(0.0, 1.0)
            h = max(o, c) + abs(rnd.gauss(0.0, 0.4))
            lo = min(o, c) - abs(rnd.gauss(0.0, 0.4))
        volume = 0.0 if rnd.random() < 0.1 else rnd.uniform(1.0, 100.0)
        spread = 0.0 if rnd.random() < 0.2 else rnd.choice([0.1, 0.2, 0.3, rnd.random()])
        out.append(Bar(t, o, h, lo, c, volume, spread))
        p = c
    return out


class Bars:
    """A market view that is only a :class:`MarketView` (the live path)."""

    def __init__(self, feed: ReplayFeed) -> None:
        self._feed = feed
        self.base_timeframe = feed.base_timeframe

    def bars(self, symbol: str, timeframe: str, count: int) -> list[Bar]:
        return self._feed.bars(symbol, timeframe, count)


class Host:
    def __init__(self, market: MarketView) -> None:
        self.market = market


def close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def step(rec: TradeRecord, snap: SignalSnapshot | None, now: datetime) -> TradeRecord:
    last = snap.fast_bar.close if snap is not None else 2000.0
    q = Quote("XAUUSD", last - 0.1, last + 0.1, now)
    e = evaluate(rec, snap, q, now, SMALL, INFO, AccountState(hedging=True))
    rec = e.record
    for action in e.actions:
        rec = finish(begin(rec, action, now), action, OK, now, SMALL)
    return rec


@settings(max_examples=120, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 400),
    flat=st.sampled_from([0.0, 0.3, 1.0]),
    gappy=st.sampled_from([0.0, 0.05, 0.3]),
    quiet=st.sampled_from([0.0, 0.02, 0.2]),
    chunk=st.sampled_from([1, 3, 17, replay_mod.CHUNK]),
)
def test_replay_indicators_match_the_live_ones(
    seed: int, n: int, flat: float, gappy: float, quiet: float, chunk: int
) -> None:
    """``chunk``: how far ahead the replay computes; short chunks make it go on from the
    state of the chunk before (and a quiet spell from the bar where it skipped)."""
    default, replay_mod.CHUNK = replay_mod.CHUNK, chunk
    try:
        _compare(seed, n, flat, gappy, quiet)
    finally:
        replay_mod.CHUNK = default


def _compare(seed: int, n: int, flat: float, gappy: float, quiet: float) -> None:
    bars = make_bars(seed, n, flat, gappy)
    feed = ReplayFeed({"XAUUSD": bars}, base_timeframe="M5")
    assert isinstance(feed, SeriesView) and not isinstance(Bars(feed), SeriesView)
    live, ahead = LocalStrategy(SMALL), LocalStrategy(SMALL)
    live_host, ahead_host = Host(Bars(feed)), Host(feed)
    rnd = random.Random(seed + 1)
    rec_live = rec_ahead = None
    skipped = 0
    for now in feed.timeline():
        feed.advance(now)
        if skipped < 60 and rnd.random() < quiet:
            skipped += 1  # a cycle with no trade: DTMS is not called, nothing is fed
            continue
        skipped = 0
        a = live._bars(live_host, "XAUUSD", now)  # type: ignore[arg-type]
        b = ahead._bars(ahead_host, "XAUUSD", now)  # type: ignore[arg-type]
        assert isinstance(a, SymbolIndicators) and isinstance(b, ReplayIndicators)
        assert a.last_signal_time == b.last_signal_time
        assert close(a.signal_atr, b.signal_atr)
        sa, sb = a.snapshot(), b.snapshot()
        assert (sa is None) == (sb is None)
        if sa is None or sb is None:
            continue
        for name in FIELDS:
            assert close(getattr(sa, name), getattr(sb, name)), (now, name)
        # the market's missing time since a bar (it moves the deadlines): fed bars, times
        # between them, and times before the first bar fed (an unknown span)
        newest = sa.fast_bar.time
        for since in (START - M5 * 7, *(newest - M5 * k for k in (0, 1, 2, 5, 40, 400))):
            assert sa.missing_since(since) == sb.missing_since(since), (now, since)
        for direction in ("buy", "sell"):
            x, y = sa.score(direction), sb.score(direction)
            assert close(x.total, y.total) and close(x.subscores, y.subscores), now
            assert (x.missing, x.regime, x.confluence_against) == (
                y.missing,
                y.regime,
                y.confluence_against,
            )
        if rec_live is None or not rec_live.active:
            price = sa.fast_bar.close
            t = Trade(1, "XAUUSD", "buy", 1.0, price, price - 3.0, None, now)
            rec_live = rec_ahead = register(t, a.signal_atr, now)
        assert rec_ahead is not None
        rec_live, rec_ahead = step(rec_live, sa, now), step(rec_ahead, sb, now)
        assert rec_live.state == rec_ahead.state and rec_live.seq == rec_ahead.seq, now
        assert close(rec_live.last_score, rec_ahead.last_score)
        assert close(rec_live.stop_loss, rec_ahead.stop_loss)
