"""Indicators pinned against hand-computed references and naive full recomputes."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from support.dtms_kit import T0, aggregate, bars

from dtms_plugin.engine import SymbolIndicators
from dtms_plugin.engine.indicators import (
    Bollinger,
    Ema,
    RollingMean,
    RollingMedian,
    SessionVwap,
    Swings,
    WilderAtr,
    WilderRsi,
)
from dtms_plugin.settings import DtmsSettings
from hookspecs import Bar


def test_ema_seeded_with_sma_then_alpha() -> None:
    ema = Ema(3)  # alpha 0.5
    assert [ema.update(x) for x in (1.0, 2.0, 3.0, 4.0, 5.0, 1.0)] == [
        None,
        None,
        2.0,  # mean(1, 2, 3)
        3.0,  # 2 + 0.5 * (4 - 2)
        4.0,
        2.5,
    ]


def test_wilder_rsi_hand_computed() -> None:
    rsi = WilderRsi(3)
    out = [rsi.update(x) for x in (10.0, 11.0, 10.5, 11.5, 11.0)]
    # changes +1, -0.5, +1 -> avg gain 2/3, avg loss 1/6 -> RS 4 -> RSI 80
    assert out[:3] == [None, None, None]
    assert out[3] == pytest.approx(80.0)
    # next change -0.5: gain (2/3*2 + 0)/3 = 4/9, loss (1/6*2 + 0.5)/3 = 5/18 -> RS 1.6
    assert out[4] == pytest.approx(100 - 100 / 2.6)


def test_wilder_rsi_flat_and_one_sided() -> None:
    flat = WilderRsi(2)
    assert [flat.update(x) for x in (5.0, 5.0, 5.0)][-1] == 50.0
    up = WilderRsi(2)
    assert [up.update(x) for x in (5.0, 6.0, 7.0)][-1] == 100.0


def test_wilder_atr_hand_computed() -> None:
    atr = WilderAtr(3)
    rows = [(10.0, 8.0, 9.0), (11.0, 9.5, 10.5), (10.8, 9.0, 9.2), (12.0, 10.0, 11.5)]
    out = [atr.update(h, lo, c) for h, lo, c in rows]
    # TR: 2 (first bar: high-low), max(1.5, |11-9|=2, |9.5-9|) = 2, max(1.8, 0.3, 1.5) = 1.8
    assert out[:2] == [None, None]
    assert out[2] == pytest.approx((2 + 2 + 1.8) / 3)
    # TR4 = max(2, |12-9.2| = 2.8, |10-9.2|) = 2.8 ; Wilder smoothing
    assert out[3] == pytest.approx((out[2] * 2 + 2.8) / 3)


def _ema_ref(xs: list[float], n: int) -> list[float | None]:
    out: list[float | None] = [None] * len(xs)
    if len(xs) < n:
        return out
    v = sum(xs[:n]) / n
    out[n - 1] = v
    a = 2 / (n + 1)
    for i in range(n, len(xs)):
        v = v + a * (xs[i] - v)
        out[i] = v
    return out


def test_macd_histogram_matches_a_full_recompute() -> None:
    closes = [b.close for b in bars(120, seed=3)]
    fast, slow = _ema_ref(closes, 12), _ema_ref(closes, 26)
    macd = [f - s for f, s in zip(fast, slow, strict=True) if f is not None and s is not None]
    sig = _ema_ref(macd, 9)
    hist_ref = [m - s for m, s in zip(macd, sig, strict=True) if s is not None]
    ind = SymbolIndicators("XAUUSD", DtmsSettings())
    for i, c in enumerate(closes):
        ind.feed_signal(Bar(T0 + timedelta(minutes=15 * i), c, c, c, c, 1.0))
    assert len(hist_ref) == 120 - 25 - 8  # MACD from bar 26, signal after 9 of them
    assert ind.hist == pytest.approx(hist_ref[-3:], rel=1e-9)


def test_bollinger_width_matches_population_sd() -> None:
    closes = [b.close for b in bars(3000, seed=5)]  # long enough to pass a re-sum
    bb = Bollinger(20, 2.0)
    for c in closes:
        bb.update(c)
    w = closes[-20:]
    mean = sum(w) / 20
    sd = math.sqrt(sum((x - mean) ** 2 for x in w) / 20)
    assert bb.width == pytest.approx(4 * sd / mean, rel=1e-9)


def test_rolling_mean_and_median() -> None:
    m = RollingMean(3)
    assert [m.update(x) for x in (1.0, 2.0, 6.0, 10.0)] == [None, None, 3.0, 6.0]
    med = RollingMedian(4)
    for x in (5.0, 1.0, 3.0):
        med.update(x)
    assert med.value == 3.0
    med.update(9.0)
    assert med.value == 4.0  # (3 + 5) / 2
    med.update(0.5)  # 5 leaves the window: 1, 3, 9, 0.5
    assert med.value == 2.0


def test_swings_are_confirmed_two_bars_later_and_newest_bars_excluded() -> None:
    sw = Swings(2)
    highs = [10.0, 11.0, 15.0, 12.0, 11.5, 16.0]
    lows = [9.0, 8.0, 7.0, 9.5, 10.0, 11.0]
    seen = []
    for i, (h, lo) in enumerate(zip(highs, lows, strict=True)):
        sw.update(T0 + timedelta(minutes=15 * i), h, lo)
        seen.append((sw.last_high, sw.last_low))
    # bar 2 (high 15, low 7) becomes a swing only when bar 4 closes
    assert seen[3] == (None, None)
    assert seen[4] == (15.0, 7.0)
    # bar 5's high 16 is the newest bar: never a swing yet
    assert seen[5] == (15.0, 7.0)
    assert sw.last_high_time == T0 + timedelta(minutes=30)


def test_equal_highs_are_not_a_swing() -> None:
    sw = Swings(2)
    for i, h in enumerate((10.0, 12.0, 12.0, 11.0, 10.0)):
        sw.update(T0 + timedelta(minutes=15 * i), h, h - 1)
    assert sw.last_high is None


def test_vwap_anchored_at_midnight_hand_computed() -> None:
    v = SessionVwap(3)
    v.update(1, 12.0, 9.0, 9.0, 2.0)  # typical 10
    v.update(1, 14.0, 10.0, 12.0, 2.0)  # typical 12
    assert v.value == pytest.approx(11.0)
    assert v.above == 1 and v.below == 0  # 9 < 10 first, then 12 > 11
    v.update(2, 6.0, 4.0, 5.0, 1.0)  # a new UTC day: everything restarts
    assert v.value == pytest.approx(5.0)
    assert v.slope is None


def test_vwap_slope_over_three_bars() -> None:
    v = SessionVwap(3)
    for tp in (10.0, 11.0, 12.0, 13.0):
        v.update(0, tp, tp, tp, 1.0)
    # VWAPs 10, 10.5, 11, 11.5 -> slope (11.5 - 10) / 10
    assert v.slope == pytest.approx(0.15)


def test_symbol_indicators_count_each_bar_once() -> None:
    fast = bars(30, start=T0.replace(hour=0))
    once = SymbolIndicators("XAUUSD", DtmsSettings())
    twice = SymbolIndicators("XAUUSD", DtmsSettings())
    for b in fast:
        assert once.feed_fast(b)
    for b in fast + fast[-10:]:
        twice.feed_fast(b)
    assert not twice.feed_fast(fast[5])
    ref = sum((b.high + b.low + b.close) / 3 * b.volume for b in fast) / sum(b.volume for b in fast)
    assert once.vwap.value == pytest.approx(ref)
    assert twice.vwap.value == once.vwap.value


def test_snapshot_after_warmup_has_every_signal_timeframe_input() -> None:
    fast = bars(900, start=T0 - timedelta(minutes=5 * 900))
    ind = SymbolIndicators("XAUUSD", DtmsSettings())
    for b in fast:
        ind.feed_fast(b)
    for b in aggregate(fast):
        ind.feed_signal(b)
    snap = ind.snapshot()
    assert snap is not None
    assert snap.atr is not None and snap.atr_ratio is not None
    assert snap.rsi is not None and snap.rsi_prev is not None
    assert len(snap.hist) == 3
    assert snap.ema_fast_slope is not None and snap.ema_slow_slope is not None
    assert snap.bb_width is not None and snap.median_spread == pytest.approx(0.2)
    assert ind.snapshot() is snap  # cached until a new bar
    ind.feed_fast(bars(1, start=T0)[0])
    assert ind.snapshot() is not snap


def test_a_close_on_the_vwap_but_for_rounding_is_on_it_on_both_paths() -> None:
    """A day that opens with flat bars: its VWAP is their close, but (h + l + c) / 3 × v
    / v rounds a hair off it (1.5093699999999999 for 1.50937), and that counted three
    closes above it, which moved the VWAP sub-score by 0.5 and a trade's ladder with it.
    Within TOLERANCE (relative) of the VWAP a close is on it, on the live path and the
    replay's alike; just beyond it, a side as ever."""
    import numpy as np

    from dtms_plugin.engine.tolerance import TOLERANCE
    from dtms_plugin.engine.vectorised import session_vwap

    price = 1.50937
    live = SessionVwap(3)
    for _ in range(3):
        live.update(7, price, price, price, 1.0)
    assert live.value is not None and live.value != price  # the rounding is there
    assert (live.above, live.below) == (0, 0)
    ahead = session_vwap(*(np.array([x] * 3) for x in (7, price, price, price, 1.0)), 3)
    assert (ahead.above.tolist(), ahead.below.tolist()) == ([0, 0, 0], [0, 0, 0])
    for off, sides in ((2.0, (1, 0)), (-2.0, (0, 1)), (0.5, (0, 0)), (-0.5, (0, 0))):
        close = price * (1.0 + off * TOLERANCE)
        v = SessionVwap(3)
        v.update(7, price, price, price, 1.0)
        v.update(7, price, price, close, 0.0)  # no volume: the VWAP stays at the price
        h = np.array([price, price])
        both = session_vwap(np.array([7, 7]), h, h, np.array([price, close]), np.array([1.0, 0]), 3)
        assert (v.above, v.below) == sides, off
        assert (int(both.above[1]), int(both.below[1])) == sides, off
    for close in (1.0 + TOLERANCE, 1.0 - TOLERANCE):  # exactly at the band's edge: on it
        v = SessionVwap(3)
        v.update(7, 1.0, 1.0, 1.0, 1.0)
        v.update(7, 1.0, 1.0, close, 0.0)
        assert v.value == 1.0 and (v.above, v.below) == (0, 0), close
        one = np.array([1.0, 1.0])
        both = session_vwap(
            np.array([7, 7]), one, one, np.array([1.0, close]), np.array([1.0, 0]), 3
        )
        assert (int(both.above[1]), int(both.below[1])) == (0, 0), close
